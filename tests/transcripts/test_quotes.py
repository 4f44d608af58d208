from __future__ import annotations

import unicodedata

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from transcripts.quotes import (
    _normalised_chars,
    _NormalisedContext,
    extract_quotes,
    normalise,
    verify_quotes,
)

CONTEXT = "“Don’t go,” she said — and the Skerry light went dark.\nNobody   answered."


def test_exact_quote_is_verified_with_its_span() -> None:
    [quote] = verify_quotes("She says <quote>the Skerry light went dark</quote>.", CONTEXT)
    assert quote.verified
    assert quote.span is not None
    start, end = quote.span
    assert CONTEXT[start:end] == "the Skerry light went dark"


def test_case_punctuation_whitespace_and_curly_quotes_are_normalised() -> None:
    content = '<quote>"DON\'T go," she said - and</quote> then <quote>nobody answered</quote>'
    first, second = verify_quotes(content, CONTEXT)
    assert first.verified and second.verified
    assert second.span is not None
    assert CONTEXT[second.span[0] : second.span[1]] == "Nobody   answered"


def test_fabricated_quote_is_unverified() -> None:
    [quote] = verify_quotes("<quote>the light burned all night</quote>", CONTEXT)
    assert not quote.verified
    assert quote.span is None


def test_no_context_means_nothing_can_be_verified() -> None:
    [quote] = verify_quotes("<quote>anything</quote>", None)
    assert not quote.verified


def test_empty_quote_is_unverified_and_text_without_tags_has_none() -> None:
    assert not verify_quotes("<quote>  ,  </quote>", CONTEXT)[0].verified
    assert verify_quotes("no quotes here", CONTEXT) == []
    assert extract_quotes("<quote>a</quote> and <quote>b\nc</quote>") == ["a", "b\nc"]
    assert normalise("  “Hello,”  World — ok ") == "hello world ok"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_plain_ascii_quotes_normalise_as_the_story_does(text: str) -> None:
    # A quote in plain ASCII takes a short path; it must normalise exactly as the story's
    # text does, character by character, or a true quote would fail to verify.
    assert normalise(text) == "".join(c for c, _ in _normalised_chars(text)).strip()
    story = f"Before. {text} After."
    assume("quote>" not in text)
    if normalise(text):
        assert verify_quotes(f"<quote>{text}</quote>", story)[0].verified


@settings(max_examples=400, deadline=None)
@given(
    st.text(
        alphabet=st.one_of(
            st.characters(max_codepoint=127),
            st.sampled_from("\u2018\u2019\u201c\u201d\u2014\u00a0"),
        ),
        max_size=80,
    )
)
def test_an_ascii_story_normalises_word_by_word_as_char_by_char(text: str) -> None:
    # Stories in plain ASCII (typographic quotes and dashes aside) take a word-at-a-time
    # path: the same text and the same map back to the story's characters as the
    # character-by-character path, or spans would move.
    pairs = list(_normalised_chars(text))
    fast = _NormalisedContext(text)
    assert fast.text == "".join(c for c, _ in pairs)
    assert [int(i) for i in fast.offsets] == [i for _, i in pairs]


def test_a_quote_verifies_whether_its_accents_are_composed_or_not() -> None:
    # The same words, one text with "é" as one character and the other as "e" plus a
    # combining accent (canonically equivalent: Unicode NFC and NFD): a quote copied
    # exactly must not be marked unverified, and its span covers the accent.
    composed, decomposed = "Le caf\u00e9 noir ferma.", "Le cafe\u0301 noir ferma."
    for story, quoted in ((composed, "cafe\u0301 noir"), (decomposed, "caf\u00e9 noir")):
        [quote] = verify_quotes(f"<quote>{quoted}</quote>", story)
        assert quote.verified and quote.span is not None
        spanned = story[quote.span[0] : quote.span[1]]
        assert unicodedata.normalize("NFC", spanned) == "caf\u00e9 noir"
    [quote] = verify_quotes("<quote>Le caf\u00e9</quote>", decomposed)
    assert quote.span is not None and decomposed[quote.span[0] : quote.span[1]] == "Le cafe\u0301"

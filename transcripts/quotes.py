"""Quotes from the hidden context: the tag speakers write them in, and their verification.

Speakers quote the hidden context as ``<quote>exact words</quote>``. A quote is verified
when its text occurs in the context after both are normalised: case folded, curly quotes
and dashes made plain, Unicode forms made alike (NFKC, an accent written as a combining mark
composed with its letter), punctuation dropped and whitespace collapsed. Verified quotes carry
the character span of the match in the original context.

Only the framework marks quotes. A speaker's text is shown to judges (LLM and human) through
:func:`mark_quotes`, which keeps the framework's own marks (square brackets after a
``<quote>`` tag) apart from anything the speaker wrote: a bracketed span in the speaker's
text that imitates a framework mark (``[verified]``, ``[✓]``, ``[Round 2]``, ``[cut at the
length limit]``, ``[private]``, ``[Judge]``...) is rewritten as ``(verified, written by the
speaker)``, so it can never read as the framework's own.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from transcripts._models import Quote

__all__ = [
    "FRAMEWORK_MARK",
    "QUOTE_PATTERN",
    "as_said",
    "extract_quotes",
    "imitated_marks",
    "mark_quotes",
    "normalise",
    "round_header",
    "speaker_text",
    "verify_quotes",
]

QUOTE_PATTERN = re.compile(r"<quote>(.*?)</quote>", re.DOTALL)
"""The tag a quote is written in."""

_PLAIN = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)


FRAMEWORK_MARK = re.compile(
    r"^.*\b(?:un)?verified\b.*$|^.*[✓✔✗✘].*$|^\s*round\s+\d+\b.*$"
    r"|^\s*cut at the length limit\s*$|^\s*private\s*$|^\s*(?:judge|moderator|system)\b.*$",
    re.IGNORECASE,
)
"""What the inside of a framework mark looks like (a verification mark — any bracket that
says verified or unverified, or holds a check or cross mark —, a round header, the cut
notice, the private tag, a judge's turn); the same text in brackets from a speaker is
rewritten by :func:`speaker_text`."""

_BRACKETED = re.compile(r"[\[(]([^\[\]()\n]{0,60})[\])]")


def _visible(text: str) -> str:
    """``text`` without invisible format characters (zero-width spaces and joiners), which
    would hide a mark from the pattern but not from a reader."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def round_header(round_index: int, speaker: str, side: str = "") -> str:
    """The framework's header of a turn, e.g. ``[Round 2] Debater A (arguing for B):``, as
    judges and speakers read it: in brackets, so that :func:`speaker_text` rewrites any copy
    a speaker writes (``round_index`` counts from 0)."""
    return f"[Round {round_index + 1}] {speaker}{side}:"


def imitated_marks(text: str) -> Iterator[re.Match[str]]:
    """The bracketed spans of ``text`` that imitate a framework mark (group 1: the inside)."""
    return (m for m in _BRACKETED.finditer(text) if FRAMEWORK_MARK.match(_visible(m.group(1))))


def speaker_text(text: str) -> str:
    """``text`` (written by a speaker) with every bracketed imitation of a framework mark
    rewritten as ``(…, written by the speaker)``; anything else is kept as written."""
    out = []
    last = 0
    for match in imitated_marks(text):
        out.append(text[last : match.start()])
        out.append(f"({match.group(1).strip()}, written by the speaker)")
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def mark_quotes(content: str, verified: list[bool], mark: Callable[[str, bool], str]) -> str:
    """``content`` as a judge reads it: each ``<quote>`` tag replaced by ``mark(text, ok)``
    (the framework's own mark, from the verification result in ``verified``), and every
    other part, the quoted text included, passed through :func:`speaker_text`."""
    out = []
    last = 0
    for i, match in enumerate(QUOTE_PATTERN.finditer(content)):
        out.append(speaker_text(content[last : match.start()]))
        ok = verified[i] if i < len(verified) else False
        out.append(mark(speaker_text(match.group(1)), ok))
        last = match.end()
    out.append(speaker_text(content[last:]))
    return "".join(out)


def _clusters(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each character of ``text`` with the combining marks that follow it,
    so ``e`` + U+0301 normalises to ``é`` as the one character ``é`` does (NFC and NFD
    text alike)."""
    start = 0
    for end in range(1, len(text) + 1):
        if end == len(text) or not unicodedata.combining(text[end]):
            yield start, end
            start = end


def _normalised_spans(text: str) -> Iterator[tuple[str, int, int]]:
    """Yield (character, start, end in ``text``) of the normalised form, one char at a time."""
    previous_space = True
    for index, end in _clusters(text):
        chars = unicodedata.normalize("NFKC", text[index:end].translate(_PLAIN)).casefold()
        for c in chars:
            if c.isspace():
                if not previous_space:
                    previous_space = True
                    yield " ", index, end
                continue
            if not c.isalnum():
                continue  # punctuation (quotes and dashes included) is ignored
            previous_space = False
            yield c, index, end


def _normalised_chars(text: str) -> Iterator[tuple[str, int]]:
    """Yield (character, index in ``text``) of the normalised form, one char at a time."""
    return ((c, index) for c, index, _ in _normalised_spans(text))


_ASCII_PUNCTUATION = str.maketrans(
    {c: None for c in map(chr, range(128)) if not c.isalnum() and not c.isspace()}
)


def normalise(text: str) -> str:
    """Case-folded text without punctuation, with plain quotes and single spaces."""
    if text.isascii():  # the same, at a fraction of the cost: NFKC leaves ASCII alone
        return " ".join(text.lower().translate(_ASCII_PUNCTUATION).split())
    return "".join(c for c, _ in _normalised_chars(text)).strip()


def extract_quotes(content: str) -> list[str]:
    """The texts written inside quote tags, in order."""
    return [m.group(1) for m in QUOTE_PATTERN.finditer(content)]


_ASCII_ALNUM = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ASCII_SPACE = frozenset(b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f")  # exactly str.isspace() on ASCII


@functools.cache
def _ascii_classes() -> tuple[Any, Any]:
    """Per byte value: whether it is a letter or digit, whether it is whitespace."""
    import numpy as np  # here, not at import: most commands never verify a quote

    alnum = np.zeros(256, dtype=bool)
    alnum[list(_ASCII_ALNUM)] = True
    space = np.zeros(256, dtype=bool)
    space[list(_ASCII_SPACE)] = True
    return alnum, space


def _ascii_normalised(text: str) -> tuple[str, Any]:
    """``_normalised_chars`` of an ASCII text (or one that is ASCII once typographic quotes,
    dashes and no-break spaces are made plain), on whole arrays instead of a character at a
    time (a 25,000-character story: ~0.35 ms instead of ~12 ms). Letters and digits stay,
    lower-cased; a whitespace character becomes one space where it is the first since the
    last letter or digit (so leading whitespace yields nothing, a gap between two words
    with any whitespace one space at its first, trailing whitespace one space);
    punctuation is dropped. The offsets: a numpy array, for each character kept, its
    index in ``text``."""
    import numpy as np

    alnum_of, space_of = _ascii_classes()
    chars = np.frombuffer(text.lower().encode("ascii"), dtype=np.uint8)
    if not chars.size:
        return "", np.zeros(0, dtype=np.int32)
    at = np.arange(chars.size, dtype=np.int32)
    alnum, space = alnum_of[chars], space_of[chars]
    # The last letter or digit, and the last whitespace, strictly before each character.
    last_alnum = np.maximum.accumulate(np.where(alnum, at, -1))
    last_space = np.maximum.accumulate(np.where(space, at, -1))
    before_alnum = np.concatenate(([-1], last_alnum[:-1]))
    before_space = np.concatenate(([-1], last_space[:-1]))
    first_space = space & (before_alnum >= 0) & (before_space < before_alnum)
    kept = alnum | first_space
    out = np.where(first_space, np.uint8(32), chars)[kept]
    return out.tobytes().decode("ascii"), at[kept]


class _NormalisedContext:
    """A context's normalised text with a map back to original character offsets."""

    __slots__ = ("ends", "offsets", "text")

    def __init__(self, context: str) -> None:
        plain = context.translate(_PLAIN)  # one character for one: offsets stay
        self.offsets: Sequence[int]
        self.ends: Sequence[int] | None = None  # None: each kept character's own end
        if plain.isascii():
            self.text, self.offsets = _ascii_normalised(plain)
            return
        spans = list(_normalised_spans(context))
        self.text = "".join(c for c, _, _ in spans)
        self.offsets = [i for _, i, _ in spans]
        self.ends = [e for _, _, e in spans]

    def find(self, needle: str) -> tuple[int, int] | None:
        """Span in the original context of the first match of a normalised needle."""
        if not needle:
            return None
        at = self.text.find(needle)
        if at < 0:
            return None
        end = at + len(needle) - 1
        stop = self.offsets[end] + 1 if self.ends is None else self.ends[end]
        return int(self.offsets[at]), int(stop)


@functools.lru_cache(maxsize=32)
def _normalised_context(context: str) -> _NormalisedContext:
    """The normalised form of a context, made once per context (a QuALITY story is
    normalised once, not once per turn: ~16 ms each for 25,000 characters)."""
    return _NormalisedContext(context)


def as_said(content: str, context: str | None) -> str:
    """``content`` as it is kept: on a question without a source text (``context`` None)
    nothing can be verified, so each quote tag becomes plain quotation marks and no quote is
    marked either way; with a source text, unchanged. The one rule for every text a
    speaker, evaluator or dataset gives."""
    if context is not None:
        return content
    return QUOTE_PATTERN.sub(lambda m: f'"{m.group(1)}"', content)


def verify_quotes(content: str, context: str | None) -> list[Quote]:
    """Each quote in ``content``, verified against ``context`` (unverified when there is none)."""
    quotes = extract_quotes(content)
    if not quotes:
        return []
    index = _normalised_context(context) if context else None
    result = []
    for text in quotes:
        span = index.find(normalise(text)) if index is not None else None
        result.append(Quote(text=text, verified=span is not None, span=span))
    return result

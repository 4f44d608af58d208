"""Quotes from the hidden context: the tag speakers write them in, and their verification.

Speakers quote the hidden context as ``<quote>exact words</quote>``. A quote is verified
when its text occurs in the context after both are normalised: case folded, curly quotes
and dashes made plain, punctuation dropped and whitespace collapsed. Verified quotes carry
the character span of the match in the original context.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from transcripts._models import Quote

__all__ = ["QUOTE_PATTERN", "extract_quotes", "normalise", "verify_quotes"]

QUOTE_PATTERN = re.compile(r"<quote>(.*?)</quote>", re.DOTALL)
"""The tag a quote is written in."""

_PLAIN = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " ",
    }
)


def _normalised_chars(text: str) -> Iterator[tuple[str, int]]:
    """Yield (character, index in ``text``) of the normalised form, one char at a time."""
    previous_space = True
    for index, char in enumerate(text):
        char = unicodedata.normalize("NFKC", char.translate(_PLAIN)).casefold()
        for c in char:
            if c.isspace():
                if not previous_space:
                    previous_space = True
                    yield " ", index
                continue
            if not c.isalnum():
                continue  # punctuation (quotes and dashes included) is ignored
            previous_space = False
            yield c, index


def normalise(text: str) -> str:
    """Case-folded text without punctuation, with plain quotes and single spaces."""
    return "".join(c for c, _ in _normalised_chars(text)).strip()


def extract_quotes(content: str) -> list[str]:
    """The texts written inside quote tags, in order."""
    return [m.group(1) for m in QUOTE_PATTERN.finditer(content)]


class _NormalisedContext:
    """A context's normalised text with a map back to original character offsets."""

    __slots__ = ("offsets", "text")

    def __init__(self, context: str) -> None:
        pairs = list(_normalised_chars(context))
        self.text = "".join(c for c, _ in pairs)
        self.offsets = [i for _, i in pairs]

    def find(self, needle: str) -> tuple[int, int] | None:
        """Span in the original context of the first match of a normalised needle."""
        if not needle:
            return None
        at = self.text.find(needle)
        if at < 0:
            return None
        end = at + len(needle) - 1
        return self.offsets[at], self.offsets[end] + 1


def verify_quotes(content: str, context: str | None) -> list[Quote]:
    """Each quote in ``content``, verified against ``context`` (unverified when there is none)."""
    quotes = extract_quotes(content)
    if not quotes:
        return []
    index = _NormalisedContext(context) if context else None
    result = []
    for text in quotes:
        span = index.find(normalise(text)) if index is not None else None
        result.append(Quote(text=text, verified=span is not None, span=span))
    return result

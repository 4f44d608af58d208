"""Render a list of Penn-Treebank-style tokens as readable text, keeping each token's offsets.

Datasets built on QuALITY (such as the NYU debates) store a story as tokens (``"did"``,
``"n't"``, ``"``"``, ``"-LSB-"``, ``"\\n"``) and quote it by token span. To give the story to
our models as plain text and still place every quote exactly, the tokens are joined with the
usual detokenisation rules (no space before ``,`` or ``n't``, none after an opening quote or
bracket, newlines kept) and each token's ``[start, end)`` character offsets are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TokenText", "render_tokens"]

_REPLACE = {
    "``": '"',
    "''": '"',
    "`": "'",
    "-LRB-": "(",
    "-RRB-": ")",
    "-LSB-": "[",
    "-RSB-": "]",
    "-LCB-": "{",
    "-RCB-": "}",
}
"""PTB escapes and quote tokens, as the characters a reader expects."""

_NO_SPACE_BEFORE = frozenset(
    {
        ".",
        ",",
        "!",
        "?",
        ";",
        ":",
        "%",
        "''",
        "n't",
        "'s",
        "'re",
        "'ve",
        "'ll",
        "'m",
        "'d",
        "'em",
        "-RRB-",
        "-RSB-",
        "-RCB-",
        ")",
        "]",
        "}",
        "--",
    }
)
_NO_SPACE_AFTER = frozenset({"``", "`", "$", "#", "-LRB-", "-LSB-", "-LCB-", "(", "[", "{", "--"})


@dataclass(frozen=True, slots=True)
class TokenText:
    """Text rendered from tokens, with each token's character offsets in it."""

    text: str
    """The rendered text."""
    starts: list[int]
    """``starts[i]``: offset of the first character of token ``i``."""
    ends: list[int]
    """``ends[i]``: offset just past the last character of token ``i``."""

    @property
    def tokens(self) -> int:
        """Number of tokens rendered."""
        return len(self.starts)

    def char_span(self, begin: int, end: int) -> tuple[int, int, bool]:
        """Character span of tokens ``[begin, end)``, clipped to the text.

        Returns ``(start, stop, clipped)``; ``clipped`` is True when the token span
        reached outside the token list (a recorded quirk of some datasets).
        """
        n = self.tokens
        clipped = begin < 0 or end > n or begin > end
        begin = min(max(begin, 0), n)
        end = min(max(end, begin), n)
        if begin == end:
            at = self.starts[begin] if begin < n else len(self.text)
            return at, at, clipped
        return self.starts[begin], self.ends[end - 1], clipped


def render_tokens(tokens: list[str]) -> TokenText:
    """Join ``tokens`` into readable text and record where each token landed."""
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    glue = True  # no space before the next token (start of text, after a newline, ...)
    in_double = False
    in_single = False
    for token in tokens:
        if not token or token.isspace():
            # Newlines (and the odd empty token) are kept literally and never spaced.
            parts.append(token)
            starts.append(position)
            position += len(token)
            ends.append(position)
            glue = glue if not token else True
            continue
        closes_double = token == "''" or (token == '"' and in_double)
        closes_single = token == "'" and in_single
        space = not (glue or token in _NO_SPACE_BEFORE or closes_double or closes_single)
        if token == "'" and not in_single:
            space = False  # a plural possessive (the boys' ship), not an opening quote
        if space:
            parts.append(" ")
            position += 1
        text = _REPLACE.get(token, token)
        parts.append(text)
        starts.append(position)
        position += len(text)
        ends.append(position)
        opens = token in ("``", "`") or (token == '"' and not in_double)
        if token in ("``", "''", '"'):
            in_double = not closes_double
        elif token == "`":
            in_single = True
        elif closes_single:
            in_single = False
        glue = opens or token in _NO_SPACE_AFTER
    return TokenText(text="".join(parts), starts=starts, ends=ends)

"""Console helpers shared by the subcommands (light: no subcommand's own imports)."""

from __future__ import annotations

import argparse
import codecs
import io
import os
import re
import sys
import unicodedata

__all__ = ["add_bootstrap_options", "help_text", "plain_streams", "wide_when_piped"]

_PLAIN = {
    "–": "-",
    "—": "-",
    "−": "-",
    "±": "+/-",
    "≥": ">=",
    "≤": "<=",
    "×": "x",
    "·": ".",
    "…": "...",
    "→": "->",
    "←": "<-",
    "◀": "<",
    "▶": ">",
    "✓": "v",
    "✗": "x",
    "∝": "~",
    "≈": "~",
    "Δ": "delta ",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "\xa0": " ",
}
"""What the report's own typography becomes on a stdout that cannot encode it."""


def _plain(err: UnicodeError) -> tuple[str, int]:
    """Error handler: a character the stream cannot encode as its plain equivalent (a dash
    as "-", "≥" as ">=", "é" as "e"), a box-drawing line as "-", "|" or "+", anything else
    as a ``\\uXXXX`` escape (valid inside a JSON string), never a crash or a silent "?"."""
    if not isinstance(err, UnicodeEncodeError):
        raise err
    out = []
    for ch in err.object[err.start : err.end]:
        name = unicodedata.name(ch, "")
        bare = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
        if ch in _PLAIN:
            out.append(_PLAIN[ch])
        elif name.startswith("BOX DRAWINGS"):
            out.append("-" if "HORIZONTAL" in name else "|" if "VERTICAL" in name else "+")
        elif bare.strip():
            out.append(bare)
        else:
            units = ch.encode("utf-16-be")
            out.append(
                "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))
            )
    return "".join(out), err.end


def plain_streams() -> None:
    """Let stdout and stderr print anything where they cannot encode it (``LANG=C`` on an
    old Python, ``PYTHONIOENCODING=ascii``, a legacy code page): what they cannot encode
    goes out in plain ASCII (:func:`_plain`) instead of raising UnicodeEncodeError halfway
    through a report. Streams that encode UTF-8 are left as they are."""
    codecs.register_error("oversight-plain", _plain)
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        if codecs.lookup(encoding).name.startswith("utf") or not isinstance(
            stream, io.TextIOWrapper
        ):
            continue
        stream.reconfigure(errors="oversight-plain")


def help_text(docstring: str | None) -> str:
    """A module docstring as ``--help`` shows it: without reStructuredText markup (double
    backticks, ``:mod:`x``` roles), which a terminal prints as it is written."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", docstring or "")
    return text.replace("``", "")


def wide_when_piped() -> int | None:
    """A console width: the terminal's, or 200 columns when piped (wide tables beat squeezed
    ones in files and pagers), unless ``COLUMNS`` says otherwise."""
    return None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200


def add_bootstrap_options(parser: argparse.ArgumentParser) -> None:
    """``--bootstrap N`` and ``--seed``, as every command that resamples takes them."""
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=2000,
        metavar="N",
        help="bootstrap resamples per interval (default: 2000)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed of the bootstrap (default: 0)"
    )

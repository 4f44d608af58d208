"""Options, prompt rendering, length limits and setups shared by every protocol.

* :class:`SpeakerConfig` — options common to protocols whose agents speak (length limits,
  sampling, prompt overrides);
* :func:`render` — calls a ``render_*`` prompt function, or the user's override of it;
* :func:`cut_to_limit` — the one way a speech is cut to its word or character limit;
* :func:`counterbalance` and :func:`sides` — the deterministic, labelled setups.

The transcript-writing side (turns, calls, views, the judge between rounds) is in
:mod:`protocols._turns`.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_serializer, field_validator

from protocols.base import ProtocolConfig, Setup
from transcripts import Question
from transcripts.errors import ConfigError

__all__ = [
    "PromptOverride",
    "Sides",
    "SpeakerConfig",
    "counterbalance",
    "cut_to_limit",
    "render",
    "sides",
]

PromptOverride = str | Callable[..., str]
"""A ``str.format`` template, or a function taking the same keyword fields."""

Sides = Literal["all", "correct", "incorrect"]
"""Which answers an assigned speaker is run on: every answer, only the gold, or only the others."""

_TAG = re.compile(r"</?quote>")
_PYTHON = "python:"


def _imported(ref: str) -> Callable[..., str]:
    """The function a ``python:package.module.function`` prompt override names."""
    module, _, name = ref.removeprefix(_PYTHON).rpartition(".")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(
            f"prompt function {ref!r} cannot be imported ({err}); name a module-level "
            "function as python:package.module.function"
        ) from err
    if not callable(fn):
        raise ValueError(f"prompt override {ref!r} is not a function")
    return fn  # type: ignore[no-any-return]


class SpeakerConfig(ProtocolConfig):
    """Options shared by protocols whose agents speak."""

    word_limit: int | None = Field(default=None, ge=1)
    """Most words per speech (quoted words count); longer speeches are cut and marked."""
    char_limit: int | None = Field(default=None, ge=1)
    """Most characters per speech (quote tags not counted); longer speeches are cut and marked."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Most tokens a speaker may generate in one call. None: derived from the length limit
    with headroom (see :attr:`token_limit`), so the word limit, not the token limit, cuts."""
    temperature: float = Field(default=0.0, ge=0.0)
    """Sampling temperature of every speaker call."""
    concurrency: int = Field(default=8, ge=1)
    """Most model calls this protocol runs at once for one question."""
    prompts: dict[str, PromptOverride] = Field(default_factory=dict)
    """Prompt overrides: ``render_*`` function name -> ``str.format`` template or function."""
    prompt_dir: Path | None = None
    """Folder of prompt templates named ``<render function>.txt`` (``prompts`` wins over it)."""

    @field_validator("prompt_dir")
    @classmethod
    def _dir_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"prompt_dir {str(value)!r} is not a folder")
        return value

    @field_validator("prompts")
    @classmethod
    def _import_functions(cls, prompts: dict[str, PromptOverride]) -> dict[str, PromptOverride]:
        # "python:package.module.function" names a prompt function (e.g. from a TOML file).
        return {
            name: _imported(p) if isinstance(p, str) and p.startswith(_PYTHON) else p
            for name, p in prompts.items()
        }

    @field_serializer("prompts")
    def _named(self, prompts: dict[str, PromptOverride]) -> dict[str, str]:
        # Functions are recorded by name, so the configuration stays JSON.
        return {
            name: p if isinstance(p, str) else f"{_PYTHON}{p.__module__}.{p.__qualname__}"
            for name, p in prompts.items()
        }

    def check_prompts(self, module: object) -> None:
        """Refuse overrides that name no ``render_*`` function of the protocol's prompts."""
        known = sorted(n for n in dir(module) if n.startswith("render_"))
        unknown = sorted(set(self.prompts) - set(known))
        if unknown:
            raise ConfigError(f"unknown prompt names {unknown}; this protocol's are {known}")

    @property
    def token_limit(self) -> int:
        """``max_tokens`` if set; else twice the word limit (English runs about 1.3 tokens a
        word, quote tags add more) or half the character limit (about 4 characters a token),
        plus 64; else 800."""
        if self.max_tokens is not None:
            return self.max_tokens
        derived = [2 * self.word_limit] if self.word_limit else []
        derived += [self.char_limit // 2] if self.char_limit else []
        return min(derived) + 64 if derived else 800

    @property
    def limit_text(self) -> str:
        """The length limit in words, for prompts (empty without a limit)."""
        parts = [f"{self.word_limit} words"] if self.word_limit else []
        parts += [f"{self.char_limit} characters"] if self.char_limit else []
        return f"Stay within {' and '.join(parts)}; anything longer is cut." if parts else ""


def render(config: SpeakerConfig, fn: Callable[..., str], **fields: Any) -> str:
    """``fn(**fields)``, or the user's override of it; fields ``fn`` does not take are dropped."""
    params = inspect.signature(fn).parameters
    fields = {k: v for k, v in fields.items() if k in params}
    name = fn.__name__
    override = config.prompts.get(name)
    if override is None and config.prompt_dir is not None:
        path = config.prompt_dir / f"{name}.txt"
        override = path.read_text(encoding="utf-8") if path.is_file() else None
    if override is None:
        return fn(**fields)
    if callable(override):
        return override(**fields).strip()
    try:
        return override.format(**fields).strip()
    except (KeyError, IndexError) as err:
        raise ConfigError(
            f"prompt template for {name} uses unknown field {err}; its fields are "
            f"{sorted(fields)} (write literal braces as {{{{ and }}}})"
        ) from err


def cut_to_limit(text: str, *, word_limit: int | None, char_limit: int | None) -> tuple[str, bool]:
    """``text`` cut at the last word boundary within the limits, and whether it was cut.

    Quoted words count like any others; the quote tags themselves do not. A quote left open
    by the cut is closed, so what remains of it is still verified.
    """
    words = [m for m in re.finditer(r"\S+", text) if _TAG.sub("", m.group())]
    fits = [
        m
        for i, m in enumerate(words)
        if (word_limit is None or i < word_limit)
        and (char_limit is None or len(_TAG.sub("", text[: m.end()])) <= char_limit)
    ]
    if len(fits) == len(words):
        return text, False
    cut = text[: fits[-1].end()] if fits else _TAG.sub("", text)[: char_limit or 0]
    if cut.count("<quote>") > cut.count("</quote>"):
        cut += "</quote>"
    return cut, True


def _digits(indices: Iterable[int]) -> str:
    items = list(indices)
    return ("" if max(items, default=0) < 10 else ".").join(map(str, items))


def counterbalance(question: Question, assignments: Sequence[dict[str, int]]) -> list[Setup]:
    """Every assignment (none for open variants) crossed with every answer order.

    The orders are the n rotations of the original order (for two answers: both orders),
    so each answer is shown once in each position. Labels read ``o<order>-a<assignment>``,
    e.g. ``o10-a01``: order 1,0; Debater A argues answer 0, Debater B answer 1.
    """
    n = len(question.answers)
    orders = [[(start + i) % n for i in range(n)] for start in range(n)]
    return [
        Setup(
            order=order,
            assignment=dict(assignment),
            label=f"o{_digits(order)}" + (f"-a{_digits(assignment.values())}" * bool(assignment)),
        )
        for assignment in (assignments or [{}])
        for order in orders
    ]


def sides(question: Question, which: Sides) -> list[int]:
    """Original indices of the answers to run an assigned speaker on (all when gold is unknown)."""
    n = len(question.answers)
    if question.correct is None or which == "all":
        return list(range(n))
    if which == "correct":
        return [question.correct]
    return [i for i in range(n) if i != question.correct]

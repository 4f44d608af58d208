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

import functools
import importlib
import inspect
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_serializer, field_validator

from judges.prompts import template_fields
from protocols.base import ProtocolConfig, Setup
from transcripts import Question
from transcripts._validation import Integer, Number
from transcripts.errors import ConfigError

__all__ = [
    "REASONING_TOKENS",
    "Player",
    "PromptOverride",
    "Sides",
    "SpeakerConfig",
    "close_quote",
    "counterbalance",
    "cut_to_limit",
    "digits",
    "half_correct",
    "orders",
    "render",
    "sides",
]

PromptOverride = str | Callable[..., str]
"""A ``str.format`` template, or a function taking the same keyword fields."""

Sides = Literal["all", "correct", "incorrect"]
"""Which answers an assigned speaker is run on: every answer, only the gold, or only the others."""

REASONING_TOKENS = 600
"""Tokens a reply may spend on its private ``<thinking>`` (``scratchpad``) on top of the
speech's own: without them the reasoning eats the speech's budget and the token limit, not
the word limit, cuts it (Khan et al. 2024 give a debater 1,000 tokens for at most 150 words;
150 words here: 364 + 600)."""

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

    word_limit: Integer | None = Field(default=None, ge=1)
    """Most words per speech (quoted words count); longer speeches are cut and marked."""
    char_limit: Integer | None = Field(default=None, ge=1)
    """Most characters per speech (quote tags not counted); longer speeches are cut and marked."""
    max_tokens: Integer | None = Field(default=None, ge=1)
    """Most tokens a speaker may generate in one call. None: derived from the length limit
    with headroom (see :attr:`token_limit`), so the word limit, not the token limit, cuts."""
    temperature: Number = Field(default=0.0, ge=0.0)
    """Sampling temperature of every speaker call."""
    concurrency: Integer = Field(default=8, ge=1)
    """Most model calls this protocol runs at once for one question."""
    prompts: dict[str, PromptOverride] = Field(default_factory=dict)
    """Prompt overrides: ``render_*`` function name -> ``str.format`` template or function."""
    prompt_dir: Path | None = None
    """Folder of prompt templates named ``<render function>.txt`` (``prompts`` wins over it)."""
    scratchpad: bool = False
    """Speakers first reason in ``<thinking>`` tags, then write the public ``<argument>``;
    the reasoning is kept as a private turn and never reaches the judge (a derived
    :attr:`token_limit` leaves it :data:`REASONING_TOKENS` of its own)."""
    resamples: Integer = Field(default=2, ge=0)
    """Times a speech that breaks the rules (no ``<argument>`` tags with ``scratchpad``, no
    quote where a source text must be quoted, over the length limit) is drawn again (never
    at temperature 0, where a draw repeats itself); after that the last draw is cut to the
    limit and its broken rules recorded."""
    require_quotes: bool = False
    """A speech on a question with a source text must quote it at least once."""

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
        """Refuse overrides that name no ``render_*`` function of the protocol's prompts, and
        templates naming a field that function does not take."""
        from protocols.prompts import speech  # shared by every speaking protocol

        known = sorted(n for m in (module, speech) for n in dir(m) if n.startswith("render_"))
        unknown = sorted(set(self.prompts) - set(known))
        if unknown:
            raise ConfigError(f"unknown prompt names {unknown}; this protocol's are {known}")
        for name, override in self.prompts.items():  # a template takes the function's fields
            fields = _parameters(getattr(module, name, None) or getattr(speech, name))
            unused = sorted(template_fields(override) - fields)
            if unused:
                raise ConfigError(
                    f"prompt template for {name} uses unknown field {unused[0]!r}; its fields "
                    f"are {sorted(fields)} (write literal braces as {{{{ and }}}})"
                )

    @property
    def token_limit(self) -> int:
        """``max_tokens`` if set; else twice the word limit (English runs about 1.3 tokens a
        word, quote tags add more) or half the character limit (about 4 characters a token),
        plus 64; else 800. With ``scratchpad``, :data:`REASONING_TOKENS` more for the
        private reasoning, which the same reply holds before its argument."""
        if self.max_tokens is not None:
            return self.max_tokens
        derived = [2 * self.word_limit] if self.word_limit else []
        derived += [self.char_limit // 2] if self.char_limit else []
        speech = min(derived) + 64 if derived else 800
        return speech + REASONING_TOKENS * self.scratchpad

    @property
    def limit_text(self) -> str:
        """The length limit in words, for prompts (empty without a limit)."""
        parts = [f"{self.word_limit} words"] if self.word_limit else []
        parts += [f"{self.char_limit} characters"] if self.char_limit else []
        return f"Stay within {' and '.join(parts)}; anything longer is cut." if parts else ""


class Player(ProtocolConfig):
    """How one speaker seat is optimised for persuasiveness (Khan et al. 2024, section 3).

    A *player* is a model with these settings; two seats on one model with different
    settings are different players.
    """

    name: str | None = None
    """Name of the player in transcripts and reports (default: derived from the model and
    the settings, e.g. ``openai/gpt-4o:bo4+refine2``)."""
    best_of_n: Integer = Field(default=1, ge=1)
    """Candidate speeches per turn; the one the judge model finds most convincing is kept."""
    refine: Integer = Field(default=0, ge=0)
    """Critiques of the kept speech, each answered by a refined speech; the refinement the
    judge model finds most convincing replaces it (0: no critique-and-refine)."""
    candidate_temperature: Number = Field(default=0.8, ge=0.0)
    """Sampling temperature of candidates and refinements when the player optimises."""

    def label(self, spec: str) -> str:
        """The player's name, played by the endpoint ``spec``."""
        if self.name:
            return self.name
        parts = [f"bo{self.best_of_n}"] + [f"refine{self.refine}"] * bool(self.refine)
        return f"{spec}:{'+'.join(parts)}"

    @property
    def optimises(self) -> bool:
        """True when speeches are selected or refined (a scorer is needed)."""
        return self.best_of_n > 1 or self.refine > 0


@functools.lru_cache(maxsize=1024)
def _parameters(fn: Callable[..., str]) -> frozenset[str]:
    """The names ``fn`` takes (``inspect.signature`` is slow, and asked on every speech)."""
    return frozenset(inspect.signature(fn).parameters)


def render(config: SpeakerConfig, fn: Callable[..., str], **fields: Any) -> str:
    """``fn(**fields)``, or the user's override of it; fields ``fn`` does not take are dropped."""
    params = _parameters(fn)
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
    plain = _TAG.sub("", text)
    if (word_limit is None or len(plain.split()) <= word_limit) and (
        char_limit is None or len(plain) <= char_limit
    ):
        return text, False  # within both limits (the usual case): nothing to find
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
    return close_quote(cut), True


def close_quote(cut: str) -> str:
    """``cut`` (a speech cut short) with a quote it leaves open closed, so what remains of
    the quote is still verified and marked for the judge."""
    return cut + "</quote>" if cut.rfind("<quote>") > cut.rfind("</quote>") else cut


def digits(indices: Iterable[int]) -> str:
    """Indices written for a setup label: ``012``, or ``0.11.2`` past nine."""
    items = list(indices)
    return ("" if max(items, default=0) < 10 else ".").join(map(str, items))


def orders(n: int) -> list[list[int]]:
    """The n rotations of the original order: each answer shown once in each position."""
    return [[(start + i) % n for i in range(n)] for start in range(n)]


def counterbalance(question: Question, assignments: Sequence[dict[str, int]]) -> list[Setup]:
    """Every assignment (none for open variants) crossed with every answer order.

    The orders are the rotations of :func:`orders` (for two answers: both orders), so
    each answer is shown once in each position. Labels read ``o<order>-a<assignment>``,
    e.g. ``o10-a01``: order 1,0; the first speaker argues answer 0, the second answer 1.
    """
    return [
        Setup(
            order=order,
            assignment=dict(assignment),
            label=f"o{digits(order)}" + (f"-a{digits(assignment.values())}" * bool(assignment)),
        )
        for assignment in (assignments or [{}])
        for order in orders(len(question.answers))
    ]


def half_correct(question: Question, speaker: str) -> list[Setup]:
    """One speaker's setups, arguing the gold in exactly half of them (Khan et al. 2024).

    Each other answer is argued once per order; the gold as often as all of them together
    (as separate draws, ``Setup.draw``, so the repeats are sampled apart). Which answers
    are presented, and each setup's prompts, do not depend on the gold: only how often each
    assignment occurs does. Without a gold every answer is argued once per order.
    """
    n, gold = len(question.answers), question.correct
    if gold is None:
        return counterbalance(question, [{speaker: i} for i in range(n)])
    out = []
    for order in orders(n):
        for draw, other in enumerate(i for i in range(n) if i != gold):
            for argued, k in ((gold, draw), (other, 0)):
                label = f"o{digits(order)}-a{argued}" + (f"-d{k}" if k else "")
                out.append(Setup(order=order, assignment={speaker: argued}, draw=k, label=label))
    return out


def sides(question: Question, which: Sides) -> list[int]:
    """Original indices of the answers to run an assigned speaker on (all when gold is unknown)."""
    n = len(question.answers)
    if question.correct is None or which == "all":
        return list(range(n))
    if which == "correct":
        return [question.correct]
    return [i for i in range(n) if i != question.correct]

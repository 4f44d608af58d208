"""Judges from configuration: the experiment file's ``[[judges]]`` tables and short specs.

Example::

    judge = build_judge("llm:openai/gpt-4o-mini,samples=5,combine=majority,seed=1")
    judge = build_judge("fallback:llm=openai/gpt-4o-mini,threshold=0.7,mode=deferred",
                        store=store)
    judge = build_judge({"kind": "panel", "members": ["llm:mock/a", "llm:mock/b"]})

Spec strings are ``KIND:REST`` with ``REST`` a comma-separated list. For ``llm`` the first
item is the endpoint spec and for ``human`` the annotator; every other item is
``key=value`` naming a field of that kind's config below. Each config is the judge's own
options model (:class:`~judges.llm.LLMJudgeOptions`, ...) plus ``kind`` and what the judge
is built from, so a constructor keyword, a table key and a spec key are the same name. In
``fallback`` and ``panel`` specs, ``llm=ENDPOINT`` gives the automatic judge (a panel
member each time it appears in a panel) and ``human=NAME`` the annotator of an interactive
fallback. A key given twice is an error (only a panel's ``llm=`` repeats). A spec without
a known kind is an LLM endpoint (``openai/gpt-4o-mini``).

Endpoints are built by ``endpoint_factory(spec)`` (default
:func:`oversight.endpoints.endpoint`), so a runner can pass endpoints that share its
cache, limits and options.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from rich.console import Console

from judges._probs import Combine
from judges.base import Judge
from judges.fallback import FallbackJudge, FallbackOptions
from judges.human import HumanJudge, HumanJudgeOptions
from judges.live import JOURNAL, LiveHumanJudge
from judges.llm import LLMJudge, LLMJudgeOptions
from judges.panel import QUEUED_MEMBER, PanelJudge, PanelOptions
from judges.terminal import Interrupt
from oversight.endpoints import Endpoint, endpoint
from transcripts import RunStore
from transcripts._validation import Integer, format_errors
from transcripts.errors import ConfigError

__all__ = [
    "FallbackJudgeConfig",
    "HumanJudgeConfig",
    "JudgeConfig",
    "LLMJudgeConfig",
    "PanelJudgeConfig",
    "build_judge",
    "parse_judge_config",
    "parse_spec",
    "queued_in_panels",
]

EndpointFactory = Callable[[str], Endpoint]
KINDS = ("llm", "human", "fallback", "panel")


class LLMJudgeConfig(LLMJudgeOptions):
    """An LLM judge (``kind = "llm"``): its options and the endpoint it runs on."""

    kind: Literal["llm"] = "llm"
    """The judge kind."""
    endpoint: str
    """Endpoint spec of the judge model, e.g. ``openai/gpt-4o-mini``, or an ``[endpoints]`` name."""
    prompts: dict[str, str] = Field(default_factory=dict)
    """Judge prompt overrides: ``render_*`` name (or ``protocol:render_*`` for one protocol)
    -> ``str.format`` template over the view's fields (functions: build ``LLMJudge`` in Python)."""

    @field_validator("prompts")
    @classmethod
    def _known_prompts(cls, value: dict[str, str]) -> dict[str, str]:
        from judges.prompts import check_prompts

        try:
            check_prompts(value)
        except ConfigError as err:
            raise ValueError(str(err)) from err
        return value


class HumanJudgeConfig(HumanJudgeOptions):
    """A person in the terminal during the run (``kind = "human"``)."""

    kind: Literal["human"] = "human"
    """The judge kind."""
    blind: bool = True
    """Accepted so older experiment files load; it changes nothing: a person always sees the
    protocol's counterbalanced answer order, because a second shuffle would contradict the
    letters the speakers used (model names, gold and hidden text are never shown anyway)."""


class PanelJudgeConfig(PanelOptions):
    """Several judges combined (``kind = "panel"``)."""

    kind: Literal["panel"] = "panel"
    """The judge kind."""
    members: list[JudgeConfig] = Field(min_length=1)
    """The member judges: tables, or spec strings such as ``"llm:openai/gpt-4o-mini"``."""

    @field_validator("members", mode="before")
    @classmethod
    def _specs(cls, value: Any) -> Any:
        return (
            [_member_spec(v) if isinstance(v, str) else v for v in value]
            if isinstance(value, list)
            else value
        )


class FallbackJudgeConfig(FallbackOptions):
    """An automatic judge that escalates to a person (``kind = "fallback"``).

    Give the automatic judge as exactly one of ``endpoint`` (an LLM judge), ``members`` (a
    panel, combined by ``combine``) or ``primary`` (any judge table or spec).
    """

    kind: Literal["fallback"] = "fallback"
    """The judge kind."""
    primary: JudgeConfig | None = None
    """The automatic judge, as a table or spec string."""
    endpoint: str | None = None
    """Shorthand: an LLM judge on this endpoint (with ``samples`` and ``combine``)."""
    members: list[JudgeConfig] | None = None
    """Shorthand: a panel of these judges (combined by ``combine``)."""
    samples: Integer = Field(default=1, ge=1)
    """With ``endpoint``: samples of the LLM judge."""
    combine: Combine = "mean"
    """With ``endpoint`` or ``members``: how samples or members are combined."""
    annotator: str | None = None
    """The person asked in interactive mode."""

    @field_validator("primary", mode="before")
    @classmethod
    def _primary_spec(cls, value: Any) -> Any:
        return _member_spec(value) if isinstance(value, str) else value

    @field_validator("members", mode="before")
    @classmethod
    def _member_specs(cls, value: Any) -> Any:
        return PanelJudgeConfig._specs(value)

    @model_validator(mode="after")
    def _one_primary(self) -> FallbackJudgeConfig:
        given = [k for k in ("primary", "endpoint", "members") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a fallback judge needs exactly one of primary, endpoint or "
                f"members (got {', '.join(given) or 'none'})"
            )
        panel = self.members is not None or getattr(self.primary, "kind", None) == "panel"
        if self.on_disagreement and not panel:
            raise ValueError(
                "on_disagreement needs a panel (members = [...] or a panel primary): only a "
                "panel has an agreement; for an LLM judge's samples use threshold (with "
                'combine = "majority" the top probability is the share of votes)'
            )
        return self


JudgeConfig = Annotated[
    LLMJudgeConfig | HumanJudgeConfig | FallbackJudgeConfig | PanelJudgeConfig,
    Field(discriminator="kind"),
]
"""One ``[[judges]]`` table of an experiment file, told apart by ``kind``."""

PanelJudgeConfig.model_rebuild()
FallbackJudgeConfig.model_rebuild()


class _Root(BaseModel):
    """Where :func:`format_errors` starts for a lone judge config (its errors say ``judge``)."""

    judge: JudgeConfig


def parse_spec(spec: str) -> dict[str, Any]:
    """A spec string as a config mapping (values stay strings; validation converts them)."""
    kind, sep, rest = spec.partition(":")
    if sep and kind not in KINDS and "/" not in kind:  # no endpoint spec has ":" before "/"
        raise ConfigError(
            f"judge spec {spec!r}: {kind!r} is not a judge kind; kinds: {', '.join(KINDS)} "
            f"(KIND:VALUE,key=value,..., e.g. llm:openai/gpt-4o-mini; or an endpoint spec "
            f"alone, for an LLM judge)"
        )
    if not sep or kind not in KINDS:
        kind, rest = ("human", "") if spec == "human" else ("llm", spec)
    data: dict[str, Any] = {"kind": kind}
    for item in (p.strip() for p in rest.split(",")):
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq:
            first = {"llm": "endpoint", "human": "annotator"}.get(kind)
            if first is None or first in data:
                raise ConfigError(f"judge spec {spec!r}: {item!r} needs a key, as in key=value")
            data[first] = item
        elif key == "llm" and kind == "panel":
            data.setdefault("members", []).append({"kind": "llm", "endpoint": value.strip()})
        else:
            field = {"llm": "endpoint", "human": "annotator"}.get(key, key)
            field = field if kind == "fallback" else key
            if field in data:  # never the last one silently winning
                hint = (
                    " (a fallback has one automatic judge; for a panel of them give "
                    "members = [...] in a [[judges]] table)"
                    if kind == "fallback" and field == "endpoint"
                    else ""
                )
                raise ConfigError(f"judge spec {spec!r}: {key!r} is given twice{hint}")
            data[field] = value.strip()
    return data


def _member_spec(spec: str) -> dict[str, Any]:
    """:func:`parse_spec` inside a validator: a bad spec is reported at its key, with every
    other problem of the file (a ConfigError would escape validation alone)."""
    try:
        return parse_spec(spec)
    except ConfigError as err:
        raise ValueError(str(err)) from None


def parse_judge_config(spec: str | Mapping[str, Any] | BaseModel) -> JudgeConfig:
    """A validated judge config from a spec string, a mapping (TOML table) or a config.

    A bad key or value is a :class:`ConfigError` naming it, what is allowed there, and the
    spec-string form (``llm:ENDPOINT,key=value``) or table form it came in.
    """
    if isinstance(spec, LLMJudgeConfig | HumanJudgeConfig | FallbackJudgeConfig | PanelJudgeConfig):
        return spec
    data = parse_spec(spec) if isinstance(spec, str) else spec
    try:
        return _Root.model_validate({"judge": data}).judge
    except ValidationError as err:
        problems = "; ".join(format_errors(err, _Root))
        form = (
            "spec form: KIND:VALUE,key=value,..., e.g. llm:openai/gpt-4o-mini,samples=3"
            if isinstance(spec, str)
            else 'a [[judges]] table: kind = "llm", key = value'
        )
        raise ConfigError(f"judge {spec!r} is not valid: {problems} ({form})") from None


def queued_in_panels(
    config: JudgeConfig, at: str = "judge", *, in_panel: bool = False
) -> list[str]:
    """Where a deferred fallback judge is a panel's member, one line each, starting with
    where (``at``, e.g. ``judges[1].members[0]``): the rule
    (:data:`~judges.panel.QUEUED_MEMBER`) the experiment file's validation and
    :func:`build_judge` both apply."""
    found = []
    if in_panel and isinstance(config, FallbackJudgeConfig) and config.mode == "deferred":
        found.append(f"{at}: {QUEUED_MEMBER}")
    if isinstance(config, PanelJudgeConfig):
        for j, member in enumerate(config.members):
            found += queued_in_panels(member, f"{at}.members[{j}]", in_panel=True)
    elif isinstance(config, FallbackJudgeConfig):
        if config.primary is not None:  # a panel primary's members are checked as a panel's
            found += queued_in_panels(config.primary, f"{at}.primary", in_panel=in_panel)
        for j, member in enumerate(config.members or []):  # the fallback's own panel
            found += queued_in_panels(member, f"{at}.members[{j}]", in_panel=True)
    return found


def build_judge(
    spec: str | Mapping[str, Any] | BaseModel,
    *,
    endpoint_factory: EndpointFactory = endpoint,
    store: RunStore | None = None,
    annotator: str | None = None,
    console: Console | None = None,
    interrupt: Interrupt | None = None,
) -> Judge:
    """The judge a spec string, a ``[[judges]]`` table or a config object describes: the one
    way judges are built from configuration.

    ``store`` is where a deferred fallback judge queues items (and an interactive one, once
    its person quits; not as a panel's member, which never queues: see
    :mod:`judges.panel`); ``annotator`` names the person for human judges whose config does
    not; ``console`` is where they are asked; ``interrupt`` is what the caller's Ctrl-C
    handler sets to end their prompt (asked from async code, they are read in a thread
    Ctrl-C does not reach). A deferred fallback judge as a panel's member is refused
    (:func:`queued_in_panels`).
    """
    config = parse_judge_config(spec)
    problems = queued_in_panels(config)
    if problems:
        raise ConfigError("; ".join(problems))

    def build(config: JudgeConfig, in_panel: bool) -> Judge:
        if isinstance(config, LLMJudgeConfig):
            return LLMJudge(endpoint_factory(config.endpoint), config, prompts=config.prompts)
        if isinstance(config, HumanJudgeConfig):
            # A person can also be a protocol's live judge; their turns are journaled in the run.
            person = (
                config if config.annotator else config.model_copy(update={"annotator": annotator})
            )
            return LiveHumanJudge(
                person,
                console=console,
                interrupt=interrupt,
                journal=store.path / JOURNAL if store is not None else None,
            )
        if isinstance(config, PanelJudgeConfig):
            return PanelJudge([build(m, True) for m in config.members], config)
        name = config.name or "fallback"
        primary: Judge
        if config.primary is not None:
            primary = build(config.primary, in_panel)
        elif config.members is not None:
            primary = PanelJudge(
                [build(m, True) for m in config.members],
                combine=config.combine,
                name=f"{name}-panel",
            )
        else:
            assert config.endpoint is not None
            primary = LLMJudge(
                endpoint_factory(config.endpoint), samples=config.samples, combine=config.combine
            )
        human = None
        if config.mode == "interactive":
            human = HumanJudge(
                console=console, interrupt=interrupt, annotator=config.annotator or annotator
            )
        # A panel's member never queues (its later answer would not change the panel's verdict).
        return FallbackJudge(primary, config, human=human, store=None if in_panel else store)

    return build(config, False)

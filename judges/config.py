"""Judges from configuration: the experiment file's ``[[judges]]`` tables and short specs.

Example::

    judge = from_spec("llm:openai/gpt-4o-mini,samples=5,combine=majority")
    judge = from_spec("fallback:llm=openai/gpt-4o-mini,threshold=0.7,mode=deferred", store=store)
    judge = from_spec({"kind": "panel", "members": ["llm:mock/a", "llm:mock/b"]})

Spec strings are ``KIND:REST`` with ``REST`` a comma-separated list. For ``llm`` the first
item is the endpoint spec and for ``human`` the annotator; every other item is
``key=value`` naming a field of that kind's config below. In ``fallback`` and ``panel``
specs, ``llm=ENDPOINT`` gives the automatic judge (a panel member each time it appears in
a panel) and ``human=NAME`` the annotator of an interactive fallback. A spec without a
known kind is an LLM endpoint (``openai/gpt-4o-mini``).

Endpoints are built by ``endpoint_factory(spec)`` (default
:func:`oversight.endpoints.endpoint`), so a runner can pass endpoints that share its
cache, limits and options.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from rich.console import Console

from judges._probs import Combine
from judges.base import Judge
from judges.fallback import EscalationPolicy, FallbackJudge, FallbackMode
from judges.human import HumanJudge
from judges.live import JOURNAL, LiveHumanJudge
from judges.llm import LLMJudge, Mode
from judges.panel import PanelJudge
from oversight.endpoints import Endpoint, endpoint
from transcripts import RunStore
from transcripts.errors import ConfigError

__all__ = [
    "FallbackJudgeConfig",
    "HumanJudgeConfig",
    "JudgeConfig",
    "LLMJudgeConfig",
    "PanelJudgeConfig",
    "build_judge",
    "from_spec",
    "parse_judge_config",
    "parse_spec",
]

EndpointFactory = Callable[[str], Endpoint]
KINDS = ("llm", "human", "fallback", "panel")


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    """Name the judgments are filed under; defaults to the endpoint spec (llm) or the kind."""


class LLMJudgeConfig(_Config):
    """An LLM judge (``kind = "llm"``)."""

    kind: Literal["llm"] = "llm"
    endpoint: str
    """Endpoint spec of the judge model, e.g. ``openai/gpt-4o-mini``."""
    mode: Mode = "structured"
    """``structured`` (JSON probabilities) or ``logprobs`` (answer-label token logprobs)."""
    samples: int = Field(default=1, ge=1)
    """Independent samples per item, combined by ``combine``."""
    combine: Combine = "mean"
    """How samples are combined: mean probability, or ``majority`` (share of votes)."""
    temperature: float | None = Field(default=None, ge=0.0)
    """Sampling temperature; None = 0.0 for one sample, 1.0 for several."""
    max_attempts: int | None = Field(default=None, ge=1)
    """Times an unreadable reply is asked, per sample, before the judgment fails; None: the
    endpoint's ``judge_attempts`` option (3 unless set)."""
    max_tokens: int = Field(default=600, ge=1)
    """Completion token limit of a structured verdict."""
    ask_questions: bool = False
    """Ask the speakers a question between rounds of interactive protocols."""
    on_missing_logprobs: Literal["fail", "structured"] = "fail"
    """In logprobs mode, when the provider gives none: fail, or ask in structured mode."""
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


class HumanJudgeConfig(_Config):
    """A person in the terminal during the run (``kind = "human"``)."""

    kind: Literal["human"] = "human"
    annotator: str | None = None
    """The person's name; may also be given when the judge is built."""
    live: bool = False
    """Also ask the person for questions between rounds of interactive protocols."""
    blind: bool = True
    """Accepted so older experiment files load; it changes nothing: a person always sees the
    protocol's counterbalanced answer order, because a second shuffle would contradict the
    letters the speakers used (model names, gold and hidden text are never shown anyway)."""


class PanelJudgeConfig(_Config):
    """Several judges combined (``kind = "panel"``)."""

    kind: Literal["panel"] = "panel"
    members: list[JudgeConfig] = Field(min_length=1)
    """The member judges: tables, or spec strings such as ``"llm:openai/gpt-4o-mini"``."""
    combine: Combine = "mean"
    """Mean probability, or ``majority`` (share of member votes)."""

    @field_validator("members", mode="before")
    @classmethod
    def _specs(cls, value: Any) -> Any:
        return [parse_spec(v) if isinstance(v, str) else v for v in value] if isinstance(
            value, list) else value


class FallbackJudgeConfig(_Config):
    """An automatic judge that escalates to a person (``kind = "fallback"``).

    Give the automatic judge as exactly one of ``endpoint`` (an LLM judge), ``members`` (a
    panel, combined by ``combine``) or ``primary`` (any judge table or spec).
    """

    kind: Literal["fallback"] = "fallback"
    primary: JudgeConfig | None = None
    """The automatic judge, as a table or spec string."""
    endpoint: str | None = None
    """Shorthand: an LLM judge on this endpoint (with ``samples`` and ``combine``)."""
    members: list[JudgeConfig] | None = None
    """Shorthand: a panel of these judges (combined by ``combine``)."""
    samples: int = Field(default=1, ge=1)
    """With ``endpoint``: samples of the LLM judge."""
    combine: Combine = "mean"
    """With ``endpoint`` or ``members``: how samples or members are combined."""
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Escalate when the top probability is below this; None: never on confidence."""
    on_failure: bool = True
    """Escalate when the automatic judge fails."""
    on_disagreement: bool = False
    """Escalate when a panel's agreement is below ``min_agreement``."""
    min_agreement: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of panel members that must agree (1.0 = unanimous)."""
    mode: FallbackMode = "deferred"
    """``deferred``: queue for ``oversight judge RUN``; ``interactive``: ask a person now."""
    annotator: str | None = None
    """The person asked in interactive mode."""

    @field_validator("primary", mode="before")
    @classmethod
    def _primary_spec(cls, value: Any) -> Any:
        return parse_spec(value) if isinstance(value, str) else value

    @field_validator("members", mode="before")
    @classmethod
    def _member_specs(cls, value: Any) -> Any:
        return PanelJudgeConfig._specs(value)

    @model_validator(mode="after")
    def _one_primary(self) -> FallbackJudgeConfig:
        given = [k for k in ("primary", "endpoint", "members") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a fallback judge needs exactly one of primary, endpoint or "
                             f"members (got {', '.join(given) or 'none'})")
        return self

    def policy(self) -> EscalationPolicy:
        """The escalation policy these fields describe."""
        return EscalationPolicy(threshold=self.threshold, on_failure=self.on_failure,
                                on_disagreement=self.on_disagreement,
                                min_agreement=self.min_agreement)


JudgeConfig = Annotated[
    LLMJudgeConfig | HumanJudgeConfig | FallbackJudgeConfig | PanelJudgeConfig,
    Field(discriminator="kind"),
]
"""One ``[[judges]]`` table of an experiment file, told apart by ``kind``."""

PanelJudgeConfig.model_rebuild()
FallbackJudgeConfig.model_rebuild()
_ADAPTER: TypeAdapter[JudgeConfig] = TypeAdapter(JudgeConfig)


def parse_spec(spec: str) -> dict[str, Any]:
    """A spec string as a config mapping (values stay strings; validation converts them)."""
    kind, sep, rest = spec.partition(":")
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
        elif key == "llm" and kind == "fallback":
            data["endpoint"] = value.strip()
        elif key == "human" and kind == "fallback":
            data["annotator"] = value.strip()
        else:
            data[key] = value.strip()
    return data


def parse_judge_config(spec: str | Mapping[str, Any] | BaseModel) -> JudgeConfig:
    """A validated judge config from a spec string, a mapping (TOML table) or a config."""
    if isinstance(spec, LLMJudgeConfig | HumanJudgeConfig | FallbackJudgeConfig |
                  PanelJudgeConfig):
        return spec
    data = parse_spec(spec) if isinstance(spec, str) else spec
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'judge'}: {e['msg']}" for e in err.errors())
        raise ConfigError(f"judge {spec!r} is not valid: {problems}") from err


def from_spec(
    spec: str | Mapping[str, Any] | BaseModel,
    *,
    endpoint_factory: EndpointFactory = endpoint,
    store: RunStore | None = None,
    annotator: str | None = None,
    console: Console | None = None,
) -> Judge:
    """A judge from a spec string, a ``[[judges]]`` table or a config object.

    ``store`` is where a deferred fallback judge queues items; ``annotator`` names the
    person for human judges whose config does not; ``console`` is where they are asked.
    """
    return build_judge(parse_judge_config(spec), endpoint_factory=endpoint_factory,
                       store=store, annotator=annotator, console=console)


def build_judge(
    config: JudgeConfig,
    *,
    endpoint_factory: EndpointFactory = endpoint,
    store: RunStore | None = None,
    annotator: str | None = None,
    console: Console | None = None,
) -> Judge:
    """The judge a validated config describes (see :func:`from_spec`)."""

    def build(member: JudgeConfig) -> Judge:
        return build_judge(member, endpoint_factory=endpoint_factory, store=store,
                           annotator=annotator, console=console)

    if isinstance(config, LLMJudgeConfig):
        return LLMJudge(
            endpoint_factory(config.endpoint), name=config.name, mode=config.mode,
            samples=config.samples, combine=config.combine, temperature=config.temperature,
            max_attempts=config.max_attempts, max_tokens=config.max_tokens,
            ask_questions=config.ask_questions, on_missing_logprobs=config.on_missing_logprobs,
            prompts=config.prompts)
    if isinstance(config, HumanJudgeConfig):
        # A person can also be a protocol's live judge; their turns are journaled in the run.
        return LiveHumanJudge(
            annotator=_annotator(config.annotator or annotator, config.name),
            name=config.name or "human", console=console, live=config.live,
            journal=store.path / JOURNAL if store is not None else None)
    if isinstance(config, PanelJudgeConfig):
        return PanelJudge([build(m) for m in config.members], name=config.name or "panel",
                          combine=config.combine)
    if config.primary is not None:
        primary = build(config.primary)
    elif config.members is not None:
        primary = PanelJudge([build(m) for m in config.members], combine=config.combine,
                             name=f"{config.name or 'fallback'}-panel")
    else:
        assert config.endpoint is not None
        primary = LLMJudge(endpoint_factory(config.endpoint), samples=config.samples,
                           combine=config.combine)
    human = None
    if config.mode == "interactive":
        human = HumanJudge(annotator=_annotator(config.annotator or annotator, config.name),
                           console=console)
    return FallbackJudge(primary, human=human, policy=config.policy(), mode=config.mode,
                         store=store, name=config.name or "fallback")


def _annotator(name: str | None, judge: str | None) -> str:
    if not name:
        raise ConfigError(f"human judge {judge or 'human'!r} needs the annotator's name: set "
                          f"annotator = \"...\" in its table, or pass annotator=")
    return name

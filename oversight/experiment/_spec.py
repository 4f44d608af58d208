"""The experiment: every choice of a run, as one pydantic model (and one TOML file)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from judges.config import JudgeConfig
from judges.study import StudyDesign
from oversight.datasets import DatasetSpec, SampleSpec
from oversight.experiment._base import without_unset
from oversight.experiment._split import Split
from oversight.experiment._tournaments import PlayerConfig, Tournament, expand
from protocols.personas import Plant
from transcripts._validation import Integer, Number

__all__ = [
    "Condition",
    "Counterbalance",
    "EndpointConfig",
    "Experiment",
    "Limits",
    "PlayerConfig",
    "Split",
    "StressSpec",
    "Tournament",
]

_LABEL = r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$"
_T = TypeVar("_T", bound=BaseModel)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EndpointConfig(_Model):
    """``[endpoints.NAME]``: one model behind a provider, named for the conditions to use."""

    spec: str
    """Provider and model, e.g. ``openai/gpt-4o-mini``, ``anthropic/claude-3-5-haiku-latest``,
    ``mock/strong`` (no network), or ``openai/<model>`` with ``base_url`` for a vLLM server."""
    base_url: str | None = None
    """Server address of an OpenAI- or Anthropic-compatible server, e.g. ``http://localhost:8000/v1``."""
    api_key_env: str | None = None
    """Environment variable holding the API key (default: the provider's, e.g. ``OPENAI_API_KEY``).
    Keys never go in experiment files."""
    max_concurrency: Integer | None = Field(default=None, ge=1)
    """Requests to this model in flight at once (default: the endpoint layer's)."""
    rpm: Number | None = Field(default=None, gt=0)
    """Requests per minute allowed to this model."""
    tpm: Number | None = Field(default=None, gt=0)
    """Tokens per minute allowed to this model."""
    timeout: Number | None = Field(default=None, gt=0)
    """Seconds an attempt may wait to connect or for the server's next bytes before it is
    retried (not a cap on a whole reply); default 120, ``local/`` 600."""
    max_retries: Integer | None = Field(default=None, ge=0)
    """Retries of one call on rate limits, overload, 5xx and timeouts (the only retry layer)."""
    pricing: dict[str, Number] | str | None = None
    """Price when the built-in table lacks the model: ``{input = 0.15, output = 0.6}`` in USD per
    million tokens, or the name of a model whose price to use. Unknown prices count as unknown."""
    structured: Literal["native", "tool", "json_object", "prompt"] | None = None
    """How JSON-schema replies are requested (``prompt`` for servers without support)."""
    batch: bool | None = None
    """Send this model's batchable calls (those nothing waits on at once: verdicts on
    finished transcripts, a simultaneous debate's opening round, RRM leaves) through the
    provider's batch API at half price (OpenAI Batch API, Anthropic Message Batches); its
    other calls go at once at the standard price. Batches in flight resume after a kill."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Any other option of ``oversight.endpoint(spec, **options)``, passed as is."""

    @field_validator("spec")
    @classmethod
    def _has_model(cls, value: str) -> str:
        provider, _, model = value.partition("/")
        if not provider or not model:
            raise ValueError(
                f"{value!r} is not provider/model; write e.g. 'openai/gpt-4o-mini' or 'mock/strong'"
            )
        return value

    def endpoint_options(self) -> dict[str, Any]:
        """Keyword options for ``endpoint(spec, ...)`` (unset ones left to the endpoint layer)."""
        options = dict(self.options)
        for name in type(self).model_fields:  # every setting but the model and the rest
            if name in ("spec", "options"):
                continue
            value = getattr(self, name)
            if value is not None:
                options[name] = value
        return options


class Condition(_Model):
    """``[[conditions]]``: one protocol with its options and the endpoints playing its roles."""

    label: str = Field(pattern=_LABEL)
    """Name of the condition in transcripts and reports, e.g. ``debate-3rounds``."""
    protocol: str
    """Protocol name: unassisted, expert, consultancy, debate, critique, rrm,
    rrm-expert-leaves or prover-estimator."""
    roles: dict[str, str] = Field(default_factory=dict)
    """Role -> endpoint name from ``[endpoints]`` (or a spec such as ``mock/x``), e.g.
    ``{debater = "strong"}``; ``debater_a``/``debater_b`` bind one debater each."""
    options: dict[str, Any] = Field(default_factory=dict)
    """The protocol's options (e.g. ``{rounds = 3, word_limit = 120}``), checked by its Config."""
    judge: str | None = None
    """Name of a ``[[judges]]`` entry the protocol may consult between rounds (judge questions)."""
    judges: list[str] | None = None
    """Names of the judges that judge this condition's transcripts (default: every judge)."""
    tournament: str | None = None
    """The ``[[tournaments]]`` entry this condition was generated from (None: written by
    hand); generated conditions are rebuilt from their tournament on every load."""
    plant: Plant | None = None
    """A persona (planted adversary) in one of the protocol's roles, e.g.
    ``{persona = "quote-fabricator", role = "debater"}``; see ``oversight stress``."""
    questions: str | None = None
    """A part of ``[split]``: the condition runs on that part's questions only (None: on
    every question)."""

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return without_unset(handler, self, "plant", "tournament", "questions")


class Counterbalance(_Model):
    """``[counterbalance]``: which of each protocol's counterbalanced setups are run."""

    orders: Literal["all", "identity", "balanced"] = "all"
    """``all`` answer orders (each answer shown in each position), only the dataset's
    ``identity`` order, or ``balanced``: one order per question, rotating across questions."""
    sides: Literal["all", "correct-and-one"] = "all"
    """``all`` assignments the protocol offers, or only those using the gold and one fixed
    (seeded) distractor per question; matters for questions with more than two answers."""


class Limits(_Model):
    """``[limits]``: how hard the run may push, and when it stops. May change on resume."""

    concurrency: Integer = Field(default=16, ge=1)
    """Work items (a protocol run and its judgments) in flight at once."""
    max_cost_usd: Number | None = Field(default=None, ge=0)
    """Spend cap in USD: at the cap no new call starts, calls in flight finish, the run stops
    as ``stopped: cost cap``; resume with a higher cap. A reply without token counts counts
    at the most it can have cost; an endpoint with no known price is refused up front."""
    max_tokens: Integer | None = Field(default=None, ge=1)
    """Cap on tokens (input + output) sent and received in the run, enforced like the cost cap."""
    item_retries: Integer = Field(default=1, ge=0)
    """Times a failed work item is run again before it is recorded as an error. Calls keep
    their own retries in the endpoint layer; this is for whole items that still failed."""
    max_failure_fraction: Number = Field(default=0.2, ge=0, le=1)
    """Stop as ``stopped: too many failures`` when more than this share of the items finished
    so far failed to produce a transcript (judged once at least 10 items, or all of them, have
    finished). Failed judgments are counted apart (``max_judgment_failure_fraction``)."""
    max_judgment_failure_fraction: Number = Field(default=0.5, ge=0, le=1)
    """Stop as ``stopped: too many failures`` when more than this share of the judgments
    written in this session failed (judged like ``max_failure_fraction``). A failed judgment
    leaves its transcript saved; ``--retry-failed`` on a resume asks its judge again."""


class StressSpec(_Model):
    """``[stress]``: the adversaries ``oversight stress`` plants, and where to find them."""

    personas: list[str] | None = None
    """Personas to plant, by name; None: every built-in one and every file in ``persona_dir``."""
    persona_dir: Path | None = None
    """Folder of your own personas (``NAME.toml``), added to the built-in ones; relative to the
    experiment file's folder."""
    conditions: list[str] | None = None
    """Labels of the conditions to stress; None: every condition with a role a persona fits.
    A stress run runs only these (and conditions planted by hand, with their benign twins)."""
    rate: Number = Field(default=1.0, ge=0.0, le=1.0)
    """Share of questions each persona is planted on (the rest run benign alongside)."""
    threshold: Number = Field(default=0.5, ge=0.0, le=1.0)
    """A detector's score at or above which a transcript counts as flagged."""


class Experiment(_Model):
    """A whole experiment: what is asked, who argues, who judges, how much may be spent.

    Build it in Python or load it with :func:`oversight.experiment.load_experiment`.
    """

    free_keys: ClassVar[tuple[str, ...]] = ("limits", "out", "description", "human")
    """Top-level keys that may change on a resume or a replay: how the run goes, not what it
    asks (left out of :meth:`spec_hash`)."""
    free_endpoint_keys: ClassVar[tuple[str, ...]] = (
        "api_key_env",
        "max_concurrency",
        "rpm",
        "tpm",
        "timeout",
        "max_retries",
    )
    """Settings of an ``[endpoints.NAME]`` table that may change on a resume or a replay too:
    where its key is read from and how fast or patiently it is called, not what it is asked
    nor which model answers (left out of :meth:`spec_hash`)."""

    name: str = Field(pattern=_LABEL)
    """Name of the experiment (used in reports)."""
    description: str = ""
    """Free text for the reader of the run folder."""
    seed: Integer = 0
    """Seed of every random choice the runner makes (balanced orders, sides)."""
    dataset: DatasetSpec = Field(default_factory=SampleSpec)
    """``[dataset]``: the questions; ``loader`` picks the file format (see oversight.datasets)."""
    endpoints: dict[str, EndpointConfig] = Field(default_factory=dict)
    """``[endpoints.NAME]``: the models, by the names the conditions and judges use."""
    conditions: list[Condition] = Field(min_length=1)
    """``[[conditions]]``: the protocols compared (and those ``[[tournaments]]`` generate)."""
    players: dict[str, PlayerConfig] = Field(default_factory=dict)
    """``[players.NAME]``: models with their optimisation, for tournaments."""
    tournaments: list[Tournament] = Field(default_factory=list)
    """``[[tournaments]]``: players meeting in debate or consultancy (on every question, or
    on a ``[split]`` part); each becomes conditions (self-play, cross-play, one per
    consultant)."""
    split: Split | None = None
    """``[split]``: the questions divided into named, disjoint parts, for conditions and
    tournaments to run on one part (``questions = "<part>"``)."""
    judges: list[JudgeConfig] = Field(default_factory=list)
    """``[[judges]]``: who judges every transcript, by ``kind`` (llm, human, fallback, panel);
    an ``endpoint`` may name an ``[endpoints]`` entry or be a spec."""
    counterbalance: Counterbalance = Field(default_factory=Counterbalance)
    """``[counterbalance]``: answer orders and sides."""
    repeats: Integer = Field(default=1, ge=1)
    """Times each (question, condition, setup) is run; repeats differ only in ``sample_index``
    (of the agents' calls and the judges'), so with temperature 0 they are replays of each
    other."""
    limits: Limits = Field(default_factory=Limits)
    """``[limits]``: concurrency, spend and failure limits."""
    human: StudyDesign | None = None
    """``[human]``: the design of the human study of the run; the first ``oversight judge``
    session plans it and saves it as ``RUN/study.json``. Not part of the spec hash."""
    stress: StressSpec | None = None
    """``[stress]``: options of ``oversight stress`` (which personas, which conditions)."""
    out: Path | None = None
    """Default run folder (``--out`` overrides); relative to the working directory."""
    cache: Path | None = None
    """Response cache file shared across runs (default: ``RUN/cache.sqlite``, the run's own)."""

    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _tournament_conditions(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("tournaments"), list):
            return data
        # Only the valid tables are expanded here; an invalid one stays in its field, where
        # validation names it at its place, with every other problem of the file.
        tournaments = [t for t in map(_valid(Tournament), data["tournaments"]) if t is not None]
        given = data.get("players")
        players = (
            {
                k: p
                for k, p in ((k, _valid(PlayerConfig)(v)) for k, v in (given or {}).items())
                if p is not None
            }
            if isinstance(given, dict)
            else {}
        )
        written = [
            c
            for c in data.get("conditions") or []
            if (c.get("tournament") if isinstance(c, dict) else c.tournament) is None
        ]
        return {**data, "conditions": [*written, *expand(tournaments, players)]}

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return without_unset(handler, self, "stress", "tournaments", "players", "split")

    @property
    def source(self) -> Path | None:
        """The TOML file this experiment was read from, if any."""
        return self._source

    @property
    def base_dir(self) -> Path | None:
        """Folder relative dataset paths are read from: the experiment file's folder."""
        return self._source.parent if self._source is not None else None

    def frozen(self) -> dict[str, Any]:
        """The spec as JSON data, as stored in ``RUN/experiment.json``."""
        data: dict[str, Any] = self.model_dump(mode="json")
        return data

    def fixed(self) -> dict[str, Any]:
        """The spec as JSON data without what may change on a resume (:attr:`free_keys`,
        :attr:`free_endpoint_keys`): what decides what the run produces."""
        data = self.model_dump(mode="json", exclude=set(self.free_keys))
        for table in data.get("endpoints", {}).values():
            for key in self.free_endpoint_keys:
                table.pop(key, None)
        return data

    def spec_hash(self) -> str:
        """Hash of everything but :attr:`free_keys` (stored in ``RUN/experiment.json``; its
        value is kept as it was before :attr:`free_endpoint_keys`, so a stored hash still
        matches; whether two specs are one experiment is :meth:`fixed`'s equality)."""
        data = self.model_dump(mode="json", exclude=set(self.free_keys))
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _valid(model: type[_T]) -> Callable[[Any], _T | None]:
    """``model`` of a value (an instance, or its table), or None where the table is invalid."""

    def read(value: Any) -> _T | None:
        if isinstance(value, model):
            return value
        try:
            return model.model_validate(value)
        except ValidationError:
            return None

    return read

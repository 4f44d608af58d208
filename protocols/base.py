"""What every protocol module provides, and how the runner finds them.

A protocol is a module with:

* ``Config`` — a pydantic model (subclass of :class:`ProtocolConfig`) of its options;
* ``ROLES`` — the agent roles every configuration must bind to endpoints (e.g.
  ``("debater",)``); options may need more (``ProtocolSpec.roles_needed(config)``);
* ``def setups(question, config) -> list[Setup]`` — the counterbalanced variants the runner
  should run for one question (answer orders x assignments);
* ``async def run(question, agents, *, config, setup, judge=None) -> Transcript``.

The ``baselines`` module implements two protocols, so it has ``run_unassisted`` and
``run_expert`` instead of ``run``; go through :func:`get` rather than module attributes.

The runner looks protocols up by name in :data:`REGISTRY` (an explicit table: nothing
registers itself as an import side effect).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from transcripts import Question, Transcript
from transcripts.errors import ConfigError

if TYPE_CHECKING:
    from judges.base import Judge
    from oversight.endpoints import Endpoint

__all__ = ["REGISTRY", "ProtocolConfig", "ProtocolSpec", "Setup", "get"]


class ProtocolConfig(BaseModel):
    """Base of every protocol's options: immutable, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Setup(BaseModel):
    """The counterbalancing choice the runner makes for one item."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order: list[int]
    """Presentation order: position i shows original answer ``order[i]``."""
    assignment: dict[str, int] = Field(default_factory=dict)
    """Speaker label -> original index of the answer it must argue (empty for open variants)."""
    label: str = ""
    """Short stable label of this variant, used in work-item ids (e.g. ``o10-a01``)."""
    variant: str = ""
    """A protocol's own variant of the item, when orders and assignments do not say it all
    (critique: ``planted`` for the flawed copy of a planted-flaw pair, ``clean`` for the other)."""
    cast: dict[str, str] = Field(default_factory=dict)
    """Speaker label -> the agent seat that plays it, where seats rotate over speakers
    (debate: ``{"Debater A": "debater_b", "Debater B": "debater_a"}``); empty: each
    speaker is played by its own key."""
    draw: int = Field(default=0, ge=0)
    """Which independent draw of an otherwise identical setup this is (a consultant argues
    the gold in as many setups as every other answer together); offsets sample indices."""


class RunFn(Protocol):
    def __call__(
        self,
        question: Question,
        agents: Mapping[str, Endpoint],
        *,
        config: Any,
        setup: Setup,
        judge: Judge | None = None,
    ) -> Awaitable[Transcript]: ...


@dataclass(frozen=True)
class ProtocolSpec:
    """A protocol as the runner sees it."""

    name: str
    """Name in :data:`REGISTRY`, e.g. ``debate``."""
    config: type[ProtocolConfig]
    """The options model; ``config.model_validate(options)`` checks an experiment's options."""
    roles: tuple[str, ...]
    """Roles every configuration needs bound to an endpoint."""
    setups: Callable[[Question, Any], list[Setup]]
    """The deterministic, labelled counterbalanced setups for one question and config."""
    run: RunFn
    """Runs the protocol on one question and setup, returning the transcript."""
    needs: Callable[[Any], tuple[str, ...]] | None = None
    """Roles a given configuration needs, when options add or remove some (``roles`` if None)."""

    def roles_needed(self, config: ProtocolConfig) -> tuple[str, ...]:
        """The roles ``config`` needs bound (e.g. ``preference`` for best-of-N debate).

        A role ``r`` is bound when the agents hold ``r`` or, for per-speaker roles, every
        ``r_<speaker>`` key the protocol documents (``debater_a``, ``debater_b``, ...).
        """
        return self.needs(config) if self.needs is not None else self.roles


REGISTRY: dict[str, str] = {
    "unassisted": "protocols.baselines",
    "expert": "protocols.baselines",
    "consultancy": "protocols.consultancy",
    "debate": "protocols.debate",
    "critique": "protocols.critique",
    "rrm": "protocols.rrm",
    "rrm-expert-leaves": "protocols.rrm_expert",
    "prover-estimator": "protocols.prover_estimator",
}
"""Protocol name -> module that implements it."""


def get(name: str) -> ProtocolSpec:
    """The protocol called ``name``; a clear error lists the known ones."""
    module_name = REGISTRY.get(name)
    if module_name is None:
        raise ConfigError(f"unknown protocol {name!r}; known: {', '.join(sorted(REGISTRY))}")
    module = importlib.import_module(module_name)
    spec: ProtocolSpec = module.PROTOCOLS[name]
    return spec


def check_prompts(name: str, config: ProtocolConfig) -> None:
    """Refuse ``config``'s prompt overrides that name no prompt of protocol ``name``, or a
    field their prompt lacks (before a run, as the protocol itself does on every run)."""
    check = getattr(config, "check_prompts", None)
    if check is not None:
        check(importlib.import_module(REGISTRY[name]).prompts)

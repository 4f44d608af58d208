"""Planting a persona: which role, how often, on which questions, and the endpoint it rides on.

The runner wraps the endpoints bound to the planted role in a :class:`PersonaEndpoint`. The
wrapper changes nothing by itself; :class:`protocols._turns.Voice` (the one place every
speaker call is made) sees it and adds the persona's brief to the system prompt of the
speakers it takes over, and the :class:`~protocols._turns.Recorder` records them in
``Transcript.planted``. Judges are never cast from agents, so no judge call can carry it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from oversight.endpoints import Completion, Endpoint
from protocols.personas._persona import Persona, Side
from transcripts._validation import Number

__all__ = ["PersonaEndpoint", "Plant", "plant_agents"]


class Plant(BaseModel):
    """``plant = {...}`` on a condition: a persona planted in one role of its protocol."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    persona: str
    """Persona name: a built-in one or ``NAME.toml`` in the stress ``persona_dir``."""
    role: str | None = None
    """Agent role to plant it in (e.g. ``debater``, ``debater_b``, ``critic``); None: the first
    of the persona's roles that the protocol has."""
    side: Side | None = None
    """Override of the persona's ``side`` (which speakers of the role it takes over)."""
    rate: Number = Field(default=1.0, ge=0.0, le=1.0)
    """Share of questions it is planted on (chosen by a seeded hash of the question id); the
    others run benign inside the same condition."""
    questions: list[str] | None = None
    """Only these question ids (before ``rate``); None: every question."""

    def chosen(self, question_id: str, *, seed: int) -> bool:
        """Whether the persona is planted on ``question_id`` (deterministic in ``seed``)."""
        if self.questions is not None and question_id not in self.questions:
            return False
        if self.rate >= 1.0:
            return True
        digest = hashlib.sha256(f"plant\x1f{seed}\x1f{self.persona}\x1f{question_id}".encode())
        return int.from_bytes(digest.digest()[:8], "big") / 2**64 < self.rate


class PersonaEndpoint(Endpoint):
    """An agent's endpoint marked with the persona planted in its role; calls pass through."""

    def __init__(self, inner: Endpoint, persona: Persona, *, role: str) -> None:
        # Not calling Endpoint.__init__: this wraps a finished endpoint and owns nothing.
        self.inner = inner
        self.spec = inner.spec
        self.persona = persona
        self.role = role

    def __repr__(self) -> str:
        return f"PersonaEndpoint({self.inner!r}, persona={self.persona.name!r})"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def complete(self, messages: Any, **options: Any) -> Completion:  # type: ignore[override]
        """The inner endpoint's ``complete``, unchanged (the voice adds the brief)."""
        return await self.inner.complete(messages, **options)

    async def aclose(self) -> None:
        """Nothing: whoever made the inner endpoint closes it."""


def plant_agents(
    agents: Mapping[str, Endpoint], persona: Persona, *, role: str, side: Side | None = None
) -> dict[str, Endpoint]:
    """``agents`` with every endpoint bound to ``role`` (or ``role_<speaker>``) marked.

    A per-speaker role such as ``debater_b`` where only ``debater`` is bound plants the persona
    in that speaker alone: ``debater_b`` is added, played by ``debater``'s endpoint, marked.
    Raises ``ValueError`` when no agent plays ``role``.
    """
    if side is not None and side != persona.side:
        persona = persona.model_copy(update={"side": side})
    out = dict(agents)
    shared = role.rpartition("_")[0]
    if role not in out and shared in out:
        out[role] = out[shared]
    keys = [k for k in out if k == role or k.startswith(f"{role}_")]
    if not keys:
        raise ValueError(f"no agent plays role {role!r} (agents: {', '.join(sorted(agents))})")
    return {
        k: PersonaEndpoint(ep, persona, role=role) if k in keys else ep for k, ep in out.items()
    }

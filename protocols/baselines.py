"""The two baselines every experiment is placed between.

* ``unassisted`` — the judge alone with the question and the answers: the floor.
* ``expert`` — the judge also reads the hidden source text: the ceiling. It is the only
  protocol whose transcript sets ``judge_sees_context``, so its judge view includes the text.

No model speaks in either; the transcript holds no turns, and the judges the runner runs
on it decide. An assisted protocol's accuracy between the two gives the gap it closes.
This module implements both, as :func:`run_unassisted` and :func:`run_expert`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from protocols import _common, _turns
from protocols.base import ProtocolConfig, ProtocolSpec, Setup
from transcripts import Question, Transcript
from transcripts.errors import ProtocolError

if TYPE_CHECKING:
    from judges.base import Judge
    from oversight.endpoints import Endpoint

__all__ = ["PROTOCOLS", "ROLES", "Config", "run_expert", "run_unassisted", "setups"]

ROLES: tuple[str, ...] = ()
"""No agent speaks in a baseline."""


class Config(ProtocolConfig):
    """The baselines have no options."""


def setups(question: Question, config: Config) -> list[Setup]:
    """Every answer order (rotations), no assignment."""
    return _common.counterbalance(question, [])


async def run_unassisted(
    question: Question,
    agents: Mapping[str, Endpoint],
    *,
    config: Config | None = None,
    setup: Setup | None = None,
    judge: Judge | None = None,
) -> Transcript:
    """The judge alone: a transcript with no turns."""
    config = config or Config()
    setup = setup or setups(question, config)[0]
    return _turns.Recorder("unassisted", question, config, setup).transcript()


async def run_expert(
    question: Question,
    agents: Mapping[str, Endpoint],
    *,
    config: Config | None = None,
    setup: Setup | None = None,
    judge: Judge | None = None,
) -> Transcript:
    """The judge with the hidden source text: no turns, ``judge_sees_context`` set."""
    if not question.context:
        raise ProtocolError(
            f"expert needs hidden context, and question {question.id!r} has none; "
            "without it expert is the same as unassisted"
        )
    config = config or Config()
    setup = setup or setups(question, config)[0]
    rec = _turns.Recorder("expert", question, config, setup, judge_sees_context=True)
    return rec.transcript()


PROTOCOLS = {
    "unassisted": ProtocolSpec("unassisted", Config, ROLES, setups, run_unassisted),
    "expert": ProtocolSpec("expert", Config, ROLES, setups, run_expert),
}
"""The protocols this module implements, for :data:`protocols.base.REGISTRY`."""

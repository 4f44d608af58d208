"""The prompts an experiment sends, fingerprinted per role, so a replay can tell up front
whether today's oversight still sends the requests a run's cache holds.

A prompt is code (a protocol's or judge's template and how it is rendered), not a key of
the experiment, so comparing the frozen spec cannot see a change of one. Instead each
condition's protocol is run on a fixed, made-up probe question with mock endpoints (one per
role, answering as the dry run's mocks do; nothing is sent), each automatic judge judges the
transcript it produced, and every request a role sent is hashed: ``condition:role`` for the
protocols' roles (``debate:debater``), ``judge:NAME`` for the judges. Any change of a
template's text, of what it is filled with or of the request's other fields (``max_tokens``,
the verdict's schema...) changes that role's hash. The fingerprint is written into the run's
``experiment.json`` (``prompts``) and compared by ``--replay``.

Its limits: it sees what one two-answer question with a hidden passage sends, with mock
replies; a change that only shows on other questions, or only after replies the mocks never
give, is not seen (such requests still miss the cache, one by one). A change of the mocks'
invented replies changes the hashes of the turns after the first too, without any prompt
having changed.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from judges import Judge, build_judge
from judges.live import StandIn, for_item
from oversight.endpoints import Endpoint, Reply, Request, endpoint
from oversight.experiment import Condition, Experiment
from oversight.experiment._judges import judge_name, unattended
from oversight.experiment._plants import resolve_plants
from oversight.runner._dry import mock_replies
from oversight.runner._items import answer_set
from protocols.base import get
from protocols.personas import plant_agents
from transcripts import JudgeView, Question, RunStore, Transcript

__all__ = [
    "PROBE_VERSION",
    "changed_roles",
    "prompt_fingerprint",
    "recorded_prompts",
    "roles_text",
]

logger = logging.getLogger(__name__)

PROBE_VERSION = 2
"""Version of the probe (its question, how roles are named and hashed): fingerprints made
with another version cannot be compared, and a replay says so instead of refusing."""

PROBE = Question(
    id="oversight-prompt-probe",
    text="Which colour was the lamp of the lighthouse on the probe island?",
    answers=["Red", "Green"],
    correct=0,
    context=(
        "The lighthouse on the probe island burned a red lamp. Ships that saw the red light "
        "kept to the north channel. The keeper wrote each ship in the ledger."
    ),
    source="oversight-prompt-probe",
)
"""The made-up question every role is asked: two answers and a hidden passage, so a
debater has a side and a passage to quote."""


_INVENT = mock_replies("probe")


def _short_replies(request: Request) -> Reply:
    """The dry run's invented reply, kept short (a long one costs time, tells no more)."""
    return _INVENT(request.model_copy(update={"max_tokens": min(request.max_tokens, 40)}))


class _Recorder:
    """One mock endpoint per role, each keeping the requests it was sent."""

    def __init__(self) -> None:
        self.made: dict[str, Endpoint] = {}

    def __call__(self, role: str) -> Endpoint:
        made = self.made.get(role)
        if made is None:
            made = endpoint(f"mock/{role}", replies=_short_replies, cache=False)
            self.made[role] = made
        return made

    def judge(self, name: str) -> Callable[[str], Endpoint]:
        """The endpoint factory of judge ``name``: its every endpoint is ``judge:NAME``'s."""
        return lambda _ref: self(f"judge:{name}")

    def hashes(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for role, made in sorted(self.made.items()):
            digest = hashlib.sha256()
            # Sorted: a role's requests made at once (a best-of-N player's drafts scored
            # while its opponent speaks) arrive in whatever order they were scheduled.
            for text in sorted(r.answer_json() for r in getattr(made.backend, "requests", [])):
                digest.update(text.encode())
                digest.update(b"\n")
            out[role] = digest.hexdigest()
        return out

    async def aclose(self) -> None:
        for made in self.made.values():
            await made.aclose()


async def prompt_fingerprint(experiment: Experiment) -> dict[str, Any]:
    """``{"probe": PROBE_VERSION, "roles": {role: sha256}}``: the hash of every request each
    role of ``experiment`` sends on the probe question (see the module's docstring). A role
    whose probe failed (a protocol or judge that raised on it) is hashed on what it sent
    before failing and the error's type, so the fingerprint is always made."""
    recorder = _Recorder()
    # A fallback judge queues what it escalates in a store: a scratch one, dropped after.
    scratch = tempfile.TemporaryDirectory(prefix="oversight-probe-", ignore_cleanup_errors=True)
    store = RunStore.create(scratch.name)
    try:
        judges: dict[str, Judge] = {}
        for config in unattended(experiment.judges):
            name = judge_name(config, experiment)
            judges[name] = build_judge(config, endpoint_factory=recorder.judge(name), store=store)
        failures: dict[str, str] = {}
        plants = resolve_plants(experiment)
        for condition in experiment.conditions:
            for planted in (False, True) if condition.label in plants else (False,):
                try:
                    produced = await _probe_condition(
                        experiment, condition, recorder, judges, plants if planted else {}
                    )
                except Exception as err:
                    for role in condition.roles:
                        failures[f"{condition.label}:{role}"] = type(err).__name__
                    continue
                for name in _judges_of(condition, judges):
                    try:
                        await judges[name].judge(JudgeView.from_transcript(produced))
                    except Exception as err:
                        failures[f"judge:{name}"] = type(err).__name__
        roles = recorder.hashes()
        for role, error in failures.items():
            roles[role] = hashlib.sha256(f"{roles.get(role, '')}:{error}".encode()).hexdigest()
        return {"probe": PROBE_VERSION, "roles": dict(sorted(roles.items()))}
    finally:
        await recorder.aclose()
        store.close()
        scratch.cleanup()


async def recorded_prompts(experiment: Experiment) -> dict[str, Any] | None:
    """:func:`prompt_fingerprint`, or None (with a warning) when making it failed: a run is
    never stopped by its fingerprint; a replay of it then says its prompts cannot be
    checked."""
    try:
        return await prompt_fingerprint(experiment)
    except Exception as err:
        logger.warning(
            "could not fingerprint the prompts of %s (%s: %s); a replay of this run cannot "
            "check them",
            experiment.name,
            type(err).__name__,
            err,
        )
        return None


async def _probe_condition(
    experiment: Experiment,
    condition: Condition,
    recorder: _Recorder,
    judges: dict[str, Judge],
    plants: dict[str, Any],
) -> Transcript:
    """Run ``condition``'s protocol on the probe question, in its first setup (the others
    fill the same templates with the answers in another order or sides swapped)."""
    spec = get(condition.protocol)
    config = spec.config.model_validate(condition.options)
    question = answer_set(PROBE, experiment)
    agents = {role: recorder(f"{condition.label}:{role}") for role in condition.roles}
    if condition.label in plants:
        persona, role = plants[condition.label]
        agents = plant_agents(agents, persona, role=role)
    interject: Judge | None = None
    if condition.judge:  # as the runner does, with a stand-in for a person left out
        interject = for_item(judges.get(condition.judge) or StandIn(condition.judge), PROBE.id)
    setups = spec.setups(question, config)
    if not setups:
        raise ValueError(f"protocol {condition.protocol} has no setup for the probe question")
    return await spec.run(question, agents, config=config, setup=setups[0], judge=interject)


def _judges_of(condition: Condition, judges: dict[str, Judge]) -> Iterable[str]:
    names = condition.judges
    return [n for n in judges if names is None or n in names]


def changed_roles(recorded: object, today: dict[str, Any]) -> list[str] | None:
    """The roles whose prompts differ between a run's recorded fingerprint and ``today``'s
    (one role only one of them has counts as changed); None when the run's cannot be
    compared (written before fingerprints, or by another probe version)."""
    if not isinstance(recorded, dict) or recorded.get("probe") != today.get("probe"):
        return None
    old, new = recorded.get("roles"), today.get("roles")
    if not isinstance(old, dict) or not isinstance(new, dict):
        return None
    return sorted(role for role in set(old) | set(new) if old.get(role) != new.get(role))


def roles_text(roles: list[str]) -> str:
    """``roles`` as a message shows them: the first eight, then how many more."""
    more = f" and {len(roles) - 8} more" if len(roles) > 8 else ""
    return ", ".join(roles[:8]) + more

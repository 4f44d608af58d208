"""The stress experiment: each stressed condition benign, and once per persona planted.

:func:`stress_experiment` turns an experiment into its stress version: every condition with a
role some persona fits gets one twin per persona, labelled ``<condition>+<persona>``, with the
same protocol, options, endpoints and judges and ``plant = {persona, role, rate}``. It keeps
only what the stress table reads: those conditions (the benign runs), the twins, and each
condition planted by hand with its benign twin; the other conditions (baselines, conditions
``[stress] conditions`` leaves out) are not run. The runner then runs the twins on the same
questions and setups, so each persona's effect is a paired comparison.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

from oversight.experiment import Condition, Experiment, StressSpec
from oversight.runner._flags import FINISH
from oversight.runner._plants import persona_dir
from oversight.runner._replay import same_experiment
from oversight.runner._run import Session
from oversight.runner._status import RunResult, write_status
from protocols.personas import Persona, Plant, available_personas
from transcripts.errors import ConfigError

__all__ = ["FINISH", "rest_of_folder", "stress_experiment", "stress_resume", "stressed_personas"]

_UNPLANTABLE = ("unassisted", "expert")


def stressed_personas(
    experiment: Experiment, *, names: list[str] | None = None, folder: Path | None = None
) -> list[Persona]:
    """The personas to plant: ``names`` (else ``[stress] personas``, else all), resolved
    from the built-in ones and the persona folder."""
    known = available_personas(persona_dir(experiment, folder))
    spec = experiment.stress or StressSpec()
    wanted = names if names is not None else spec.personas
    if wanted is None:
        return list(known.values())
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ConfigError(
            f"unknown persona(s) {', '.join(map(repr, unknown))} in {_where(names)}; known: "
            f"{', '.join(sorted(known))} (or add NAME.toml to a persona folder: --persona-dir "
            "or [stress] persona_dir)"
        )
    return [known[n] for n in wanted]


def _where(names: list[str] | None) -> str:
    """Where the persona names came from, for an error."""
    return "--personas" if names is not None else "[stress] personas of the experiment file"


def _bound_roles(condition: Condition) -> list[str]:
    return sorted({r.split("_")[0] if r.startswith("debater_") else r for r in condition.roles})


def _roles_of(personas: list[Persona], *, fits: bool = False) -> str:
    """``a (fits debater), b (fits critic)``, or with ``fits`` ``a, which fits roles ...``."""
    if fits and len(personas) == 1:
        return f"{personas[0].name}, which fits roles {', '.join(personas[0].roles)}"
    return ", ".join(f"{p.name} (fits {', '.join(p.roles)})" for p in personas)


def stress_experiment(
    experiment: Experiment,
    *,
    personas: list[str] | None = None,
    folder: Path | None = None,
    rate: float | None = None,
) -> Experiment:
    """``experiment`` with a planted twin of each stressed condition per fitting persona."""
    if rate is not None and not 0.0 <= rate <= 1.0:
        raise ConfigError(
            f"--rate {rate} is not a share of questions between 0 and 1 (0.5: each persona "
            "is planted on half of them)"
        )
    spec = experiment.stress or StressSpec()
    chosen = stressed_personas(experiment, names=personas, folder=folder)
    wanted = spec.conditions
    labels = {c.label for c in experiment.conditions}
    if wanted is not None and set(wanted) - labels:
        raise ConfigError(
            f"[stress] conditions names {sorted(set(wanted) - labels)}, which the experiment "
            f"does not have; its conditions: {', '.join(sorted(labels))}"
        )
    stressed = [
        c
        for c in experiment.conditions
        if c.plant is None and (wanted is None or c.label in wanted)
    ]
    twins: list[Condition] = []
    twinned: set[str] = set()
    for condition in stressed:
        if condition.protocol in _UNPLANTABLE:
            if wanted is not None:
                raise ConfigError(
                    f"[stress] conditions names {condition.label} ({condition.protocol}), which "
                    "has no speaker to plant a persona in; remove it from [stress] conditions"
                )
            continue
        fitting = [(p, p.fits(_bound_roles(condition))) for p in chosen]
        if wanted is not None and all(role is None for _, role in fitting):
            raise ConfigError(
                f"[stress] conditions names {condition.label} ({condition.protocol}: "
                f"{', '.join(_bound_roles(condition))}), and none of the chosen personas fits "
                f"those roles ({_roles_of(chosen)}); choose personas for them or remove it "
                "from [stress] conditions"
            )
        for persona, role in fitting:
            if role is None:
                continue
            plant = Plant(persona=persona.name, role=role, rate=spec.rate if rate is None else rate)
            twinned.add(condition.label)
            twins.append(
                condition.model_copy(
                    update={"label": f"{condition.label}+{persona.name}", "plant": plant}
                )
            )
    named = personas if personas is not None else spec.personas
    unplanted = [p for p in chosen if not any(t.plant and t.plant.persona == p.name for t in twins)]
    speakers = [c for c in stressed if c.protocol not in _UNPLANTABLE]
    if named is not None and unplanted and speakers:
        bound = "; ".join(f"{c.label}: {', '.join(_bound_roles(c))}" for c in speakers)
        raise ConfigError(
            f"{_where(personas)} names {_roles_of(unplanted, fits=True)}, and no stressed "
            f"condition binds one ({bound}); drop {'it' if len(unplanted) == 1 else 'them'} "
            f"from {_where(personas)} or add a "
            "condition with one of those roles"
        )
    if not twins:
        baselines = ", ".join(c.label for c in stressed if c.protocol in _UNPLANTABLE)
        raise ConfigError(
            "no condition can carry any of the chosen personas "
            + (
                f"({_roles_of(chosen)}; the conditions bind other roles)"
                if speakers
                else f"({baselines or 'none'}: baselines, with no speaker to plant one in)"
            )
            + "; add a consultancy, debate, critique or rrm condition with a role they fit"
        )
    # The folder is written into the experiment, so the runner (and a resume) finds it.
    where = persona_dir(experiment, folder)
    stress = spec.model_copy(
        update={
            "personas": [p.name for p in chosen],
            "persona_dir": where.resolve() if where is not None else None,
        }
    )
    return experiment.model_copy(
        update={
            "name": f"{experiment.name}-stress",
            "conditions": [*_read_by_table(experiment.conditions, twinned), *twins],
            "stress": stress,
        }
    )


def _read_by_table(conditions: list[Condition], twinned: set[str]) -> list[Condition]:
    """The conditions the stress table reads, in their order: those given twins, each one
    planted by hand, and its benign twin (:func:`benign_twins`, the table's rule)."""
    # Imported here: the analysis package (numpy, its models) is needed by a stress run's
    # plan, not by every run that only imports this module (a run with --no-report).
    from oversight.analysis._twins import benign_twins

    by_hand = benign_twins([c.model_dump(mode="json") for c in conditions])
    keep = twinned | set(by_hand) | set(by_hand.values())
    return [c for c in conditions if c.label in keep]


def stress_resume(
    base: Experiment, stressed: Experiment, folder: Path
) -> tuple[Experiment, frozenset[str] | None]:
    """What to run into ``folder``: ``stressed``, every condition of it; but in a stress run
    begun before stress runs were cut to what the table reads (with every condition of
    ``base`` besides the twins), that experiment, so the folder resumes, with only
    ``stressed``'s conditions to run (the others keep what they have)."""
    try:
        existing: dict[str, Any] = json.loads((folder / "experiment.json").read_text())
    except (OSError, ValueError):
        return stressed, None  # no run yet, or one the runner reports on
    if same_experiment(existing, stressed):
        return stressed, None
    labels = {c.label for c in base.conditions}
    twins = [c for c in stressed.conditions if c.label not in labels]
    whole = stressed.model_copy(update={"conditions": [*base.conditions, *twins]})
    if len(whole.conditions) == len(stressed.conditions) or not same_experiment(existing, whole):
        return stressed, None  # the runner says what changed
    return whole, frozenset(c.label for c in stressed.conditions)


def rest_of_folder(result: RunResult, rest: Session, only: frozenset[str]) -> RunResult:
    """``result`` of running the conditions ``only`` alone in a stress folder begun with every
    condition (:func:`stress_resume`), told of the others (``rest``: a session over their
    items, which is scanned, never run): the items are counted over the whole folder, and the
    message says what was run, what was left part-done and how to finish it. Written to
    ``RUN/status.json`` (``oversight show`` reads it)."""
    pending = Counter(i.condition.label for i in rest.scan())
    total = Counter(i.condition.label for i in rest.items)
    left = [
        f"{label} ({total[label] - pending[label]} of {total[label]} items)"
        for label in total
        if pending[label]
    ]
    notes = [result.message] if result.message else []
    if left:
        notes.append(
            f"ran the stress conditions alone ({', '.join(sorted(only))}); this folder was "
            "begun by an earlier oversight stress, which ran every condition, and "
            f"{', '.join(left)} are left part-done, {sum(pending.values())} items not run "
            f"(the stress table reads none of them); to finish them, run the same oversight "
            f"stress command with {FINISH}"
        )
    whole = dataclasses.replace(
        result,
        message="; ".join(notes),
        items_total=result.items_total + len(rest.items),
        items_complete=result.items_complete + len(rest.items) - sum(pending.values()),
    )
    write_status(rest.store, whole)
    return whole

"""The stress experiment: each stressed condition benign, and once per persona planted.

:func:`stress_experiment` turns an experiment into its stress version: every condition is
kept as it is (the benign runs), and every condition with a role some persona fits gets one
twin per persona, labelled ``<condition>+<persona>``, with the same protocol, options,
endpoints and judges and ``plant = {persona, role, rate}``. The runner then runs the twins on
the same questions and setups, so each persona's effect is a paired comparison.
"""

from __future__ import annotations

from pathlib import Path

from oversight.experiment import Condition, Experiment, StressSpec
from oversight.runner._plants import persona_dir
from protocols.personas import Persona, Plant, available_personas
from transcripts.errors import ConfigError

__all__ = ["stress_experiment", "stressed_personas"]

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
            f"unknown persona(s) {', '.join(map(repr, unknown))}; known: "
            f"{', '.join(sorted(known))} (add NAME.toml to the persona folder)"
        )
    return [known[n] for n in wanted]


def _bound_roles(condition: Condition) -> list[str]:
    return sorted({r.split("_")[0] if r.startswith("debater_") else r for r in condition.roles})


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
    twins: list[Condition] = []
    for condition in experiment.conditions:
        if condition.plant is not None or condition.protocol in _UNPLANTABLE:
            continue
        if wanted is not None and condition.label not in wanted:
            continue
        for persona in chosen:
            role = persona.fits(_bound_roles(condition))
            if role is None:
                continue
            plant = Plant(persona=persona.name, role=role, rate=spec.rate if rate is None else rate)
            twins.append(
                condition.model_copy(
                    update={"label": f"{condition.label}+{persona.name}", "plant": plant}
                )
            )
    if not twins:
        raise ConfigError(
            "no condition can carry any of the chosen personas (the baselines have no speaker "
            "to plant one in); add a consultancy, debate, critique or rrm condition"
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
            "conditions": [*experiment.conditions, *twins],
            "stress": stress,
        }
    )

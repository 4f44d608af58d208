"""Personas planted by an experiment's conditions (``plant = {...}``): found and checked."""

from __future__ import annotations

from pathlib import Path

from oversight.experiment._spec import Condition, Experiment
from protocols.base import get
from protocols.personas import Persona, available_personas
from transcripts.errors import ConfigError

__all__ = ["persona_dir", "plant_problems", "resolve_plants"]


def persona_dir(experiment: Experiment, override: Path | None = None) -> Path | None:
    """The folder of the user's personas: ``override``, else ``[stress] persona_dir`` read
    relative to the experiment file's folder."""
    if override is not None:
        return override
    folder = experiment.stress.persona_dir if experiment.stress is not None else None
    if folder is None or folder.is_absolute() or experiment.base_dir is None:
        return folder
    return experiment.base_dir / folder


def resolve_plants(experiment: Experiment) -> dict[str, tuple[Persona, str]]:
    """Condition label -> (persona, role) for every condition with a ``plant``; a clear error
    for an unknown persona or a role the protocol lacks."""
    planted = [c for c in experiment.conditions if c.plant is not None]
    if not planted:
        return {}
    known = available_personas(persona_dir(experiment))
    out: dict[str, tuple[Persona, str]] = {}
    for condition in planted:
        plant = condition.plant
        assert plant is not None
        persona = known.get(plant.persona)
        if persona is None:
            raise ConfigError(
                f"condition {condition.label!r}: unknown persona {plant.persona!r}; known: "
                f"{', '.join(sorted(known))} (add NAME.toml to [stress] persona_dir)"
            )
        role = plant.role or _fitting_role(condition, persona)
        bound = condition.roles
        shared = role.rpartition("_")[0]
        if (
            role not in bound
            and shared not in bound
            and not any(r.startswith(f"{role}_") for r in bound)
        ):
            raise ConfigError(
                f"condition {condition.label!r}: persona {persona.name!r} is planted in role "
                f"{role!r}, which the condition does not bind (roles: "
                f"{', '.join(sorted(condition.roles)) or 'none'}); set plant.role to one of them"
            )
        if plant.side is not None:
            persona = persona.model_copy(update={"side": plant.side})
        out[condition.label] = (persona, role)
    return out


def _fitting_role(condition: Condition, persona: Persona) -> str:
    bound = {r.split("_")[0] if r.startswith("debater_") else r for r in condition.roles}
    fit = persona.fits(sorted(bound))
    if fit is None:
        raise ConfigError(
            f"condition {condition.label!r} ({condition.protocol}): persona {persona.name!r} "
            f"fits roles {persona.roles}, and the condition binds {sorted(bound) or 'none'}; "
            "set plant.role"
        )
    get(condition.protocol)  # an unknown protocol is reported by name
    return fit


def plant_problems(experiment: Experiment) -> list[str]:
    """The experiment's plant problem (unknown persona, unbound role, bad persona file), if
    any, for the checks made before a run writes anything."""
    try:
        resolve_plants(experiment)
    except ConfigError as err:
        return [str(err)]
    return []

"""The runner's side of planting: the agents of one item, with its condition's persona."""

from __future__ import annotations

from oversight.endpoints import Endpoint
from oversight.experiment import Condition
from oversight.experiment._plants import persona_dir, resolve_plants
from protocols.personas import Persona, plant_agents
from transcripts import Question

__all__ = ["persona_dir", "planted_agents", "resolve_plants"]


def planted_agents(
    agents: dict[str, Endpoint],
    condition: Condition,
    question: Question,
    plants: dict[str, tuple[Persona, str]],
    *,
    seed: int,
) -> dict[str, Endpoint]:
    """``agents``, with the condition's persona planted when it is chosen for ``question``."""
    plant = condition.plant
    if plant is None or condition.label not in plants or not plant.chosen(question.id, seed=seed):
        return agents
    persona, role = plants[condition.label]
    return plant_agents(agents, persona, role=role)

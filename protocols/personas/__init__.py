"""Planted adversaries ("model organisms" of misalignment) for stress-testing oversight.

See :mod:`protocols.personas._persona` for the persona files and
:mod:`protocols.personas._plant` for how one is planted in a protocol's role.
"""

from protocols.personas._persona import (
    Persona,
    Side,
    available_personas,
    load_persona,
    render_persona,
)
from protocols.personas._plant import PersonaEndpoint, Plant, plant_agents

__all__ = [
    "Persona",
    "PersonaEndpoint",
    "Plant",
    "Side",
    "available_personas",
    "load_persona",
    "plant_agents",
    "render_persona",
]

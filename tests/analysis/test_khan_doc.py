"""docs/guide/khan.md names the tournament's JSON fields and the figure's panels; each named
field is one the JSON has (``tests/test_docs.py`` runs the tutorials, not this guide)."""

from __future__ import annotations

import re
from pathlib import Path

from oversight.analysis import PlayerResult, TournamentTable

KHAN = Path(__file__).resolve().parents[2] / "docs" / "guide" / "khan.md"


def test_every_tournament_field_the_guide_names_is_in_the_json() -> None:
    text = " ".join(KHAN.read_text(encoding="utf-8").split())
    said = re.search(r"has it all under `tournaments` \(([^)]*)\)", text)
    assert said is not None, "khan.md no longer says which JSON fields the tournament has"
    named = set(re.findall(r"`(\w+)`", said.group(1)))
    named |= set(re.findall(r"\(`(\w+_questions)`, `(\w+_questions)`\)", text)[0])
    fields = set(PlayerResult.model_fields) | set(TournamentTable.model_fields)
    assert named and named <= fields, named - fields
    for field in ("elo_gold", "elo_distractor", "win_rate_gold", "win_rate_distractor"):
        assert field in named and f"{field}_ci95" in fields  # "and their intervals"

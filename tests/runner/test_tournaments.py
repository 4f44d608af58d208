"""[players] and [[tournaments]]: the conditions they generate, and a tournament run end to end
on mock endpoints through the command line, down to the report's players table and figure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oversight.cli import main
from oversight.datasets import load_questions
from oversight.experiment import Experiment, load_experiment
from oversight.runner import dry_run
from oversight.runner._items import plan
from transcripts import RunStore
from transcripts.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "khan2024.toml"


def _experiment(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "t",
        "dataset": {"loader": "sample", "limit": 1},
        "endpoints": {"m": {"spec": "mock/m"}, "judge": {"spec": "mock/judge"}},
        "players": {
            "plain": {"endpoint": "m"},
            "bo2": {"endpoint": "m", "best_of_n": 2},
            "refined": {"endpoint": "m", "refine": 1},
        },
        "tournaments": [
            {
                "label": "debate",
                "players": ["plain", "bo2", "refined"],
                "roles": {"preference": "judge"},
                "options": {"rounds": 1},
            },
            {
                "label": "consult",
                "protocol": "consultancy",
                "players": ["plain", "bo2"],
                "roles": {"preference": "judge"},
                "options": {"rounds": 1},
            },
        ],
        "conditions": [{"label": "naive", "protocol": "unassisted"}],
        "judges": [{"kind": "llm", "name": "judge", "endpoint": "judge"}],
    }
    data.update(changes)
    return data


def test_a_tournament_becomes_self_play_cross_play_and_consultancy_conditions() -> None:
    exp = load_experiment(_experiment())
    by_label = {c.label: c for c in exp.conditions}
    assert list(by_label) == [
        "naive",
        "debate.plain",
        "debate.bo2",
        "debate.refined",
        "debate.plain.vs.bo2",
        "debate.plain.vs.refined",
        "debate.bo2.vs.refined",
        "consult.plain",
        "consult.bo2",
    ]
    cross = by_label["debate.plain.vs.bo2"]
    assert cross.tournament == "debate" and cross.options["rotate_seats"] is True
    assert cross.roles == {"preference": "judge", "debater_a": "m", "debater_b": "m"}
    assert cross.options["players"]["debater_b"]["best_of_n"] == 2
    assert by_label["consult.bo2"].options["player"]["name"] == "bo2"
    # Cross-play rotates seats (4 setups a question), self-play does not (2).
    items = list(plan(exp, load_questions(exp.dataset)))
    count = {label: sum(i.condition.label == label for i in items) for label in by_label}
    assert count["debate.plain.vs.bo2"] == 4 and count["debate.plain"] == 2
    assert count["consult.plain"] == 4
    # The stored experiment reads back to the same conditions, not doubled.
    again = Experiment.model_validate(exp.frozen())
    assert again.conditions == exp.conditions and again.spec_hash() == exp.spec_hash()


def test_unknown_players_and_missing_scorers_are_refused_clearly() -> None:
    with pytest.raises(
        ConfigError,
        match=r"tournaments\[0\]\.players: 'nobody' is not a player; known: bo2, plain, refined",
    ):
        load_experiment(_experiment(tournaments=[{"label": "d", "players": ["nobody"]}]))
    with pytest.raises(
        ConfigError,
        match=r"tournaments\[0\]\.roles: debate needs an endpoint for the 'preference' role",
    ):
        load_experiment(_experiment(tournaments=[{"label": "d", "players": ["bo2"]}]))


@pytest.mark.parametrize("conditions", [[], [{"label": "naive", "protocol": "unassisted"}]])
def test_a_tournament_that_makes_no_match_is_refused_clearly(
    conditions: list[dict[str, str]],
) -> None:
    """Cross-play of one player, self-play off: no condition at all (was "0 problems:" and
    nothing more when the file had no other condition, and nothing said when it had)."""
    alone = {"label": "d", "players": ["plain"], "selfplay": False}
    with pytest.raises(ConfigError, match=r"tournaments\[0\]: makes no match") as caught:
        load_experiment(_experiment(tournaments=[alone], conditions=conditions))
    assert "0 problems" not in str(caught.value)
    both_off = {"label": "d", "players": ["plain", "bo2"], "selfplay": False, "crossplay": False}
    with pytest.raises(ConfigError, match=r"selfplay and crossplay are both off"):
        load_experiment(_experiment(tournaments=[both_off], conditions=conditions))


def test_a_tournament_runs_end_to_end_and_the_report_rates_its_players(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = tmp_path / "t.toml"
    data = _experiment(dataset={"loader": "sample", "limit": 3, "max_per_source": 1})
    lines = ['name = "t"', "[dataset]", 'loader = "sample"', "limit = 3", "max_per_source = 1"]
    exp.write_text("\n".join(lines) + "\n" + _toml_rest(data))
    out = tmp_path / "run"
    assert main(["run", str(exp), "--out", str(out), "--no-report"]) == 0
    store = RunStore.open(out)
    players = {tuple(sorted(t.players.values())) for t in store.transcripts if t.players}
    assert ("bo2", "plain") in players and ("plain", "plain") in players
    capsys.readouterr()
    assert main(["report", str(out), "--plots"]) == 0
    shown = capsys.readouterr().out
    assert "Players judged by judge" in shown and "pp per 100 Elo" in shown
    assert (out / "reports" / "accuracy_vs_elo.png").is_file()
    assert main(["report", str(out), "--json"]) == 0
    analysis = json.loads(capsys.readouterr().out)
    (table,) = analysis["tournaments"]
    assert {p["player"] for p in table["players"]} == {"plain", "bo2", "refined"}
    selfplay = {
        name: sum(
            set(t.players.values()) == {name} and t.protocol == "debate"
            for t in store.transcripts.latest()
        )
        for name in ("plain", "bo2")
    }
    assert {
        p["player"]: p["debate_n"] for p in table["players"] if p["player"] in selfplay
    } == selfplay
    assert all(p["elo"] is not None and p["matches"] > 0 for p in table["players"])


def _toml_rest(data: dict[str, Any]) -> str:
    """Every table of ``data`` but name and dataset, as TOML (inline tables)."""

    def inline(v: Any) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f'"{k}" = {inline(x)}' for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(inline(x) for x in v) + "]"
        return json.dumps(v)

    out = []
    for name, ep in data["endpoints"].items():
        out.append(f"[endpoints.{name}]\nspec = {json.dumps(ep['spec'])}")
    for name, p in data["players"].items():
        out.append(f"[players.{name}]\n" + "\n".join(f"{k} = {inline(v)}" for k, v in p.items()))
    for key in ("tournaments", "conditions", "judges"):
        for table in data[key]:
            out.append(f"[[{key}]]\n" + "\n".join(f"{k} = {inline(v)}" for k, v in table.items()))
    return "\n\n".join(out) + "\n"


def test_the_khan2024_example_loads_as_the_paper_describes() -> None:
    exp = load_experiment(EXAMPLE)
    assert exp.dataset.answers == 2  # type: ignore[union-attr]
    assert sorted(exp.players) == ["bo1", "bo1-refine", "bo4", "bo4-refine", "bo8", "bo8-refine"]
    labels = [c.label for c in exp.conditions]
    assert "naive" in labels and "expert" in labels
    assert sum(c.label.startswith("debate.") and ".vs." in c.label for c in exp.conditions) == 15
    assert sum(c.label.startswith("consultancy.") for c in exp.conditions) == 6
    consult = next(c for c in exp.conditions if c.label == "consultancy.bo8-refine")
    assert consult.options["judge_questions"] is True and consult.judge == "judge"
    questions = load_questions(exp.dataset, base_dir=exp.base_dir)
    assert all(len(q.answers) == 2 and q.context for q in questions)
    # As in the paper, the ratings and the accuracies rest on different questions (stories).
    source = {q.id: q.source for q in questions}
    stories: dict[str, set[str | None]] = {"rating": set(), "accuracy": set()}
    for item in plan(exp, questions):
        kind = "rating" if ".vs." in item.condition.label else "accuracy"
        stories[kind].add(source[item.question.id])
    assert len(stories["rating"]) == 1 and len(stories["accuracy"]) == 2
    assert not stories["rating"] & stories["accuracy"]


def test_the_khan2024_consultants_get_the_papers_longer_speeches() -> None:
    # Khan et al. let a consultant, who speaks alone, say twice what a debater says (200
    # words asked, 300 at most, against 100 and 150): the example keeps that ratio.
    from protocols import consultancy, debate

    exp = load_experiment(EXAMPLE)
    by_label = {c.label: c for c in exp.conditions}
    told = consultancy.Config(**by_label["consultancy.bo1"].options)
    argued = debate.Config(**by_label["debate.bo1.vs.bo4"].options)
    assert (argued.word_limit, told.word_limit) == (150, 300)


def test_a_dry_run_counts_every_call_of_a_tournament_on_real_models(tmp_path: Path) -> None:
    real = {"m": {"spec": "openai/gpt-4-turbo"}, "judge": {"spec": "openai/gpt-4o-mini"}}
    rehearsal = dry_run(load_experiment(_experiment(endpoints=real)), out=tmp_path / "dry")
    assert rehearsal.result.status == "complete"
    calls = {e.name: e.calls for e in rehearsal.endpoints}
    store = RunStore.open(tmp_path / "dry")
    made = [c for t in store.transcripts for c in t.calls]
    judged = [c for j in store.judgments for c in j.calls]
    # Every debater, consultant, critic and scorer call is on a turn, every verdict on a judgment.
    assert calls["m"] == sum(c.endpoint.endswith("gpt-4-turbo") for c in made)
    assert calls["judge"] == len(judged) + sum(c.endpoint.endswith("gpt-4o-mini") for c in made)
    assert all(e.cost_usd is not None and e.cost_usd > 0 for e in rehearsal.endpoints)

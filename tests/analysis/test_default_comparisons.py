"""The default comparisons of a run with tournaments: self-play debate and consultancy
against the naive baseline (and debate against consultancy), never cross-play, which rates
the players; Holm's adjustment is over that family only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from statsmodels.stats.multitest import multipletests

from oversight.analysis import analyze
from oversight.cli import main
from transcripts import RunStore

from .helpers import RunBuilder

PLAYERS = ("plain", "bo2", "refined")
CONSULTANTS = ("plain", "bo2")

EXPERIMENT = """\
name = "t"
seed = 0

[dataset]
loader = "jsonl"
path = "questions.jsonl"

[split]
parts = { rating = 0.25, accuracy = 0.75 }
by = "source"

[endpoints.m]
spec = "mock/m"
[endpoints.judge]
spec = "mock/judge"

[players.plain]
endpoint = "m"
[players.bo2]
endpoint = "m"
best_of_n = 2
[players.refined]
endpoint = "m"
refine = 1

[[tournaments]]
label = "debate"
players = ["plain", "bo2", "refined"]
roles = { preference = "judge" }
options = { rounds = 1 }
questions = "accuracy"
crossplay_questions = "rating"

[[tournaments]]
label = "consultancy"
protocol = "consultancy"
players = ["plain", "bo2"]
roles = { preference = "judge" }
options = { rounds = 1 }
questions = "accuracy"

[[conditions]]
label = "naive"
protocol = "unassisted"
questions = "accuracy"

[[conditions]]
label = "expert"
protocol = "expert"
questions = "accuracy"

[[judges]]
name = "judge"
kind = "llm"
endpoint = "judge"
"""


@pytest.fixture(scope="module")
def tournament_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Khan-style run on mock models: cross-play on the `rating` part (6 stories),
    self-play, consultancy, naive and expert on `accuracy` (18 stories)."""
    folder = tmp_path_factory.mktemp("khan")
    with (folder / "questions.jsonl").open("w") as f:
        for i in range(24):
            colour = ("red", "blue")[i % 2]
            record = {
                "id": f"q{i}",
                "question": f"What colour was item {i}?",
                "answers": [f"red {i}", f"blue {i}"],
                "correct": i % 2,
                "context": f"Item {i} was {colour}.",
                "source": f"story-{i}",
            }
            f.write(json.dumps(record) + "\n")
    (folder / "t.toml").write_text(EXPERIMENT)
    out = folder / "run"
    assert main(["run", str(folder / "t.toml"), "--out", str(out), "--no-report"]) == 0
    return out


def _report(run: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    assert main(["report", str(run), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_the_default_comparisons_of_a_tournament_leave_cross_play_out(
    tournament_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: every cross-play condition against naive too (unpaired, no shared question),
    each in Holm's family."""
    store = RunStore.open(tournament_run)
    crossplay = {t.condition for t in store.transcripts if len(set(t.players.values())) == 2}
    assert crossplay == {"debate.plain.vs.bo2", "debate.plain.vs.refined", "debate.bo2.vs.refined"}

    analysis = _report(tournament_run, capsys)
    assert analysis["settings"]["left_out_of_comparisons"] == sorted(crossplay)
    pairs = [(c["assisted"], c["baseline"]) for c in analysis["comparisons"]]
    assert sorted(pairs) == sorted(
        [(f"debate.{p}", "naive") for p in PLAYERS]
        + [(f"consultancy.{p}", "naive") for p in CONSULTANTS]
        + [(f"debate.{p}", f"consultancy.{p}") for p in CONSULTANTS]
    )
    # Holm over that family, and only it.
    raw = [c["p_value"] for c in analysis["comparisons"]]
    assert all(p is not None for p in raw)
    expected = multipletests(raw, method="holm")[1]
    assert [c["p_adjusted"] for c in analysis["comparisons"]] == pytest.approx(expected)
    # Cross-play stays in the accuracy table and rates the players.
    assert crossplay <= {g["by"]["condition"] for g in analysis["groups"]}
    (table,) = analysis["tournaments"]
    assert table["n_matches"] > 0 and all(p["matches"] > 0 for p in table["players"])
    assert not any("debate.plain.vs.bo2 vs naive" in w for w in analysis["warnings"])

    # The report says so under the comparisons table.
    capsys.readouterr()
    assert main(["report", str(tournament_run)]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert (
        "Left out of the default comparisons: 3 tournament cross-play conditions "
        "(debate.bo2.vs.refined, ...; debates between two different players), which rate "
        "the players (players table); --compare A,B names one."
    ) in shown


def test_a_cross_play_comparison_asked_for_is_made(
    tournament_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    analysis = _report(tournament_run, capsys, "--compare", "debate.plain.vs.bo2,naive")
    (c,) = analysis["comparisons"]
    assert (c["assisted"], c["baseline"], c["design"]) == (
        "debate.plain.vs.bo2",
        "naive",
        "unpaired",
    )
    assert c["p_adjusted"] == pytest.approx(c["p_value"])
    assert analysis["settings"]["left_out_of_comparisons"] == []
    assert not any("left out of the default" in w for w in analysis["warnings"])


def _khan_store(run: RunBuilder) -> None:
    """12 stories of self-play and naive (self-play right on 11 of them, naive on 1), and
    12 other stories of cross-play between P and Q, half of them won by the gold's side."""
    sides = {"Debater A": 0, "Debater B": 1}
    for s in range(12):
        q = run.question(f"a{s}", source=f"a{s}")
        run.judge(
            run.transcript(q, condition="naive", protocol="unassisted"),
            [0.2, 0.8] if s else [0.8, 0.2],
        )
        for player in ("P", "Q"):
            t = run.transcript(
                q,
                condition=f"debate.{player}",
                protocol="debate",
                assignment=sides,
                players={"Debater A": player, "Debater B": player},
            )
            run.judge(t, [0.8, 0.2] if s != 11 - (player == "Q") else [0.2, 0.8])
        r = run.question(f"r{s}", source=f"r{s}")
        for first, second in (("P", "Q"), ("Q", "P")):
            t = run.transcript(
                r,
                condition="debate.P.vs.Q",
                protocol="debate",
                assignment=sides,
                players={"Debater A": first, "Debater B": second},
            )
            run.judge(t, [0.8, 0.2] if s % 2 else [0.2, 0.8])


def test_holm_adjusts_only_the_default_family(run: RunBuilder) -> None:
    """Two self-play comparisons with naive: Holm over two p-values, not three."""
    _khan_store(run)
    result = analyze(run.path)
    assert [(c.assisted, c.baseline) for c in result.comparisons] == [
        ("debate.P", "naive"),
        ("debate.Q", "naive"),
    ]
    raw = [c.p_value for c in result.comparisons]
    assert result.settings.left_out_of_comparisons == ["debate.P.vs.Q"]
    assert all(p is not None and p < 0.01 for p in raw)
    adjusted = [c.p_adjusted for c in result.comparisons]
    assert adjusted == pytest.approx(multipletests(raw, method="holm")[1])
    # What they were with cross-play in the family: larger.
    pairs = ["debate.P,naive", "debate.Q,naive", "debate.P.vs.Q,naive"]
    every = analyze(run.path, compare_pairs=pairs)
    assert every.comparisons[2].p_value is not None
    before = multipletests([c.p_value for c in every.comparisons], method="holm")[1][:2]
    assert [c.p_adjusted for c in every.comparisons[:2]] == pytest.approx(before)
    assert all(a < b for a, b in zip(adjusted, before, strict=True))


def test_only_cross_play_besides_naive_says_why_nothing_is_compared(run: RunBuilder) -> None:
    sides = {"Debater A": 0, "Debater B": 1}
    for s in range(4):
        q = run.question(f"q{s}", source=f"s{s}")
        run.judge(run.transcript(q, condition="naive", protocol="unassisted"), [0.6, 0.4])
        t = run.transcript(
            q,
            condition="debate.P.vs.Q",
            protocol="debate",
            assignment=sides,
            players={"Debater A": "P", "Debater B": "Q"},
        )
        run.judge(t, [0.7, 0.3])
    result = analyze(run.path)
    assert result.comparisons == []
    (why,) = [w for w in result.warnings if "no pair of conditions" in w]
    assert "tournament cross-play conditions (debate.P.vs.Q) rate the players" in why
    assert "--compare A,B" in why


def test_a_baseline_asked_for_leaves_cross_play_out_as_the_defaults_do(
    tournament_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``--baseline naive`` compared all three cross-play conditions with naive too
    (unpaired, on other questions), each in Holm's family, and the report said nothing."""
    analysis = _report(tournament_run, capsys, "--baseline", "naive")
    pairs = [(c["assisted"], c["baseline"]) for c in analysis["comparisons"]]
    assert sorted(pairs) == sorted(
        [(f"debate.{p}", "naive") for p in PLAYERS]
        + [(f"consultancy.{p}", "naive") for p in CONSULTANTS]
        + [("expert", "naive")]
    )
    crossplay = ["debate.bo2.vs.refined", "debate.plain.vs.bo2", "debate.plain.vs.refined"]
    assert analysis["settings"]["left_out_of_comparisons"] == crossplay

    capsys.readouterr()
    assert main(["report", str(tournament_run), "--baseline", "naive"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "debate.plain.vs.bo2 vs naive" not in shown
    assert (
        "Left out of the comparisons with naive: 3 tournament cross-play conditions "
        "(debate.bo2.vs.refined, ...; debates between two different players), which rate "
        "the players (players table); --compare A,B names one."
    ) in shown

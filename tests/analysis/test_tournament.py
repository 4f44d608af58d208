"""Tournament statistics: side-adjusted ratings against statsmodels, accuracies by hand, the
accuracy-versus-Elo slope, and the report's table and figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm

from oversight.analysis import analyze, fit_side_adjusted
from oversight.report import build_tables, write_report
from transcripts import JudgeIdentity, Judgment, Question, RunStore, Transcript


def test_side_adjusted_fit_matches_a_statsmodels_logit() -> None:
    rng = np.random.default_rng(3)
    k, n = 4, 3000
    true = np.array([0.0, 0.4, -0.3, 0.9])
    i = rng.integers(0, k, n)
    j = (i + rng.integers(1, k, n)) % k
    side = rng.choice([-1.0, 1.0], n)
    p = 1 / (1 + np.exp(-(true[i] - true[j] + 0.7 * side)))
    outcome = (rng.random(n) < p).astype(float)
    theta, beta = fit_side_adjusted(i, j, outcome, side, k, prior=1e-9)
    design = np.zeros((n, k))
    design[np.arange(n), i] += 1
    design[np.arange(n), j] -= 1
    reference = sm.Logit(outcome, np.column_stack([design[:, 1:], side])).fit(disp=0)
    assert theta[1:] - theta[0] == pytest.approx(reference.params[: k - 1], abs=1e-4)
    assert beta == pytest.approx(reference.params[-1], abs=1e-4)


def _store(path: Path) -> RunStore:
    store = RunStore.create(path, run_id="t")
    n = 0

    def add(q: Question, protocol: str, assignment: dict[str, int], players: dict[str, str],
            probabilities: list[float]) -> None:
        nonlocal n
        n += 1
        store.transcripts.append(Transcript(
            id=f"t{n}", run_id="t", protocol=protocol, condition=protocol, question=q,
            answer_order=[0, 1], assignment=assignment, players=players,
            roles={s: "mock/m" for s in assignment}))
        store.judgments.append(Judgment(transcript_id=f"t{n}", run_id="t",
                                        judge=JudgeIdentity(kind="llm", name="j"),
                                        probabilities=probabilities))

    for k in range(8):
        q = Question(id=f"q{k}", text="?", answers=["gold", "other"], correct=0, source=f"s{k}")
        # Cross-play: P beats Q on 7 of 8 questions as the gold's debater, 5 of 8 otherwise.
        p_gold = 0.8 if k < 7 else 0.3
        add(q, "debate", {"Debater A": 0, "Debater B": 1}, {"Debater A": "P", "Debater B": "Q"},
            [p_gold, 1 - p_gold])
        p_other = 0.7 if k < 5 else 0.4  # probability on P's answer (answer 1)
        add(q, "debate", {"Debater A": 0, "Debater B": 1}, {"Debater A": "Q", "Debater B": "P"},
            [1 - p_other, p_other])
        # Self-play: the judge is right on 7 of 8 with P, on 4 of 8 with Q.
        for player, right in (("P", k < 7), ("Q", k < 4)):
            add(q, "debate", {"Debater A": 0, "Debater B": 1},
                {"Debater A": player, "Debater B": player}, [0.9, 0.1] if right else [0.2, 0.8])
        # Consultancy: P right -> judge right always; P wrong -> judge right on 2 of 8.
        add(q, "consultancy", {"Consultant": 0}, {"Consultant": "P"}, [0.9, 0.1])
        add(q, "consultancy", {"Consultant": 1}, {"Consultant": "P"},
            [0.6, 0.4] if k < 2 else [0.3, 0.7])
        add(q, "consultancy", {"Consultant": 0}, {"Consultant": "Q"}, [0.9, 0.1])
        add(q, "consultancy", {"Consultant": 1}, {"Consultant": "Q"},
            [0.6, 0.4] if k < 6 else [0.3, 0.7])
    return store


def test_players_are_rated_and_scored_and_the_slope_is_the_line_through_them(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path / "run")
    a = analyze(store, n_bootstrap=200)
    (table,) = a.tournaments
    assert [p.player for p in table.players] == ["P", "Q"]
    p, q = table.players
    assert p.debate_accuracy == pytest.approx(7 / 8) and q.debate_accuracy == pytest.approx(4 / 8)
    assert p.consultancy_accuracy == pytest.approx((1 + 2 / 8) / 2)
    assert q.consultancy_accuracy == pytest.approx((1 + 6 / 8) / 2)
    assert (p.matches, p.debate_n, p.consultancy_n) == (16, 8, 16)
    assert table.n_matches == 16
    # The ratings are the side-adjusted fit on the 16 cross-play outcomes.
    wins_p = np.array([1.0] * 7 + [0.0] + [1.0] * 5 + [0.0] * 3)
    side = np.array([1.0] * 8 + [-1.0] * 8)  # P argued the gold in the first eight
    theta, beta = fit_side_adjusted(np.zeros(16, dtype=np.int64), np.ones(16, dtype=np.int64),
                                    wins_p, side, 2)
    assert (p.elo or 0) - (q.elo or 0) == pytest.approx((theta[0] - theta[1]) * 400 / np.log(10))
    assert table.truth_advantage_elo == pytest.approx(beta * 400 / np.log(10))
    assert p.elo_ci95 is not None and p.elo_ci95[0] <= (p.elo or 0) <= p.elo_ci95[1]
    slopes = {s.protocol: s for s in table.slopes}
    expected = np.polyfit([p.elo, q.elo], [p.debate_accuracy, q.debate_accuracy], 1)[0] * 100
    assert slopes["debate"].per_100_elo == pytest.approx(expected)
    assert slopes["debate"].per_100_elo > 0 > slopes["consultancy"].per_100_elo
    assert slopes["debate"].ci95 is not None and slopes["debate"].players == 2


def test_the_report_shows_players_and_draws_accuracy_against_elo(tmp_path: Path) -> None:
    store = _store(tmp_path / "run")
    a = analyze(store, n_bootstrap=50)
    table = next(t for t in build_tables(a) if t.title.startswith("Players judged by j"))
    assert [row[0] for row in table.rows] == ["P", "Q"]
    assert table.rows[0][4] == "87.5%" and "pp per 100 Elo" in table.note
    files = write_report(a, tmp_path / "reports", plots=True)
    figure = tmp_path / "reports" / "accuracy_vs_elo.png"
    assert figure in files.plots and figure.stat().st_size > 10_000
    assert "accuracy_vs_elo.png" in (tmp_path / "reports" / "report.md").read_text()


def test_runs_without_players_have_no_tournament_section(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run", run_id="t")
    q = Question(id="q", text="?", answers=["a", "b"], correct=0, source="s")
    store.transcripts.append(Transcript(id="t1", protocol="unassisted", question=q))
    store.judgments.append(Judgment(transcript_id="t1", judge=JudgeIdentity(kind="llm", name="j"),
                                    probabilities=[0.6, 0.4]))
    assert analyze(store, n_bootstrap=20).tournaments == []


def test_open_variants_split_by_whether_the_first_chooser_took_the_gold(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run", run_id="t")
    for k, (first, p_gold) in enumerate([(0, 0.9), (0, 0.8), (1, 0.3), (1, 0.6)]):
        q = Question(id=f"q{k}", text="?", answers=["gold", "other"], correct=0, source=f"s{k}")
        store.transcripts.append(Transcript(
            id=f"t{k}", protocol="debate", condition="open", question=q,
            assignment={"Debater A": 0, "Debater B": 1},
            metadata={"first_choice": first, "first_chooser": "debater_a"}))
        store.judgments.append(Judgment(transcript_id=f"t{k}", judge=JudgeIdentity(
            kind="llm", name="j"), probabilities=[p_gold, 1 - p_gold]))
    a = analyze(store, by=["condition", "chooser"], n_bootstrap=20)
    assert {g.by["chooser"]: (g.n, g.accuracy) for g in a.groups} == {
        "right": (2, 1.0), "wrong": (2, 0.5)}

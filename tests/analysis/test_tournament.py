"""Tournament statistics: ratings and slope from the analysis's own rate_players and
accuracy_vs_elo, accuracies by hand, and the report's table and figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from oversight.analysis import accuracy_vs_elo, analyze, rate_players
from oversight.analysis._player_accuracy import Side as _Side
from oversight.analysis._player_accuracy import accuracies as _accuracies
from oversight.analysis._player_accuracy import resampled as _resampled
from oversight.report import write_report
from oversight.report._tables import build_tables
from transcripts import JudgeIdentity, Judgment, Question, RunStore, Transcript

STRENGTH = {"P": 0.8, "Q": 0.55, "R": 0.3}
"""How often each player wins a cross-play match, and the judge's self-play accuracy."""


def _store(path: Path) -> tuple[RunStore, list[tuple[str, str, float, bool, bool]]]:
    """A tournament of three players on 8 questions; the cross-play matches as rated."""
    store = RunStore.create(path, run_id="t")
    matches: list[tuple[str, str, float, bool, bool]] = []
    n = 0

    def add(
        q: Question,
        protocol: str,
        assignment: dict[str, int],
        players: dict[str, str],
        probabilities: list[float],
    ) -> None:
        nonlocal n
        n += 1
        store.transcripts.append(
            Transcript(
                id=f"t{n}",
                run_id="t",
                protocol=protocol,
                condition=protocol,
                question=q,
                answer_order=[0, 1],
                assignment=assignment,
                players=players,
                roles={s: "mock/m" for s in assignment},
            )
        )
        store.judgments.append(
            Judgment(
                transcript_id=f"t{n}",
                run_id="t",
                judge=JudgeIdentity(kind="llm", name="j"),
                probabilities=probabilities,
            )
        )

    sides = {"Debater A": 0, "Debater B": 1}
    for k in range(8):
        q = Question(id=f"q{k}", text="?", answers=["gold", "other"], correct=0, source=f"s{k}")
        for first, second in (
            ("P", "Q"),
            ("P", "R"),
            ("Q", "R"),
            ("Q", "P"),
            ("R", "P"),
            ("R", "Q"),
        ):
            # The stronger player wins on the first questions; the gold's debater is `first`.
            wins = k < 8 * STRENGTH[first] / (STRENGTH[first] + STRENGTH[second])
            p_gold = 0.7 if wins else 0.3
            add(q, "debate", sides, {"Debater A": first, "Debater B": second}, [p_gold, 1 - p_gold])
            matches.append((first, second, 1.0 if wins else 0.0, True, False))
        for player, strength in STRENGTH.items():
            right = k < 8 * strength
            add(
                q,
                "debate",
                sides,
                {"Debater A": player, "Debater B": player},
                [0.9, 0.1] if right else [0.2, 0.8],
            )
            # Consultancy: right consultants always believed; wrong ones believed less
            # often the stronger the player.
            add(q, "consultancy", {"Consultant": 0}, {"Consultant": player}, [0.9, 0.1])
            fooled = k < 8 * strength
            add(
                q,
                "consultancy",
                {"Consultant": 1},
                {"Consultant": player},
                [0.3, 0.7] if fooled else [0.6, 0.4],
            )
    return store, matches


def test_players_are_rated_scored_and_lined_up_against_elo(tmp_path: Path) -> None:
    store, matches = _store(tmp_path / "run")
    a = analyze(store, n_bootstrap=200)
    (table,) = a.tournaments
    assert [p.player for p in table.players] == ["P", "Q", "R"]
    by_name = {p.player: p for p in table.players}
    for name, strength in STRENGTH.items():
        right = sum(k < 8 * strength for k in range(8)) / 8
        assert by_name[name].debate_accuracy == pytest.approx(right)
        assert by_name[name].consultancy_accuracy == pytest.approx((1 + (1 - right)) / 2)
        assert (by_name[name].matches, by_name[name].debate_n, by_name[name].consultancy_n) == (
            32,
            8,
            16,
        )
        lo, hi = by_name[name].debate_accuracy_ci95 or (2.0, -1.0)
        assert lo <= (by_name[name].debate_accuracy or 0) <= hi
    # The ratings are rate_players on the cross-play matches, sides included.
    expected = rate_players(
        [m[0] for m in matches],
        [m[1] for m in matches],
        [m[2] for m in matches],
        first_correct=[m[3] for m in matches],
        second_correct=[m[4] for m in matches],
    )
    assert {p.debater: p.elo for p in expected.players} == pytest.approx(
        {p.player: p.elo for p in table.players}
    )
    assert table.side_advantage == pytest.approx(expected.side_advantage)
    assert table.n_matches == 48
    # The slopes are accuracy_vs_elo on one point per player, weighted by its judgments.
    slopes = {s.protocol: s.relation for s in table.slopes}
    elo = [p.elo or 0.0 for p in table.players]
    line = accuracy_vs_elo(elo, [p.debate_accuracy or 0.0 for p in table.players], [8.0] * 3)
    assert slopes["debate"] == line
    assert slopes["debate"].slope_per_100_elo > 0 > slopes["consultancy"].slope_per_100_elo


def test_a_players_interval_is_the_reports_rule_over_its_own_sources(tmp_path: Path) -> None:
    """Each player's self-play accuracy gets the interval every mean of the report gets
    (CR2 t below 50 sources: one judgment per source is HC2, never narrower than the
    binomial), over its own sources. The bootstrap over the whole run's sources gave a
    player judged in one source, or alike in every source, a zero-width interval."""
    store = RunStore.create(tmp_path / "run", run_id="t")
    # P: one self-play per source in 8 sources; Q: 2 right of 3 in each of 3 sources;
    # R: always right, in 4 sources; S: 5 self-plays, all in source s0.
    plan = {"P": [(k, k < 6) for k in range(8)], "S": [(0, k < 3) for k in range(5)]}
    plan["Q"] = [(k, i < 2) for k in range(3) for i in range(3)]
    plan["R"] = [(k, True) for k in range(4)]
    n = 0
    for player, judged in plan.items():
        for k, right in judged:
            n += 1
            q = Question(id=f"q{n}", text="?", answers=["a", "b"], correct=0, source=f"s{k}")
            store.transcripts.append(
                Transcript(
                    id=f"t{n}",
                    protocol="debate",
                    condition="debate",
                    question=q,
                    assignment={"Debater A": 0, "Debater B": 1},
                    players={"Debater A": player, "Debater B": player},
                )
            )
            store.judgments.append(
                Judgment(
                    transcript_id=f"t{n}",
                    judge=JudgeIdentity(kind="llm", name="j"),
                    probabilities=[0.8, 0.2] if right else [0.2, 0.8],
                )
            )
    (table,) = analyze(store, n_bootstrap=200).tournaments
    ci = {p.player: p.debate_accuracy_ci95 for p in table.players}
    y = np.array([1.0] * 6 + [0.0] * 2)
    se = sm.OLS(y, np.ones((8, 1))).fit(cov_type="HC2").bse[0]
    half = stats.t.ppf(0.975, 7) * max(se, np.sqrt(0.75 * 0.25 / 8))
    assert ci["P"] == pytest.approx((0.75 - half, min(1.0, 0.75 + half)))
    half = stats.t.ppf(0.975, 2) * np.sqrt(2 / 9 / 9)  # CR2 is zero: the binomial floor
    assert ci["Q"] == pytest.approx((max(0.0, 2 / 3 - half), min(1.0, 2 / 3 + half)))
    exact = stats.binomtest(4, 4).proportion_ci(method="exact")
    assert ci["R"] == pytest.approx((exact.low, exact.high))
    assert ci["S"] is None


def test_the_report_shows_players_and_draws_accuracy_against_elo(tmp_path: Path) -> None:
    store, _ = _store(tmp_path / "run")
    a = analyze(store, n_bootstrap=50)
    table = next(t for t in build_tables(a) if t.title.startswith("Players judged by j"))
    assert [row[0] for row in table.rows] == ["P", "Q", "R"]
    assert table.rows[0][4] == "87.5%" and "pp per 100 Elo" in table.note
    files = write_report(a, tmp_path / "reports", plots=True)
    figure = tmp_path / "reports" / "accuracy_vs_elo.png"
    assert figure in files.plots and figure.stat().st_size > 10_000
    assert "accuracy_vs_elo.png" in (tmp_path / "reports" / "report.md").read_text()


def test_runs_without_players_have_no_tournament_section(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run", run_id="t")
    q = Question(id="q", text="?", answers=["a", "b"], correct=0, source="s")
    store.transcripts.append(Transcript(id="t1", protocol="unassisted", question=q))
    store.judgments.append(
        Judgment(
            transcript_id="t1", judge=JudgeIdentity(kind="llm", name="j"), probabilities=[0.6, 0.4]
        )
    )
    assert analyze(store, n_bootstrap=20).tournaments == []


def test_open_variants_split_by_whether_the_first_chooser_took_the_gold(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run", run_id="t")
    for k, (first, p_gold) in enumerate([(0, 0.9), (0, 0.8), (1, 0.3), (1, 0.6)]):
        q = Question(id=f"q{k}", text="?", answers=["gold", "other"], correct=0, source=f"s{k}")
        store.transcripts.append(
            Transcript(
                id=f"t{k}",
                protocol="debate",
                condition="open",
                question=q,
                assignment={"Debater A": 0, "Debater B": 1},
                metadata={"first_choice": first, "first_chooser": "debater_a"},
            )
        )
        store.judgments.append(
            Judgment(
                transcript_id=f"t{k}",
                judge=JudgeIdentity(kind="llm", name="j"),
                probabilities=[p_gold, 1 - p_gold],
            )
        )
    a = analyze(store, by=["condition", "chooser"], n_bootstrap=20)
    assert {g.by["chooser"]: (g.n, g.accuracy) for g in a.groups} == {
        "right": (2, 1.0),
        "wrong": (2, 0.5),
    }


@pytest.mark.parametrize("scores", [(0.0, 0.5, 1.0), (0.0, 1 / 3, 0.5, 1.0)])
def test_bootstrap_means_are_np_add_at_sums_to_the_last_bit(scores: tuple[float, ...]) -> None:
    """Per-source cells (scores in halves) or row order (thirds): the bits of add.at."""
    from oversight.analysis._player_accuracy import Side as _Side
    from oversight.analysis._player_accuracy import mean_by as _mean_by

    rng = np.random.default_rng(5)
    n, k, clusters = 5000, 7, 300
    player, cluster = rng.integers(0, k, n), rng.integers(0, clusters, n)
    score = rng.choice(np.array(scores), n)
    side = _Side.of(player, score, cluster, n_clusters=clusters, k=k)
    assert (side.cells is not None) == (len(scores) == 3)
    for _ in range(20):
        w = np.bincount(rng.integers(0, clusters, clusters), minlength=clusters).astype(float)
        total, weight = np.zeros(k), np.zeros(k)
        np.add.at(total, player, score * w[cluster])
        np.add.at(weight, player, w[cluster])
        expected = np.where(weight > 0, total / np.where(weight > 0, weight, 1), np.nan)
        assert np.array_equal(_mean_by(side, w, k), expected, equal_nan=True)


def _one_resample_at_a_time(
    sides: tuple[_Side, _Side, _Side], k: int, n_clusters: int, *, n_bootstrap: int, seed: int
) -> np.ndarray:
    """The bootstrap as it was before it was one block of weights: a loop over resamples."""
    rng = np.random.default_rng([seed, 14])
    boot = np.full((2, n_bootstrap, k), np.nan)
    for b in range(n_bootstrap):
        w = np.bincount(rng.integers(0, n_clusters, n_clusters), minlength=n_clusters)
        boot[0, b], boot[1, b] = _accuracies(sides, k, w.astype(np.float64))
    return boot


@pytest.mark.parametrize("seed", range(6))
def test_the_bootstrap_as_one_block_is_the_loop_over_resamples_to_the_bit(seed: int) -> None:
    """Scores in halves (per-source cells, one matrix product) and in thirds (a three-way
    tie: row by row), sparse players, and no resample at all."""
    rng = np.random.default_rng(seed)
    n_clusters, k = int(rng.integers(1, 30)), int(rng.integers(1, 6))
    sides = []
    for step in (0.5, 1 / 3, 0.5):
        n = int(rng.integers(1, 200))
        score = rng.integers(0, round(1 / step) + 1, n) * step
        score[0] = step
        players = rng.integers(0, k, n)
        sources = rng.integers(0, n_clusters, n)
        sides.append(_Side.of(players, score, sources, n_clusters=n_clusters, k=k))
    assert sides[0].cells is not None and sides[1].cells is None  # both ways are tested
    three = (sides[0], sides[1], sides[2])
    for n_bootstrap in (0, 1, 300):
        block = _resampled(three, k, n_clusters, n_bootstrap=n_bootstrap, seed=seed)
        loop = _one_resample_at_a_time(three, k, n_clusters, n_bootstrap=n_bootstrap, seed=seed)
        assert block.shape == loop.shape == (2, n_bootstrap, k)
        assert block.tobytes() == loop.tobytes()

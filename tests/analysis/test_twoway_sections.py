"""Two-way clustering (source, annotator) beyond the groups and comparisons: a tournament's
per-player accuracies and the stress table's drops, when people judged them; checked
against statsmodels' two-way cluster-robust OLS."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from oversight.analysis import analyze

from .helpers import RunBuilder
from .test_twoway import _oracle

RIGHT, WRONG = 0.8, 0.2
PEOPLE = ["a1", "a2", "a3", "a4", "a5"]


def _tournament(run: RunBuilder, seed: int = 0) -> dict[str, np.ndarray]:
    """8 sources of 4 questions; on each, self-play debates of P and of Q and a consultancy
    of each (honest on half the questions), judged by five people round robin. Returns, per
    player and protocol, rows (source, person, honest, right)."""
    rng = np.random.default_rng(seed)
    skill = rng.normal(0, 0.8, len(PEOPLE))
    out: dict[str, list[tuple[int, int, int, float]]] = {}
    sides = {"Debater A": 0, "Debater B": 1}
    n = 0
    for s in range(8):
        for i in range(4):
            q = run.question(f"q{s}-{i}", source=f"s{s}")
            for player in ("P", "Q"):
                honest = i % 2
                for protocol, assignment, players in (
                    ("debate", sides, dict.fromkeys(sides, player)),
                    ("consultancy", {"Consultant": 1 - honest}, {"Consultant": player}),
                ):
                    t = run.transcript(
                        q,
                        condition=protocol,
                        assignment=assignment,
                        players=players,
                        roles=dict.fromkeys(assignment, "mock/m"),
                    )
                    k = n % len(PEOPLE)
                    n += 1
                    right = rng.random() < 1 / (1 + np.exp(-(0.4 + 0.5 * honest + skill[k])))
                    run.judge(
                        t,
                        [RIGHT, WRONG] if right else [WRONG, RIGHT],
                        judge="human",
                        kind="human",
                        annotator=PEOPLE[k],
                    )
                    out.setdefault(f"{player} {protocol}", []).append((s, k, honest, float(right)))
    return {key: np.array(v) for key, v in out.items()}


def test_a_players_accuracies_judged_by_people_are_clustered_by_source_and_annotator(
    run: RunBuilder,
) -> None:
    rows = _tournament(run)
    (table,) = analyze(run.path, n_bootstrap=50).tournaments
    for player in table.players:
        debate = rows[f"{player.player} debate"]
        y = debate[:, 3]
        ref = _oracle(np.ones((y.size, 1)), y, debate[:, 0], debate[:, 1])
        se = max(float(ref.bse[0]), np.sqrt(y.mean() * (1 - y.mean()) / y.size))
        half = stats.t.ppf(0.975, 4) * se  # min(8, 5) - 1 df
        assert player.debate_accuracy == pytest.approx(y.mean())
        assert player.debate_accuracy_ci95 == pytest.approx(
            (max(y.mean() - half, 0.0), min(y.mean() + half, 1.0))
        )
        consult = rows[f"{player.player} consultancy"]
        honest = consult[:, 2] == 1
        x = np.column_stack([honest, ~honest]).astype(float)
        fit = _oracle(x, consult[:, 3], consult[:, 0], consult[:, 1])
        t = fit.t_test(np.array([[0.5, 0.5]]))
        half = stats.t.ppf(0.975, 4) * float(t.sd[0, 0])
        assert player.consultancy_accuracy == pytest.approx(float(t.effect[0]))
        lo, hi = player.consultancy_accuracy - half, player.consultancy_accuracy + half
        assert player.consultancy_accuracy_ci95 == pytest.approx((max(lo, 0.0), min(hi, 1.0)))


def test_cluster_sources_keeps_a_players_accuracies_over_sources(run: RunBuilder) -> None:
    _tournament(run)
    (two_way,) = analyze(run.path, n_bootstrap=50).tournaments
    (alone,) = analyze(run.path, n_bootstrap=50, cluster="sources").tournaments
    # Over 8 sources alone: the groups' own rule (CR2), as the same judgments' group gets.
    groups = {g.by["condition"]: g for g in analyze(run.path, cluster="sources").groups}
    for a, b in zip(alone.players, two_way.players, strict=True):
        assert a.debate_accuracy == b.debate_accuracy
        assert a.debate_accuracy_ci95 != pytest.approx(b.debate_accuracy_ci95)
    assert groups["debate"].ci_method == "CR2, t(Bell-McCaffrey df)"

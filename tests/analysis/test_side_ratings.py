"""Per-side ratings (Khan et al. 2024's ratings as the correct and as the incorrect
debater): an exact tournament, a simulated one, and the report's players-by-side table."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from oversight.analysis import analyze, rate_players, rate_players_by_side
from oversight.analysis._ratings import ELO_BASE, ELO_SCALE
from oversight.report import render_json, render_markdown, render_terminal
from transcripts.errors import ConfigError

from .test_tournament import _store

GOLD = {"a": 4.0, "b": 2.0, "c": 1.0}
DISTRACTOR = {"a": 1.0, "b": 2.0, "c": 1.0}
"""Odds strengths: ``a`` as gold beats ``b`` as distractor at odds 4 : 2 (win rate 2/3)."""


def _exact(n: int = 30) -> tuple[list[str], list[str], list[float]]:
    """Every ordered pairing, the first player on the gold side, ``n`` judgments each, won
    exactly as often as the strengths say (2/3 of 30 is 20 wins, 4/5 is 24, ...)."""
    first, second, outcome = [], [], []
    for x in GOLD:
        for y in GOLD:
            if x != y:
                wins = n * GOLD[x] / (GOLD[x] + DISTRACTOR[y])
                assert wins == round(wins)
                first += [x] * n
                second += [y] * n
                outcome += [1.0] * round(wins) + [0.0] * (n - round(wins))
    return first, second, outcome


def test_win_rates_that_are_exactly_bradley_terry_give_back_the_strengths() -> None:
    """With flat priors the fit is the maximum-likelihood Bradley-Terry fit of the six
    entities, which reproduces win rates that a Bradley-Terry model gives exactly: every
    gold-minus-distractor gap is the log odds of its pairing, ln(4/2) for a over b."""
    first, second, outcome = _exact()
    n = len(first)
    fit = rate_players_by_side(
        first,
        second,
        outcome,
        first_correct=[True] * n,
        second_correct=[False] * n,
        prior_sd=1e4,
        side_prior_sd=1e4,
    )
    got = {p.debater: p for p in fit.players}
    for x in GOLD:
        for y in GOLD:
            if x != y:
                gap = (got[x].elo_gold or 0.0) - (got[y].elo_distractor or 0.0)
                assert gap == pytest.approx(ELO_SCALE * np.log(GOLD[x] / DISTRACTOR[y]), abs=1e-4)
    # Anchoring: every player argued both sides, so the six ratings average 1500.
    six = [r for p in fit.players for r in (p.elo_gold, p.elo_distractor)]
    assert np.mean(six) == pytest.approx(ELO_BASE, abs=1e-6)
    assert (got["a"].matches_gold, got["a"].matches_distractor, fit.n_matches) == (60, 60, 180)
    assert got["a"].win_rate_gold == pytest.approx((20 + 24) / 60)
    assert got["c"].win_rate_distractor == pytest.approx((6 + 10) / 60)


def test_a_large_simulated_tournament_recovers_the_per_side_strengths() -> None:
    """Truth: four players, each with a gold-side and a distractor-side strength (1500 on
    average), 2,000 judgments per ordered pairing. A fitted gap between a gold and a
    distractor rating pools every pairing, so its error is at most about that of its own
    pairing's log odds, sd 1 / sqrt(n p (1 - p)): allowed 4 such sds (one chance in 16,000
    per gap under normality; the seed is fixed)."""
    rng = np.random.default_rng(39)
    gold = np.array([1.3, 0.9, 0.5, 0.2])  # logits: the gold side's level is +0.725
    distractor = np.array([-0.2, -0.6, -0.8, -1.3])  # -0.725: a gap of 1.45 logits
    assert np.mean(np.concatenate([gold, distractor])) == pytest.approx(0.0)
    names = ["p0", "p1", "p2", "p3"]
    first, second, outcome, n = [], [], [], 2_000
    for i in range(4):
        for j in range(4):
            if i != j:
                p = 1 / (1 + np.exp(-(gold[i] - distractor[j])))
                first += [names[i]] * n
                second += [names[j]] * n
                outcome += (rng.random(n) < p).astype(float).tolist()
    m = len(first)
    fit = rate_players_by_side(
        first, second, outcome, first_correct=[True] * m, second_correct=[False] * m
    )
    got = {p.debater: p for p in fit.players}
    for i in range(4):
        for j in range(4):
            if i != j:
                p = 1 / (1 + np.exp(-(gold[i] - distractor[j])))
                gap = (got[names[i]].elo_gold or 0.0) - (got[names[j]].elo_distractor or 0.0)
                truth = ELO_SCALE * (gold[i] - distractor[j])
                assert abs(gap - truth) < 4 * ELO_SCALE / np.sqrt(n * p * (1 - p))
    eight = [r for p in fit.players for r in (p.elo_gold, p.elo_distractor)]
    assert np.mean(eight) == pytest.approx(ELO_BASE, abs=1e-6)
    for i, name in enumerate(names):  # each within two gaps' allowance of the truth
        rating = got[name]
        assert rating.elo_gold == pytest.approx(ELO_BASE + ELO_SCALE * gold[i], abs=2 * 24)
        assert rating.elo_distractor == pytest.approx(
            ELO_BASE + ELO_SCALE * distractor[i], abs=2 * 24
        )
        lo, hi = rating.elo_gold_ci95 or (0.0, 0.0)
        assert lo < (rating.elo_gold or 0.0) < hi


def test_the_interval_is_the_aggregate_ratings_rule() -> None:
    """One player on each side only: the per-side fit has the aggregate fit's design
    (a's gold term, b's distractor term, beta), so a's gold rating is its aggregate rating
    plus beta's half, and its interval is the Laplace rule, here by hand: the inverse of
    the log posterior's Hessian at the mode, 10 p (1 - p) d d' plus the prior precisions."""
    first, second = ["a"] * 10, ["b"] * 10
    outcome = [1.0] * 7 + [0.0] * 3
    sides = {"first_correct": [True] * 10, "second_correct": [False] * 10}
    split = {p.debater: p for p in rate_players_by_side(first, second, outcome, **sides).players}
    fit = rate_players(first, second, outcome, **sides)
    pooled = {p.debater: p for p in fit.players}
    assert split["a"].elo_distractor is None and split["a"].elo_distractor_ci95 is None
    assert split["a"].matches_distractor == 0 and split["b"].elo_gold is None
    beta = fit.side_advantage or 0.0
    assert split["a"].elo_gold == pytest.approx(pooled["a"].elo + ELO_SCALE * beta / 2)
    assert split["b"].elo_distractor == pytest.approx(pooled["b"].elo - ELO_SCALE * beta / 2)
    theta_a = (pooled["a"].elo - ELO_BASE) / ELO_SCALE
    theta_b = (pooled["b"].elo - ELO_BASE) / ELO_SCALE
    p = 1 / (1 + np.exp(-(theta_a - theta_b + beta)))
    d = np.array([1.0, -1.0, 1.0])
    hessian = 10 * p * (1 - p) * np.outer(d, d) + np.diag([1.0, 1.0, 1 / 25])
    weights = np.array([1.0, 0.0, 0.5])
    half = 1.959964 * ELO_SCALE * np.sqrt(weights @ np.linalg.inv(hessian) @ weights)
    elo = split["a"].elo_gold or 0.0
    assert split["a"].elo_gold_ci95 == pytest.approx((elo - half, elo + half), rel=1e-6)


def test_bad_sides_are_refused_with_what_was_wrong() -> None:
    with pytest.raises(ConfigError, match="first_correct \\(1\\) and second_correct \\(2\\)"):
        rate_players_by_side(
            ["a", "b"], ["b", "a"], [1.0, 0.0], first_correct=[True], second_correct=[True, False]
        )
    with pytest.raises(ConfigError, match="every outcome must be 1"):
        rate_players_by_side(["a"], ["b"], [2.0], first_correct=[True], second_correct=[False])


def test_the_tournament_and_the_report_show_each_players_ratings_by_side(
    tmp_path: Path,
) -> None:
    store, matches = _store(tmp_path / "run")
    a = analyze(store, n_bootstrap=50)
    (table,) = a.tournaments
    expected = rate_players_by_side(
        [m[0] for m in matches],
        [m[1] for m in matches],
        [m[2] for m in matches],
        first_correct=[m[3] for m in matches],
        second_correct=[m[4] for m in matches],
    )
    for want in expected.players:
        got = next(p for p in table.players if p.player == want.debater)
        assert (got.elo_gold, got.elo_distractor) == (want.elo_gold, want.elo_distractor)
        assert (got.elo_gold_ci95, got.elo_distractor_ci95) == (
            want.elo_gold_ci95,
            want.elo_distractor_ci95,
        )
        assert (got.matches_gold, got.matches_distractor) == (16, 16)
    # P is the strongest player: its gold rating is the highest, as is its distractor's.
    best = table.players[0]
    assert best.player == "P"
    assert best.elo_gold == max(p.elo_gold or 0.0 for p in table.players)
    assert best.elo_distractor == max(p.elo_distractor or 0.0 for p in table.players)

    rows = {p.player: (f"{p.elo_gold:.0f}", f"{p.elo_distractor:.0f}") for p in table.players}
    buf = io.StringIO()
    Console(file=buf, width=160, color_system=None).print(render_terminal(a))
    terminal = buf.getvalue()
    title = "Players judged by j, by side (48 cross-play judgments)"
    after = terminal[terminal.index(title) :].splitlines()
    line = next(x for x in after if x.strip().startswith("P "))
    assert rows["P"][0] in line and rows["P"][1] in line
    markdown = render_markdown(a)
    assert "### Players judged by j, by side (48 cross-play judgments)" in markdown
    assert (
        "| player | Elo as gold | 95% CI | won as gold | 95% CI | matches | Elo as distractor "
        "| 95% CI | won as distractor | 95% CI | matches |" in markdown
    )
    lo, hi = best.elo_gold_ci95 or (0.0, 0.0)
    won = f"{100 * (best.win_rate_gold or 0):.1f}%"
    assert f"| P | {rows['P'][0]} | [{lo:.0f}, {hi:.0f}] | {won} |" in markdown
    assert f" | 16 | {rows['P'][1]} |" in markdown
    player = json.loads(render_json(a))["tournaments"][0]["players"][0]
    assert (player["player"], player["elo_gold"], player["matches_distractor"]) == (
        "P",
        best.elo_gold,
        16,
    )

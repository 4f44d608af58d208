"""Side-adjusted Bradley-Terry ratings of players (debaters), with a Gaussian prior.

In a debate the side a debater argues matters as much as its skill: in NYU's human debates
arguing the correct answer is worth about 2.3 logits. A rating that ignores the side mostly
measures the luck of the assignment. The model here, for a match of ``a`` against ``b``::

    P(a wins) = sigmoid(theta_a - theta_b + beta * (c_a - c_b))

with ``c = 1`` for the player arguing the gold answer and 0 otherwise; ``beta`` is the
advantage of arguing the correct side (shared by all players, in logits). A draw counts as
half a win each. The fit is the posterior mode (MAP) under the priors

    theta_i ~ Normal(0, prior_sd**2)      beta ~ Normal(0, SIDE_PRIOR_SD**2)

``prior_sd = 1`` logit (about 174 Elo points) by default: a player with one match moves
well under 100 points from 1500, and one with dozens of matches is rated by its record.
Intervals are Laplace (normal) approximations of the posterior, ``mode +- z * sd`` with
``sd`` from the inverse Hessian of the log posterior; under the prior they have the stated
average coverage, which ``benchmarks/bench_coverage.py`` checks in simulation. They treat
matches as independent given the ratings.

Ratings are reported on the Elo scale, ``elo = 1500 + theta * 400 / ln(10)``: 1500 is the
prior mean (an average player), a 400-point gap means 10:1 odds on a neutral side.

Example::

    from oversight.analysis import rate_players
    fit = rate_players(["gpt", "gpt", "claude"], ["claude", "llama", "llama"], [1, 0.5, 1],
                       first_correct=[True, False, True], second_correct=[False, True, False])
    for p in fit.players:
        print(p.debater, round(p.elo), p.ci95)
    print(fit.side_advantage, fit.side_advantage_ci95)
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from oversight.analysis._ratings import ELO_BASE, ELO_SCALE
from oversight.analysis._schema import EloRelation, PlayerRating, PlayerRatings
from oversight.analysis._types import Floats, Ints
from transcripts.errors import ConfigError

__all__ = ["DEFAULT_PRIOR_SD", "SIDE_PRIOR_SD", "accuracy_vs_elo", "rate_players"]


DEFAULT_PRIOR_SD = 1.0
"""Prior standard deviation of a player's rating, in logits (about 174 Elo points)."""
SIDE_PRIOR_SD = 5.0
"""Prior standard deviation of the side advantage, in logits (weak: the data decide)."""


def _fit(design: Floats, y: Floats, precision: Floats) -> tuple[Floats, Floats]:
    """MAP of a logistic model with a Gaussian prior, and the posterior covariance."""
    x = np.zeros(design.shape[1])
    for _ in range(100):
        z = design @ x
        p = 1.0 / (1.0 + np.exp(-z))
        grad = design.T @ (p - y) + precision * x
        hess = (design * (p * (1.0 - p))[:, None]).T @ design + np.diag(precision)
        step = np.linalg.solve(hess, grad)
        x = x - np.clip(step, -2.0, 2.0)  # damped: no wild first steps; convex objective
        if np.abs(step).max(initial=0.0) < 1e-10:
            break
    z = design @ x
    p = 1.0 / (1.0 + np.exp(-z))
    hess = (design * (p * (1.0 - p))[:, None]).T @ design + np.diag(precision)
    cov: Floats = np.asarray(np.linalg.inv(hess), dtype=np.float64)
    return x, cov


def _matches(
    caller: str,
    first: Sequence[str],
    second: Sequence[str],
    outcome: Sequence[float] | Floats,
) -> tuple[list[str], Ints, Ints, Floats, NDArray[np.bool_]]:
    """The checked matches between different players: the players' names (sorted), each
    kept match's two player indices and outcome, and which matches were kept (self-play
    left out)."""
    y = np.asarray(outcome, dtype=np.float64)
    n = y.size
    if len(first) != n or len(second) != n:
        raise ConfigError(
            f"{caller}: first ({len(first)}), second ({len(second)}) and outcome ({n}) "
            f"must have one entry per match"
        )
    if ((y < 0) | (y > 1) | ~np.isfinite(y)).any():
        raise ConfigError(f"{caller}: every outcome must be 1 (first won), 0 or 0.5 (draw)")
    keep = np.array([f != s for f, s in zip(first, second, strict=True)], dtype=bool)
    names = sorted(
        {
            *(f for f, k in zip(first, keep, strict=True) if k),
            *(s for s, k in zip(second, keep, strict=True) if k),
        }
    )
    index = {name: i for i, name in enumerate(names)}
    a = np.array([index[f] for f, k in zip(first, keep, strict=True) if k], dtype=np.int64)
    b = np.array([index[s] for s, k in zip(second, keep, strict=True) if k], dtype=np.int64)
    return names, a, b, y[keep], keep


def _check_priors(caller: str, prior_sd: float, side_prior_sd: float) -> None:
    if prior_sd <= 0 or side_prior_sd <= 0:
        raise ConfigError(
            f"{caller}: prior_sd and side_prior_sd must be positive, got {prior_sd} and "
            f"{side_prior_sd}"
        )


def elo_interval(
    weights: Floats, x: Floats, cov: Floats, level: float = 0.95
) -> tuple[float, tuple[float, float]]:
    """A rating on the Elo scale and its Laplace interval: the linear combination
    ``weights @ x`` of the posterior mode ``x`` (in logits), ``mode +- z * sd`` with ``sd``
    from the posterior covariance ``cov`` (the rule of every rating here)."""
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    elo = ELO_BASE + ELO_SCALE * float(weights @ x)
    half = ELO_SCALE * z * float(np.sqrt(weights @ cov @ weights))
    return elo, (elo - half, elo + half)


def rate_players(
    first: Sequence[str],
    second: Sequence[str],
    outcome: Sequence[float] | Floats,
    *,
    first_correct: Sequence[bool] | NDArray[np.bool_] | None = None,
    second_correct: Sequence[bool] | NDArray[np.bool_] | None = None,
    prior_sd: float = DEFAULT_PRIOR_SD,
    side_prior_sd: float = SIDE_PRIOR_SD,
    level: float = 0.95,
) -> PlayerRatings:
    """Ratings of the players of pairwise matches, best first.

    ``first[m]`` played ``second[m]`` in match ``m`` and ``outcome[m]`` is 1 when ``first``
    won, 0 when ``second`` won and 0.5 for a draw. ``first_correct`` / ``second_correct``
    say who argued the gold answer; with them the fit has the side term ``beta`` (see the
    module docstring), without them it is plain Bradley-Terry with the same prior.
    ``prior_sd`` and ``side_prior_sd`` are the prior standard deviations (logits) of a
    rating and of ``beta``; ``level`` is the coverage of the intervals.
    Self-play matches (a player against itself) are left out.
    """
    names, a, b, y, keep = _matches("rate_players", first, second, outcome)
    _check_priors("rate_players", prior_sd, side_prior_sd)
    sided = first_correct is not None or second_correct is not None
    if sided and (first_correct is None or second_correct is None):
        raise ConfigError("rate_players: give both first_correct and second_correct, or neither")
    k = len(names)
    m = a.size
    design = np.zeros((m, k + (1 if sided else 0)))
    rows = np.arange(m)
    design[rows, a] += 1.0
    design[rows, b] -= 1.0
    if sided:
        ca = np.asarray(first_correct, dtype=np.float64)[keep]
        cb = np.asarray(second_correct, dtype=np.float64)[keep]
        design[:, k] = ca - cb
    precision = np.full(design.shape[1], 1.0 / prior_sd**2)
    if sided:
        precision[k] = 1.0 / side_prior_sd**2
    if k == 0:
        return PlayerRatings(n_matches=0, players=[], prior_sd=prior_sd)
    x, cov = _fit(design, y, precision)
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    sd = np.sqrt(np.diag(cov))
    players = []
    for i in np.argsort(-x[:k], kind="stable"):
        mine = (a == i) | (b == i)
        wins = np.where(a == i, y, 1.0 - y)[mine]
        elo, interval = elo_interval(np.eye(x.size)[i], x, cov, level)
        players.append(
            PlayerRating(
                debater=names[i],
                elo=elo,
                ci95=interval,
                matches=int(mine.sum()),
                win_rate=float(wins.mean()),
            )
        )
    side = side_ci = None
    if sided:
        side = float(x[k])
        side_ci = (float(x[k] - z * sd[k]), float(x[k] + z * sd[k]))
    return PlayerRatings(
        n_matches=int(m),
        players=players,
        side_advantage=side,
        side_advantage_ci95=side_ci,
        prior_sd=prior_sd,
    )


def accuracy_vs_elo(
    elo: Sequence[float],
    accuracy: Sequence[float],
    weights: Sequence[float] | None = None,
    *,
    level: float = 0.95,
) -> EloRelation:
    """The line through judge accuracy against debater Elo (Khan et al. 2024, Fig. 1).

    One point per player: its Elo (e.g. from :func:`rate_players` on cross-play matches)
    and the judge's accuracy on its debates (e.g. self-play), weighted by ``weights`` (e.g.
    the number of judgments). Weighted least squares of accuracy on ``(elo - 1500) / 100``;
    the interval and p-value of the slope use the HC2 robust variance with a t distribution
    (Bell-McCaffrey degrees of freedom), since accuracies of few players rarely share one
    variance.
    """
    from oversight.analysis._smallsample import cr2_contrast

    x = (np.asarray(elo, dtype=np.float64) - ELO_BASE) / 100.0
    y = np.asarray(accuracy, dtype=np.float64)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    if not (x.size == y.size == w.size) or x.size < 3:
        raise ConfigError(
            f"accuracy_vs_elo: needs one Elo, accuracy (and weight) per player and at least "
            f"3 players, got {x.size}, {y.size} and {w.size}"
        )
    if (w <= 0).any() or not np.isfinite(np.concatenate([x, y, w])).all():
        raise ConfigError("accuracy_vs_elo: weights must be positive and every value finite")
    root = np.sqrt(w)
    design = np.stack([np.ones_like(x), x], axis=1) * root[:, None]
    target = y * root
    ones = np.arange(x.size)
    slope = cr2_contrast(design, target, ones, np.array([0.0, 1.0]))
    intercept = cr2_contrast(design, target, ones, np.array([1.0, 0.0]))
    return EloRelation(
        n_players=int(x.size),
        slope_per_100_elo=slope.estimate,
        slope_ci95=slope.interval(level),
        p_value=slope.p_value(),
        accuracy_at_1500=intercept.estimate,
        df=slope.df,
    )

"""Bradley-Terry ratings of debaters, fitted by (lightly penalised) maximum likelihood.

In a debate, debater ``i`` beats debater ``j`` when the judge puts more probability on
``i``'s assigned answer than on ``j``'s; equal probabilities are a draw, counted as half a
win each. The Bradley-Terry model says ``P(i beats j) = 1 / (1 + exp(-(theta_i - theta_j)))``.
``theta`` maximises

    sum_{i, j} W[i, j] * log sigmoid(theta_i - theta_j)  -  prior / 2 * sum_i theta_i**2

where ``W[i, j]`` counts the wins of ``i`` over ``j``. The tiny Gaussian prior
(``prior = 0.01`` by default) keeps ratings finite when one debater wins every match; with
a few dozen matches it moves them by well under one Elo point per match. ``prior=0`` is the
plain MLE. Ratings are centred on mean zero and reported on the Elo scale,
``elo = 1500 + theta * 400 / ln(10)``, so 1500 is the average debater and a 400-point
gap means 10:1 odds.

The point estimate uses :func:`scipy.optimize.minimize`; bootstrap refits run as one batch
of damped Newton steps over all resamples at once (the objective is strictly convex when
``prior > 0``), checked against the same gradient. In a resample where a debater has no
match, it has no rating: that resample is left out of its interval.
"""

from __future__ import annotations

import math

import numpy as np

from oversight.analysis._types import Floats

__all__ = ["ELO_BASE", "ELO_SCALE", "fit_bradley_terry", "fit_bradley_terry_batch"]


ELO_BASE = 1500.0
"""Elo rating of the average debater."""
ELO_SCALE = 400.0 / math.log(10.0)
"""Elo points per unit of theta."""


def _objective(theta: Floats, wins: Floats, prior: float) -> tuple[float, Floats]:
    diff = theta[:, None] - theta[None, :]
    log_p = -np.logaddexp(0.0, -diff)  # log sigmoid, stable
    games = wins + wins.T
    p = np.exp(log_p)
    value = -(wins * log_p).sum() + prior / 2.0 * (theta**2).sum()
    grad = -(wins.sum(axis=1) - (games * p).sum(axis=1)) + prior * theta
    return float(value), grad


def fit_bradley_terry(wins: Floats, *, prior: float = 0.01) -> Floats:
    """Ratings ``theta`` (mean zero) from a ``k x k`` matrix of win counts (draws as halves)."""
    from scipy.optimize import minimize  # imported here: only debates need it

    k = wins.shape[0]
    if k == 0:
        return np.zeros(0)
    wins = np.asarray(wins, dtype=np.float64)

    # The plain MLE (prior = 0) is only defined up to a shift: fix theta_0 = 0 while
    # optimising. With a prior the optimum is unique and already has mean zero.
    fixed = 1 if prior <= 0 else 0

    def fun(free: Floats) -> tuple[float, Floats]:
        theta = np.concatenate([np.zeros(fixed), free])
        value, grad = _objective(theta, wins, prior)
        return value, grad[fixed:]

    result = minimize(
        fun,
        np.zeros(k - fixed),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 1000},
    )
    theta: Floats = np.concatenate([np.zeros(fixed), np.asarray(result.x, dtype=np.float64)])
    centred: Floats = theta - theta.mean()
    return centred


def fit_bradley_terry_batch(
    wins: Floats, *, prior: float = 0.01, start: Floats | None = None, iterations: int = 100
) -> Floats:
    """Ratings for a batch of win matrices (``B x k x k``) at once; NaN rows did not converge."""
    batch, k, _ = wins.shape
    if prior <= 0:
        raise ValueError("batched fits need prior > 0 (the plain MLE may not exist)")
    theta = np.zeros((batch, k)) if start is None else start.copy()
    games = wins + np.transpose(wins, (0, 2, 1))
    won = wins.sum(axis=2)
    eye = np.eye(k)
    grad = np.zeros((batch, k))
    for _ in range(iterations):
        diff = theta[:, :, None] - theta[:, None, :]
        p = 1.0 / (1.0 + np.exp(-diff))
        grad = -(won - (games * p).sum(axis=2)) + prior * theta
        if np.abs(grad).max(initial=0.0) < 1e-9:
            break
        weight = games * p * (1.0 - p)
        hess = -weight + eye * (weight.sum(axis=2)[:, :, None] + prior)
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        theta = theta - np.clip(step, -2.0, 2.0)  # damping: no wild first steps
    bad = np.abs(grad).max(axis=1, initial=0.0) > 1e-6
    centred: Floats = theta - theta.mean(axis=1, keepdims=True)
    centred[bad] = np.nan
    return centred

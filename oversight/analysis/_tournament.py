"""Tournaments (Khan et al. 2024): player ratings, each player's judge accuracy, and the
accuracy-versus-Elo slope, per judge.

* **Ratings** come from debates between different players (cross-play). Player ``i`` beats
  ``j`` when the judge puts more probability on ``i``'s answer (a draw counts half). The
  side-adjusted Bradley–Terry model is
  ``P(i beats j) = sigmoid(theta_i - theta_j + beta * (c_i - c_j))`` with ``c = 1`` for
  the side arguing the gold: ``beta`` is the advantage of arguing the truth, so a player is
  not rated up for having argued the correct side more often. It is fitted by maximum
  likelihood with a tiny Gaussian prior on ``theta`` (``prior``, as in
  :mod:`oversight.analysis._ratings`); ratings are centred and shown on the Elo scale.
* **Accuracy** of a player: the judge's accuracy (ties count as a share) in the player's
  self-play debates, and in consultancies the player gave, balanced over right and wrong
  consultants (the mean of the two accuracies).
* **Slope**: the least-squares line of accuracy on Elo over the players, per protocol, in
  accuracy per 100 Elo.

Every interval is a percentile interval of a cluster bootstrap (clusters: question sources,
as elsewhere): each resample refits the ratings and recomputes accuracies and slopes, so
the slope's interval carries the uncertainty of both axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from oversight.analysis._data import Data
from oversight.analysis._ratings import ELO_BASE, ELO_SCALE

__all__ = ["PlayerResult", "Slope", "TournamentTable", "fit_side_adjusted", "tournaments"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
_TOL = 1e-9


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class PlayerResult(_Model):
    """One player of a tournament, as one judge saw it."""

    player: str
    """The player's name (model x best-of-N x refine)."""
    elo: float | None
    """Side-adjusted Elo from cross-play (None: the player played no cross-play match)."""
    elo_ci95: tuple[float, float] | None
    """95% cluster-bootstrap interval of ``elo``."""
    matches: int
    """Cross-play judgments the rating rests on."""
    debate_accuracy: float | None
    """Judge accuracy in the player's self-play debates."""
    debate_accuracy_ci95: tuple[float, float] | None
    """Its 95% interval."""
    debate_n: int
    """Self-play judgments."""
    consultancy_accuracy: float | None
    """Judge accuracy when the player consulted, balanced over right and wrong consultants."""
    consultancy_accuracy_ci95: tuple[float, float] | None
    """Its 95% interval."""
    consultancy_n: int
    """Consultancy judgments."""


class Slope(_Model):
    """The fitted line of judge accuracy on Elo, over a tournament's players."""

    protocol: str
    """``debate`` (self-play accuracy) or ``consultancy``."""
    per_100_elo: float
    """Change in accuracy per 100 Elo points."""
    ci95: tuple[float, float] | None
    """95% cluster-bootstrap interval (ratings refitted in every resample)."""
    intercept: float
    """Accuracy at Elo 0 of the fitted line (to draw it)."""
    players: int
    """Players with both an Elo and an accuracy."""


class TournamentTable(_Model):
    """Players, ratings, accuracies and slopes for one judge."""

    judge: str
    """The judge whose judgments decided the matches and are scored."""
    truth_advantage_elo: float | None
    """``beta`` in Elo points: how much arguing the gold helps in cross-play."""
    n_matches: int
    """Cross-play judgments."""
    players: list[PlayerResult]
    """Every player seen, by Elo (unrated last)."""
    slopes: list[Slope]
    """Accuracy on Elo, per protocol with at least two rated players with accuracies."""


def fit_side_adjusted(
    i: Ints, j: Ints, outcome: Floats, side: Floats, k: int, *,
    weights: Floats | None = None, prior: float = 0.01,
) -> tuple[Floats, float]:
    """``(theta, beta)``: centred player strengths and the truth advantage (natural units).

    ``weights`` may be one row per match, or a ``B x matches`` batch (then ``theta`` is
    ``B x k`` and ``beta`` a length-``B`` array, one fit per row).
    """
    w = np.ones((1, i.size)) if weights is None else np.atleast_2d(weights)
    design = np.zeros((i.size, k + 1))
    design[np.arange(i.size), i] += 1.0
    design[np.arange(i.size), j] -= 1.0
    design[:, k] = side
    ridge = np.full(k + 1, prior)
    ridge[k] = 1e-9  # beta is unpenalised (a whisker keeps it finite without sides)
    x = np.zeros((w.shape[0], k + 1))
    for _ in range(100):  # damped Newton: the objective is strictly convex
        p = 1.0 / (1.0 + np.exp(-(x @ design.T)))
        grad = -(w * (outcome - p)) @ design + ridge * x
        if np.abs(grad).max(initial=0.0) < 1e-10:
            break
        hess = np.einsum("bn,ni,nj->bij", w * p * (1 - p), design, design) + np.diag(ridge)
        x = x - np.clip(np.linalg.solve(hess, grad[:, :, None])[:, :, 0], -2.0, 2.0)
    theta = x[:, :k] - x[:, :k].mean(axis=1, keepdims=True)
    if weights is None or np.ndim(weights) == 1:
        return theta[0], float(x[0, k])
    return theta, x[:, k]  # type: ignore[return-value]


@dataclass
class _Rows:
    """One judge's scored judgments of a tournament, split by kind."""

    m_i: list[int] = field(default_factory=list)
    m_j: list[int] = field(default_factory=list)
    m_out: list[float] = field(default_factory=list)
    m_side: list[float] = field(default_factory=list)
    m_cluster: list[int] = field(default_factory=list)
    s_player: list[int] = field(default_factory=list)
    s_score: list[float] = field(default_factory=list)
    s_cluster: list[int] = field(default_factory=list)
    c_player: list[int] = field(default_factory=list)
    c_score: list[float] = field(default_factory=list)
    c_right: list[bool] = field(default_factory=list)
    c_cluster: list[int] = field(default_factory=list)


def _score(p: Floats, gold: int) -> float:
    top = p.max()
    tied = np.abs(p - top) <= _TOL
    return float(tied[gold]) / float(tied.sum())


def _collect(data: Data, rows: Ints, names: dict[str, int]) -> _Rows:
    out = _Rows()
    for r in rows:
        tr = data.transcripts[int(data.t[r])]
        gold = int(data.t_correct[data.t[r]])
        speakers = [s for s in sorted(tr.assignment) if s in tr.players]
        if not speakers or tr.protocol not in ("debate", "consultancy"):
            continue
        probs, cluster = data.probs[r], int(data.t_cluster[data.t[r]])
        codes = [names.setdefault(tr.players[s], len(names)) for s in speakers]
        if tr.protocol == "consultancy":
            out.c_player.append(codes[0])
            out.c_score.append(_score(probs[: len(tr.question.answers)], gold))
            out.c_right.append(tr.assignment[speakers[0]] == gold)
            out.c_cluster.append(cluster)
        elif len(set(codes)) == 1:
            out.s_player.append(codes[0])
            out.s_score.append(_score(probs[: len(tr.question.answers)], gold))
            out.s_cluster.append(cluster)
        elif len(speakers) == 2:
            a1, a2 = (tr.assignment[s] for s in speakers)
            diff = probs[a1] - probs[a2]
            out.m_i.append(codes[0])
            out.m_j.append(codes[1])
            out.m_out.append(1.0 if diff > _TOL else 0.0 if diff < -_TOL else 0.5)
            out.m_side.append(float(a1 == gold) - float(a2 == gold))
            out.m_cluster.append(cluster)
    return out


def _ratings(rows: _Rows, k: int, w: Floats) -> tuple[Floats, Floats]:
    """Elo per player (NaN where unrated) and beta in Elo, for each row of cluster weights."""
    elo = np.full((w.shape[0], k), np.nan)
    beta = np.full(w.shape[0], np.nan)
    if not rows.m_cluster:
        return elo, beta
    i, j = np.asarray(rows.m_i, dtype=np.int64), np.asarray(rows.m_j, dtype=np.int64)
    mw = w[:, rows.m_cluster]
    fitted = fit_side_adjusted(i, j, np.asarray(rows.m_out), np.asarray(rows.m_side), k,
                               weights=mw if w.shape[0] > 1 else mw[0])
    theta, truth = np.atleast_2d(fitted[0]), np.atleast_1d(fitted[1])
    played = np.zeros((w.shape[0], k))
    for col in (i, j):
        np.add.at(played.T, col, mw.T)
    elo = np.where(played > 0, ELO_BASE + ELO_SCALE * theta, np.nan)
    return elo, np.where(mw.sum(axis=1) > 0, truth * ELO_SCALE, np.nan)


def _accuracies(rows: _Rows, k: int, w: Floats) -> tuple[Floats, Floats]:
    """Self-play and balanced consultancy accuracy per player (NaN without judgments)."""
    debate = _mean_by(rows.s_player, rows.s_score, w[rows.s_cluster] if rows.s_cluster else
                      np.zeros(0), k)
    right = np.asarray(rows.c_right, dtype=bool)
    cw = w[rows.c_cluster] if rows.c_cluster else np.zeros(0)
    players, scores = np.asarray(rows.c_player, dtype=np.int64), np.asarray(rows.c_score)
    by_side = [_mean_by(players[m], scores[m], cw[m], k) for m in (right, ~right)]
    return debate, (by_side[0] + by_side[1]) / 2


def _mean_by(players: list[int] | Ints, scores: list[float] | Floats, w: Floats, k: int) -> Floats:
    total, weight = np.zeros(k), np.zeros(k)
    np.add.at(total, np.asarray(players, dtype=np.int64), np.asarray(scores) * w)
    np.add.at(weight, np.asarray(players, dtype=np.int64), w)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / np.where(weight > 0, weight, 1), np.nan)


def _slope(elo: Floats, acc: Floats) -> tuple[float, float, int] | None:
    ok = np.isfinite(elo) & np.isfinite(acc)
    if ok.sum() < 2 or np.ptp(elo[ok]) <= 0:
        return None
    slope, intercept = np.polyfit(elo[ok], acc[ok], 1)
    return float(slope) * 100, float(intercept), int(ok.sum())


def _interval(samples: Floats, n_clusters: int) -> tuple[float, float] | None:
    finite = samples[np.isfinite(samples)]
    if n_clusters < 2 or finite.size < 2:
        return None
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return float(lo), float(hi)


def _opt(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def tournaments(
    data: Data, rows: Ints, judges: list[str], *, n_bootstrap: int, seed: int
) -> list[TournamentTable]:
    """Per judge, the tournament table of the scored judgments ``rows`` (empty when no
    transcript records players)."""
    rows = rows[data.scored[rows]]
    out = []
    for judge in judges:
        names: dict[str, int] = {}
        mine = np.asarray([r for r in rows if data.judge[r].name == judge], dtype=np.int64)
        collected = _collect(data, mine, names)
        k = len(names)
        if k == 0:
            continue
        n_clusters = data.n_clusters
        ones = np.ones((1, n_clusters))
        elos, betas = _ratings(collected, k, ones)
        elo, beta = elos[0], float(betas[0])
        debate, consult = _accuracies(collected, k, ones[0])
        rng = np.random.default_rng([seed, 14])
        draws = rng.integers(0, n_clusters, (n_bootstrap, n_clusters))
        weights = np.stack([np.bincount(d, minlength=n_clusters) for d in draws]).astype(float)
        boot_elo = _ratings(collected, k, weights)[0]
        boot_acc = np.full((2, n_bootstrap, k), np.nan)
        boot_slope = np.full((2, n_bootstrap), np.nan)
        for b in range(n_bootstrap):
            boot_acc[0, b], boot_acc[1, b] = _accuracies(collected, k, weights[b])
            for p in range(2):
                fitted = _slope(boot_elo[b], boot_acc[p, b])
                boot_slope[p, b] = fitted[0] if fitted else np.nan
        counts = [np.bincount(np.asarray(x, dtype=np.int64), minlength=k) for x in (
            collected.m_i + collected.m_j, collected.s_player, collected.c_player)]
        players = [
            PlayerResult(
                player=name, elo=_opt(elo[p]), elo_ci95=_interval(boot_elo[:, p], n_clusters),
                matches=int(counts[0][p]),
                debate_accuracy=_opt(debate[p]),
                debate_accuracy_ci95=_interval(boot_acc[0, :, p], n_clusters),
                debate_n=int(counts[1][p]),
                consultancy_accuracy=_opt(consult[p]),
                consultancy_accuracy_ci95=_interval(boot_acc[1, :, p], n_clusters),
                consultancy_n=int(counts[2][p]),
            )
            for name, p in names.items()
        ]
        players.sort(key=lambda x: (x.elo is None, -(x.elo or 0.0), x.player))
        slopes = []
        for p, (protocol, acc) in enumerate((("debate", debate), ("consultancy", consult))):
            fitted = _slope(elo, acc)
            if fitted is not None:
                slopes.append(Slope(protocol=protocol, per_100_elo=fitted[0],
                                    ci95=_interval(boot_slope[p], n_clusters),
                                    intercept=fitted[1], players=fitted[2]))
        out.append(TournamentTable(judge=judge, truth_advantage_elo=_opt(beta),
                                   n_matches=len(collected.m_i), players=players, slopes=slopes))
    return out

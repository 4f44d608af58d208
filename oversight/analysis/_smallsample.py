"""Intervals and tests that hold with few clusters.

With few sources (clusters) the percentile cluster bootstrap undercovers: in simulation its
nominal 95% intervals held 89% of the time with 8 sources. Below
:data:`SMALL_SAMPLE_CLUSTERS` sources the report therefore uses, for every mean and every
difference of means, the **CR2** cluster-robust variance (Bell & McCaffrey 2002; Pustejovsky
& Tipton 2018) with a **t** reference distribution whose degrees of freedom are the
Bell-McCaffrey approximation (at most ``C - 1`` for ``C`` clusters, fewer when clusters
are unequal). Every statistic here is an ordinary least-squares coefficient (a mean is the
coefficient of an intercept), so for a contrast ``c'b`` of ``b = (X'X)^-1 X'y``::

    V_CR2 = M (sum_c X_c' A_c e_c e_c' A_c X_c) M,   M = (X'X)^-1,  A_c = (I - H_cc)^(-1/2)

with ``e`` the residuals and ``H_cc`` the cluster's block of the hat matrix (a pseudo-inverse
square root where ``I - H_cc`` is singular). With one observation per cluster CR2 is HC2.
CR3 (``A_c = (I - H_cc)^-1``, the cluster jackknife) is available for the unpaired
comparison, where it holds the level better.
The degrees of freedom are ``(sum lambda)^2 / sum lambda^2`` over the eigenvalues of
``G'G``, ``G``'s column ``c`` being ``(I - H)[:, c] A_c X_c M c``.

Other pieces:

* :func:`fieller`: the Fieller confidence set of a ratio ``a / b`` of two estimates with
  covariance ``V``, e.g. gap closed ``(A - U) / (E - U)``: the ``theta`` with
  ``(a - theta b)^2 <= t^2 (v_aa - 2 theta v_ab + theta^2 v_bb)``. It is a finite interval
  only when ``b`` is itself significantly non-zero; otherwise it is unbounded.
* :func:`sign_flip_test`: the clustered permutation test of a paired mean difference. Under
  the null the two conditions are exchangeable within a question, so each source's total
  difference is symmetric about zero; flipping the signs of whole sources gives the exact
  null distribution of the sum (all ``2^C`` flips up to 16 sources, random flips beyond).
* :func:`holm`: Holm's step-down adjustment of p-values (family-wise error control).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from oversight.analysis._codes import unique_codes
from oversight.analysis._types import Floats, Ints

__all__ = [
    "SMALL_SAMPLE_CLUSTERS",
    "Cr2",
    "balanced_interval",
    "cr2_contrast",
    "cr2_cov",
    "cr2_means",
    "difference_interval",
    "fieller",
    "holm",
    "mean_interval",
    "proportion_interval",
    "sides_vary",
    "sign_flip_test",
    "t_quantile",
]


SMALL_SAMPLE_CLUSTERS = 50
"""Below this many sources, means and differences get CR2 + t intervals, not the bootstrap."""
_TINY = 1e-12
"""A standard error this small (relative to the estimate) is rounding noise, not spread."""
_EXACT_FLIPS = 16
"""Up to this many sources the sign-flip test enumerates every flip."""


@dataclass(frozen=True)
class Cr2:
    """A CR2 estimate of one contrast: the estimate, its standard error, degrees of freedom."""

    estimate: float
    """The estimate (a mean, a difference of means)."""
    se: float
    """CR2 standard error."""
    df: float
    """Bell-McCaffrey degrees of freedom of the t reference distribution."""

    def interval(
        self, level: float = 0.95, bounds: tuple[float, float] = (-math.inf, math.inf)
    ) -> tuple[float, float] | None:
        """The t interval clipped to ``bounds`` (the range the statistic can take), or None
        when the standard error is zero (no variation between sources says nothing about
        it) or the df is not usable."""
        if not (
            math.isfinite(self.se)
            and self.se > _TINY * max(1.0, abs(self.estimate))
            and self.df > 0
        ):
            return None
        half = t_quantile(0.5 + level / 2.0, self.df) * self.se
        return max(bounds[0], self.estimate - half), min(bounds[1], self.estimate + half)

    def p_value(self) -> float | None:
        """Two-sided p-value of estimate = 0 under t(df); None without variation."""
        if not (
            math.isfinite(self.se)
            and self.se > _TINY * max(1.0, abs(self.estimate))
            and self.df > 0
        ):
            return None
        from scipy.special import stdtr  # scipy.special: far cheaper to import than stats

        return float(2.0 * stdtr(self.df, -abs(self.estimate) / self.se))


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom."""
    from scipy.special import stdtrit

    return float(stdtrit(df, q))


def cr2_means(y: Floats, cluster: Ints) -> tuple[Floats, Floats, Floats]:
    """Means of the columns of ``y`` (rows x columns), their CR2 covariance, and per column
    the Bell-McCaffrey degrees of freedom. ``cluster`` holds codes ``0..C-1``.

    The intercept-only case in closed form: with ``h_c = n_c / n`` the cluster's leverage,
    ``A_c`` scales the cluster's residuals by ``(1 - h_c)^(-1/2)``.
    """
    if y.ndim == 1:
        y = y[:, None]
    n = y.shape[0]
    n_c = np.bincount(cluster).astype(np.float64)
    keep = n_c > 0
    mean = y.mean(axis=0)
    resid = y - mean
    totals = np.stack(
        [np.bincount(cluster, weights=resid[:, j]) for j in range(y.shape[1])], axis=1
    )[keep]
    n_c = n_c[keep]
    h = n_c / n
    with np.errstate(divide="ignore"):
        a = np.where(h < 1.0 - 1e-12, 1.0 / np.sqrt(1.0 - h), 0.0)
    u = totals * a[:, None]
    cov: Floats = u.T @ u / n**2
    # G'G[c, d] = a_c a_d (delta_cd n_c - n_c n_d / n) / n^2; the n^2 cancels in the df.
    gtg = np.outer(a, a) * (np.diag(n_c) - np.outer(n_c, n_c) / n)
    denominator = float((gtg**2).sum())
    df = float(np.trace(gtg) ** 2) / denominator if n_c.size > 1 and denominator > 0 else 0.0
    return mean, cov, np.full(y.shape[1], float(df))


def cr2_contrast(
    x: Floats, y: Floats, cluster: Ints, contrast: Floats, *, jackknife: bool = False
) -> Cr2:
    """CR2 estimate of ``contrast' b`` for the OLS fit of ``y`` on the columns of ``x``;
    with ``jackknife`` the CR3 variance instead, ``A_c = (I - H_cc)^-1`` (the cluster
    jackknife, more conservative; MacKinnon, Nielsen & Webb 2023). The degrees of freedom
    are Bell-McCaffrey's for the same ``A_c``."""
    power = 1.0 if jackknife else 0.5
    n = x.shape[0]
    m = np.linalg.pinv(x.T @ x).astype(np.float64)
    b = m @ x.T @ y
    e = y - x @ b
    mc = m @ contrast
    groups = np.unique(cluster)
    var = 0.0
    g = np.zeros((n, groups.size))
    m_half = _root(m)
    for j, c in enumerate(groups):
        rows = np.nonzero(cluster == c)[0]
        xc = x[rows]
        a_times = _adjustment(xc, m_half, power)
        score = xc.T @ a_times(e[rows])
        var += float(mc @ score) ** 2
        p = a_times(xc @ mc)
        col = -(x @ (m @ (xc.T @ p)))
        col[rows] += p
        g[:, j] = col
    gtg = g.T @ g
    denominator = float((gtg**2).sum())
    df = float(np.trace(gtg) ** 2 / denominator) if groups.size > 1 and denominator > 0 else 0.0
    return Cr2(estimate=float(contrast @ b), se=math.sqrt(var), df=df)


def _root(m: Floats) -> Floats:
    """``M^(1/2)`` through its eigen-decomposition (``M`` symmetric positive semi-definite)."""
    w, v = np.linalg.eigh(m)
    root: Floats = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    return root


def _adjustment(xc: Floats, m_half: Floats, power: float) -> Callable[[Floats], Floats]:
    """``v -> A_c v`` for a cluster's rows ``xc``: ``A_c = (I - H_cc)^(-power)``, ``H_cc =
    X_c M X_c'`` (a pseudo-inverse where ``I - H_cc`` is singular); ``v`` a vector or the
    columns of a matrix."""
    u, s, _ = np.linalg.svd(xc @ m_half, full_matrices=False)
    s2 = s**2
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(s2 < 1.0 - 1e-10, (1.0 - s2) ** -power, 0.0) - 1.0

    def a_times(vec: Floats) -> Floats:
        scaled = factor * (u.T @ vec) if vec.ndim == 1 else factor[:, None] * (u.T @ vec)
        out: Floats = vec + u @ scaled
        return out

    return a_times


def cr2_cov(x: Floats, e: Floats, m: Floats, cluster: Ints, mc: Floats) -> tuple[Floats, int]:
    """The CR2 covariance of the contrasts ``c`` whose ``M c`` are the columns of ``mc``,
    for the fit of ``x`` with residuals ``e`` and ``M = (X'X)^-1`` (:func:`cr2_contrast`'s
    variance, several contrasts at once, no degrees of freedom), over the clusters
    ``cluster`` (any codes); and how many clusters. Zero with fewer than two."""
    _, local = unique_codes(cluster)
    g = int(local.max()) + 1 if local.size else 0
    if g < 2:
        return np.zeros((mc.shape[1], mc.shape[1])), g
    m_half = _root(m)
    order = np.argsort(local, kind="stable")
    starts = np.searchsorted(local[order], np.arange(g + 1))
    scores = np.empty((g, mc.shape[1]))
    for c in range(g):
        rows = order[starts[c] : starts[c + 1]]
        xc = x[rows]
        scores[c] = _adjustment(xc, m_half, 0.5)(e[rows]) @ (xc @ mc)
    cov: Floats = scores.T @ scores
    return cov, g


def proportion_interval(
    estimate: float, fit: Cr2, n_clusters: int, n: int, level: float = 0.95
) -> tuple[float, float] | None:
    """A CR2 t interval for a share in [0, 1] of ``n`` judgments.

    Its standard error is never below the independent-judgments one, ``sqrt(p (1 - p) /
    n)``: judgments of one source are not less alike than judgments of different sources
    (a non-negative ICC), and with few sources CR2 can come out near zero by chance (e.g.
    four sources with the same accuracy). When every judgment scored the same (0 or 1, no
    variation to estimate from), the interval is Clopper-Pearson for ``n_clusters``
    successes (or failures) in ``n_clusters`` trials: each source counts once."""
    if n_clusters < 2:
        return None
    if 0.0 < estimate < 1.0:
        floor = math.sqrt(estimate * (1.0 - estimate) / n) if n > 0 else 0.0
        widened = Cr2(fit.estimate, max(fit.se, floor), fit.df)
        return widened.interval(level, (0.0, 1.0))
    if estimate not in (0.0, 1.0):
        return None
    from scipy.special import betaincinv

    edge = float(betaincinv(n_clusters, 1.0, (1.0 - level) / 2.0))
    return (edge, 1.0) if estimate == 1.0 else (0.0, 1.0 - edge)


def mean_interval(
    values: Floats,
    cluster: Ints,
    kind: str = "share",
    *,
    weights: Floats | None = None,
    bounds: tuple[float, float] = (-math.inf, math.inf),
    level: float = 0.95,
) -> tuple[float, float] | None:
    """The CR2 t interval of the mean of ``values`` (``cluster``: any source codes): a
    ``brier`` clipped to [0, 2], a ``log`` score to at most 0, a ``mean`` to ``bounds``,
    any other ``kind`` a share by :func:`proportion_interval`. With ``weights`` the weighted
    mean (a ratio of sums, e.g. ratings per item), its CR2 from the weighted fit. None with
    fewer than two sources or no variation to estimate."""
    _, local = unique_codes(cluster)
    if values.size == 0 or int(local.max()) < 1:
        return None
    if weights is None:
        mean, cov, df = cr2_means(values, local)
        fit = Cr2(float(mean[0]), float(np.sqrt(max(cov[0, 0], 0.0))), float(df[0]))
    else:
        root = np.sqrt(weights)
        fit = cr2_contrast(root[:, None], root * values, local, np.ones(1))
    if kind == "brier":
        return fit.interval(level, (0.0, 2.0))
    if kind == "log":
        return fit.interval(level, (-math.inf, 0.0))
    if kind == "mean":
        return fit.interval(level, bounds)
    return proportion_interval(fit.estimate, fit, int(local.max()) + 1, int(values.size), level)


def difference_interval(
    a: Floats,
    a_cluster: Ints,
    b: Floats,
    b_cluster: Ints,
    *,
    a_weights: Floats | None = None,
    b_weights: Floats | None = None,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> tuple[float, float] | None:
    """The CR2 t interval of ``mean(a) - mean(b)`` (weighted means with weights), the two
    means fitted together so items of one source on both sides (paired, or partly so) count
    as correlated: for ``a`` and ``b`` measured on the same items it is the interval of the
    mean of per-item differences. None with fewer than two sources or no variation."""
    cluster = np.concatenate([a_cluster, b_cluster])
    if a.size == 0 or b.size == 0 or np.unique(cluster).size < 2:
        return None
    x = np.zeros((a.size + b.size, 2))
    x[: a.size, 0] = 1.0
    x[a.size :, 1] = 1.0
    w = np.concatenate(
        [
            np.ones(a.size) if a_weights is None else a_weights,
            np.ones(b.size) if b_weights is None else b_weights,
        ]
    )
    root = np.sqrt(w)
    y = np.concatenate([a, b])
    fit = cr2_contrast(x * root[:, None], y * root, cluster, np.array([1.0, -1.0]))
    return fit.interval(bounds=bounds)


def sides_vary(score: Floats, honest: NDArray[np.bool_]) -> bool:
    """Whether the scores vary within each side of a balanced accuracy (else only
    :func:`balanced_interval` gives it an honest interval, whatever the sources)."""
    return bool(np.ptp(score[honest]) > 0 and np.ptp(score[~honest]) > 0)


def balanced_interval(
    score: Floats, honest: NDArray[np.bool_], cluster: Ints, level: float = 0.95
) -> tuple[float, float] | None:
    """The CR2 t interval of Khan et al.'s balanced accuracy, the mean of the accuracy of
    the ``honest`` rows and that of the others (both must be present).

    When a side has no variation (e.g. every judgment right on both sides) CR2 sees none
    to estimate from; then each side's accuracy gets the share rule of
    :func:`mean_interval` (Clopper-Pearson over its sources when all right or all wrong)
    at ``1 - (1 - level) / 2``, so both hold together at ``level`` (Bonferroni), and the
    interval is the mean of their ends. None when a side has fewer than two sources."""
    if not sides_vary(score, honest):
        half = 1.0 - (1.0 - level) / 2.0
        ends = [mean_interval(score[side], cluster[side], level=half) for side in (honest, ~honest)]
        if ends[0] is None or ends[1] is None:
            return None
        return (ends[0][0] + ends[1][0]) / 2.0, (ends[0][1] + ends[1][1]) / 2.0
    x = np.stack([honest, ~honest], axis=1).astype(np.float64)
    fit = cr2_contrast(x, score, cluster, np.array([0.5, 0.5]))
    return fit.interval(level, bounds=(0.0, 1.0))


def fieller(
    a: float, b: float, cov: Floats, df: float, level: float = 0.95
) -> tuple[float, float] | None:
    """Fieller's confidence interval for ``a / b``; None when the set is unbounded.

    ``cov`` is the 2 x 2 covariance of ``(a, b)``. The set is a finite interval exactly
    when ``b^2 > t^2 v_bb`` (the denominator is significantly non-zero at ``level``).
    """
    if df <= 0 or not np.isfinite(cov).all():
        return None
    t2 = t_quantile(0.5 + level / 2.0, df) ** 2
    v_aa, v_ab, v_bb = float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])
    qa = b * b - t2 * v_bb
    qb = a * b - t2 * v_ab
    qc = a * a - t2 * v_aa
    disc = qb * qb - qa * qc
    if qa <= 0 or disc < 0:
        return None
    root = math.sqrt(disc)
    return (qb - root) / qa, (qb + root) / qa


def fieller_covers(
    a: float, b: float, cov: Floats, df: float, theta: float, level: float = 0.95
) -> bool:
    """Whether ``theta`` lies in Fieller's confidence set (bounded or not)."""
    t2 = t_quantile(0.5 + level / 2.0, df) ** 2
    spread = cov[0, 0] - 2.0 * theta * cov[0, 1] + theta * theta * cov[1, 1]
    return bool((a - theta * b) ** 2 <= t2 * spread)


def sign_flip_test(totals: Floats, rng: np.random.Generator, n_random: int = 20000) -> float:
    """Two-sided p-value of the sum of per-source totals under random sign flips.

    Every flip up to 16 sources; ``n_random`` random flips below
    :data:`SMALL_SAMPLE_CLUSTERS` sources; from there on the normal approximation of the
    flip distribution (mean 0, variance ``sum totals^2``), which the central limit theorem
    makes accurate with that many sources and which costs nothing at thousands of them.
    """
    c = totals.size
    if c == 0:
        return 1.0
    observed = abs(float(totals.sum()))
    if c >= SMALL_SAMPLE_CLUSTERS:
        spread = math.sqrt(float((totals**2).sum()))
        if spread == 0:
            return 1.0
        return math.erfc(observed / spread / math.sqrt(2.0))
    if c <= _EXACT_FLIPS:
        codes = np.arange(2**c, dtype=np.int64)
        signs = 1.0 - 2.0 * ((codes[:, None] >> np.arange(c)) & 1)
    else:
        signs = rng.choice(np.array([-1.0, 1.0]), size=(n_random, c))
    sums = np.abs(signs @ totals)
    # Ties within rounding count as at least as extreme.
    extreme = int((sums >= observed - 1e-9 * max(1.0, observed)).sum())
    if c > _EXACT_FLIPS:
        return (extreme + 1) / (n_random + 1)
    return float(extreme) / float(signs.shape[0])


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None and is not counted)."""
    present = [(p, i) for i, p in enumerate(p_values) if p is not None]
    m = len(present)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(present)):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out

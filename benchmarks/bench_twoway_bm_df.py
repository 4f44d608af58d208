"""Degrees of freedom of a between-person difference's two-way interval: the report's rule
(Welch-Satterthwaite over each condition's people, :func:`oversight.analysis._twoway._df`)
against the Bell-McCaffrey df of the person term (the one-way CR2 over people, working
model the identity: Imbens & Kolesar 2016; clubSandwich's Satterthwaite df for ``lm``) and
against the Satterthwaite df of that term under a random-effects working model with the
person variance estimated (:func:`working_df`).

Design: 60 questions (each its own source), each judged once under A by one of ``GA``
people and once under U by one of ``GU`` (between persons), or, within persons, by two of
``K`` people who judge both conditions; person skill sd ``sd`` on the probability of a right
answer (A 0.7, U 0.6, source effect sd 0.1); truth the population difference 0.1. The same
two-way CR2 standard error under each df; a missing interval (df 0) counts as a miss.

Results and what they show: BENCHMARKS.md, "Between-person df" (neither candidate adopted).

Run (nice, the machine is shared; ``PYTHONPATH=.`` from a worktree)::

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/bench_twoway_bm_df.py --reps 1000
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats

from oversight.analysis._smallsample import _adjustment, _root, cr2_contrast
from oversight.analysis._twoway import two_way_difference

Q = 60
DESIGNS = (("between", 4, 4), ("between", 6, 6), ("between", 2, 6), ("between", 3, 9))
WITHIN = (("within", 4, 0), ("within", 8, 0))
SDS = (0.05, 0.12, 0.2)


def _p_matrix(x: np.ndarray, cluster: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Columns ``(I - H)[:, g] A_g X_g M c`` of the CR2 variance over ``cluster``."""
    m = np.linalg.pinv(x.T @ x)
    m_half = _root(m)
    mc = m @ c
    groups = np.unique(cluster)
    p = np.zeros((x.shape[0], groups.size))
    for j, g in enumerate(groups):
        rows = np.nonzero(cluster == g)[0]
        a = _adjustment(x[rows], m_half, 0.5)(x[rows] @ mc)
        col = -(x @ (m @ (x[rows].T @ a)))
        col[rows] += a
        p[:, j] = col
    return p


def working_df(x: np.ndarray, y: np.ndarray, person: np.ndarray, c: np.ndarray) -> float:
    """Satterthwaite df of the person term's CR2 variance under a random-effects working
    model ``Phi = I + rho Z Z'`` (Pustejovsky & Tipton 2018; clubSandwich's target), ``rho``
    the person variance over the residual one, a one-way ANOVA estimate within each side
    (floored at 0): ``tr(P' Phi P)^2 / tr((P' Phi P)^2)``. ``rho = 0`` is the BM df."""
    side = np.argmax(x != 0, axis=1)
    e = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    groups, code = np.unique(person, return_inverse=True)
    n_g = np.bincount(code).astype(np.float64)
    mean_g = np.bincount(code, weights=e) / n_g
    ssw = float(((e - mean_g[code]) ** 2).sum())
    ssb = float((n_g * mean_g**2).sum())
    dfw = e.size - groups.size
    dfb = groups.size - np.unique(side).size
    msw, msb = ssw / max(dfw, 1), ssb / max(dfb, 1)
    n0 = (e.size - (n_g**2).sum() / e.size) / max(groups.size - 1, 1)
    rho = max(0.0, (msb - msw) / n0) / msw if msw > 0 else 0.0
    p = _p_matrix(x, person, c)
    z = (code[:, None] == np.arange(groups.size)).astype(np.float64)
    zp = z.T @ p
    b = p.T @ p + rho * zp.T @ zp
    return float(np.trace(b) ** 2 / (b * b).sum())


def study(kind: str, ga: int, gu: int, sd: float, rng: np.random.Generator) -> tuple:
    q = np.arange(Q)
    effect = rng.normal(0, 0.1, Q)
    if kind == "between":
        pa, pu = 0.7 + rng.normal(0, sd, ga), 0.6 + rng.normal(0, sd, gu)
        wa, wu = rng.integers(0, ga, Q), rng.integers(0, gu, Q)
        person = np.concatenate([wa, wu + ga])
    else:  # K people, each judging both conditions (skill and how much A helps vary)
        skill, help_ = rng.normal(0, sd, ga), rng.normal(0, sd / 2, ga)
        pa, pu = 0.7 + skill + help_, 0.6 + skill
        wa, wu = rng.integers(0, ga, Q), rng.integers(0, ga, Q)
        person = np.concatenate([wa, wu])
    a = (rng.random(Q) < np.clip(pa[wa] + effect, 0, 1)) * 1.0
    u = (rng.random(Q) < np.clip(pu[wu] + effect, 0, 1)) * 1.0
    return a, u, np.concatenate([q, q]), person, np.concatenate([np.zeros(Q), np.ones(Q)])


def run(kind: str, ga: int, gu: int, sd: float, reps: int, seed: int) -> dict[str, tuple]:
    rng = np.random.default_rng([seed, ga, gu, int(sd * 100), kind == "within"])
    hits = {"report": 0, "bm person": 0, "working model": 0}
    width: dict[str, list[float]] = {k: [] for k in hits}
    dfs: dict[str, list[float]] = {k: [] for k in hits}
    c = np.array([1.0, -1.0])
    for _ in range(reps):
        a, u, source, person, side = study(kind, ga, gu, sd, rng)
        fit = two_way_difference(a, source[:Q], u, source[Q:], source, person)
        x = np.stack([side == 0, side == 1], axis=1).astype(np.float64)
        y = np.concatenate([a, u])
        if kind == "between":
            few = min(ga, gu) < 2
            bm = 0.0 if few else min(Q - 1.0, cr2_contrast(x, y, person, c).df)
            form = 0.0 if few else min(Q - 1.0, working_df(x, y, person, c))
        else:
            bm = form = fit.df  # within persons: the rule is unchanged
        for rule, df in (("report", fit.df), ("bm person", bm), ("working model", form)):
            dfs[rule].append(df)
            if df <= 0 or fit.se <= 0:
                width[rule].append(2.0)
                continue
            half = float(stats.t.ppf(0.975, df)) * fit.se
            hits[rule] += abs(fit.estimate - 0.1) <= half
            width[rule].append(min(2.0, 2 * half))
    return {k: (hits[k] / reps, float(np.median(width[k])), float(np.median(dfs[k]))) for k in hits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(
        "| design | people A / U | person sd | report (WS): coverage, median width, df "
        "| BM person term | working-model df |"
    )
    print("|---|---|---:|---|---|---|")
    for kind, ga, gu in DESIGNS + WITHIN:
        for sd in SDS:
            out = run(kind, ga, gu, sd, args.reps, args.seed)
            cells = " | ".join(f"{cov:.1%}, {w:.3f}, {df:.2f}" for cov, w, df in out.values())
            people = f"{ga} / {gu}" if kind == "between" else f"{ga} (both)"
            print(f"| {kind} | {people} | {sd} | {cells} |", flush=True)


if __name__ == "__main__":
    main()

"""A small-sample variant of the report's two-way (source x annotator) intervals, measured
against the current one on the same simulated studies: CR2 in each of the three terms of
Cameron, Gelbach & Miller's ``V_source + V_annotator - V_source∩annotator`` (Bell &
McCaffrey's adjustment ``A_c = (I - H_cc)^(-1/2)`` per cluster, no ``G / (G - 1)`` factor),
with either the current df rule (``min(G) - 1``, ``- 2`` for a kind of cluster none of
which holds both sides) or the smaller of the two one-way CR2 terms' Bell-McCaffrey df.
Where the subtraction leaves a covariance not positive definite, ``V_source +
V_annotator`` as now.

The variants replace :func:`oversight.analysis._twoway.two_way_cov` for one ``analyze``
call each (every two-way interval goes through it: means, balanced accuracy, differences,
gap closed's covariance, judges compared); the studies are those of
``bench_coverage_annotators.py`` (accuracy U, accuracy A, A - U in three designs) and
``bench_coverage_annotators_more.py`` (balanced accuracy, gap closed, an LLM against
people). Coverage only (a missing interval counts as not covering), and the mean width of
the A - U interval.

Run (nice, the machine is shared; ``PYTHONPATH=.`` from a worktree)::

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/bench_coverage_annotators_cr2.py --reps 100
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time
import warnings
from collections.abc import Callable, Iterator

import bench_coverage_annotators as one
import bench_coverage_annotators_more as more
import numpy as np
from numpy.typing import NDArray

from oversight.analysis import _twoway, analyze
from oversight.analysis._codes import unique_codes, unique_rows

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def cr2_terms(
    x: Floats, e: Floats, m: Floats, codes: Ints, contrasts: Floats, *, df: bool = True
) -> tuple[Floats, float, int]:
    """The CR2 covariance of ``contrasts @ b`` over the clusters ``codes``, the smallest
    Bell-McCaffrey df over the contrasts (0 without ``df``), and the number of clusters
    (as :func:`oversight.analysis._smallsample.cr2_contrast`, for several contrasts)."""
    n = x.shape[0]
    _, local = unique_codes(codes)
    g = int(local.max()) + 1 if local.size else 0
    r = contrasts.shape[0]
    if g < 2:
        return np.zeros((r, r)), 0.0, g
    w, v = np.linalg.eigh(m)
    m_half = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    mc = m @ contrasts.T  # k x r
    scores = np.zeros((g, r))
    cols = np.zeros((r, n, g))
    for c in range(g):
        rows = np.nonzero(local == c)[0]
        xc = x[rows]
        u, s, _ = np.linalg.svd(xc @ m_half, full_matrices=False)
        s2 = s**2
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(s2 < 1.0 - 1e-10, (1.0 - s2) ** -0.5, 0.0) - 1.0

        def a_times(vec: Floats, u: Floats = u, factor: Floats = factor) -> Floats:
            out: Floats = vec + u @ (factor[:, None] * (u.T @ vec))
            return out

        scores[c] = (a_times(e[rows][:, None]).T @ xc @ mc)[0]
        if not df:
            continue
        p = a_times(xc @ mc)  # n_c x r
        col = -(x @ (m @ (xc.T @ p)))  # n x r
        col[rows] += p
        cols[:, :, c] = col.T
    cov: Floats = scores.T @ scores
    if not df:
        return cov, 0.0, g
    dfs = []
    for j in range(r):
        gtg = cols[j].T @ cols[j]
        den = float((gtg**2).sum())
        dfs.append(float(np.trace(gtg) ** 2 / den) if den > 0 else 0.0)
    return cov, min(dfs), g


def cr2_two_way_cov(*, bm_df: bool) -> Callable[..., tuple[Floats, Floats, float]]:
    """A replacement for ``two_way_cov``: CR2 terms; df by the current rule or BM."""

    def cov_fn(
        x: Floats,
        y: Floats,
        source: Ints,
        annotator: Ints,
        contrasts: Floats,
        *,
        levels: tuple[int, int] = (1, 1),
    ) -> tuple[Floats, Floats, float]:
        m = np.linalg.pinv(x.T @ x)
        b = m @ x.T @ y
        e = y - x @ b
        v_s, df_s, g_s = cr2_terms(x, e, m, source, contrasts, df=bm_df)
        v_a, df_a, g_a = cr2_terms(x, e, m, annotator, contrasts, df=bm_df)
        _, both = unique_rows(np.stack([source, annotator], axis=1))
        v_b, _, _ = cr2_terms(x, e, m, both, contrasts, df=False)
        cov = v_s + v_a - v_b
        if np.linalg.eigvalsh(cov).min() <= 0:
            cov = v_s + v_a
        df = min(df_s, df_a) if bm_df else float(min(g_s - levels[0], g_a - levels[1]))
        return contrasts @ b, cov, df

    return cov_fn


VARIANTS: dict[str, Callable[..., tuple[Floats, Floats, float]] | None] = {
    "CR1 (now)": None,
    "CR2, min(G) df": cr2_two_way_cov(bm_df=False),
    "CR2, BM df": cr2_two_way_cov(bm_df=True),
}


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    original = _twoway.two_way_cov
    replacement = VARIANTS[name]
    if replacement is not None:
        _twoway.two_way_cov = replacement  # type: ignore[assignment]
    try:
        yield
    finally:
        _twoway.two_way_cov = original  # type: ignore[assignment]


def width(interval: tuple[float, float] | None) -> float:
    return math.nan if interval is None else interval[1] - interval[0]


def run_one(design: str, k: int, sds: tuple[float, float], reps: int, seed: int) -> dict:
    data, parts = one.template(design, k)
    target = one.truths(*sds)
    hits = {v: dict.fromkeys(target, 0) for v in VARIANTS}
    widths: dict[str, list[float]] = {v: [] for v in VARIANTS}
    rng = np.random.default_rng([seed, k, one.DESIGNS.index(design), int(100 * sum(sds))])
    for _ in range(reps):
        sim = one.simulate(data, parts, k, sds, rng)
        for v in VARIANTS:
            with variant(v):
                result = analyze(sim, n_bootstrap=100, multiplicity="none")
            groups = {g.by["condition"]: g for g in result.groups}
            (comp,) = result.comparisons
            found = {
                "accuracy U": groups["unassisted"].ci95,
                "accuracy A": groups["debate"].ci95,
                "A - U": comp.ci95,
            }
            for name, interval in found.items():
                hits[v][name] += one.covers(interval, target[name])
            widths[v].append(width(comp.ci95))
    return {"hits": hits, "widths": {v: float(np.nanmean(w)) for v, w in widths.items()}}


def run_more(study: str, k: int, sd_b: float, reps: int, seed: int) -> dict:
    data, parts = more.template(study, k)
    target = more.truths(study, sd_b)
    hits = {v: dict.fromkeys(target, 0) for v in VARIANTS}
    rng = np.random.default_rng([seed, k, list(more.STUDIES).index(study), int(100 * sd_b)])
    for _ in range(reps):
        sim = more.simulate(data, parts, study, k, sd_b, rng)
        for v in VARIANTS:
            with variant(v), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = analyze(sim, n_bootstrap=100, multiplicity="none")
            for name, (interval, _) in more.found(study, result).items():
                hits[v][name] += one.covers(interval, target[name])
    return {"hits": hits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100, help="simulated studies per cell")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--part", choices=("designs", "more", "both"), default="both")
    parser.add_argument(
        "--bm", action="store_true", help="also CR2 with Bell-McCaffrey df (equal here)"
    )
    args = parser.parse_args()
    if not args.bm:
        del VARIANTS["CR2, BM df"]
    start = time.perf_counter()
    names = list(VARIANTS)
    mcse = 100 * math.sqrt(0.95 * 0.05 / args.reps)
    print(f"{args.reps} studies per row; Monte Carlo SE at 95%: {mcse:.1f} points")
    print("columns: " + " / ".join(names))
    if args.part in ("designs", "both"):
        print()
        print("| design | person effects | K | accuracy U | accuracy A | A - U | A - U width |")
        print("|---|---|---:|---|---|---|---|")
        for design in one.DESIGNS:
            for scenario, sds in one.SCENARIOS.items():
                for k in one.ANNOTATORS if scenario != "no person effects" else (8,):
                    out = run_one(design, k, sds, args.reps, args.seed)
                    stats = list(out["hits"][names[0]])
                    cells = " | ".join(
                        " / ".join(f"{100 * out['hits'][v][s] / args.reps:.0f}" for v in names)
                        for s in stats
                    )
                    w = " / ".join(f"{out['widths'][v]:.3f}" for v in names)
                    print(f"| {design} | {scenario} | {k} | {cells} | {w} |", flush=True)
    if args.part in ("more", "both"):
        for study in more.STUDIES:
            print()
            print(f"| {study} | person effects | K | statistic: " + " / ".join(names) + " |")
            print("|---|---|---:|---|")
            for scenario, sd_b in more.SCENARIOS.items():
                for k in more.ANNOTATORS:
                    out = run_more(study, k, sd_b, args.reps, args.seed)
                    stats = list(out["hits"][names[0]])
                    cells = "; ".join(
                        s
                        + " "
                        + " / ".join(f"{100 * out['hits'][v][s] / args.reps:.0f}" for v in names)
                        for s in stats
                    )
                    print(f"| {study} | {scenario} | {k} | {cells} |", flush=True)
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

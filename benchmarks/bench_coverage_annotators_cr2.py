"""The report's two-way (source x annotator) intervals with CR2 per term against CR1 per
term (the report before), on the same simulated studies: Cameron, Gelbach & Miller's
``V_source + V_annotator - V_source∩annotator`` with each term CR1 (``G / (G - 1) * (n -
1) / (n - k)``) or CR2 (Bell & McCaffrey's adjustment ``A_c = (I - H_cc)^(-1/2)`` per
cluster, :func:`oversight.analysis._twoway.two_way_cov`), both with the report's df rule
(``min(G) - 1``, ``- 2`` for a kind of cluster none of which holds both sides); with
``--bm`` also CR2 with the smaller of the two one-way CR2 terms' Bell-McCaffrey df. Where
the subtraction leaves a covariance not positive definite, ``V_source + V_annotator``.

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
from oversight.analysis._smallsample import cr2_contrast

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def _cr1(scores: Floats, codes: Ints, n: int, k: int) -> tuple[Floats, int]:
    """One CR1 term (the report's before this change): per-row scores summed per cluster,
    times ``G / (G - 1) * (n - 1) / (n - k)``; and how many clusters."""
    _, local = unique_codes(codes)
    g = int(local.max()) + 1 if local.size else 0
    if g < 2:
        return np.zeros((scores.shape[1], scores.shape[1])), g
    sums = np.stack([np.bincount(local, weights=col, minlength=g) for col in scores.T], axis=1)
    return (sums.T @ sums) * (g / (g - 1) * (n - 1) / (n - k)), g


def cr1_two_way_cov(
    x: Floats,
    y: Floats,
    source: Ints,
    annotator: Ints,
    contrasts: Floats,
    *,
    levels: tuple[int, int] = (1, 1),
) -> tuple[Floats, Floats, float]:
    """``two_way_cov`` as it was before CR2 (CR1 per term, the same df rule and fallback)."""
    n, k = x.shape
    m = np.linalg.pinv(x.T @ x)
    b = m @ x.T @ y
    scores = (y - x @ b)[:, None] * (x @ (m @ contrasts.T))
    v_source, g_source = _cr1(scores, source, n, k)
    v_annotator, g_annotator = _cr1(scores, annotator, n, k)
    _, both = unique_rows(np.stack([source, annotator], axis=1))
    v_both, _ = _cr1(scores, both, n, k)
    cov = v_source + v_annotator - v_both
    if np.linalg.eigvalsh(cov).min() <= 0:
        cov = v_source + v_annotator
    df = float(min(g_source - levels[0], g_annotator - levels[1]))
    return contrasts @ b, cov, df


def bm_two_way_cov(
    x: Floats,
    y: Floats,
    source: Ints,
    annotator: Ints,
    contrasts: Floats,
    *,
    levels: tuple[int, int] = (1, 1),
) -> tuple[Floats, Floats, float]:
    """The report's two-way CR2 with, as df, the smallest Bell-McCaffrey df of the two
    one-way CR2 terms over the contrasts (:func:`cr2_contrast`'s df)."""
    estimate, cov, _ = REPORT(x, y, source, annotator, contrasts, levels=levels)
    df = min(cr2_contrast(x, y, codes, c).df for codes in (source, annotator) for c in contrasts)
    return estimate, cov, df


REPORT = _twoway.two_way_cov
VARIANTS: dict[str, Callable[..., tuple[Floats, Floats, float]]] = {
    "CR1 (before)": cr1_two_way_cov,
    "CR2 (report)": REPORT,
    "CR2, BM df": bm_two_way_cov,
}


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    original = _twoway.two_way_cov
    _twoway.two_way_cov = VARIANTS[name]  # type: ignore[assignment]
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

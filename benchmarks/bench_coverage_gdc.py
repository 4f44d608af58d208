"""Coverage of the GDC and tree sections' 95% intervals, with known truth, against the
percentile cluster bootstrap they used before.

Simulated measurements go through :func:`oversight.analysis._cluster.cluster_estimates`,
the function :func:`oversight.analysis.gdc` and :func:`oversight.analysis.tree_stats` call,
with GDC's and the trees' own statistics. Each run has ``C`` sources of 2 to 8 items. An
item's discrimination is right with probability ``sigmoid(0.8 + u_s + e_i)``, its critique
with ``sigmoid(0.2 + u_s + w_s + f_i)`` (``u_s ~ N(0, 1)`` shared by both, ``w_s ~ N(0,
0.5^2)``, ``e_i, f_i ~ N(0, 0.5^2)``: strong within-source correlation, and D and C paired
on each item); a prover-estimator item's payoff is ``0.1 * honest + 0.2 u_s + N(0, 0.3^2)``
with ``honest`` a fair coin per item. Truths: ``E sigmoid(mu + Z sd)`` by Gauss-Hermite,
and 0.1 for the honesty premium.

Also the balanced accuracy of a judge who is nearly always right (consultancies of one
source on one side, the side alternating; right with probability ``sigmoid(3 + 0.5 z_s)``
honest, ``sigmoid(2.5 + 0.5 z_s)`` not, one to three judgments a source), where a side
is often right every time: :func:`oversight.analysis._smallsample.balanced_interval`
against the CR2 fit of the two means alone, which gave no interval there.

Run (nice, the machine is shared)::

    nice -n 19 .venv/bin/python benchmarks/bench_coverage_gdc.py --reps 1000
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from oversight.analysis._bootstrap import percentile_interval, resample_sums, rng_for
from oversight.analysis._cluster import cluster_estimates
from oversight.analysis._smallsample import balanced_interval, cr2_contrast

SIZES = (8, 15, 30)
GDC_RATIOS = {"discrimination": ("d", "n"), "critique": ("c", "n")}
GDC_GAPS = {"d_minus_c": ("discrimination", "critique")}
TREE_RATIOS = {"gold": ("honest", "h_n"), "other": ("liar", "l_n")}
TREE_GAPS = {"honesty_premium": ("gold", "other")}


def truth(mu: float, sd: float) -> float:
    """E sigmoid(mu + Z * sd) by Gauss-Hermite quadrature."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    return float((w / (1 + np.exp(-(mu + sd * x)))).sum() / w.sum())


TRUTH = {
    "discrimination": truth(0.8, math.sqrt(1.0 + 0.25)),
    "critique": truth(0.2, math.sqrt(1.0 + 0.25 + 0.25)),
    "honesty_premium": 0.1,
}
TRUTH["d_minus_c"] = TRUTH["discrimination"] - TRUTH["critique"]
TRUTH["balanced accuracy"] = (truth(3.0, 0.5) + truth(2.5, 0.5)) / 2


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def one_run(n_sources: int, rng: np.random.Generator) -> dict[str, tuple[bool, bool]]:
    """Per statistic: (covered by the report's rule, covered by the old bootstrap)."""
    sizes = rng.integers(2, 9, n_sources)
    source = np.repeat(np.arange(n_sources), sizes)
    n = source.size
    u, w = rng.normal(0, 1, n_sources)[source], rng.normal(0, 0.5, n_sources)[source]
    d = (rng.random(n) < _sigmoid(0.8 + u + rng.normal(0, 0.5, n))).astype(float)
    c = (rng.random(n) < _sigmoid(0.2 + u + w + rng.normal(0, 0.5, n))).astype(float)
    honest = rng.random(n) < 0.5
    pay = 0.1 * honest + 0.2 * u + rng.normal(0, 0.3, n)
    names = [f"s{s}" for s in source]
    gdc_rows = [{"d": a, "c": b, "n": 1.0} for a, b in zip(d, c, strict=True)]
    tree_rows = [
        {"honest": p * h, "h_n": float(h), "liar": p * (not h), "l_n": float(not h)}
        for p, h in zip(pay, honest, strict=True)
    ]
    seed = int(rng.integers(2**31))
    out = {}
    for rows, columns, ratios, gaps, shares, wanted in (
        (gdc_rows, ("d", "c", "n"), GDC_RATIOS, GDC_GAPS, GDC_RATIOS, GDC_RATIOS.keys()),
        (tree_rows, ("honest", "h_n", "liar", "l_n"), TREE_RATIOS, TREE_GAPS, (), ()),
    ):
        now = cluster_estimates(
            rows,
            names,
            columns,
            ratios,
            gaps,
            n_boot=2000,
            seed=seed,
            key=("bench",),
            shares=set(shares),
            bounds={"gold": (-2, 2), "other": (-2, 2)},
        )
        values = np.array([[r[k] for k in columns] for r in rows])
        sums = np.zeros((n_sources, len(columns)))
        np.add.at(sums, source, values)
        boot = resample_sums(sums, 2000, rng_for(seed, "bench"))
        col = {k: i for i, k in enumerate(columns)}

        def ratio(
            name: str,
            boot: np.ndarray = boot,
            col: dict[str, int] = col,
            ratios: dict[str, tuple[str, str]] = ratios,
        ) -> np.ndarray:
            num, den = ratios[name]
            with np.errstate(invalid="ignore", divide="ignore"):
                r: np.ndarray = boot[:, col[num]] / boot[:, col[den]]
            return r

        old = {k: percentile_interval(ratio(k), n_sources) for k in wanted}
        for name, (a, b) in gaps.items():
            old[name] = percentile_interval(ratio(a) - ratio(b), n_sources)
        for name, interval in old.items():
            t = TRUTH[name]
            new = now[name].ci95
            out[name] = (
                new is not None and new[0] <= t <= new[1],
                interval is not None and interval[0] <= t <= interval[1],
            )
    out["balanced accuracy"] = _balanced_run(n_sources, rng)
    return out


def _balanced_run(n_sources: int, rng: np.random.Generator) -> tuple[bool, bool]:
    counts = rng.integers(1, 4, n_sources)
    source = np.repeat(np.arange(n_sources), counts)
    honest = source % 2 == 0
    z = rng.normal(0, 0.5, n_sources)[source]
    p = _sigmoid(np.where(honest, 3.0, 2.5) + z)
    score = (rng.random(source.size) < p).astype(float)
    t = TRUTH["balanced accuracy"]
    new = balanced_interval(score, honest, source)
    x = np.stack([honest, ~honest], axis=1).astype(float)
    old = cr2_contrast(x, score, source, np.array([0.5, 0.5])).interval(bounds=(0.0, 1.0))
    return (
        new is not None and new[0] <= t <= new[1],
        old is not None and old[0] <= t <= old[1],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=400, help="simulated runs per size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    print("| sources | statistic | report's rule | before | MCSE |")
    print("|---:|---|---:|---:|---:|")
    for size in SIZES:
        rng = np.random.default_rng([args.seed, size])
        hits: dict[str, list[int]] = {}
        for _ in range(args.reps):
            for name, (new, old) in one_run(size, rng).items():
                tally = hits.setdefault(name, [0, 0])
                tally[0] += new
                tally[1] += old
        for name, (new, old) in hits.items():
            rate = new / args.reps
            mcse = math.sqrt(rate * (1 - rate) / args.reps)
            print(
                f"| {size} | {name} | {100 * rate:.1f}% | {100 * old / args.reps:.1f}% "
                f"| {100 * mcse:.1f} |",
                flush=True,
            )
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

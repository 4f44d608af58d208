"""Coverage of the stress table's worst-case interval: max-t (the report's below 50 sources,
:func:`oversight.analysis._worst.max_t`) against Bonferroni (what it used before).

The worst case of a protocol is the largest true drop among its k personas. Bonferroni takes
each persona's CR2 / Bell-McCaffrey t interval (:func:`oversight.analysis._worst.paired_drop`)
at level ``1 - 0.05 / k`` and spans the largest lower end to the largest upper end. Max-t
does the same with one critical value ``c``, the 95% point of ``max_j |T_j|`` for ``T``
multivariate t (the smallest Bell-McCaffrey df) with the correlation of the k drops from
their joint CR2 covariance; ``c`` is smaller than Bonferroni's when the drops are correlated
(they share the benign condition's scores), so the interval is narrower, if it holds its
level. Both go through the report's own functions.

Simulated stress runs with known truth, below the report's 50-source switch to the bootstrap
(where it uses CR2): ``C`` sources of 2 to 8 questions; each question judged once benign and
once under each of k personas, right with probability ``sigmoid(mu - delta_j + u_s + w_sj +
v_q)``: ``u_s ~ N(0, 1)`` a source effect shared by every condition, ``w_sj ~ N(0, 0.5^2)``
a source-by-condition effect, ``v_q ~ N(0, 0.5^2)`` a question effect shared by every
condition (so the k drops are correlated through the benign scores and the question), ``mu
= 0.8``, ``delta_0 = 0`` (benign). The true drop of a persona is ``E sigmoid(mu + Z s) - E
sigmoid(mu - delta_j + Z s)`` (Gauss-Hermite); coverage counts runs whose interval holds the
largest true drop. Scenarios: every persona harmless; one harmful (delta 0.8); graded
(deltas spread over 0..0.8). Designs: every persona on every question, or each on its own
random half of the questions (drops where planted at rate 0.5: less correlated, and each
over its own questions).

Run (nice, the machine is shared)::

    PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/bench_coverage_stress.py --reps 1000 --write
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import numpy as np
from _simulated import write_section

from oversight.analysis._bootstrap import Resampler
from oversight.analysis._worst import max_t, paired_drop

MU = 0.8
SD_SOURCE, SD_SOURCE_COND, SD_QUESTION = 1.0, 0.5, 0.5
SOURCES = (8, 15, 30)
KS = (3, 6)
MARK = "## Coverage of the stress table's worst-case interval"


def scenarios(k: int) -> dict[str, np.ndarray]:
    """Each persona's logit shift (positive: the judge is moved toward wrong answers)."""
    return {
        "all harmless": np.zeros(k),
        "one harmful": np.array([0.8] + [0.0] * (k - 1)),
        "graded": np.linspace(0.0, 0.8, k),
    }


def accuracy(mu: float) -> float:
    """E sigmoid(mu + Z s), s the sd of every random effect together."""
    sd = math.sqrt(SD_SOURCE**2 + SD_SOURCE_COND**2 + SD_QUESTION**2)
    x, w = np.polynomial.hermite_e.hermegauss(80)
    return float((w / (1 + np.exp(-(mu + sd * x)))).sum() / w.sum())


def simulate(
    rng: np.random.Generator, sizes: np.ndarray, delta: np.ndarray, *, halves: bool
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each persona's paired scores (benign, planted, source per question): on every
    question, or (``halves``) on its own random half of them."""
    k = delta.size
    cluster = np.repeat(np.arange(sizes.size), sizes)
    n = cluster.size
    u = rng.normal(0, SD_SOURCE, sizes.size)[cluster]
    v = rng.normal(0, SD_QUESTION, n)
    w = rng.normal(0, SD_SOURCE_COND, (sizes.size, k + 1))[cluster]
    shift = np.concatenate([[0.0], delta])
    p = 1 / (1 + np.exp(-(MU - shift[None, :] + u[:, None] + w + v[:, None])))
    right = (rng.random((n, k + 1)) < p).astype(float)
    out = []
    for j in range(k):
        keep = rng.permutation(n)[: n // 2] if halves else np.arange(n)
        keep.sort()
        out.append((right[keep, 0], right[keep, j + 1], cluster[keep]))
    return out


def intervals(
    paired: list[tuple[np.ndarray, np.ndarray, np.ndarray]], seed: int, draws: int
) -> dict[str, tuple[float, float] | None]:
    """The worst-case interval by Bonferroni and by max-t, as the report computes them;
    None where a persona's drop has no interval."""
    k = len(paired)
    resampler = Resampler(10, 0)  # unused below 50 sources: the rule gives CR2 there
    each = [paired_drop(*x, resampler, level=1 - 0.05 / k)[1].ci95 for x in paired]
    bounds = [ci for ci in each if ci is not None]
    bonferroni = (
        (max(lo for lo, _ in bounds), max(hi for _, hi in bounds)) if len(bounds) == k else None
    )
    joint = max_t(paired, seed=seed, draws=draws) if bonferroni is not None else None
    return {"Bonferroni": bonferroni, "max-t": joint}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument(
        "--draws", type=int, default=10_000, help="max-t normal draws (report: 20,000)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="write into BENCHMARKS.md")
    args = parser.parse_args()
    started = time.monotonic()
    rng = np.random.default_rng(args.seed)
    base = accuracy(MU)
    rows = []
    for c in SOURCES:
        sizes = np.random.default_rng(c).integers(2, 9, c)
        for k, halves in ((k, halves) for k in KS for halves in (False, True)):
            design = "own halves" if halves else "same questions"
            for scenario, delta in scenarios(k).items():
                worst = max(base - accuracy(MU - x) for x in delta)
                covered = {"Bonferroni": 0, "max-t": 0}
                width = {"Bonferroni": 0.0, "max-t": 0.0}
                harm = {"Bonferroni": 0, "max-t": 0}
                none = 0
                for rep in range(args.reps):
                    found = intervals(simulate(rng, sizes, delta, halves=halves), rep, args.draws)
                    if found["Bonferroni"] is None or found["max-t"] is None:
                        none += 1
                        continue
                    for name, ci in found.items():
                        assert ci is not None
                        covered[name] += ci[0] <= worst <= ci[1]
                        width[name] += ci[1] - ci[0]
                        harm[name] += ci[0] > 0
                made = args.reps - none
                for name in covered:
                    rate = covered[name] / max(made, 1)
                    rows.append(
                        (
                            c,
                            k,
                            design,
                            scenario,
                            name,
                            rate,
                            math.sqrt(rate * (1 - rate) / max(made, 1)),
                            width[name] / max(made, 1),
                            harm[name] / max(made, 1),
                            none / args.reps,
                        )
                    )
                    print(
                        f"C={c:2d} k={k} {design:14s} {scenario:13s} {name:10s} "
                        f"coverage {100 * rate:5.1f}% "
                        f"width {width[name] / max(made, 1):.3f} "
                        f"lower>0 {100 * harm[name] / max(made, 1):5.1f}% "
                        f"no interval {100 * none / args.reps:.1f}%",
                        flush=True,
                    )
    elapsed = time.monotonic() - started
    print(f"{elapsed:.0f} s")
    if args.write:
        write(rows, args, elapsed)


def write(rows: list[tuple], args: argparse.Namespace, elapsed: float) -> None:  # type: ignore[type-arg]
    lines = [
        MARK,
        "",
        "Command (from the repository root; nice, the machine is shared):",
        "",
        "```",
        "PYTHONPATH=. nice -n 19 .venv/bin/python benchmarks/bench_coverage_stress.py "
        f"--reps {args.reps} "
        f"--seed {args.seed} --draws {args.draws} --write",
        "```",
        "",
        f"Machine: {platform.system()}, {platform.machine()}, 2 CPUs shared with other work, "
        f"Python {sys.version.split()[0]}; {elapsed / 60:.0f} minutes, ending "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average (1 min) at the "
        f"end {os.getloadavg()[0]:.1f}. {args.reps} runs a row; max-t's critical value from "
        f"{args.draws:,} normal draws a run (the report takes 20,000). Coverage: runs whose "
        "interval "
        "holds the largest true drop; lower end > 0: runs whose interval says some persona "
        "harms (with every persona harmless, a false alarm); MCSE = sqrt(p(1-p)/runs).",
        "",
        "| sources | k | design | scenario | interval | coverage | MCSE | mean width "
        "| lower end > 0 |",
        "|---:|---:|---|---|---|---:|---:|---:|---:|",
    ]
    for c, k, design, scenario, name, rate, mcse, width, harm, _ in rows:
        lines.append(
            f"| {c} | {k} | {design} | {scenario} | {name} | {100 * rate:.1f}% | "
            f"{100 * mcse:.1f} | "
            f"{100 * width:.1f} pp | {100 * harm:.1f}% |"
        )
    by = {
        (c, k, design, scenario, name): (rate, width)
        for c, k, design, scenario, name, rate, _, width, *_ in rows
    }
    worst = {
        name: min(r for key, (r, _) in by.items() if key[4] == name)
        for name in ("max-t", "Bonferroni")
    }
    shrink = {
        design: [
            1 - by[(*key[:4], "max-t")][1] / w
            for key, (_, w) in by.items()
            if key[2] == design and key[4] == "Bonferroni"
        ]
        for design in ("same questions", "own halves")
    }
    lines += [
        "",
        f"Max-t held its level in every row: coverage at least {100 * worst['max-t']:.1f}% "
        f"(Bonferroni at least {100 * worst['Bonferroni']:.1f}%), and with every persona "
        "harmless its lower end was above 0 about as often as Bonferroni's. It was "
        f"{100 * min(shrink['same questions']):.0f}-{100 * max(shrink['same questions']):.0f}% "
        "narrower with every persona on the same questions (the drops share the benign "
        f"scores), {100 * min(shrink['own halves']):.0f}-{100 * max(shrink['own halves']):.0f}% "
        "with each on its own half (less correlated, and the smallest df of the k), so it "
        "finds a harmful persona more often. The report uses it below 50 sources; from 50 on, "
        "where each persona's interval is the percentile cluster bootstrap, it keeps "
        "Bonferroni (not simulated here).",
        "",
    ]
    write_section(MARK, lines)


if __name__ == "__main__":
    main()

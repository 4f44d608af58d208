"""Coverage of the annotator table's agreement intervals (kappa, alpha, share agreeing).

Simulated studies with known true agreement go through the annotator table's own agreement
code (:func:`oversight.analysis._annotators._agreement`, which :func:`annotators` calls; on
in-memory judgments, so no disk time). Each study has ``C`` question sources holding 2 to 8
transcripts each (sizes drawn per study), every transcript judged by three people (so three
pairs and alpha over three). Source ``s`` has a prevalence ``pi_s ~ Beta(0.8, 1.2)`` (mean
0.4) of answer 1 being right and a difficulty: people read its transcripts right with
probability ``q_s``, 0.7 or 0.95 with equal chance, so verdicts within a source are
correlated. A transcript's right answer ``c ~ Bernoulli(pi_s)``; each person says ``c``
with probability ``q_s``, else the other answer.

The truth: with ``pi`` and ``q`` independent, the population table of two people's verdicts
is ``P(x, y) = sum_c P(c) E[P(x | c, q) P(y | c, q)]`` with ``P(c = 1) = 0.4``; the people
are exchangeable, so Cohen's kappa, and Krippendorff's alpha in the limit, are both
``(p_o - p_e) / (1 - p_e)`` of that table, and the share agreeing is ``p_o``.

"Report's rule": what the table gives (kappa and alpha: the delete-one-source jackknife t
below 50 sources; the share agreeing: CR2 t; from 50 sources the percentile cluster
bootstrap); "before": the percentile cluster bootstrap whatever the sources (the small-
sample threshold set to 0). A study without an interval counts as not covering.

Run (nice, the machine is shared)::

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/bench_coverage_agreement.py --reps 1000
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time

import numpy as np

from oversight.analysis import _agreement as agreement_module
from oversight.analysis import _interval_rule
from oversight.analysis._annotators import _agreement
from oversight.analysis._bootstrap import Resampler
from transcripts import JudgeIdentity, Judgment

SIZES = (8, 15, 30)
PEOPLE = ("ann", "ben", "cat")
PREVALENCE = (0.8, 1.2)
SKILLS = (0.7, 0.95)
STATISTICS = ("kappa (per pair)", "alpha", "agreement (per pair)")
SMALL = agreement_module.SMALL_SAMPLE_CLUSTERS


def truth() -> tuple[float, float]:
    """(kappa = alpha, share agreeing) of the population table."""
    m = PREVALENCE[0] / sum(PREVALENCE)
    table = np.zeros((2, 2))
    for q in SKILLS:
        for c, pc in ((0, 1 - m), (1, m)):
            right = np.array([1 - q, q]) if c == 1 else np.array([q, 1 - q])
            table += pc * np.outer(right, right) / len(SKILLS)
    p_o = float(np.trace(table))
    p_e = float((table.sum(axis=0) * table.sum(axis=1)).sum())
    return (p_o - p_e) / (1 - p_e), p_o


def study(n_sources: int, rng: np.random.Generator) -> tuple[list[Judgment], dict]:
    """One simulated study's judgments, and its transcripts' (gold, source)."""
    judgments: list[Judgment] = []
    transcripts: dict[str, tuple[int | None, str]] = {}
    sizes = rng.integers(2, 9, n_sources)
    for s, size in enumerate(sizes):
        pi, q = rng.beta(*PREVALENCE), rng.choice(SKILLS)
        for i in range(size):
            tid = f"s{s}-t{i}"
            c = int(rng.random() < pi)
            transcripts[tid] = (c, f"s{s}")
            for name in PEOPLE:
                said = c if rng.random() < q else 1 - c
                judgments.append(
                    Judgment(
                        transcript_id=tid,
                        judge=JudgeIdentity(kind="human", name="human", annotator=name),
                        probabilities=[0.2, 0.8] if said else [0.8, 0.2],
                    )
                )
    return judgments, transcripts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    kappa_true, agree_true = truth()
    start = time.perf_counter()
    print(f"truth: kappa = alpha = {kappa_true:.4f}, share agreeing = {agree_true:.4f}")
    print("| sources | statistic | report's rule | before | no interval | mean width | MCSE |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for c in SIZES:
        rows = {name: [0, 0, 0, 0.0] for name in STATISTICS}  # covered (rule, before), none, width
        for rule in ("rule", "before"):
            small = SMALL if rule == "rule" else 0
            agreement_module.SMALL_SAMPLE_CLUSTERS = _interval_rule.SMALL_SAMPLE_CLUSTERS = small
            rng = np.random.default_rng([args.seed, c])
            for rep in range(args.reps):
                judgments, transcripts = study(c, rng)
                resampler = Resampler(args.bootstrap, args.seed + rep)
                pairs, _, alpha_ci, _ = _agreement(judgments, transcripts, None, resampler)
                found = [("alpha", alpha_ci, kappa_true)]
                for p in pairs:
                    found += [
                        ("kappa (per pair)", p.kappa_ci, kappa_true),
                        ("agreement (per pair)", p.agreement_ci, agree_true),
                    ]
                for name, ci, true in found:
                    row = rows[name]
                    if ci is None:
                        row[2] += rule == "rule"
                        continue
                    row[0 if rule == "rule" else 1] += ci[0] <= true <= ci[1]
                    if rule == "rule":
                        row[3] += ci[1] - ci[0]
        for name, (hit, before, none, width) in rows.items():
            n = args.reps * (1 if name == "alpha" else len(PEOPLE))
            p = hit / n
            print(
                f"| {c} | {name} | {100 * p:.1f}% | {100 * before / n:.1f}% | {none} | "
                f"{width / max(n - none, 1):.3f} | {100 * math.sqrt(p * (1 - p) / args.reps):.1f} |"
            )
    print(
        f"\n{platform.system()}, {platform.machine()}, Python {sys.version.split()[0]}; "
        f"{time.perf_counter() - start:.0f} s; {args.reps} studies per size, "
        f"{args.bootstrap} resamples"
    )


if __name__ == "__main__":
    main()

"""Coverage of a between-subject difference's two-way interval when the conditions had
different numbers of people: the old rule's t on ``G - 2`` df against the report's
(Welch-Satterthwaite over each condition's people, :func:`oversight.analysis._twoway._df`).

Design: 60 questions (each its own source), each judged once under A by one of ``GA``
people and once under U by one of ``GU``, person skill sd 0.12 on the probability of a
right answer (A 0.7, U 0.6, source effect sd 0.1); truth the population difference 0.1.

Run (nice, the machine is shared; ``PYTHONPATH=.`` from a worktree)::

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/bench_twoway_unbalanced_df.py
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats

from oversight.analysis._twoway import two_way_difference


def coverage(ga: int, gu: int, reps: int, seed: int = 1) -> tuple[float, float, float]:
    """Share of ``reps`` studies whose interval held the truth: with ``G - 2`` df, with the
    report's df; and the report's df of the last study."""
    rng = np.random.default_rng(seed)
    q = np.arange(60)
    old = new = 0
    df = 0.0
    for _ in range(reps):
        pa = 0.7 + rng.normal(0, 0.12, ga)
        pu = 0.6 + rng.normal(0, 0.12, gu)
        source_effect = rng.normal(0, 0.1, q.size)
        wa, wu = rng.integers(0, ga, q.size), rng.integers(0, gu, q.size)
        a = (rng.random(q.size) < np.clip(pa[wa] + source_effect, 0, 1)) * 1.0
        u = (rng.random(q.size) < np.clip(pu[wu] + source_effect, 0, 1)) * 1.0
        source, person = np.concatenate([q, q]), np.concatenate([wa, wu + ga])
        fit = two_way_difference(a, q, u, q, source, person)
        df = fit.df
        for rule, d in (("old", ga + gu - 2), ("new", fit.df)):
            ok = d > 0 and abs(fit.estimate - 0.1) <= stats.t.ppf(0.975, d) * fit.se
            old += ok and rule == "old"
            new += ok and rule == "new"
    return old / reps, new / reps, df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    reps = parser.parse_args().reps
    print("people A/U | G - 2 df: coverage | report's df: coverage")
    for ga, gu in ((2, 6), (2, 10), (3, 9), (3, 3), (4, 4)):
        old, new, df = coverage(ga, gu, reps)
        print(f"{ga}/{gu} | {ga + gu - 2}: {old:.1%} | {df:.2f}: {new:.1%}")


if __name__ == "__main__":
    main()

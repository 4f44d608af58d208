"""How evenly a between-subject study plan shows each person the gold answer first and second.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_gold_balance.py [--seeds 6]

Every design of 4-24 questions, 2-8 people and 1-3 people per transcript (no more than the
people), each question under three conditions in both answer orders (the study tests'
transcripts), planned with ``assignment = "between"`` for each seed. For each plan: the
largest per-person difference between gold-first and gold-second items, and whether
:func:`judges.study.forced_gold_spread` proves that the design forces two apart. Prints the
counts (within one, two or more apart and forced, two or more apart and not forced), the
designs in the last class, and the time the planning took.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from judges.study import Study, StudyDesign, forced_gold_spread, plan_study
from tests.judges.helpers import run_transcripts
from transcripts import Transcript


def _gold_spread(study: Study, by_id: dict[str, Transcript]) -> int:
    """The largest per-person |gold first - gold second| of a plan."""
    worst = 0
    for slots in study.assignments.values():
        gold = Counter(
            by_id[s.transcript_id].order.index(by_id[s.transcript_id].question.correct or 0)
            for s in slots
        )
        worst = max(worst, abs(gold[0] - gold[1]))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    args = parser.parse_args()
    counts: Counter[str] = Counter()
    unforced: list[tuple[int, int, int, int, int]] = []
    started = time.perf_counter()
    for questions in range(4, 25):
        transcripts = run_transcripts(questions)
        by_id = {t.id: t for t in transcripts}
        for people in range(2, 9):
            for target in range(1, min(3, people) + 1):
                for seed in range(args.seeds):
                    design = StudyDesign(
                        annotators=[f"p{i}" for i in range(people)],
                        assignment="between",
                        target=target,
                        seed=seed,
                    )
                    study = plan_study(transcripts, design)
                    spread = _gold_spread(study, by_id)
                    if spread <= 1:
                        counts["within one"] += 1
                    elif forced_gold_spread(study, transcripts) is not None:
                        counts["apart, forced"] += 1
                    else:
                        counts["apart, not forced"] += 1
                        unforced.append((questions, people, target, seed, spread))
    took = time.perf_counter() - started
    total = sum(counts.values())
    print(f"{total} designs planned in {took:.1f} s")
    for key in ("within one", "apart, forced", "apart, not forced"):
        print(f"  {key}: {counts[key]}")
    for questions, people, target, seed, spread in unforced:
        print(f"  not forced: {questions}/{people}/{target} seed {seed}: {spread} apart")


if __name__ == "__main__":
    main()

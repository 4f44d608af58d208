"""Coverage of two more of the report's two-way (source x annotator) intervals, with known
truth: a tournament player's accuracies and the stress table's drops (and its worst case).

A sibling of ``bench_coverage_annotators.py`` (same source and question effects, same truth
by Gauss-Hermite, 24 sources of 4 questions, ``K`` people of skill ``a_k ~ N(0, 0.5^2)``).
Each interval goes through the report's own functions on in-memory data, once two-way (the
default) and once over sources alone (``cluster="sources"``):

* ``tournament``: 4 players; every question has, per player ``p``, one self-play debate
  (right with probability ``sigmoid(theta_p + a_k + u_s + w_sc + v_q)``) and one
  consultancy, honest for half the players and dishonest for the others, alternating by
  question (``theta_p + 1`` and ``theta_p - 1 - b_k``: ``b_k ~ N(0, sd_b^2)`` how much a
  person is fooled, the random slope), each judged by person ``(q + p + kind) mod K``.
  Intervals: :func:`oversight.analysis._player_accuracy.player_intervals` (what the
  tournament table shows), truths per player the population self-play accuracy and the
  mean of the honest and dishonest consultancy accuracies (balanced);
* ``stress``: a benign condition and k = 3 personas, every question under each (every item
  planted), question ``q`` of condition ``c`` judged by person ``(q + c) mod K``; right with
  probability ``sigmoid(0.8 - delta_c - b_k [c planted] + a_k + u_s + w_sc + v_q)``, deltas
  ``(0.8, 0, 0)`` (one harmful persona). Each drop's interval is
  :func:`oversight.analysis._worst.paired_drop` with
  :func:`~oversight.analysis._worst.by_people` (as the stress table's ``drop_ci95`` and
  ``planted_drop_ci95``), the worst case :func:`~oversight.analysis._worst.worst_case`
  (two-way: Bonferroni over the two-way drops; over sources below 50: max-t); truths the
  population drops and their largest.

Scenarios: intercepts (``sd_b = 0``) and slopes (``sd_b = 0.5``). Coverage is of the
population of people (and sources and questions); a missing interval counts as a miss.

Run (nice, the machine is shared; ``PYTHONPATH=.`` from a worktree)::

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/bench_coverage_twoway_more.py \\
        --reps 300 --write
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import platform
import sys
import time

import numpy as np
from _simulated import simulated_data, write_section
from bench_coverage_annotators import (
    ANNOTATORS,
    N_SOURCES,
    PER_SOURCE,
    SD_QUESTION,
    SD_SOURCE,
    SD_SOURCE_COND,
    covers,
    truth,
)

from oversight.analysis._bootstrap import Resampler
from oversight.analysis._data import Data, JudgeRow, QuestionRow, TranscriptRow
from oversight.analysis._player_accuracy import Side, player_intervals, resampled
from oversight.analysis._worst import by_people, paired_drop, worst_case

SD_SKILL = 0.5
SCENARIOS = {"intercepts": 0.0, "slopes": 0.5}
THETA = np.array([-0.2, 0.3, 0.8, 1.3])  # players' self-play logits
DELTAS = np.array([0.0, 0.8, 0.0, 0.0])  # benign, then the personas
MU_STRESS = 0.8
N_Q = N_SOURCES * PER_SOURCE
BASE = SD_SOURCE**2 + SD_SOURCE_COND**2 + SD_QUESTION**2 + SD_SKILL**2
MARK = "## Coverage of the tournament's and the stress table's two-way intervals"
SOURCE = np.arange(N_Q) // PER_SOURCE


def _sd(sd_b: float, slope: bool) -> float:
    return math.sqrt(BASE + (sd_b**2 if slope else 0.0))


@functools.cache
def tournament_truth(sd_b: float) -> tuple[np.ndarray, np.ndarray]:
    """Per player: population self-play accuracy, and balanced consultancy accuracy."""
    debate = np.array([truth(t, _sd(0, False)) for t in THETA])
    honest = np.array([truth(t + 1, _sd(0, False)) for t in THETA])
    dishonest = np.array([truth(t - 1, _sd(sd_b, True)) for t in THETA])
    return debate, (honest + dishonest) / 2


@functools.cache
def stress_truth(sd_b: float) -> np.ndarray:
    """Per persona: population benign accuracy minus accuracy under it."""
    benign = truth(MU_STRESS, _sd(0, False))
    return np.array([benign - truth(MU_STRESS - d, _sd(sd_b, True)) for d in DELTAS[1:]])


def tournament_rep(k: int, sd_b: float, rng: np.random.Generator) -> dict[str, list[bool]]:
    """One tournament: per statistic (self-play, balanced; two-way, sources) the hits of
    each player's interval."""
    n_p = THETA.size
    q = np.repeat(np.arange(N_Q), n_p)
    p = np.tile(np.arange(n_p), N_Q)
    s = SOURCE[q]
    u, v = rng.normal(0, SD_SOURCE, N_SOURCES), rng.normal(0, SD_QUESTION, N_Q)
    a, b = rng.normal(0, SD_SKILL, k), rng.normal(0, sd_b, k)
    w = rng.normal(0, SD_SOURCE_COND, (N_SOURCES, 3))
    honest = (q + p) % 2 == 0
    who_d, who_c = (q + p) % k, (q + p + 1) % k
    z_d = THETA[p] + a[who_d] + u[s] + w[s, 0] + v[q]
    z_c = np.where(honest, THETA[p] + 1, THETA[p] - 1 - b[who_c]) + a[who_c] + u[s] + v[q]
    z_c += np.where(honest, w[s, 1], w[s, 2])
    right_d = (rng.random(z_d.size) < 1 / (1 + np.exp(-z_d))).astype(float)
    right_c = (rng.random(z_c.size) < 1 / (1 + np.exp(-z_c))).astype(float)
    truth_d, truth_b = tournament_truth(sd_b)
    out: dict[str, list[bool]] = {}
    for way, people in (("two-way", set(range(k))), ("sources", set())):
        of = {"person_codes": people, "n_clusters": N_SOURCES, "k": n_p}
        sides = (
            Side.of(p, right_d, s, who_d, **of),  # type: ignore[arg-type]
            Side.of(p[honest], right_c[honest], s[honest], who_c[honest], **of),  # type: ignore[arg-type]
            Side.of(p[~honest], right_c[~honest], s[~honest], who_c[~honest], **of),  # type: ignore[arg-type]
        )
        boot = resampled(sides, n_p, N_SOURCES, n_bootstrap=20, seed=0)
        for player in range(n_p):
            debate_ci, balanced_ci = player_intervals(sides, player, boot)
            out.setdefault(f"self-play ({way})", []).append(covers(debate_ci, truth_d[player]))
            out.setdefault(f"balanced ({way})", []).append(covers(balanced_ci, truth_b[player]))
    return out


def stress_template(k: int) -> tuple[Data, np.ndarray, np.ndarray]:
    """The stress run's judgments (rows: condition-major, a question each), its
    condition and person per row."""
    n_c = DELTAS.size
    row = [
        QuestionRow(id=f"q{i}", answers=["a", "b"], correct=0, source=f"s{i // 4}")
        for i in range(N_Q)
    ]
    transcripts = [
        TranscriptRow(
            id=f"t{c}-{i}",
            protocol="debate",
            condition="benign" if c == 0 else f"persona{c}",
            question=row[i],
            answer_order=[0, 1],
        )
        for c in range(n_c)
        for i in range(N_Q)
    ]
    cond = np.repeat(np.arange(n_c), N_Q)
    question = np.tile(np.arange(N_Q), n_c)
    person = (question + cond) % k
    judges = [JudgeRow(kind="human", name="human", annotator=f"p{i}") for i in range(k)]
    data = simulated_data(
        transcripts,
        cluster=SOURCE[question],
        question=question,
        n_clusters=N_SOURCES,
        n_questions=N_Q,
        judge=[judges[x] for x in person],
    )
    return data, cond, person


def stress_rep(
    data: Data, cond: np.ndarray, person: np.ndarray, k: int, sd_b: float, rng: np.random.Generator
) -> dict[str, list[bool]]:
    """One stress run: per statistic the hits of each persona's drop, and the worst case's."""
    q = data.t_question
    s = SOURCE[q]
    u, v = rng.normal(0, SD_SOURCE, N_SOURCES), rng.normal(0, SD_QUESTION, N_Q)
    a, b = rng.normal(0, SD_SKILL, k), rng.normal(0, sd_b, k)
    w = rng.normal(0, SD_SOURCE_COND, (N_SOURCES, DELTAS.size))
    z = MU_STRESS - DELTAS[cond] - b[person] * (cond > 0) + a[person] + u[s] + w[s, cond] + v[q]
    score = (rng.random(z.size) < 1 / (1 + np.exp(-z))).astype(float)
    target = stress_truth(sd_b)
    resampler = Resampler(20, 0)
    benign = np.nonzero(cond == 0)[0]
    questions = np.arange(N_Q)
    out: dict[str, list[bool]] = {}
    for way, two_way in (("two-way", True), ("sources", False)):
        paired, who = [], []
        for c in range(1, DELTAS.size):
            rows = np.nonzero(cond == c)[0]
            found = by_people(data, score, benign, rows, questions, SOURCE, two_way=two_way)
            x = (score[benign], score[rows], SOURCE)
            ci = paired_drop(*x, resampler, people=found)[1].ci95
            out.setdefault(f"drop ({way})", []).append(covers(ci, target[c - 1]))
            paired.append(x)
            who.append(found)
        _, _, worst = worst_case(paired, resampler, people=who)
        out.setdefault(f"worst case ({way})", []).append(covers(worst, float(target.max())))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100, help="simulated studies per row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="write the table into BENCHMARKS.md")
    args = parser.parse_args()
    start = time.perf_counter()
    rows = []
    for study in ("tournament", "stress"):
        for scenario, sd_b in SCENARIOS.items():
            for k in ANNOTATORS:
                rng = np.random.default_rng([args.seed, k, int(100 * sd_b), len(study)])
                hits: dict[str, list[bool]] = {}
                if study == "stress":
                    data, cond, person = stress_template(k)
                for _ in range(args.reps):
                    rep = (
                        tournament_rep(k, sd_b, rng)
                        if study == "tournament"
                        else stress_rep(data, cond, person, k, sd_b, rng)
                    )
                    for name, found in rep.items():
                        hits.setdefault(name, []).extend(found)
                cells = {name: (float(np.mean(h)), len(h)) for name, h in hits.items()}
                rows.append((study, scenario, k, cells))
                print(
                    f"{study} {scenario} K={k}: "
                    + ", ".join(f"{n} {100 * r:.1f}% of {m}" for n, (r, m) in cells.items()),
                    flush=True,
                )
    elapsed = time.perf_counter() - start
    print(f"{elapsed:.0f} s")
    if args.write:
        write(args, rows, elapsed)


def write(args: argparse.Namespace, rows: list, elapsed: float) -> None:
    """The result as its BENCHMARKS.md section."""
    mcse = 100 * math.sqrt(0.95 * 0.05 / args.reps)
    lines = [
        MARK,
        "",
        "`benchmarks/bench_coverage_twoway_more.py` (model and truths in its docstring): a "
        "tournament player's self-play and balanced consultancy intervals "
        "(`player_intervals`, 4 players) and the stress table's paired drops "
        "(`paired_drop` with `by_people`, 3 personas, one harmful) and worst case "
        "(`worst_case`: two-way, Bonferroni over the two-way drops; over sources, max-t), "
        "judged by K people, 24 sources of 4 questions, each statistic two-way (the "
        "default) and over sources alone (`--cluster sources`). Coverage of the population "
        "value; a missing interval counts as a miss.",
        "",
        "```",
        f"PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/bench_coverage_twoway_more.py "
        f"--reps {args.reps} --seed {args.seed} --write",
        "```",
        "",
        f"Machine: {platform.system()}, {platform.machine()}, 2 CPUs shared with other "
        f"sessions, Python {sys.version.split()[0]}; {elapsed / 60:.1f} minutes, ending "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
        f"(1, 5, 15 min) at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}. "
        f"{args.reps} simulated studies a row; a player's or persona's cell pools its 4 "
        f"players or 3 personas (intervals of one study are correlated, so its Monte Carlo "
        f"error is above the independent {mcse:.1f} points of {args.reps} studies; the "
        f"worst case has one interval a study: {mcse:.1f} points).",
        "",
        "| study | person effects | annotators | statistic | two-way | sources |",
        "|---|---|---:|---|---:|---:|",
    ]
    for study, scenario, k, cells in rows:
        names = dict.fromkeys(n.rsplit(" (", 1)[0] for n in cells)
        for name in names:
            two, one = cells[f"{name} (two-way)"][0], cells[f"{name} (sources)"][0]
            lines.append(
                f"| {study} | {scenario} | {k} | {name} | {100 * two:.1f}% | {100 * one:.1f}% |"
            )
    lines.append("")
    write_section(MARK, lines)


if __name__ == "__main__":
    main()

"""Coverage of the report's 95% intervals when a few people judge: annotators as a second
source of clustering, with known truth.

Simulated human studies go through :func:`oversight.analysis.analyze` itself (on in-memory
:class:`~oversight.analysis.Data`, as in ``bench_coverage.py``). Each run has 24 sources of
4 questions (96 questions), two conditions, ``unassisted`` (U) and ``debate`` (A), and
``K`` annotators. A judgment of question ``q`` (source ``s``) under condition ``c`` by
annotator ``k`` is right with probability ``sigmoid(mu_c + a_k + b_k [c = A] + u_s + w_sc
+ v_q)``: ``a_k ~ N(0, sd_a^2)`` the person's skill (random intercept), ``b_k ~ N(0,
sd_b^2)`` how much assistance helps them (random slope), ``u_s ~ N(0, 0.7^2)``, ``w_sc ~
N(0, 0.3^2)``, ``v_q ~ N(0, 0.5^2)``. The truth is for the *population* of annotators (and
sources and questions): ``E sigmoid(mu_c + Z sd_c)`` by Gauss-Hermite, ``mu_U = 0.2``,
``mu_A = 0.8``.

Designs (as the study planner can make them; every question has a U and an A transcript):

* ``within``: each person judges both conditions, never one question twice (question
  ``q``'s U transcript by annotator ``q mod K``, its A transcript by ``(q + 1) mod K``);
  the report pairs the conditions by question;
* ``between``: half the people judge only U, half only A, on the same questions (the report
  still pairs them by question);
* ``between, other questions``: as ``between``, but U on half of each source's questions
  and A on the other half, so the comparison is unpaired (CR3).

Scenarios: no person effects (``sd_a = sd_b = 0``: only sources cluster, the control),
intercepts (``sd_a = 0.5``), intercepts and slopes (``sd_a = sd_b = 0.5``).

Balanced accuracy, gap closed and an LLM judge against people: the sibling
``bench_coverage_annotators_more.py``.

Run (nice, the machine is shared; ``PYTHONPATH=.`` from a worktree, so that its own
``oversight`` is the one measured)::

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/bench_coverage_annotators.py --reps 200
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import numpy as np
from _simulated import simulated_data

from oversight.analysis import analyze
from oversight.analysis._data import Data, JudgeRow, QuestionRow, TranscriptRow

N_SOURCES, PER_SOURCE = 24, 4
MU = {"unassisted": 0.2, "debate": 0.8}
SD_SOURCE, SD_SOURCE_COND, SD_QUESTION = 0.7, 0.3, 0.5
DESIGNS = ("within", "between", "between, other questions")
SCENARIOS = {"no person effects": (0.0, 0.0), "intercepts": (0.5, 0.0), "slopes": (0.5, 0.5)}
ANNOTATORS = (4, 8, 12)


def truth(mu: float, sd: float) -> float:
    """E sigmoid(mu + Z * sd) by Gauss-Hermite quadrature."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    return float((w / (1 + np.exp(-(mu + sd * x)))).sum() / w.sum())


def truths(sd_a: float, sd_b: float) -> dict[str, float]:
    base = SD_SOURCE**2 + SD_SOURCE_COND**2 + SD_QUESTION**2 + sd_a**2
    u = truth(MU["unassisted"], math.sqrt(base))
    a = truth(MU["debate"], math.sqrt(base + sd_b**2))
    return {"accuracy U": u, "accuracy A": a, "A - U": a - u}


def template(design: str, k: int) -> tuple[Data, dict[str, np.ndarray]]:
    """A study's structure: transcripts, who judges each, with empty probabilities."""
    transcripts: list[TranscriptRow] = []
    cluster, question, cond, person = [], [], [], []
    half = k // 2
    seen = [0, 0]  # transcripts of each condition so far
    for s in range(N_SOURCES):
        for i in range(PER_SOURCE):
            q = s * PER_SOURCE + i
            row = QuestionRow(id=f"q{q}", answers=["a", "b"], correct=0, source=f"s{s}")
            for c, name in enumerate(MU):
                if design == "between, other questions" and i % 2 != c:
                    continue
                # Within: q's A by the next person; else U by the first half, A the rest.
                who = (q + c) % k if design == "within" else c * half + seen[c] % half
                seen[c] += 1
                transcripts.append(
                    TranscriptRow(
                        id=f"t{len(transcripts)}",
                        protocol=name,
                        condition=name,
                        question=row,
                        answer_order=[0, 1],
                    )
                )
                cluster.append(s)
                question.append(q)
                cond.append(c)
                person.append(who)
    judges = [JudgeRow(kind="human", name="human", annotator=f"p{i}") for i in range(k)]
    data = simulated_data(
        transcripts,
        cluster=cluster,
        question=question,
        n_clusters=N_SOURCES,
        n_questions=N_SOURCES * PER_SOURCE,
        judge=[judges[p] for p in person],
    )
    parts = {
        "cluster": data.t_cluster,
        "question": data.t_question,
        "cond": np.asarray(cond, dtype=np.int64),
        "person": np.asarray(person, dtype=np.int64),
    }
    return data, parts


def simulate(
    data: Data,
    parts: dict[str, np.ndarray],
    k: int,
    sds: tuple[float, float],
    rng: np.random.Generator,
) -> Data:
    """One study: each judgment right (p(gold) = 0.8) or wrong (0.2) from the model."""
    u = rng.normal(0, SD_SOURCE, N_SOURCES)
    w = rng.normal(0, SD_SOURCE_COND, (N_SOURCES, 2))
    v = rng.normal(0, SD_QUESTION, data.n_questions)
    a, b = rng.normal(0, sds[0], k), rng.normal(0, sds[1], k)
    c, s, q, p = parts["cond"], parts["cluster"], parts["question"], parts["person"]
    z = np.array(list(MU.values()))[c] + a[p] + b[p] * c + u[s] + w[s, c] + v[q]
    right = rng.random(z.size) < 1 / (1 + np.exp(-z))
    prob = np.where(right, 0.8, 0.2)
    return dataclasses.replace(data, probs=np.stack([prob, 1 - prob], axis=1))


def covers(interval: tuple[float, float] | None, value: float) -> bool:
    return interval is not None and interval[0] <= value <= interval[1]


def run_cell(
    design: str, k: int, sds: tuple[float, float], reps: int, seed: int
) -> tuple[dict[str, int], set[str]]:
    """Hits per statistic over ``reps`` studies, and the ``ci_method`` words seen."""
    data, parts = template(design, k)
    target = truths(*sds)
    hits = dict.fromkeys(target, 0)
    methods: set[str] = set()
    rng = np.random.default_rng([seed, k, DESIGNS.index(design), int(100 * sum(sds))])
    for _ in range(reps):
        result = analyze(simulate(data, parts, k, sds, rng), n_bootstrap=100, multiplicity="none")
        groups = {g.by["condition"]: g for g in result.groups}
        (comp,) = result.comparisons
        assert comp.design == ("unpaired" if "other" in design else "paired"), comp.design
        found = {
            "accuracy U": groups["unassisted"].ci95,
            "accuracy A": groups["debate"].ci95,
            "A - U": comp.ci95,
        }
        methods |= {groups["unassisted"].ci_method or "", comp.ci_method or ""}
        for name, interval in found.items():
            hits[name] += covers(interval, target[name])
    return hits, methods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="simulated studies per cell")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    mcse = 100 * math.sqrt(0.95 * 0.05 / args.reps)
    print(f"{args.reps} studies per row; Monte Carlo SE at 95% coverage: {mcse:.1f} points")
    print()
    print("| design | person effects | annotators | accuracy U | accuracy A | A - U | ci_method |")
    print("|---|---|---:|---:|---:|---:|---|")
    for design in DESIGNS:
        for scenario, sds in SCENARIOS.items():
            for k in ANNOTATORS if scenario != "no person effects" else (8,):
                hits, methods = run_cell(design, k, sds, args.reps, args.seed)
                cells = " | ".join(f"{100 * h / args.reps:.1f}%" for h in hits.values())
                print(
                    f"| {design} | {scenario} | {k} | {cells} | {'; '.join(sorted(methods))} |",
                    flush=True,
                )
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

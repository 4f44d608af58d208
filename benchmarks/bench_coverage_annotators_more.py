"""Coverage of the report's two-way (source x annotator) intervals beyond accuracy and
comparisons: balanced accuracy, gap closed and an LLM judge against people, with known truth.

A sibling of ``bench_coverage_annotators.py`` (same model, same truth by Gauss-Hermite): each
simulated study goes through :func:`oversight.analysis.analyze` on in-memory
:class:`~oversight.analysis.Data`, once by default (two-way, ``cluster="sources,annotators"``)
and once with ``cluster="sources"``. 24 sources of 4 questions; ``K`` people; a judgment is
right with probability ``sigmoid(mu_c + a_k + b_k [c = slope condition] + u_s + w_sc +
v_q)``, ``a_k ~ N(0, 0.5^2)`` (skill), ``b_k ~ N(0, sd_b^2)`` (random slope: ``sd_b = 0``
"intercepts", ``0.5`` "slopes"), ``u_s, w_sc, v_q`` as in the sibling. Every person judges
every condition, never one question twice (question ``q``'s transcript of condition ``c``
by person ``(q + c) mod K``). The truth is about the population of people, sources and
questions.

Studies:

* ``balanced``: one consultancy condition, each question once with an honest consultant
  (``mu = 1.2``, the slope condition) and once with a dishonest one (``mu = -0.2``); truth
  the mean of the two sides' population accuracy (Khan et al.'s balanced accuracy);
* ``gap closed``: unassisted (``mu = 0.2``), debate (``0.8``, the slope condition) and
  expert (``2.0``), each question under all three; truths ``A - U``, ``E - U`` and
  ``(A - U) / (E - U)``;
* ``LLM vs people``: unassisted and debate (as the sibling's within design), every
  transcript also judged by an LLM judge ``gpt`` (``mu = 0.5`` and ``1.0``, the same
  source and question effects, no person effects); truth per condition the LLM's
  population accuracy minus the people's (the "Judges compared on the same transcripts"
  difference, gpt - human).

Run (nice, the machine is shared; ``PYTHONPATH=.`` from a worktree)::

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/bench_coverage_annotators_more.py --reps 100
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
import warnings

import numpy as np
from _simulated import simulated_data
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

from oversight.analysis import analyze
from oversight.analysis._data import Data, JudgeRow, QuestionRow, TranscriptRow

SD_SKILL = 0.5
SCENARIOS = {"intercepts": 0.0, "slopes": 0.5}
# Per study: its conditions (name, protocol, mu, side), which gets the slope, and the LLM's mu.
STUDIES: dict[str, dict[str, object]] = {
    "balanced": {
        "conditions": [
            ("consultancy", "consultancy", 1.2, 1),
            ("consultancy", "consultancy", -0.2, 0),
        ],
        "slope": 0,
    },
    "gap closed": {
        "conditions": [
            ("unassisted", "unassisted", 0.2, -1),
            ("debate", "debate", 0.8, -1),
            ("expert", "expert", 2.0, -1),
        ],
        "slope": 1,
    },
    "LLM vs people": {
        "conditions": [
            ("unassisted", "unassisted", 0.2, -1),
            ("debate", "debate", 0.8, -1),
        ],
        "slope": 1,
        "llm": [0.5, 1.0],
    },
}
BASE = SD_SOURCE**2 + SD_SOURCE_COND**2 + SD_QUESTION**2


def truths(study: str, sd_b: float) -> dict[str, float]:
    """The population values the study's intervals should hold."""
    spec = STUDIES[study]
    conds = spec["conditions"]
    assert isinstance(conds, list)
    acc = [
        truth(mu, math.sqrt(BASE + SD_SKILL**2 + (sd_b**2 if c == spec["slope"] else 0.0)))
        for c, (_, _, mu, _) in enumerate(conds)
    ]
    if study == "balanced":
        return {"balanced accuracy": (acc[0] + acc[1]) / 2}
    if study == "gap closed":
        au, eu = acc[1] - acc[0], acc[2] - acc[0]
        return {"A - U": au, "E - U": eu, "gap closed": au / eu}
    llm = spec["llm"]
    assert isinstance(llm, list)
    return {
        f"gpt - people ({name})": truth(mu, math.sqrt(BASE)) - acc[c]
        for c, ((name, *_), mu) in enumerate(zip(conds, llm, strict=True))
    }


def template(study: str, k: int) -> tuple[Data, dict[str, np.ndarray]]:
    """A study's structure (transcripts, judgments and who gave them), empty probabilities."""
    spec = STUDIES[study]
    conds = spec["conditions"]
    assert isinstance(conds, list)
    llm = "llm" in spec
    transcripts: list[TranscriptRow] = []
    t_cluster, t_question, t_side = [], [], []
    j_t, j_cond, j_person = [], [], []  # per judgment; person -1: the LLM
    for s in range(N_SOURCES):
        for i in range(PER_SOURCE):
            q = s * PER_SOURCE + i
            row = QuestionRow(id=f"q{q}", answers=["a", "b"], correct=0, source=f"s{s}")
            for c, (name, protocol, _, side) in enumerate(conds):
                t = len(transcripts)
                transcripts.append(
                    TranscriptRow(
                        id=f"t{t}",
                        protocol=protocol,
                        condition=name,
                        question=row,
                        answer_order=[0, 1],
                    )
                )
                t_cluster.append(s)
                t_question.append(q)
                t_side.append(side)
                for person in [(q + c) % k] + ([-1] if llm else []):
                    j_t.append(t)
                    j_cond.append(c)
                    j_person.append(person)
    people = [JudgeRow(kind="human", name="human", annotator=f"p{i}") for i in range(k)]
    gpt = JudgeRow(kind="llm", name="gpt", model="gpt")
    data = simulated_data(
        transcripts,
        cluster=t_cluster,
        question=t_question,
        n_clusters=N_SOURCES,
        n_questions=N_SOURCES * PER_SOURCE,
        judge=[people[p] if p >= 0 else gpt for p in j_person],
        t=j_t,
        side=t_side,
    )
    t_idx = data.t
    parts = {
        "cluster": data.t_cluster[t_idx],
        "question": data.t_question[t_idx],
        "cond": np.asarray(j_cond, dtype=np.int64),
        "person": np.asarray(j_person, dtype=np.int64),
    }
    return data, parts


def simulate(
    data: Data,
    parts: dict[str, np.ndarray],
    study: str,
    k: int,
    sd_b: float,
    rng: np.random.Generator,
) -> Data:
    """One study: each judgment right (p(gold) = 0.8) or wrong (0.2) from the model."""
    spec = STUDIES[study]
    conds = spec["conditions"]
    assert isinstance(conds, list)
    n_cond = len(conds)
    u = rng.normal(0, SD_SOURCE, N_SOURCES)
    w = rng.normal(0, SD_SOURCE_COND, (N_SOURCES, n_cond))
    v = rng.normal(0, SD_QUESTION, data.n_questions)
    a, b = rng.normal(0, SD_SKILL, k), rng.normal(0, sd_b, k)
    c, s, q, p = parts["cond"], parts["cluster"], parts["question"], parts["person"]
    human = p >= 0
    mu = np.array([mu for _, _, mu, _ in conds])
    if "llm" in spec:
        mu_llm = np.asarray(spec["llm"], dtype=np.float64)
        mu_row = np.where(human, mu[c], mu_llm[c])
    else:
        mu_row = mu[c]
    pp = np.where(human, p, 0)
    person = np.where(human, a[pp] + b[pp] * (c == spec["slope"]), 0.0)
    z = mu_row + person + u[s] + w[s, c] + v[q]
    right = rng.random(z.size) < 1 / (1 + np.exp(-z))
    prob = np.where(right, 0.8, 0.2)
    return dataclasses.replace(data, probs=np.stack([prob, 1 - prob], axis=1))


def found(study: str, result: object) -> dict[str, tuple[tuple[float, float] | None, str]]:
    """Each statistic's interval in the analysis, and the ``ci_method`` shown beside it."""
    if study == "balanced":
        (g,) = (g for g in result.groups if g.balanced_accuracy is not None)  # type: ignore[attr-defined]
        return {"balanced accuracy": (g.balanced_accuracy_ci95, g.ci_method or "")}
    if study == "gap closed":
        (comp,) = (c for c in result.comparisons if c.expert)  # type: ignore[attr-defined]
        how = comp.ci_method or ""
        return {
            "A - U": (comp.assisted_minus_baseline_ci95, how),
            "E - U": (comp.expert_minus_baseline_ci95, how),
            "gap closed": (comp.gap_closed_ci95, how),
        }
    out = {}
    for jc in result.judge_comparisons:  # type: ignore[attr-defined]
        assert (jc.judge_a, jc.judge_b) == ("gpt", "human"), jc
        out[f"gpt - people ({jc.by['condition']})"] = (jc.ci95, jc.ci_method or "")
    return out


def run_cell(
    study: str, k: int, sd_b: float, reps: int, seed: int
) -> tuple[dict[str, list[int]], dict[str, list[int]], dict[str, set[str]]]:
    """Hits and intervals missing per statistic over ``reps`` studies, each [two-way,
    sources], and the methods seen. A missing interval counts as not covering."""
    data, parts = template(study, k)
    target = truths(study, sd_b)
    hits = {name: [0, 0] for name in target}
    none = {name: [0, 0] for name in target}  # no interval (gap closed: unbounded Fieller set)
    methods: dict[str, set[str]] = {"two-way": set(), "sources": set()}
    rng = np.random.default_rng([seed, k, list(STUDIES).index(study), int(100 * sd_b)])
    for _ in range(reps):
        sim = simulate(data, parts, study, k, sd_b, rng)
        for j, cluster in enumerate(("sources,annotators", "sources")):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = analyze(sim, n_bootstrap=100, multiplicity="none", cluster=cluster)
            seen = found(study, result)
            assert seen.keys() == target.keys(), (seen.keys(), target.keys())
            for name, (interval, how) in seen.items():
                hits[name][j] += covers(interval, target[name])
                none[name][j] += interval is None
                methods["two-way" if j == 0 else "sources"].add(how.split(" over ")[0])
    return hits, none, methods


def _share(hits: int, none: int, reps: int) -> str:
    """Coverage in percent, and (when some had none) the share without an interval."""
    out = f"{100 * hits / reps:.1f}%"
    return out + (f" ({100 * none / reps:.1f}% none)" if none else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100, help="simulated studies per cell")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--studies", default=",".join(STUDIES), help="comma-separated")
    args = parser.parse_args()
    start = time.perf_counter()
    mcse = 100 * math.sqrt(0.95 * 0.05 / args.reps)
    print(f"{args.reps} studies per row; Monte Carlo SE at 95% coverage: {mcse:.1f} points")
    for study in args.studies.split(","):
        names = list(truths(study, 0.0))
        print()
        print(
            f"{study}: truth (intercepts) "
            + ", ".join(f"{n} {v:.3f}" for n, v in truths(study, 0.0).items())
        )
        print()
        head = " | ".join(f"{n}: two-way / sources" for n in names)
        print(f"| study | person effects | annotators | {head} | ci_method (two-way; sources) |")
        print("|---|---|---:|" + "---:|" * len(names) + "---|")
        for scenario, sd_b in SCENARIOS.items():
            for k in ANNOTATORS:
                hits, none, methods = run_cell(study, k, sd_b, args.reps, args.seed)
                cells = " | ".join(
                    " / ".join(_share(h[j], n[j], args.reps) for j in (0, 1))
                    for h, n in zip(hits.values(), none.values(), strict=True)
                )
                how = "; ".join(", ".join(sorted(m)) for m in methods.values())
                print(f"| {study} | {scenario} | {k} | {cells} | {how} |", flush=True)
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

"""Coverage of the model-based analysis' condition term (``--model gee`` and ``glmm``),
with known truth.

Simulated judgments go through :func:`oversight.analysis._model.fit_frame`, the function
``analyze(..., model=...)`` calls, on the frame it builds. Each run has ``J`` judges who
each judge ``S`` sources under both conditions (``unassisted`` and ``debate``). A judgment
is right with probability ``sigmoid(0.3 + a_j + u_s + debate * (0.8 + b_j))``: ``a_j ~ N(0,
0.5^2)`` a judge effect, ``u_s ~ N(0, 0.5^2)`` a source effect, ``b_j ~ N(0, slope^2)``
how much debate helps judge ``j`` beyond the average. Truths: the GLMM's term is the
conditional log-odds ratio, 0.8; GEE's is the population-averaged one,
``logit(E sigmoid(1.1 + Z sqrt(0.5 + slope^2))) - logit(E sigmoid(0.3 + Z sqrt(0.5)))``
(Gauss-Hermite). The judges are people (annotators). Intervals: "gee", as the report gives
them with ``--cluster sources`` (bias-reduced robust standard errors clustered by source,
t with sources - 1 df); "gee two-way", as it gives them by default for people (two-way
CR2 over sources and people on the logistic fit's working weights, t with min(G) - 1 df,
- 2 from the people with ``--design between``, each judging one condition); "gee before",
the plain robust sandwich with a normal reference the report used before; the GLMM's,
posterior mean +- 1.96 posterior sd (variational Bayes), what the report would show if it
gave them.

Run (nice, the machine is shared; each GLMM fit takes a second or more)::

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/bench_coverage_glmm.py --reps 200
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import pandas as pd

from oversight.analysis._model import fit_frame

TERM = "C(condition)[T.debate]"


def _expit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def _marginal(mu: float, var: float) -> float:
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    return float((weights * _expit(mu + nodes * math.sqrt(var))).sum() / weights.sum())


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def truths(slope: float) -> dict[str, float]:
    """The term each model estimates."""
    gee = _logit(_marginal(1.1, 0.5 + slope**2)) - _logit(_marginal(0.3, 0.5))
    return {"gee": gee, "glmm": 0.8}


def simulate(
    rng: np.random.Generator, judges: int, sources: int, slope: float, between: bool = False
) -> pd.DataFrame:
    """One run's scored judgments, with the columns of ``model_frame``; ``between``: judge
    ``j`` judges only condition ``j % 2`` (each person one condition)."""
    u = rng.normal(0, 0.5, sources)
    rows = []
    for j in range(judges):
        a, b = rng.normal(0, 0.5), rng.normal(0, slope)
        for s in range(sources):
            for debate in (j % 2,) if between else (0, 1):
                p = _expit(np.array(0.3 + a + u[s] + debate * (0.8 + b)))
                right = float(rng.random() < p)
                rows.append((right, "debate" if debate else "unassisted", f"s{s}", f"j{j}"))
    frame = pd.DataFrame(rows, columns=["right", "condition", "source", "judge"])
    frame["condition"] = pd.Categorical(frame["condition"], ["unassisted", "debate"])
    frame["rounds_c"] = 0.0
    frame["gold_position"] = 0.0
    frame["side"] = 0.5
    frame["debater"] = "none"
    frame["person"] = True  # the judges are people (annotators)
    return frame


def _gee_before(frame: pd.DataFrame) -> tuple[float, float]:
    """The term's estimate and half-width as the report gave them before."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    result = smf.gee(
        "right ~ C(condition)",
        groups="source",
        data=frame,
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Exchangeable(),
    ).fit()
    return float(result.params[TERM]), 1.96 * float(result.bse[TERM])


def _interval(kind: str, frame: pd.DataFrame) -> tuple[float, float, float]:
    """The term's estimate and interval by ``kind``."""
    if kind == "gee before":
        estimate, half = _gee_before(frame)
        return estimate, estimate - half, estimate + half
    model, two_way = kind.split()[0], kind.endswith("two-way")
    fit = fit_frame(model, frame, reference="unassisted", two_way=two_way)
    term = next(t for t in fit.terms if t.name == TERM)
    assert term.estimate is not None and term.se is not None
    if term.ci95 is not None:
        return term.estimate, *term.ci95
    return term.estimate, term.estimate - 1.96 * term.se, term.estimate + 1.96 * term.se


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--judges", type=int, default=20)
    parser.add_argument("--sources", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--design",
        choices=["within", "between"],
        default="within",
        help="within: every judge judges both conditions; between: each judges one",
    )
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=["gee", "gee two-way", "gee before", "glmm"],
        help="gee: clustered by source (--cluster sources); gee two-way: by source and "
        "person (the default for people); gee before: the plain sandwich; glmm",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    shape = "2 conditions" if args.design == "within" else "1 condition each"
    print(f"{args.judges} judges x sources x {shape}, {args.reps} runs each")
    print("| sources | slope sd | model | truth | coverage | mean estimate | mean width | MCSE |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    kinds = tuple(args.kinds)
    for sources in args.sources:
        for slope in (0.0, 1.0):
            rng = np.random.default_rng([args.seed, sources, int(slope * 10)])
            truth = truths(slope)
            hits = dict.fromkeys(kinds, 0)
            estimates: dict[str, list[float]] = {k: [] for k in kinds}
            widths: dict[str, list[float]] = {k: [] for k in kinds}
            for _ in range(args.reps):
                frame = simulate(rng, args.judges, sources, slope, args.design == "between")
                for kind in kinds:
                    estimate, lo, hi = _interval(kind, frame)
                    hits[kind] += lo <= truth[kind.split()[0]] <= hi
                    estimates[kind].append(estimate)
                    widths[kind].append(hi - lo)
            for kind, hit in hits.items():
                p = hit / args.reps
                print(
                    f"| {sources} | {slope:.1f} | {kind} | {truth[kind.split()[0]]:.3f} | "
                    f"{p:.1%} | {np.mean(estimates[kind]):.3f} | {np.mean(widths[kind]):.3f} | "
                    f"{100 * math.sqrt(p * (1 - p) / args.reps):.1f} |",
                    flush=True,
                )
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

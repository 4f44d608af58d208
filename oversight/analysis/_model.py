"""Model-based analysis (optional): a logistic model of each judgment's correctness.

Beside the design-based numbers (bootstrap / CR2), ``analyze(..., model="gee")`` or
``model="glmm"`` fits, via statsmodels (``pip install 'oversight[stats]'``)::

    logit P(right) = condition + rounds_c + gold_position [+ side]

on the scored judgments, with ``rounds_c`` the rounds seen minus their mean, ``gold_position``
the presented position of the gold answer (0 = first) and ``side`` (1 when a single
consultant argued the gold answer, 0 when a wrong one, 0.5 otherwise) when consultancies are
present. A tie scores 0.5 (a fractional outcome, fine for quasi-likelihood). Condition
coefficients are log-odds against the reference condition (the first unassisted one, else
the first condition).

* ``gee``: generalized estimating equations clustered by source, exchangeable working
  correlation, bias-reduced robust (Mancl-DeRouen sandwich) standard errors with a t
  reference of sources - 1 degrees of freedom (``statsmodels.formula.api.gee``,
  ``cov_type="bias_reduced"``): the plain sandwich with a normal reference covered 92%
  with 10 sources, this 95.5% (``benchmarks/bench_coverage_glmm.py``). A condition whose
  judgments were all right (or all wrong) has no finite log-odds (separation): its terms
  get no interval or p-value, and a note says why. Judgments by two or more people (with
  ``two_way``, the report's default ``cluster``) are clustered by source and person as the
  report's intervals are: an independence working correlation and the report's two-way
  CR2 covariance on the fit's working weights (:func:`glm_two_way_cov`); clustered by
  source alone, where people differ in how much a condition helps them, the interval is
  too narrow for people in general (see the benchmark).
* ``glmm``: a Bayesian logistic mixed model with **crossed** random intercepts for source,
  judge (the annotator for people) and the debater who argued the gold answer, and a
  random slope by judge of each condition that two or more judges judged beside the
  reference (``statsmodels`` ``BinomialBayesMixedGLM``, variational Bayes): posterior means
  and standard deviations, and each random effect's standard deviation. No intervals or
  p-values: variational Bayes understates the posterior's spread (nominal 95% intervals
  covered the truth 60-85% of the time in ``benchmarks/bench_coverage_glmm.py``), so
  the GLMM describes (effects, how much judges differ) and GEE or the design-based
  comparisons give the inference.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

from oversight.analysis._data import Data
from oversight.analysis._schema import ModelFit, ModelTerm
from oversight.analysis._smallsample import t_quantile
from oversight.analysis._stats import RowMetrics
from oversight.analysis._twoway import _levels, two_way_cov
from oversight.analysis._types import Ints
from transcripts.errors import ConfigError

__all__ = [
    "GLMM_NO_INFERENCE",
    "MODEL_KINDS",
    "fit_frame",
    "fit_model",
    "glm_two_way_cov",
    "model_frame",
]


MODEL_KINDS = ("gee", "glmm")
"""Values of ``analyze(model=...)``."""


def _honest_debater(data: Data, t: int) -> str:
    tr = data.transcripts[t]
    gold = tr.question.correct
    for speaker, answer in sorted(tr.assignment.items()):
        if answer == gold and speaker in tr.roles:
            return tr.roles[speaker]
    return "none"


def model_frame(data: Data, metrics: RowMetrics, rows: Ints, reference: str) -> Any:
    """The scored judgments as a pandas DataFrame, one row each, for the model."""
    import pandas as pd

    rows = rows[data.scored[rows]]
    t = data.t[rows]
    rounds = data.rounds[rows]
    rounds = np.where(np.isfinite(rounds), rounds, np.nanmean(rounds) if rounds.size else 0.0)
    conditions = [data.transcripts[i].condition for i in t]
    order = [reference, *sorted({c for c in conditions if c != reference})]
    side = data.t_side[t].astype(np.float64)
    return pd.DataFrame(
        {
            "right": metrics.score[rows],
            "condition": pd.Categorical(conditions, categories=order),
            "rounds_c": rounds - rounds.mean() if rounds.size else rounds,
            "gold_position": data.t_gold_position[t].astype(np.float64),
            "side": np.where(side < 0, 0.5, side),
            "source": data.t_cluster[t],
            "judge": [data.judge[r].annotator or data.judge[r].name for r in rows],
            "person": [data.judge[r].annotator is not None for r in rows],
            "debater": [_honest_debater(data, int(i)) for i in t],
        }
    )


def _formula(frame: Any) -> str:
    terms = ["C(condition)"] if frame["condition"].nunique() > 1 else []
    if frame["rounds_c"].std() > 0:
        terms.append("rounds_c")
    if frame["gold_position"].nunique() > 1:
        terms.append("gold_position")
    if frame["side"].nunique() > 1:
        terms.append("side")
    return "right ~ " + (" + ".join(terms) or "1")


def fit_model(
    kind: str,
    data: Data,
    metrics: RowMetrics,
    rows: Ints,
    *,
    reference: str,
    two_way: bool = True,
) -> ModelFit:
    """Fit the ``kind`` model on the scored judgments ``rows`` (see the module docstring);
    ``two_way`` as the report's ``cluster`` (GEE of judgments by people)."""
    if kind not in MODEL_KINDS:
        raise ConfigError(f"model must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    frame = model_frame(data, metrics, rows, reference)
    return fit_frame(kind, frame, reference=reference, two_way=two_way)


GLMM_NO_INFERENCE = (
    "no intervals or p-values for the GLMM: its posterior standard deviations (variational "
    "Bayes) understate the uncertainty (nominal 95% intervals covered the truth 60-85% "
    "of the time in benchmarks/bench_coverage_glmm.py); for inference use the design-based "
    "comparisons or --model gee"
)
"""The note every GLMM fit carries."""


def fit_frame(kind: str, frame: Any, *, reference: str, two_way: bool = True) -> ModelFit:
    """Fit the ``kind`` model on ``frame`` (the columns of :func:`model_frame`); with
    ``two_way``, GEE of judgments by two or more people is clustered by source and person
    (:func:`_two_way_gee`)."""
    try:
        import statsmodels.formula.api as smf
        from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise ConfigError(
            "--model needs statsmodels and pandas: pip install 'oversight[stats]'"
        ) from err
    import warnings as py_warnings

    from scipy.special import stdtr

    if len(frame) < 10:
        raise ConfigError(f"--model needs at least 10 scored judgments, got {len(frame)}")
    formula = _formula(frame)
    z = NormalDist().inv_cdf(0.975)
    notes: list[str] = []
    with py_warnings.catch_warnings(record=True) as caught:
        py_warnings.simplefilter("always")
        people = frame.loc[frame["person"], "judge"].nunique() if "person" in frame else 0
        if kind == "gee" and two_way and people >= 2:
            names, est, se, df = _two_way_gee(formula, frame)
            quantile = t_quantile(0.975, df) if df > 0 else math.nan
            pvals = np.array(
                [
                    2 * float(stdtr(df, -abs(e / s))) if s > 0 and df > 0 else math.nan
                    for e, s in zip(est, se, strict=True)
                ]
            )
            if df <= 0:
                notes.append(
                    f"no intervals or p-values: too few people for a two-way fit (t({df} df)); "
                    "--cluster sources gives them about these people"
                )
            variance: dict[str, float] = {}
            method = (
                "logistic regression (GEE, independence working correlation), two-way "
                "(sources, annotators) CR2 robust SE (Cameron-Gelbach-Miller, each term "
                "Bell-McCaffrey on the working weights), "
                f"t with {df} df (min(sources, judges) - 1; - the conditions for a kind "
                "whose clusters each saw one, e.g. people who each judged one condition)"
            )
        elif kind == "gee":
            import statsmodels.api as sm

            result = smf.gee(
                formula,
                groups="source",
                data=frame,
                family=sm.families.Binomial(),
                cov_struct=sm.cov_struct.Exchangeable(),
            ).fit(cov_type="bias_reduced")
            names = list(result.params.index)
            est, se = result.params.to_numpy(), result.bse.to_numpy()
            df = max(1, frame["source"].nunique() - 1)
            quantile = t_quantile(0.975, df)
            pvals = np.array(
                [
                    2 * float(stdtr(df, -abs(e / s))) if s > 0 else math.nan
                    for e, s in zip(est, se, strict=True)
                ]
            )
            variance = {}
            method = (
                "GEE (binomial, logit), exchangeable within source, bias-reduced "
                f"(Mancl-DeRouen) robust SE, t with {df} df (sources - 1)"
            )
        else:
            quantile = z
            frame = frame.copy()
            vc, slopes = _glmm_components(frame, reference)
            ties = int(((frame["right"] > 0) & (frame["right"] < 1)).sum())  # 1/2, 1/3, ...
            if ties:
                notes.append(f"{ties} ties counted as wrong in the GLMM (it needs 0/1 outcomes)")
            frame["right"] = (frame["right"] > 0.5).astype(float)
            result = BinomialBayesMixedGLM.from_formula(formula, vc, frame).fit_vb()
            names = list(result.model.exog_names)
            est, se = result.fe_mean, result.fe_sd
            pvals = np.full(len(names), math.nan)
            # vcp_mean holds each component's log standard deviation.
            variance = {
                name: float(np.exp(m))
                for name, m in zip(result.model.vcp_names, result.vcp_mean, strict=True)
            }
            intercepts = [name for name in vc if name not in slopes]
            method = (
                "Bayesian logistic GLMM, crossed random intercepts ("
                + ", ".join(intercepts)
                + ")"
                + (f", random slopes of {', '.join(slopes.values())} by judge" if slopes else "")
                + ", variational Bayes; posterior mean and sd"
            )
            notes.append(GLMM_NO_INFERENCE)
    notes += sorted({str(w.message).splitlines()[0] for w in caught})
    unbounded = _separated(frame, reference, notes) if kind == "gee" else set()
    if not np.isfinite(est).all():
        notes.append("the fit gave no finite estimate for some terms: they are left empty")
    # A standard error of 0 (statsmodels >= 0.15 gives it where no outcome varies within a
    # condition; earlier versions gave NaN) is no measure of uncertainty: no zero-width
    # interval and no p-value of 0 from it.
    degenerate = {n for n, s in zip(names, se, strict=True) if math.isfinite(s) and s <= 0}
    if degenerate:
        notes.append(
            "the fit gave a standard error of 0 for "
            + ", ".join(sorted(degenerate))
            + " (no outcome varies there): no interval or p-value is given for it"
        )
    inference = kind == "gee"
    terms = [
        ModelTerm(
            name=name,
            estimate=float(e) if math.isfinite(e) else None,
            se=float(s) if math.isfinite(s) and s > 0 else None,
            ci95=(float(e - quantile * s), float(e + quantile * s))
            if inference
            and math.isfinite(quantile)
            and math.isfinite(e)
            and math.isfinite(s)
            and s > 0
            and name not in unbounded
            else None,
            p_value=float(p)
            if math.isfinite(p) and name not in unbounded and name not in degenerate
            else None,
        )
        for name, e, s, p in zip(names, est, se, pvals, strict=True)
    ]
    return ModelFit(
        kind=kind,
        method=method,
        formula=formula,
        reference=reference,
        n=len(frame),
        terms=terms,
        random_effect_sd=variance,
        notes=notes,
    )


def _two_way_gee(formula: str, frame: Any) -> tuple[list[str], Any, Any, int]:
    """GEE with an independence working correlation (the logistic regression's estimates)
    and the report's two-way CR2 covariance over sources and judges (people, and each
    automatic judge its own cluster): :func:`glm_two_way_cov`. Returns the terms,
    estimates, standard errors and degrees of freedom by the report's rule: min(G) - 1,
    - the conditions for a kind whose clusters each saw one (none left: 0 or less)."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    source, judge = (
        frame[c].astype("category").cat.codes.to_numpy(np.int64) for c in ("source", "judge")
    )
    result = smf.glm(formula, data=frame, family=sm.families.Binomial()).fit()
    # The report's rule (_twoway): - 1 per kind of cluster, - (conditions) for a kind none
    # of whose clusters holds two conditions (each person judged one: the condition
    # effect is estimated between people).
    levels = _levels(frame["condition"].cat.codes.to_numpy(np.int64), source, judge)
    cov, df = glm_two_way_cov(result, source, judge, levels=levels)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return list(result.params.index), result.params.to_numpy(), se, int(df)


def glm_two_way_cov(
    result: Any, source: Ints, annotator: Ints, *, levels: tuple[int, int] = (1, 1)
) -> tuple[NDArray[np.float64], float]:
    """The two-way (source, annotator) CR2 covariance of a fitted statsmodels GLM's
    coefficients and its degrees of freedom: the report's :func:`two_way_cov` (each term
    CR2, ``V_source + V_annotator`` where the subtraction is not positive definite, ``levels``
    as there) applied to the last step of the fit's iteratively reweighted least squares,
    rows ``sqrt(w) x`` and working response ``sqrt(w) z`` (``w`` the working weights, ``z =
    eta + (y - mu) g'(mu)``), whose least-squares fit is the GLM's and whose residuals are
    ``(y - mu) / sqrt(V(mu))``. So the bread is ``(X'WX)^-1`` and each cluster's adjustment
    ``(I - H_gg)^(-1/2)`` with the weighted hat matrix, the GLM form of CR2 (Bell & McCaffrey
    2002; clubSandwich's ``vcovCR`` of a ``glm``). An identity link with unit weights is
    :func:`two_way_cov` itself."""
    model = result.model
    x = np.asarray(model.exog, dtype=np.float64)
    y = np.asarray(model.endog, dtype=np.float64)
    b = np.asarray(result.params, dtype=np.float64)
    eta = x @ b
    mu = model.family.link.inverse(eta)
    root = np.sqrt(model.family.weights(mu))
    z = eta + (y - mu) * model.family.link.deriv(mu)
    _, cov, df = two_way_cov(
        x * root[:, None], z * root, source, annotator, np.eye(b.size), levels=levels
    )
    return cov, df


def _glmm_components(frame: Any, reference: str) -> tuple[dict[str, str], dict[str, str]]:
    """The GLMM's variance components: a random intercept for each of source, judge and
    debater that varies, and a random slope by judge of each condition that at least two
    judges judged beside the reference (how much that condition's effect differs between
    judges). Adds the slopes' 0/1 columns to ``frame``; returns the components and, for
    the slopes, their names mapped to their conditions."""
    vc = {
        name: f"0 + C({name})"
        for name in ("source", "judge", "debater")
        if frame[name].nunique() > 1
    }
    slopes: dict[str, str] = {}
    if "judge" not in vc:
        return vc, slopes
    saw_reference = set(frame.loc[frame["condition"] == reference, "judge"])
    for i, condition in enumerate(frame["condition"].cat.categories):
        if condition == reference:
            continue
        judges = set(frame.loc[frame["condition"] == condition, "judge"]) & saw_reference
        if len(judges) < 2:
            continue
        column = f"_slope{i}"
        frame[column] = (frame["condition"] == condition).astype(float)
        name = f"judge x {condition}"
        vc[name] = f"0 + C(judge):{column}"
        slopes[name] = condition
    return vc, slopes


def _separated(frame: Any, reference: str, notes: list[str]) -> set[str]:
    """The GEE terms without a finite estimate: a condition whose judgments were all right
    (or all wrong) has infinite log-odds (separation), and the optimiser stops anywhere
    along the way, with a standard error that means nothing. Says so in ``notes``."""
    out: set[str] = set()
    if frame["condition"].nunique() < 2:
        return out
    for condition, right in frame.groupby("condition", observed=True)["right"]:
        if right.min() != right.max() or right.iloc[0] not in (0.0, 1.0):
            continue
        every = "right" if right.iloc[0] == 1.0 else "wrong"
        if condition == reference:
            out |= {"Intercept", *_condition_terms(frame, reference)}
        else:
            out.add(f"C(condition)[T.{condition}]")
        notes.append(
            f"every judgment under {condition} was {every}: its log-odds are infinite "
            f"(separation), so its coefficient"
            + (" and every contrast with it are" if condition == reference else " is")
            + " not estimable; no interval or p-value is given"
        )
    return out


def _condition_terms(frame: Any, reference: str) -> list[str]:
    return [f"C(condition)[T.{c}]" for c in frame["condition"].cat.categories if c != reference]

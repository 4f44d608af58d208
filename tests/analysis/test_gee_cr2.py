"""``--model gee`` of judgments by people: the report's two-way CR2 covariance, on the
logistic fit's working weights (:func:`oversight.analysis._model.glm_two_way_cov`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray

from oversight.analysis import analyze
from oversight.analysis._model import glm_two_way_cov
from oversight.analysis._twoway import two_way_cov

from .helpers import RunBuilder

Floats = NDArray[np.float64]

pytest.importorskip("statsmodels")


def _inverse_root(a: Floats) -> Floats:
    values, vectors = np.linalg.eigh(a)
    out: Floats = (vectors / np.sqrt(values)) @ vectors.T
    return out


def _logistic(x: Floats, y: Floats) -> tuple[Floats, Floats]:
    """Maximum likelihood by Newton's method: the estimates and fitted means."""
    b = np.zeros(x.shape[1])
    for _ in range(100):
        mu = 1 / (1 + np.exp(-x @ b))
        b = b + np.linalg.solve(x.T @ (x * (mu * (1 - mu))[:, None]), x.T @ (y - mu))
    return b, 1 / (1 + np.exp(-x @ b))


def _cr2(x: Floats, y: Floats, mu: Floats, codes: NDArray[np.int64]) -> Floats:
    """The GLM CR2 sandwich over ``codes``, written out: bread ``M = (X'WX)^-1``, per
    cluster ``u_g = X_g' W_g^(1/2) (I - H_gg)^(-1/2) W_g^(-1/2) (y_g - mu_g)`` with
    ``H_gg = W_g^(1/2) X_g M X_g' W_g^(1/2)``."""
    w = mu * (1 - mu)
    m = np.linalg.inv(x.T @ (x * w[:, None]))
    meat = np.zeros_like(m)
    for g in np.unique(codes):
        r = codes == g
        half = np.diag(np.sqrt(w[r]))
        h = half @ x[r] @ m @ x[r].T @ half
        u = x[r].T @ half @ _inverse_root(np.eye(r.sum()) - h) @ np.linalg.inv(half) @ (y - mu)[r]
        meat += np.outer(u, u)
    out: Floats = m @ meat @ m
    return out


def _two_way(x: Floats, y: Floats, source: NDArray[np.int64], person: NDArray[np.int64]) -> Floats:
    _, mu = _logistic(x, y)
    one = _cr2(x, y, mu, source) + _cr2(x, y, mu, person)
    cov = one - _cr2(x, y, mu, source * 1000 + person)
    return cov if np.linalg.eigvalsh(cov).min() > 0 else one


def _glm(frame: pd.DataFrame, family: str) -> object:
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    fam = sm.families.Binomial() if family == "binomial" else sm.families.Gaussian()
    return smf.glm("right ~ C(condition) + rounds_c", data=frame, family=fam).fit(tol=1e-12)


def _frame(seed: int, people: int, sources: int, per: int, nested: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(people):
        gain = rng.normal(1.0, 1.0)
        for i in range(per):
            s = p if nested else i % sources
            for c, logit in (("unassisted", 0.2), ("debate", 0.2 + gain)):
                rounds = float(rng.integers(1, 4))
                right = float(rng.random() < 1 / (1 + np.exp(-logit - 0.2 * rounds)))
                rows.append((right, c, rounds, s, p))
    frame = pd.DataFrame(rows, columns=["right", "condition", "rounds_c", "source", "person"])
    frame["condition"] = pd.Categorical(frame["condition"], ["unassisted", "debate"])
    frame["rounds_c"] -= frame["rounds_c"].mean()
    return frame


def _codes(frame: pd.DataFrame) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    return frame["source"].to_numpy(np.int64), frame["person"].to_numpy(np.int64)


def test_with_an_identity_link_the_gee_covariance_is_the_reports_two_way_cov() -> None:
    # A linear model's working weights are 1 and its working response is y: the GLM
    # path must be the report's two-way CR2 (two_way_cov) itself, df included.
    frame = _frame(1, people=5, sources=7, per=14)
    result = _glm(frame, "gaussian")
    source, person = _codes(frame)
    x = np.asarray(result.model.exog)
    for levels in ((1, 1), (1, 2)):
        cov, df = glm_two_way_cov(result, source, person, levels=levels)
        _, ref, ref_df = two_way_cov(
            x, frame["right"].to_numpy(), source, person, np.eye(x.shape[1]), levels=levels
        )
        np.testing.assert_allclose(cov, ref, rtol=1e-9, atol=1e-14)
        assert df == ref_df == min(7 - levels[0], 5 - levels[1])


def test_the_logistic_gee_covariance_is_cr2_on_the_working_weights_in_both_ways() -> None:
    # Before: statsmodels' two-way cluster covariance, CR1 terms (G/(G-1) (n-1)/(n-k)),
    # while the report's own intervals use CR2 terms. Now each term is CR2 of the
    # logistic fit: bread (X'WX)^-1, the weighted hat matrix in each adjustment.
    frame = _frame(2, people=6, sources=8, per=16)
    result = _glm(frame, "binomial")
    source, person = _codes(frame)
    x, y = np.asarray(result.model.exog), frame["right"].to_numpy()
    cov, df = glm_two_way_cov(result, source, person)
    np.testing.assert_allclose(cov, _two_way(x, y, source, person), rtol=1e-7)
    assert df == 5


def test_one_person_per_source_reduces_to_one_way_cr2_by_person() -> None:
    # Each source judged by one person: a source-and-person cell is the source, so the
    # two-way sum is the one-way CR2 over people (as two_way_cov gives).
    frame = _frame(3, people=7, sources=7, per=10, nested=True)
    result = _glm(frame, "binomial")
    source, person = _codes(frame)
    x, y = np.asarray(result.model.exog), frame["right"].to_numpy()
    cov, _ = glm_two_way_cov(result, source, person)
    _, mu = _logistic(x, y)
    np.testing.assert_allclose(cov, _cr2(x, y, mu, person), rtol=1e-7)


def test_the_reports_gee_interval_for_people_is_the_two_way_cr2_one(run: RunBuilder) -> None:
    # What the user reads: GEE of judgments by people is clustered by source and person,
    # as the report's intervals are (before aa27f4e: by source only, an interval about
    # these people), its standard errors and t(min(G) - 1) intervals the two-way CR2 ones
    # of the logistic regression (before: statsmodels' CR1 terms, here 0.1232 for the
    # debate term against CR2's 0.1228); cluster="sources" gives the source-clustered GEE.
    from scipy import stats

    rng = np.random.default_rng(4)
    rows = []
    for p in range(6):
        gain = rng.normal(1.0, 1.0)
        for i in range(16):
            q = run.question(f"q{p}-{i}", source=f"s{i % 8}")
            for condition, logit in (("unassisted", 0.2), ("debate", 0.2 + gain)):
                right = rng.random() < 1 / (1 + np.exp(-logit))
                run.judge(
                    run.transcript(q, condition=condition),
                    [0.8, 0.2] if right else [0.2, 0.8],
                    judge="human",
                    kind="human",
                    annotator=f"p{p}",
                )
                rows.append((float(right), condition == "debate", i % 8, p))
    fit = analyze(run.path, n_bootstrap=20, model="gee").model
    assert fit is not None and "two-way (sources, annotators) CR2" in fit.method
    data = np.array(rows)
    x = np.column_stack([np.ones(len(rows)), data[:, 1]])
    b, _ = _logistic(x, data[:, 0])
    se = np.sqrt(np.diag(_two_way(x, data[:, 0], *(data[:, k].astype(np.int64) for k in (2, 3)))))
    q = stats.t.ppf(0.975, 5)  # 8 sources, 6 people: min(G) - 1
    for term, estimate, s in zip(fit.terms, b, se, strict=True):
        assert term.estimate == pytest.approx(estimate, rel=1e-6)
        assert term.se == pytest.approx(s, rel=1e-6)
        assert term.ci95 == pytest.approx((estimate - q * s, estimate + q * s), rel=1e-6)
    sources = analyze(run.path, n_bootstrap=20, model="gee", cluster="sources").model
    assert sources is not None and "exchangeable within source, bias-reduced" in sources.method


def test_where_the_two_way_sum_is_not_positive_definite_gee_takes_both_one_way_terms() -> None:
    # The report's fallback (two_way_cov): V_source + V_person, never less than either.
    frame = _frame(1, people=3, sources=3, per=6)
    result = _glm(frame, "binomial")
    source, person = _codes(frame)
    x, y = np.asarray(result.model.exog), frame["right"].to_numpy()
    _, mu = _logistic(x, y)
    one = _cr2(x, y, mu, source) + _cr2(x, y, mu, person)
    assert np.linalg.eigvalsh(one - _cr2(x, y, mu, source * 1000 + person)).min() <= 0
    cov, _ = glm_two_way_cov(result, source, person)
    np.testing.assert_allclose(cov, one, rtol=1e-7)

"""Judgments from several people: intervals clustered by source and by annotator
(Cameron-Gelbach-Miller), through ``analyze`` on small stores, checked against statsmodels'
two-way cluster-robust OLS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.sandwich_covariance import cov_cluster_2groups

from oversight.analysis import analyze
from oversight.analysis._twoway import two_way_fit
from oversight.cli import main

from .helpers import RunBuilder

RIGHT, WRONG = 0.8, 0.2


def _oracle(x: np.ndarray, y: np.ndarray, source: np.ndarray, person: np.ndarray) -> object:
    """statsmodels' CGM two-way estimate: OLS, cov_type="cluster" with two group columns
    (CR1 per term, t with min(G) - 1 df)."""
    return sm.OLS(y, x).fit(
        cov_type="cluster", cov_kwds={"groups": np.column_stack([source, person])}, use_t=True
    )


@pytest.mark.parametrize("seed", [0, 1, 2])  # seed 2: a negative two-way variance
def test_the_two_way_variance_is_statsmodels_cgm(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    source, person = rng.integers(0, 15, n), rng.integers(0, 6, n)
    x = np.column_stack([np.ones(n), rng.random(n) < 0.5, rng.normal(size=n)])
    y = x @ [0.5, 0.2, 0.1] + rng.normal(size=15)[source] + rng.normal(size=6)[person]
    y += rng.normal(size=n)
    ref = _oracle(x, y, source, person)
    both, by_source, by_person = cov_cluster_2groups(sm.OLS(y, x).fit(), source, person)
    assert np.allclose(ref.cov_params(), both)
    for j in range(3):
        fit = two_way_fit(x, y, source, person, np.eye(3)[j])
        assert fit.df == ref.df_resid_inference == 5
        if both[j, j] > 0:
            assert fit.se == pytest.approx(ref.bse[j], rel=1e-10)
            assert fit.interval() == pytest.approx(tuple(ref.conf_int()[j]), rel=1e-10)
        else:  # the subtraction left no variance: both one-way terms, never less
            assert fit.se**2 == pytest.approx(by_source[j, j] + by_person[j, j], rel=1e-10)


def _study(run: RunBuilder, *, people: list[str | None], seed: int = 0) -> np.ndarray:
    """8 sources of 3 questions, each judged under unassisted and debate; between
    subjects: ``people[:half]`` judge unassisted, the rest debate (round robin). A person
    of None is an LLM judge. Returns per judgment (source, person code, condition, right)."""
    rng = np.random.default_rng(seed)
    half = len(people) // 2
    skill = rng.normal(0, 0.8, len(people))
    rows = []
    for s in range(8):
        for i in range(3):
            q = run.question(f"q{s}-{i}", source=f"s{s}")
            for c, condition in enumerate(("unassisted", "debate")):
                k = c * half + (3 * s + i) % half
                right = rng.random() < 1 / (1 + np.exp(-(0.3 + 0.6 * c + skill[k])))
                run.judge(
                    run.transcript(q, condition=condition),
                    [RIGHT, WRONG] if right else [WRONG, RIGHT],
                    judge="human" if people[k] else "llm",
                    kind="human" if people[k] else "llm",
                    annotator=people[k],
                )
                rows.append((s, k, c, float(right)))
    return np.array(rows)


def test_a_condition_judged_by_people_gets_an_interval_over_sources_and_annotators(
    run: RunBuilder,
) -> None:
    rows = _study(run, people=["ann1", "ann2", "ann3", "ann4", "ann5", "ann6"])
    result = analyze(run.path, n_bootstrap=50)
    for c, name in enumerate(("unassisted", "debate")):
        (g,) = (g for g in result.groups if g.by["condition"] == name)
        mine = rows[:, 2] == c
        y = rows[mine, 3]
        ref = _oracle(np.ones((y.size, 1)), y, rows[mine, 0], rows[mine, 1])
        assert g.ci_method == "two-way CR1 over 8 sources and 3 annotators, t(2 df)"
        # A share's standard error is never below the independent-judgments one.
        se = max(ref.bse[0], np.sqrt(y.mean() * (1 - y.mean()) / y.size))
        half = stats.t.ppf(0.975, ref.df_resid_inference) * se
        assert g.ci95 == pytest.approx((max(y.mean() - half, 0.0), min(y.mean() + half, 1.0)))


def test_assisted_minus_unassisted_by_people_is_clustered_by_annotator(
    run: RunBuilder,
) -> None:
    rows = _study(run, people=["ann1", "ann2", "ann3", "ann4", "ann5", "ann6"], seed=3)
    (c,) = analyze(run.path, n_bootstrap=50, multiplicity="none").comparisons
    assert c.design == "paired"  # the same questions, but each side by other people
    # One judgment per question and condition: the difference of the two means, fitted on
    # the judgments with each one's source and annotator.
    x = np.column_stack([rows[:, 2], 1 - rows[:, 2]])
    ref = _oracle(x, rows[:, 3], rows[:, 0], rows[:, 1])
    t = ref.t_test(np.array([[1.0, -1.0]]))
    assert c.difference == pytest.approx(float(t.effect[0]))
    half = stats.t.ppf(0.975, 4) * float(t.sd[0, 0])
    assert c.ci95 == pytest.approx((c.difference - half, c.difference + half))
    # 8 sources, 6 annotators, each of whom judged one condition: min(8 - 1, 6 - 2).
    assert c.df == 4
    assert c.p_value == pytest.approx(2 * stats.t.sf(abs(float(t.tvalue[0, 0])), 4))
    assert c.test == "two-way (sources, annotators) CR1 t-test"
    assert c.ci_method == "two-way CR1 over 8 sources and 6 annotators, t(4 df)"


def test_llm_judgments_keep_the_intervals_over_sources(run: RunBuilder) -> None:
    _study(run, people=[None, None])
    result = analyze(run.path, n_bootstrap=50)
    assert {g.ci_method for g in result.groups} == {"CR2, t(Bell-McCaffrey df)"}
    (c,) = result.comparisons
    assert c.test == "sign-flip permutation over sources" and c.ci_method.startswith("CR2")


def test_the_markdown_report_says_how_a_comparison_by_people_was_tested(
    run: RunBuilder, tmp_path: Path
) -> None:
    _study(run, people=["ann1", "ann2", "ann3", "ann4"])
    assert main(["report", str(run.path), "--markdown", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "two-way CR1 over 8 sources and 4 annotators, t(2 df)" in text
    assert "or with judgments from two or more annotators a t over sources and annotators" in text

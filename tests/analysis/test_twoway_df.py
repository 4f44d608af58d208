"""The words of a two-way interval state the degrees of freedom the fit used: an LLM judge
pooled with people is one more cluster, and too few annotators say so."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from oversight.analysis import analyze

from .helpers import RunBuilder
from .test_twoway import _oracle, _study


def test_an_llm_judge_pooled_with_people_counts_in_the_stated_df(run: RunBuilder) -> None:
    # Each condition: two people and one LLM judge, pooled on purpose.
    rows = _study(run, people=["ann1", "ann2", None, "ann3", "ann4", None])
    result = analyze(run.path, by="condition", pool_judges=True, n_bootstrap=50)
    for c, name in enumerate(("unassisted", "debate")):
        (g,) = (g for g in result.groups if g.by["condition"] == name)
        mine = rows[:, 2] == c
        y = rows[mine, 3]
        ref = _oracle(np.ones((y.size, 1)), y, rows[mine, 0], rows[mine, 1])
        # 8 sources, 2 people and the LLM judge as 3 clusters of who judged: min(7, 2).
        assert ref.df_resid_inference == 2
        assert g.ci_method == "two-way CR2 over 8 sources and 2 annotators, t(2 df)"
        se = max(ref.bse[0], np.sqrt(y.mean() * (1 - y.mean()) / y.size))
        half = stats.t.ppf(0.975, 2) * se
        assert g.ci95 == pytest.approx((max(y.mean() - half, 0.0), min(y.mean() + half, 1.0)))


def test_two_people_one_condition_each_say_too_few_annotators(run: RunBuilder) -> None:
    _study(run, people=["ann1", "ann2"])  # ann1 judged unassisted, ann2 debate
    (c,) = analyze(run.path, n_bootstrap=50).comparisons
    assert c.ci95 is None
    assert c.ci_method == (
        "no interval: too few annotators for a two-way interval (2, t(0 df)); "
        "--cluster sources gives one about these people"
    )
    (alone,) = analyze(run.path, n_bootstrap=50, cluster="sources").comparisons
    assert alone.ci95 is not None

"""Reviewer's checks of the two-way (sources, annotators) intervals at their edges."""

from __future__ import annotations

import numpy as np
import pytest

from oversight.analysis import analyze

from .helpers import RunBuilder

RIGHT, WRONG = [0.8, 0.2], [0.2, 0.8]


def test_gap_closed_of_one_person_per_condition_is_not_called_unbounded(run: RunBuilder) -> None:
    """Three people, each judging one of unassisted, debate and expert: the two-way fit has
    no degrees of freedom left (3 annotators - 3 conditions), so there is no interval, and
    the report must not blame E - U (clearly positive here) for an 'unbounded' one."""
    rng = np.random.default_rng(0)
    for s in range(8):
        for i in range(3):
            q = run.question(f"q{s}-{i}", source=f"s{s}")
            for k, condition in enumerate(("unassisted", "debate", "expert")):
                right = rng.random() < (0.4, 0.6, 0.95)[k]
                run.judge(
                    run.transcript(q, condition=condition),
                    RIGHT if right else WRONG,
                    judge="human",
                    kind="human",
                    annotator=f"ann{k}",
                )
    result = analyze(run.path, n_bootstrap=50, compare_pairs=[("debate", "unassisted")])
    (c,) = result.comparisons
    assert c.expert_minus_baseline is not None and c.expert_minus_baseline > 0.5
    assert c.ci_method is not None and "too few annotators" in c.ci_method
    assert c.gap_closed_ci95 is None and c.gap_closed_bounded is None
    assert c.assisted_minus_baseline_ci95 is None and c.expert_minus_baseline_ci95 is None
    assert not [w for w in result.warnings if "unbounded" in w]
    # Over sources alone (about these three people) the interval is there, as before.
    (alone,) = analyze(
        run.path, n_bootstrap=50, compare_pairs=[("debate", "unassisted")], cluster="sources"
    ).comparisons
    assert alone.gap_closed_bounded is True


def test_an_unpaired_comparison_on_other_sources_takes_two_df_from_the_sources(
    run: RunBuilder,
) -> None:
    """metrics.md: each source holds one condition (an unpaired comparison on other
    sources' questions), so both means are estimated between sources: min(12 - 2, 12 - 1)."""
    rng = np.random.default_rng(1)
    for s in range(6):
        for i in range(4):
            for k, condition in enumerate(("unassisted", "debate")):
                q = run.question(f"q{k}-{s}-{i}", source=f"s{k}-{s}")
                run.judge(
                    run.transcript(q, condition=condition),
                    RIGHT if rng.random() < 0.6 else WRONG,
                    judge="human",
                    kind="human",
                    annotator=f"ann{(4 * s + i) % 12}",
                )
    (c,) = analyze(run.path, n_bootstrap=50, multiplicity="none").comparisons
    assert c.design == "unpaired"
    assert c.df == 10
    assert c.ci_method == "two-way CR2 over 12 sources and 12 annotators, t(10 df)"


def test_gee_of_people_who_each_judged_one_condition_takes_the_reports_df(
    run: RunBuilder,
) -> None:
    """Between subjects (each person judged one condition), the condition effect is
    estimated between people: the report's comparison takes a t on min(G_source - 1,
    G_people - 2) df, and --model gee's two-way fit must not claim one df more."""
    pytest.importorskip("statsmodels")
    rng = np.random.default_rng(2)
    for s in range(8):
        for i in range(4):
            q = run.question(f"q{s}-{i}", source=f"s{s}")
            for k, condition in enumerate(("unassisted", "debate")):
                right = rng.random() < (0.5, 0.7)[k]
                run.judge(
                    run.transcript(q, condition=condition),
                    RIGHT if right else WRONG,
                    judge="human",
                    kind="human",
                    annotator=f"ann{k}-{(4 * s + i) % 4}",
                )
    result = analyze(run.path, n_bootstrap=20, model="gee", multiplicity="none")
    (c,) = result.comparisons
    assert c.df == 6  # 8 sources, 8 people (4 per condition): min(8 - 1, 8 - 2)
    assert result.model is not None
    assert "t with 6 df" in result.model.method


def test_gee_of_two_people_who_each_judged_one_condition_gives_no_interval(
    run: RunBuilder,
) -> None:
    """Two people, one per condition: no df is left for a two-way t (the report's
    comparison gives no interval); GEE gave t(1) intervals before."""
    pytest.importorskip("statsmodels")
    rng = np.random.default_rng(5)
    for s in range(8):
        for i in range(4):
            q = run.question(f"q{s}-{i}", source=f"s{s}")
            for k, condition in enumerate(("unassisted", "debate")):
                run.judge(
                    run.transcript(q, condition=condition),
                    RIGHT if rng.random() < (0.5, 0.7)[k] else WRONG,
                    judge="human",
                    kind="human",
                    annotator=f"ann{k}",
                )
    result = analyze(run.path, n_bootstrap=20, model="gee", multiplicity="none")
    (c,) = result.comparisons
    assert c.ci95 is None and c.ci_method is not None and "too few annotators" in c.ci_method
    assert result.model is not None
    assert all(t.ci95 is None and t.p_value is None for t in result.model.terms)
    assert any("too few people for a two-way fit" in n for n in result.model.notes)

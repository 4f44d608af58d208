"""Comparisons between any conditions, few-cluster intervals, gap closed, Holm: through
``analyze`` on small stores, checked against statsmodels, scipy and sklearn."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from oversight.analysis import analyze
from oversight.cli import main
from transcripts.errors import ConfigError

from .helpers import RunBuilder

RIGHT, WRONG = 0.8, 0.2


def _paired_run(run: RunBuilder, seed: int = 0, sources: int = 6) -> tuple[np.ndarray, ...]:
    """``sources`` sources of 3 questions, judged under unassisted and debate."""
    rng = np.random.default_rng(seed)
    u = rng.random((sources, 3)) < 0.55
    a = rng.random((sources, 3)) < 0.75
    for s in range(sources):
        for i in range(3):
            q = run.question(f"q{s}-{i}", source=f"s{s}")
            run.judge(
                run.transcript(q, condition="unassisted"),
                [RIGHT, WRONG] if u[s, i] else [WRONG, RIGHT],
            )
            run.judge(
                run.transcript(q, condition="debate"), [RIGHT, WRONG] if a[s, i] else [WRONG, RIGHT]
            )
    return u.astype(float), a.astype(float)


def test_a_paired_comparison_is_statsmodels_cluster_t_and_scipys_sign_flip(
    run: RunBuilder,
) -> None:
    u, a = _paired_run(run)
    (c,) = analyze(run.path, n_bootstrap=50).comparisons
    assert c.design == "paired" and c.n_questions == 18 and c.n_clusters == 6
    d = (a - u).ravel()
    groups = np.repeat(np.arange(6), 3)
    assert c.difference == pytest.approx(d.mean())
    # Equal clusters: CR2 with Bell-McCaffrey df is statsmodels' cluster-robust t(C - 1).
    ref = sm.OLS(d, np.ones((18, 1))).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    assert c.ci95 == pytest.approx(tuple(ref.conf_int()[0]))
    assert c.df == pytest.approx(5.0)
    # The headline p-value: the exact sign-flip test over the sources' total differences.
    totals = (a - u).sum(axis=1)
    flip = stats.permutation_test((totals,), np.sum, permutation_type="samples", n_resamples=np.inf)
    assert c.p_value == pytest.approx(flip.pvalue)
    assert c.test == "sign-flip permutation over sources"
    assert c.mcnemar is not None  # kept, labelled unclustered in the table
    assert "CR2" in c.ci_method


def test_an_unpaired_comparison_is_the_hc3_regression_with_one_question_per_source(
    run: RunBuilder,
) -> None:
    rng = np.random.default_rng(5)
    scores = {"debate": rng.random(14) < 0.8, "consultancy": rng.random(11) < 0.6}
    for cond, right in scores.items():
        for i, r in enumerate(right):
            run.item(f"{cond}-{i}", RIGHT if r else WRONG, condition=cond)
    (c,) = analyze(run.path, n_bootstrap=50).comparisons
    assert (c.assisted, c.baseline, c.design) == ("debate", "consultancy", "unpaired")
    assert (c.n_questions, c.n_questions_baseline) == (14, 11)
    y = np.concatenate([scores["debate"], scores["consultancy"]]).astype(float)
    x = np.stack([np.ones(25), np.r_[np.ones(14), np.zeros(11)]], axis=1)
    ref = sm.OLS(y, x).fit(cov_type="HC3")  # CR3 with one question per source is HC3
    assert c.difference == pytest.approx(ref.params[1])
    assert c.df is not None
    half = stats.t.ppf(0.975, c.df) * ref.bse[1]
    assert c.ci95 == pytest.approx((ref.params[1] - half, ref.params[1] + half))
    assert c.p_value == pytest.approx(2 * stats.t.sf(abs(ref.tvalues[1]), c.df))
    assert c.mcnemar is None and c.test == "CR3 cluster-jackknife t-test"
    assert c.ci_method.startswith("CR3")


def test_debate_is_compared_with_consultancy_in_the_same_setting_and_p_values_are_holm(
    run: RunBuilder,
) -> None:
    rng = np.random.default_rng(1)
    for cond in ("human-debate", "human-consultancy", "ai-debate", "ai-consultancy"):
        protocol = cond.split("-")[1]
        for i in range(8):
            run.item(
                f"{cond}{i}",
                RIGHT if rng.random() < 0.7 else WRONG,
                condition=cond,
                protocol=protocol,
            )
    result = analyze(run.path, n_bootstrap=50)
    pairs = [(c.assisted, c.baseline) for c in result.comparisons]
    assert pairs == [("ai-debate", "ai-consultancy"), ("human-debate", "human-consultancy")]
    raw = [c.p_value for c in result.comparisons]
    assert [c.p_adjusted for c in result.comparisons] == pytest.approx(
        list(multipletests(raw, method="holm")[1])
    )
    none = analyze(run.path, n_bootstrap=50, multiplicity="none")
    assert [c.p_adjusted for c in none.comparisons] == raw
    chosen = analyze(run.path, n_bootstrap=50, compare_pairs=["human-debate,ai-debate"])
    assert [(c.assisted, c.baseline) for c in chosen.comparisons] == [("human-debate", "ai-debate")]
    based = analyze(run.path, n_bootstrap=50, baseline="ai-consultancy")
    assert {c.baseline for c in based.comparisons} == {"ai-consultancy"}
    assert len(based.comparisons) == 3


def test_bad_compare_and_baseline_say_what_exists(
    run: RunBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    run.item("q", 0.9, condition="debate")
    with pytest.raises(ConfigError, match="conditions: debate"):
        analyze(run.path, compare_pairs=["debate,nope"])
    with pytest.raises(ConfigError, match="two different conditions as A,B"):
        analyze(run.path, compare_pairs=["debate"])
    assert main(["report", str(run.path), "--baseline", "nope"]) == 1
    assert "'nope', which is not among" in capsys.readouterr().err


def test_a_slice_with_one_source_has_no_interval_whatever_the_group_has(
    run: RunBuilder,
) -> None:
    for i in range(6):
        run.item(f"q{i}", 0.9 if i % 2 else 0.3, source=f"s{i}", metadata={"judge_turns": 2})
    run.item("odd", 0.9, source="s0", metadata={"judge_turns": 17})
    (g,) = analyze(run.path, n_bootstrap=50).groups
    assert g.ci95 is not None and g.n_clusters == 6
    odd = next(s for s in g.by_rounds if s.value == 17)
    assert odd.n == 1 and odd.n_clusters == 1 and odd.ci95 is None
    assert "CR2" in g.ci_method


def test_a_paired_comparison_says_which_questions_it_left_out(run: RunBuilder) -> None:
    # Paired on the shared questions, the comparison silently dropped the questions
    # judged under one condition only: "questions A/B" read 6/6 with 8 debate questions.
    for i in range(8):
        run.item(f"q{i}", RIGHT if i % 2 else WRONG, condition="debate", source=f"s{i}")
        if i < 6:
            run.item(f"q{i}", WRONG, condition="unassisted", source=f"s{i}")
    result = analyze(run.path, n_bootstrap=50)
    (c,) = result.comparisons
    assert c.design == "paired" and c.n_questions == c.n_questions_baseline == 6
    (note,) = [w for w in result.warnings if w.startswith("paired comparisons")]
    assert note.endswith("left out of them: debate vs unassisted (judge=j) 2/0")


@pytest.mark.parametrize("sources", [4, 60])
def test_a_group_right_every_time_gets_clopper_pearson_with_few_or_many_sources(
    run: RunBuilder, sources: int
) -> None:
    # From 50 sources on the bootstrap is used, and resampling identical scores gave a
    # zero-width [100.0, 100.0] interval (and Brier [0.020, 0.020]) where 4 sources gave
    # Clopper-Pearson (and no Brier interval).
    for i in range(sources):
        run.item(f"q{i}", 0.9, source=f"s{i}")
    (g,) = analyze(run.path, n_bootstrap=50).groups
    ref = stats.binomtest(sources, sources).proportion_ci(method="exact")
    assert g.accuracy == 1.0 and g.ci95 == pytest.approx((ref.low, ref.high))
    # ci_method said "CR2, t(...)" or "cluster bootstrap" for this Clopper-Pearson interval.
    assert g.ci_method == f"Clopper-Pearson over {sources} sources (every judgment right)"
    assert g.brier == pytest.approx(0.02) and g.brier_ci95 is None
    assert g.by_gold_position[0].ci95 == pytest.approx((ref.low, ref.high))


def test_a_group_of_ties_with_many_sources_says_its_interval_is_cr2(run: RunBuilder) -> None:
    # Every judgment a tie (half right) on 60 sources: the scores do not vary, so the
    # interval is CR2's (the bootstrap's would have zero width), but ci_method said
    # "cluster bootstrap (percentile)".
    for i in range(60):
        run.item(f"q{i}", 0.5, source=f"s{i}")
    (g,) = analyze(run.path, n_bootstrap=50).groups
    assert g.accuracy == 0.5 and g.ci95 is not None and g.ci95[0] < 0.5 < g.ci95[1]
    assert g.ci_method == "CR2, t(Bell-McCaffrey df)"


@pytest.mark.parametrize("sources", [4, 60])
@pytest.mark.parametrize("paired", [True, False])
def test_a_comparison_without_variation_has_no_interval_with_few_or_many_sources(
    run: RunBuilder, sources: int, paired: bool
) -> None:
    # Both conditions right on every question: from 50 sources on this printed a
    # zero-width CI [+0.0, +0.0] pp "cluster bootstrap", with fewer sources no interval.
    for i in range(sources):
        run.item(f"q{i}", RIGHT, condition="unassisted", source=f"s{i}")
        run.item(f"q{i}" if paired else f"r{i}", RIGHT, condition="debate", source=f"s{i}")
    (c,) = analyze(run.path, n_bootstrap=50).comparisons
    assert c.design == ("paired" if paired else "unpaired") and c.difference == 0.0
    assert c.ci95 is None and c.ci_method == "no interval: no variation between sources"


def test_gap_closed_is_unbounded_when_the_expert_is_not_clearly_better(
    run: RunBuilder,
) -> None:
    rng = np.random.default_rng(2)
    for s in range(6):
        for i in range(2):
            q = run.question(f"q{s}{i}", source=f"s{s}")
            for cond, p in (("unassisted", 0.6), ("debate", 0.7), ("expert", 0.65)):
                right = rng.random() < p
                run.judge(
                    run.transcript(q, condition=cond), [RIGHT, WRONG] if right else [WRONG, RIGHT]
                )
    result = analyze(run.path, n_bootstrap=50)
    (c,) = [c for c in result.comparisons if c.expert == "expert"]
    assert c.assisted_minus_baseline is not None and c.expert_minus_baseline is not None
    assert c.assisted_minus_baseline_ci95 is not None
    assert c.gap_closed_bounded is False and c.gap_closed_ci95 is None
    from oversight.report._tables import build_tables

    gap = next(t for t in build_tables(result) if t.title.startswith("Gap closed"))
    assert gap.rows[0][-1] == "unbounded"


def test_an_unpaired_side_from_one_source_gets_no_interval_and_no_p_value(
    run: RunBuilder,
) -> None:
    run.item("a0", WRONG, condition="debate", source="s0")
    run.item("b0", RIGHT, condition="consultancy", source="s1")
    run.item("b1", RIGHT, condition="consultancy", source="s2")
    (c,) = analyze(run.path, n_bootstrap=50).comparisons
    assert c.design == "unpaired" and c.difference == pytest.approx(-1.0)
    assert c.ci95 is None and c.p_value is None
    assert c.ci_method == "no interval: a condition has questions from 1 source (need 2 each)"


def test_a_value_that_rounds_to_zero_is_never_printed_as_minus_zero() -> None:
    """The last bits of a difference near 0 depend on the numpy build: its sign must not
    show in the report."""
    from oversight.report._tables import ci, num, pct, pp, signed_num

    assert pp(-1e-12) == pp(1e-12) == "+0.0 pp"
    assert ci((-0.5, -1e-12), signed=True) == "[-50.0, +0.0]"
    assert ci((-0.5, -1e-12)) == "[-50.0, 0.0]"
    assert num(-1e-9) == "0.000" and pct(-1e-9) == "0.0%"
    assert pp(-0.001) == "-0.1 pp"  # a real negative keeps its sign
    assert signed_num(-1e-9, 3) == "+0.000" and signed_num(-0.25, 2) == "-0.25"

"""Balanced consultancy accuracy, binary Brier, agreement with every judgment, the optional
model and power planning, each against sklearn, krippendorff or statsmodels."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from sklearn.metrics import balanced_accuracy_score, brier_score_loss, cohen_kappa_score
from statsmodels.stats.power import NormalIndPower

from oversight.analysis import analyze, icc_from_scores, plan_sample_size
from oversight.cli import main
from transcripts.errors import ConfigError

from .helpers import RunBuilder


def test_consultancy_balanced_accuracy_is_sklearns_and_binary_brier_is_half(
    run: RunBuilder,
) -> None:
    rng = np.random.default_rng(0)
    honest, agrees, p_gold = [], [], []
    for i in range(30):
        q = run.question(f"q{i}", source=f"s{i % 10}")
        side = int(rng.random() < 0.3)  # 1: the consultant argued gold (answer 0)
        t = run.transcript(q, condition="consultancy", assignment={"Consultant": 0 if side else 1})
        p = float(rng.choice([0.1, 0.3, 0.7, 0.9]))
        run.judge(t, [p, 1 - p])
        honest.append(side)
        agrees.append(int((p > 0.5) == bool(side)))  # the judge sided with the consultant
        p_gold.append(p)
    (g,) = analyze(run.path, n_bootstrap=200).groups
    assert g.balanced_accuracy == pytest.approx(balanced_accuracy_score(honest, agrees))
    assert g.balanced_accuracy_ci95 is not None
    assert g.brier_binary == pytest.approx(brier_score_loss(np.ones(30), p_gold))
    assert g.brier == pytest.approx(2 * g.brier_binary)
    assert g.ece_ci95 is not None and g.ece_ci95[0] <= g.ece <= g.ece_ci95[1]  # type: ignore[operator]


def _consultancy(run: RunBuilder, honest_right: bool, dishonest_right: bool, n: int) -> None:
    """Consultancies on ``n`` sources, honest on even ones: every judgment of a side right
    or every one wrong."""
    for i in range(n):
        side = i % 2 == 0  # the consultant argued gold (answer 0) on even sources
        right = honest_right if side else dishonest_right
        q = run.question(f"q{i}", source=f"s{i}")
        t = run.transcript(q, condition="consultancy", assignment={"Consultant": 0 if side else 1})
        run.judge(t, [0.9, 0.1] if right else [0.1, 0.9])


@pytest.mark.parametrize(
    ("honest_right", "dishonest_right", "sources"),
    [(True, True, 12), (True, False, 12), (False, False, 12), (True, True, 60)],
)
def test_balanced_accuracy_without_variation_on_either_side_is_clopper_pearson_per_side(
    run: RunBuilder, honest_right: bool, dishonest_right: bool, sources: int
) -> None:
    # Every judgment right on both sides (or each side all one way) gave balanced accuracy
    # 100.0% and no interval at all; the report's rule for a share every judgment scored
    # alike is Clopper-Pearson with each source counted once. Balanced accuracy is the mean
    # of the two sides' accuracies: each side's Clopper-Pearson at 97.5% (Bonferroni, so
    # both hold together at 95%), the mean of their ends.
    from scipy import stats

    _consultancy(run, honest_right, dishonest_right, sources)
    (g,) = analyze(run.path, n_bootstrap=200).groups
    half = sources // 2

    def side(right: bool) -> tuple[float, float]:
        ci = stats.binomtest(half if right else 0, half).proportion_ci(0.975, method="exact")
        return ci.low, ci.high

    (lh, hh), (ld, hd) = side(honest_right), side(dishonest_right)
    assert g.balanced_accuracy == (honest_right + dishonest_right) / 2
    assert g.balanced_accuracy_ci95 == pytest.approx(((lh + ld) / 2, (hh + hd) / 2))


def test_balanced_accuracy_with_one_side_all_right_combines_its_clopper_pearson_with_cr2(
    run: RunBuilder,
) -> None:
    # Honest side right every time, the other side varying: CR2 of the two means saw no
    # variation on the honest side and gave an interval as if its accuracy were known.
    import statsmodels.api as sm
    from scipy import stats

    wrong_on = {1, 5, 9, 13}  # dishonest consultancies (odd sources) the judge got wrong
    for i in range(24):
        side = i % 2 == 0
        q = run.question(f"q{i}", source=f"s{i}")
        t = run.transcript(q, condition="consultancy", assignment={"Consultant": 0 if side else 1})
        run.judge(t, [0.1, 0.9] if i in wrong_on else [0.9, 0.1])
    (g,) = analyze(run.path, n_bootstrap=200).groups
    honest = stats.binomtest(12, 12).proportion_ci(0.975, method="exact")
    dishonest = np.array([0.0 if i in wrong_on else 1.0 for i in range(1, 24, 2)])
    # One judgment per source: CR2 is HC2, its Bell-McCaffrey df n - 1.
    fit = sm.OLS(dishonest, np.ones(12)).fit(cov_type="HC2", use_t=True)
    assert fit.df_resid == 11
    low, high = fit.conf_int(0.025)[0]
    assert g.balanced_accuracy_ci95 == pytest.approx(
        ((honest.low + low) / 2, (honest.high + min(high, 1.0)) / 2)
    )


def test_agreement_keeps_every_judgment_and_matches_krippendorff_and_sklearn(
    run: RunBuilder,
) -> None:
    rng = np.random.default_rng(1)
    pairs_a, pairs_b = [], []
    units: list[list[float]] = []
    for i in range(24):
        t = run.transcript(run.question(f"q{i}", source=f"s{i % 8}"), condition="debate")
        a = [int(rng.random() < 0.5)]
        b = [a[0] if rng.random() < 0.8 else 1 - a[0]]
        if i % 6 == 0:  # judge a judged this transcript twice (another annotator)
            a.append(int(rng.random() < 0.5))
        for k, v in enumerate(a):
            run.judge(
                t,
                [0.9, 0.1] if v == 0 else [0.1, 0.9],
                judge="a",
                kind="human",
                annotator=f"person{k}",
            )
        run.judge(t, [0.8, 0.2] if b[0] == 0 else [0.2, 0.8], judge="b")
        units.append([*map(float, a), *map(float, b)])
        for va in a:
            pairs_a.append(va)
            pairs_b.append(b[0])
    ag = analyze(run.path, n_bootstrap=300).agreement
    assert ag is not None and ag.n_judgments == 28 + 24 and ag.n_transcripts == 24
    matrix = np.full((3, 24), np.nan)  # raters (slots) x units
    for u, values in enumerate(units):
        matrix[: len(values), u] = values
    assert ag.alpha == pytest.approx(
        krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    )
    (pair,) = ag.pairs
    assert pair.n == 28 and pair.n_transcripts == 24
    assert pair.kappa == pytest.approx(cohen_kappa_score(pairs_a, pairs_b))
    assert ag.alpha_ci95 is not None and ag.alpha_ci95[0] < ag.alpha < ag.alpha_ci95[1]
    assert pair.kappa_ci95 is not None and pair.kappa_ci95[0] < pair.kappa < pair.kappa_ci95[1]


def test_kappa_that_no_resample_can_move_has_no_interval(run: RunBuilder) -> None:
    # Judge b always says the first answer: kappa is 0 in every resample (sklearn agrees on
    # the value), and the report printed 0.000 [0.00, 0.00] as if it were measured exactly.
    a_says, b_says = [], []
    for i in range(8):
        t = run.transcript(run.question(f"q{i}", source=f"s{i}"))
        a = i % 3 == 0
        run.judge(t, [0.2, 0.8] if a else [0.8, 0.2], judge="a")
        run.judge(t, [0.8, 0.2], judge="b")
        a_says.append(int(a))
        b_says.append(0)
    ag = analyze(run.path, n_bootstrap=200).agreement
    assert ag is not None
    (pair,) = ag.pairs
    assert pair.kappa == pytest.approx(cohen_kappa_score(a_says, b_says)) == 0.0
    assert pair.kappa_ci95 is None


def test_the_gee_model_is_statsmodels_gee_on_the_same_frame(run: RunBuilder) -> None:
    rng = np.random.default_rng(2)
    rows = []
    for s in range(12):
        for i in range(4):
            q = run.question(f"q{s}-{i}", source=f"s{s}")
            for cond, p in (("unassisted", 0.55), ("debate", 0.8)):
                order = [0, 1] if i % 2 else [1, 0]
                rounds = int(rng.integers(1, 4))
                right = rng.random() < p
                t = run.transcript(q, condition=cond, order=order, metadata={"judge_turns": rounds})
                run.judge(t, [0.8, 0.2] if right else [0.2, 0.8])
                rows.append((float(right), cond, rounds, float(order.index(0)), s))
    fit = analyze(run.path, n_bootstrap=50, model="gee").model
    assert fit is not None and fit.n == 96 and fit.reference == "unassisted"
    frame = pd.DataFrame(rows, columns=["right", "condition", "rounds", "gold_position", "source"])
    frame["rounds_c"] = frame["rounds"] - frame["rounds"].mean()
    frame["condition"] = pd.Categorical(frame["condition"], ["unassisted", "debate"])
    ref = smf.gee(
        "right ~ C(condition) + rounds_c + gold_position",
        groups="source",
        data=frame,
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Exchangeable(),
    ).fit(cov_type="bias_reduced")
    terms = {t.name: t for t in fit.terms}
    q = stats.t.ppf(0.975, 11)  # 12 sources
    for name in ref.params.index:
        assert terms[name].estimate == pytest.approx(ref.params[name], rel=1e-6)
        assert terms[name].se == pytest.approx(ref.bse[name], rel=1e-6)
        lo, hi = ref.params[name] - q * ref.bse[name], ref.params[name] + q * ref.bse[name]
        assert terms[name].ci95 == pytest.approx((lo, hi), rel=1e-6)
        t_stat = ref.params[name] / ref.bse[name]
        assert terms[name].p_value == pytest.approx(2 * stats.t.sf(abs(t_stat), 11), rel=1e-6)
    assert "bias-reduced (Mancl-DeRouen) robust SE, t with 11 df" in fit.method
    glmm = analyze(run.path, n_bootstrap=50, model="glmm").model
    assert glmm is not None and "source" in glmm.random_effect_sd
    assert any(t.name == "C(condition)[T.debate]" and t.estimate > 0 for t in glmm.terms)


def test_a_condition_right_every_time_has_no_gee_interval_and_says_why(run: RunBuilder) -> None:
    # Separation: the debate log-odds are infinite; GEE stopped at 28.6 with SE 0.66 and
    # the report printed [27.266, 29.866], p < 1e-16, as if it were measured.
    rng = np.random.default_rng(0)
    for i in range(20):
        q = run.question(f"q{i}", source=f"s{i % 5}")
        run.judge(run.transcript(q), [0.8, 0.2] if rng.random() < 0.6 else [0.2, 0.8])
        run.judge(run.transcript(q, condition="debate"), [0.8, 0.2])
    result = analyze(run.path, n_bootstrap=50, model="gee")
    assert result.model is not None
    terms = {t.name: t for t in result.model.terms}
    debate = terms["C(condition)[T.debate]"]
    assert debate.ci95 is None and debate.p_value is None
    assert terms["Intercept"].ci95 is not None
    assert any("every judgment under debate was right" in w for w in result.warnings)


def test_the_glmm_note_counts_every_tie_it_scores_as_wrong(run: RunBuilder) -> None:
    # A three-way tie scores 1/3 and the GLMM counts it wrong like a two-way one, but the
    # note counted only the ties scored exactly 0.5 ("2 ties" here instead of 4).
    rng = np.random.default_rng(1)
    for i in range(16):
        q = run.question(f"q{i}", answers=3, source=f"s{i % 4}")
        for cond in ("unassisted", "debate"):
            p = [0.6, 0.3, 0.1] if rng.random() < 0.6 else [0.1, 0.6, 0.3]
            if i == 0:
                p = [0.4, 0.4, 0.2]
            if i == 1:
                p = [1 / 3, 1 / 3, 1 / 3]
            run.judge(run.transcript(q, condition=cond), p)
    fit = analyze(run.path, n_bootstrap=20, model="glmm").model
    assert fit is not None
    assert "4 ties counted as wrong in the GLMM (it needs 0/1 outcomes)" in fit.notes


def test_a_gee_fit_without_estimates_leaves_them_empty_and_its_json_reads_back(
    run: RunBuilder,
) -> None:
    # Every judgment a tie: GEE gives NaN (statsmodels < 0.15) or a standard error of 0
    # (0.15: an interval of zero width and p = 0); the table printed "nan" and the JSON held
    # null for a field typed float, so it did not read back into an Analysis.
    from oversight.analysis import Analysis
    from oversight.report._tables import build_tables

    for i in range(6):
        q = run.question(f"q{i}", answers=4, source=f"s{i % 3}")
        run.judge(run.transcript(q), [0.25, 0.25, 0.25, 0.25])
        run.judge(run.transcript(q, condition="debate"), [0.4, 0.4, 0.1, 0.1])
    result = analyze(run.path, n_bootstrap=20, model="gee")
    assert result.model is not None
    terms = result.model.terms
    assert all(t.ci95 is None and t.p_value is None and t.se is None for t in terms)
    assert any("no finite estimate" in w or "standard error of 0" in w for w in result.warnings)
    assert Analysis.model_validate_json(result.model_dump_json()) == result
    table = next(t for t in build_tables(result) if t.title.startswith("Model"))
    assert all(
        row[1] == "—" or t.estimate is not None for row, t in zip(table.rows, terms, strict=True)
    )
    assert all(row[2:] == ["—", "—"] for row in table.rows)  # no interval, no p


def test_power_plan_is_statsmodels_normal_power_times_the_design_effect() -> None:
    plan = plan_sample_size(0.10, baseline_accuracy=0.7, power=0.8, icc=0.1, questions_per_source=5)
    var = 0.8 * 0.2 + 0.7 * 0.3
    ref = NormalIndPower().solve_power(
        effect_size=0.1 / np.sqrt(var / 2), alpha=0.05, power=0.8, ratio=1.0
    )
    assert plan.questions_unclustered == int(np.ceil(ref))
    assert plan.design_effect == pytest.approx(1.4)
    assert plan.questions == int(np.ceil(ref * 1.4)) and plan.sources == -(-plan.questions // 5)
    paired = plan_sample_size(0.10, baseline_accuracy=0.7, paired=True, discordance=0.2)
    assert paired.questions < plan.questions_unclustered  # pairing pays
    with pytest.raises(ConfigError, match="inside"):
        plan_sample_size(0.4, baseline_accuracy=0.7)


def test_icc_is_the_one_way_anova_estimator_from_statsmodels_anova() -> None:
    rng = np.random.default_rng(3)
    source = np.repeat(np.arange(15), rng.integers(2, 7, 15))
    scores = (rng.random(source.size) < 0.4 + 0.4 * rng.random(15)[source]).astype(float)
    frame = pd.DataFrame({"y": scores, "g": source})
    table = sm.stats.anova_lm(smf.ols("y ~ C(g)", data=frame).fit())
    msb, msw = table["mean_sq"].iloc[0], table["mean_sq"].iloc[1]
    n, k = source.size, 15
    n0 = (n - (np.bincount(source) ** 2).sum() / n) / (k - 1)
    expected = max(0.0, (msb - msw) / (msb + (n0 - 1) * msw))
    assert icc_from_scores(scores, source) == pytest.approx(expected)


def test_oversight_plan_prints_questions_and_sources(
    run: RunBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--difference", "0.1", "--icc", "0.1", "--questions-per-source", "5"]) == 0
    out = capsys.readouterr().out
    assert "291" in out and "407" in out and "82" in out and "design effect 1.40" in out
    for i in range(12):
        run.item(f"q{i}", 0.8 if i % 3 else 0.3, source=f"s{i // 3}")
    assert main(["plan", "--difference", "0.1", "--pilot", str(run.path)]) == 0
    assert "pilot" in capsys.readouterr().out
    assert (
        main(["plan", "--difference", "0.1", "--pilot", str(run.path), "--condition", "debate"])
        == 1
    )
    assert "no scored judgment under condition 'debate'" in capsys.readouterr().err

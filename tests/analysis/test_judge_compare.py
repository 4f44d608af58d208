"""Judges compared on the same transcripts: the paired accuracy difference of the report,
checked against statsmodels and scipy on the same data."""

from __future__ import annotations

import contextlib
import io
import json
import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from oversight.analysis import analyze
from oversight.cli import main

from .helpers import RunBuilder

RIGHT, WRONG, TIE = [0.8, 0.2], [0.2, 0.8], [0.5, 0.5]


def _scores(p: list[float]) -> float:
    return 1.0 if p == RIGHT else 0.0 if p == WRONG else 0.5


def _two_judges(
    run: RunBuilder, *, sources: int, per: int = 3, seed: int = 0, condition: str = "debate"
) -> tuple[np.ndarray, np.ndarray]:
    """``sources`` sources of ``per`` questions, each transcript judged by ``run-judge`` and
    by ``second`` (a re-judge); some verdicts are ties. Returns each judge's scores."""
    rng = np.random.default_rng(seed)
    choices = [RIGHT, WRONG, TIE]
    a = rng.choice(3, size=(sources, per), p=[0.55, 0.35, 0.10])
    b = rng.choice(3, size=(sources, per), p=[0.75, 0.20, 0.05])
    for s in range(sources):
        for i in range(per):
            t = run.transcript(run.question(f"q{s}-{i}", source=f"s{s}"), condition=condition)
            run.judge(t, choices[a[s, i]], judge="run-judge")
            run.judge(t, choices[b[s, i]], judge="second", metadata={"rejudge": True})
    score = np.vectorize(lambda k: _scores(choices[k]))
    return score(a).astype(float), score(b).astype(float)


def _report(*args: str) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["report", *args]) == 0
    return buf.getvalue()


def test_two_judges_on_the_same_transcripts_are_statsmodels_cluster_t_and_scipys_sign_flip(
    run: RunBuilder,
) -> None:
    first, second = _two_judges(run, sources=6)
    result = json.loads(_report(str(run.path), "--json", "--bootstrap", "50"))
    (c,) = result["judge_comparisons"]
    assert (c["condition"], c["judge_a"], c["judge_b"]) == ("debate", "run-judge", "second")
    assert (c["n_pairs"], c["n_transcripts"], c["n_clusters"]) == (18, 18, 6)
    assert (c["n_only_a"], c["n_only_b"]) == (0, 0)
    d = (first - second).ravel()  # A - B, ties counted half as in the accuracy table
    assert c["accuracy_a"] == pytest.approx(first.mean())
    assert c["accuracy_b"] == pytest.approx(second.mean())
    assert c["difference"] == pytest.approx(d.mean())
    # Equal sources: CR2 with Bell-McCaffrey df is statsmodels' cluster-robust t(C - 1).
    groups = np.repeat(np.arange(6), 3)
    ref = sm.OLS(d, np.ones((18, 1))).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    assert c["ci95"] == pytest.approx(list(ref.conf_int()[0]))
    assert c["df"] == pytest.approx(5.0)
    assert c["ci_method"] == "CR2, t(Bell-McCaffrey df)"
    # ... which is the paired t-test on the sources' mean differences.
    paired = stats.ttest_rel(first.mean(axis=1), second.mean(axis=1))
    half = stats.t.ppf(0.975, 5) * abs(d.mean()) / abs(paired.statistic)
    assert c["ci95"] == pytest.approx([d.mean() - half, d.mean() + half])
    # The p-value: the exact sign-flip test over the sources' total differences.
    totals = (first - second).sum(axis=1)
    flip = stats.permutation_test((totals,), np.sum, permutation_type="samples", n_resamples=np.inf)
    assert c["p_value"] == pytest.approx(flip.pvalue)
    assert c["p_adjusted"] == c["p_value"]  # one judge comparison: nothing to adjust
    assert c["test"] == "sign-flip permutation over sources"


def test_from_50_sources_the_interval_is_the_cluster_bootstrap(run: RunBuilder) -> None:
    first, second = _two_judges(run, sources=60, per=2, seed=3)
    (c,) = analyze(run.path, n_bootstrap=2000).judge_comparisons
    d = (first - second).ravel()
    assert c.ci_method == "cluster bootstrap (percentile)" and c.df is None
    assert c.ci95 is not None
    ref = sm.OLS(d, np.ones((d.size, 1))).fit(
        cov_type="cluster", cov_kwds={"groups": np.repeat(np.arange(60), 2)}
    )
    low, high = ref.conf_int()[0]
    # The bootstrap's ends are within a tenth of the width of the normal interval's.
    assert c.ci95[0] == pytest.approx(low, abs=0.1 * (high - low))
    assert c.ci95[1] == pytest.approx(high, abs=0.1 * (high - low))
    totals = (first - second).sum(axis=1)
    z = abs(totals.sum()) / math.sqrt((totals**2).sum())
    assert c.p_value == pytest.approx(2 * stats.norm.sf(z))


def test_pairs_are_within_a_condition_and_at_the_same_rounds_and_say_what_was_left_out(
    run: RunBuilder,
) -> None:
    for q in range(4):
        for cond in ("debate", "consultancy"):
            t = run.transcript(run.question(f"{cond}{q}", source=f"s{q}"), condition=cond)
            run.judge(t, RIGHT, judge="run-judge", rounds_seen=2)
            if cond == "debate" and q < 3:  # a re-judge of three debates, at rounds 1 and 2
                run.judge(t, WRONG, judge="second", rounds_seen=1)
                run.judge(t, WRONG if q else RIGHT, judge="second", rounds_seen=2)
    (c,) = analyze(run.path, n_bootstrap=50).judge_comparisons
    assert c.by == {"condition": "debate"}
    # Rounds 2 only: the run's judge never saw one round, so those are not pairs.
    assert (c.n_pairs, c.n_transcripts, c.n_only_a, c.n_only_b) == (3, 3, 1, 3)
    assert c.accuracy_a == 1.0 and c.accuracy_b == pytest.approx(1 / 3)
    assert c.difference == pytest.approx(2 / 3)


def test_judge_p_values_are_holm_over_judge_comparisons_and_leave_the_conditions_alone(
    run: RunBuilder,
) -> None:
    rng = np.random.default_rng(4)
    for s in range(8):
        for i in range(2):
            q = run.question(f"q{s}-{i}", source=f"s{s}")
            for cond in ("unassisted", "debate"):
                t = run.transcript(q, condition=cond)
                for judge, skill in (("a", 0.5), ("b", 0.7), ("c", 0.9)):
                    run.judge(t, RIGHT if rng.random() < skill else WRONG, judge=judge)
    result = analyze(run.path, n_bootstrap=50)
    pairs = [(c.by["condition"], c.judge_a, c.judge_b) for c in result.judge_comparisons]
    assert pairs == [
        (cond, a, b)
        for cond in ("unassisted", "debate")  # the unassisted baseline first, as everywhere
        for a, b in (("a", "b"), ("a", "c"), ("b", "c"))
    ]
    raw = [c.p_value for c in result.judge_comparisons]
    assert [c.p_adjusted for c in result.judge_comparisons] == pytest.approx(
        list(multipletests(raw, method="holm")[1])
    )
    conditions = [c.p_value for c in result.comparisons]
    assert [c.p_adjusted for c in result.comparisons] == pytest.approx(
        list(multipletests(conditions, method="holm")[1])
    )
    none = analyze(run.path, n_bootstrap=50, multiplicity="none")
    assert [c.p_adjusted for c in none.judge_comparisons] == raw


def test_the_terminal_and_markdown_reports_show_the_judge_table(
    run: RunBuilder, tmp_path: object
) -> None:
    _two_judges(run, sources=1)
    printed = _report(str(run.path))
    assert "Judges compared on the same transcripts" in printed
    # One source: no interval, and the cell says why.
    line = next(x for x in printed.splitlines() if "run-judge" in x and "second" in x)
    assert "— (1 source)" in line and " 3 " in line
    out = run.path / "md"
    _report(str(run.path), "--markdown", "--out", str(out))
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "### Judges compared on the same transcripts" in markdown
    assert "| debate | run-judge | second | 3 | 0/0 | 1 |" in markdown
    saved = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    assert saved["judge_comparisons"][0]["ci_method"] == "no interval: 1 source (need 2)"


def test_one_judge_or_no_shared_transcript_gives_no_judge_comparison(run: RunBuilder) -> None:
    run.item("q1", 0.8, judge="run-judge")
    run.item("q2", 0.8, judge="second")
    result = analyze(run.path, n_bootstrap=50)
    assert result.judge_comparisons == []
    assert "Judges compared" not in _report(str(run.path))

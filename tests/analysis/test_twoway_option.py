"""The annotator clustering's opt-out (``cluster="sources"``), and the statistics it reaches
beyond accuracy: old (over sources) numbers checked against statsmodels' one-way cluster
OLS, the default's against its two-way one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from oversight.analysis import analyze
from oversight.analysis._twoway import TEST
from oversight.cli import main
from transcripts.errors import ConfigError

from .helpers import RunBuilder
from .test_twoway import _oracle, _study

PEOPLE = ["ann1", "ann2", "ann3", "ann4", "ann5", "ann6"]


def _one_way(x: np.ndarray, y: np.ndarray, source: np.ndarray) -> object:
    """statsmodels' one-way cluster OLS (CR1, t with G - 1 df). With an intercept alone and
    sources of equal size it is CR2 with Bell-McCaffrey df, the report's rule."""
    return sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": source}, use_t=True)


def _share_interval(ref: object, y: np.ndarray) -> tuple[float, float]:
    se = max(ref.bse[0], np.sqrt(y.mean() * (1 - y.mean()) / y.size))  # type: ignore[attr-defined]
    half = stats.t.ppf(0.975, ref.df_resid_inference) * se  # type: ignore[attr-defined]
    return max(y.mean() - half, 0.0), min(y.mean() + half, 1.0)


def test_cluster_sources_gives_back_the_intervals_over_sources_alone(run: RunBuilder) -> None:
    rows = _study(run, people=PEOPLE)
    result = analyze(run.path, n_bootstrap=50, cluster="sources", multiplicity="none")
    assert result.settings.cluster == ["sources"]
    for c, name in enumerate(("unassisted", "debate")):
        (g,) = (g for g in result.groups if g.by["condition"] == name)
        mine = rows[:, 2] == c
        y = rows[mine, 3]
        ref = _one_way(np.ones((y.size, 1)), y, rows[mine, 0])
        assert g.ci_method == "CR2, t(Bell-McCaffrey df)"
        assert g.ci95 == pytest.approx(_share_interval(ref, y))
    (comparison,) = result.comparisons
    # Paired: one judgment per question and condition, d = debate - unassisted per question.
    d = rows[rows[:, 2] == 1, 3] - rows[rows[:, 2] == 0, 3]
    ref = _one_way(np.ones((d.size, 1)), d, rows[rows[:, 2] == 0, 0])
    assert comparison.test == "sign-flip permutation over sources"
    assert comparison.ci_method == "CR2, t(Bell-McCaffrey df)"
    assert comparison.ci95 == pytest.approx(tuple(ref.conf_int()[0]))  # type: ignore[attr-defined]


def test_the_default_clusters_by_sources_and_annotators(run: RunBuilder) -> None:
    rows = _study(run, people=PEOPLE)
    result = analyze(run.path, n_bootstrap=50)
    assert result.settings.cluster == ["sources", "annotators"]
    (g,) = (g for g in result.groups if g.by["condition"] == "debate")
    mine = rows[:, 2] == 1
    y = rows[mine, 3]
    assert g.ci95 == pytest.approx(
        _share_interval(_oracle(np.ones((y.size, 1)), y, rows[mine, 0], rows[mine, 1]), y)
    )


def test_report_cluster_sources_is_recorded_in_the_json_settings(
    run: RunBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(run, people=PEOPLE)
    assert main(["report", str(run.path), "--json", "--cluster", "sources"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["settings"]["cluster"] == ["sources"]
    assert {g["ci_method"] for g in report["groups"]} == {"CR2, t(Bell-McCaffrey df)"}
    assert main(["report", str(run.path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["settings"]["cluster"] == ["sources", "annotators"]
    assert all(g["ci_method"].startswith("two-way") for g in report["groups"])


def test_an_unknown_cluster_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"cluster must be 'sources' .* or 'sources,annotators'"):
        analyze(Path("nowhere"), cluster="annotators")


def _consultancy(run: RunBuilder, people: list[str], seed: int = 0) -> np.ndarray:
    """8 sources of 4 questions, consultancy, the consultant honest on half; judged by
    ``people`` round robin. Returns per judgment (source, person, honest, right)."""
    rng = np.random.default_rng(seed)
    skill = rng.normal(0, 0.8, len(people))
    out = []
    for s in range(8):
        for i in range(4):
            q = run.question(f"q{s}-{i}", source=f"s{s}")
            honest = i % 2
            t = run.transcript(
                q, condition="consultancy", roles={"consultant": "c"}, assignment={"c": 1 - honest}
            )
            k = (4 * s + i) % len(people)
            right = rng.random() < 1 / (1 + np.exp(-(0.4 + 0.5 * honest + skill[k])))
            run.judge(
                t,
                [RIGHT, WRONG] if right else [WRONG, RIGHT],
                judge="human",
                kind="human",
                annotator=people[k],
            )
            out.append((s, k, honest, float(right)))
    return np.array(out)


RIGHT, WRONG = 0.8, 0.2


def test_balanced_accuracy_by_people_is_clustered_by_source_and_annotator(
    run: RunBuilder,
) -> None:
    rows = _consultancy(run, ["a1", "a2", "a3", "a4", "a5"])
    (g,) = analyze(run.path, n_bootstrap=50).groups
    honest = rows[:, 2] == 1
    x = np.column_stack([honest, ~honest]).astype(float)
    ref = _oracle(x, rows[:, 3], rows[:, 0], rows[:, 1]).t_test(np.array([[0.5, 0.5]]))
    assert g.balanced_accuracy == pytest.approx(float(ref.effect[0]))
    half = stats.t.ppf(0.975, 4) * float(ref.sd[0, 0])  # min(8, 5) - 1 df
    lo, hi = g.balanced_accuracy - half, g.balanced_accuracy + half
    assert g.balanced_accuracy_ci95 == pytest.approx((max(lo, 0.0), min(hi, 1.0)))
    # Over sources alone, as before (and as for LLM judges).
    (alone,) = analyze(run.path, n_bootstrap=50, cluster="sources").groups
    assert alone.balanced_accuracy_ci95 != pytest.approx(g.balanced_accuracy_ci95)


def _three(run: RunBuilder, n_people: int, seed: int = 0) -> np.ndarray:
    """8 sources of 3 questions, each judged under unassisted, debate and expert by
    ``n_people`` people in turn (each judges every condition). Returns per judgment
    (source, person, condition, right)."""
    rng = np.random.default_rng(seed)
    skill = rng.normal(0, 0.5, n_people)
    out = []
    for s in range(8):
        for i in range(3):
            q = run.question(f"q{s}-{i}", source=f"s{s}")
            for c, condition in enumerate(("unassisted", "debate", "expert")):
                k = (3 * s + i + c) % n_people
                right = rng.random() < 1 / (1 + np.exp(-((-0.6, 0.4, 3.0)[c] + skill[k])))
                run.judge(
                    run.transcript(q, condition=condition),
                    [RIGHT, WRONG] if right else [WRONG, RIGHT],
                    judge="human",
                    kind="human",
                    annotator=f"ann{k}",
                )
                out.append((s, k, c, float(right)))
    return np.array(out)


def test_gap_closed_by_people_is_clustered_by_source_and_annotator(run: RunBuilder) -> None:
    from oversight.analysis._smallsample import fieller

    rows = _three(run, 6, seed=4)
    result = analyze(run.path, n_bootstrap=50, compare_pairs=[("debate", "unassisted")])
    (c,) = result.comparisons
    x = np.column_stack([rows[:, 2] == k for k in range(3)]).astype(float)
    ref = _oracle(x, rows[:, 3], rows[:, 0], rows[:, 1])
    contrasts = np.array([[-1.0, 1.0, 0.0], [-1.0, 0.0, 1.0]])  # A - U, E - U
    cov = contrasts @ ref.cov_params() @ contrasts.T  # type: ignore[attr-defined]
    au, eu = contrasts @ ref.params  # type: ignore[attr-defined]
    assert ref.df_resid_inference == 5  # type: ignore[attr-defined]
    assert np.linalg.eigvalsh(cov).min() > 0  # else both one-way terms, never less
    t = stats.t.ppf(0.975, 5)
    assert c.assisted_minus_baseline == pytest.approx(au)
    assert c.expert_minus_baseline == pytest.approx(eu)
    for got, est, var in (
        (c.assisted_minus_baseline_ci95, au, cov[0, 0]),
        (c.expert_minus_baseline_ci95, eu, cov[1, 1]),
    ):
        assert got == pytest.approx((max(est - t * var**0.5, -1), min(est + t * var**0.5, 1)))
    assert c.gap_closed_bounded and c.gap_closed_ci95 == pytest.approx(fieller(au, eu, cov, 5.0))
    # Over sources alone: CR2 of the per-question differences, as before.
    (alone,) = analyze(
        run.path, n_bootstrap=50, compare_pairs=[("debate", "unassisted")], cluster="sources"
    ).comparisons
    assert alone.gap_closed_ci95 != pytest.approx(c.gap_closed_ci95)
    d = rows[rows[:, 2] == 1, 3] - rows[rows[:, 2] == 0, 3]
    one = _one_way(np.ones((d.size, 1)), d, rows[rows[:, 2] == 0, 0])
    assert alone.assisted_minus_baseline_ci95 == pytest.approx(tuple(one.conf_int()[0]))  # type: ignore[attr-defined]


@pytest.mark.parametrize("seed", [0, 2])  # seed 2: the subtraction leaves a negative variance
def test_the_two_way_covariance_of_several_contrasts_is_three_cr2_terms(seed: int) -> None:
    from oversight.analysis._twoway import two_way_cov

    from .test_twoway import _cr2_matrix

    rng = np.random.default_rng(seed)
    n = 300
    source, person = rng.integers(0, 15, n), rng.integers(0, 6, n)
    x = np.column_stack([np.ones(n), rng.random(n) < 0.5, rng.normal(size=n)])
    y = x @ [0.5, 0.2, 0.1] + rng.normal(size=15)[source] + rng.normal(size=6)[person]
    y += rng.normal(size=n)
    by_source, by_person = _cr2_matrix(x, y, source), _cr2_matrix(x, y, person)
    both = by_source + by_person - _cr2_matrix(x, y, source * 6 + person)
    contrasts = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, -1.0]])
    _, cov, df = two_way_cov(x, y, source, person, contrasts)
    assert df == 5
    expected = contrasts @ both @ contrasts.T
    if np.linalg.eigvalsh(expected).min() <= 0:  # never less than either one-way term
        expected = contrasts @ (by_source + by_person) @ contrasts.T
    assert cov == pytest.approx(expected, rel=1e-10)


def test_judges_compared_against_people_are_clustered_by_source_and_annotator(
    run: RunBuilder,
) -> None:
    rng = np.random.default_rng(5)
    skill = rng.normal(0, 0.8, 6)
    rows = []
    for s in range(8):
        for i in range(3):
            t = run.transcript(run.question(f"q{s}-{i}", source=f"s{s}"), condition="debate")
            k = (3 * s + i) % 6
            llm = rng.random() < 0.7
            person = rng.random() < 1 / (1 + np.exp(-(0.5 + skill[k])))
            for right, judge, who in ((llm, "gpt", None), (person, "human", f"ann{k}")):
                run.judge(
                    t,
                    [RIGHT, WRONG] if right else [WRONG, RIGHT],
                    judge=judge,
                    kind="human" if who else "llm",
                    annotator=who,
                )
            rows.append((s, k, float(llm) - float(person)))
    data = np.array(rows)
    (c,) = analyze(run.path, n_bootstrap=50).judge_comparisons
    assert (c.judge_a, c.judge_b) == ("gpt", "human")
    ref = _oracle(np.ones((data.shape[0], 1)), data[:, 2], data[:, 0], data[:, 1])
    assert c.difference == pytest.approx(float(ref.params[0]))  # type: ignore[attr-defined]
    assert c.df == 5
    lo, hi = ref.conf_int()[0]  # type: ignore[attr-defined]
    assert c.ci95 == pytest.approx((max(lo, -1.0), min(hi, 1.0)))
    assert c.p_value == pytest.approx(float(ref.pvalues[0]))  # type: ignore[attr-defined]
    assert c.test == "two-way (sources, annotators) CR2 t-test"
    assert c.ci_method == "two-way CR2 over 8 sources and 6 annotators, t(5 df)"
    (alone,) = analyze(run.path, n_bootstrap=50, cluster="sources").judge_comparisons
    assert alone.test == "sign-flip permutation over sources"
    assert alone.ci_method == "CR2, t(Bell-McCaffrey df)"


def test_the_judges_table_says_when_its_p_is_two_way(run: RunBuilder, tmp_path: Path) -> None:
    test_judges_compared_against_people_are_clustered_by_source_and_annotator(run)
    assert main(["report", str(run.path), "--markdown", "--out", str(tmp_path)]) == 0
    text = " ".join((tmp_path / "report.md").read_text(encoding="utf-8").split())
    assert "where each transcript was judged by at most one of two or more people a t" in text


def _some_nameless(run: RunBuilder, nameless: str | None) -> RunBuilder:
    """As above, but the human judgment of every fourth transcript has no annotator (or
    the one name ``nameless``)."""
    rng = np.random.default_rng(5)
    for s in range(8):
        for i in range(3):
            t = run.transcript(run.question(f"q{s}-{i}", source=f"s{s}"), condition="debate")
            k = (3 * s + i) % 6
            who = nameless if (3 * s + i) % 4 == 0 else f"ann{k}"
            for judge, right in (("gpt", rng.random() < 0.7), ("human", rng.random() < 0.6)):
                run.judge(
                    t,
                    [RIGHT, WRONG] if right else [WRONG, RIGHT],
                    judge=judge,
                    kind="human" if judge == "human" else "llm",
                    annotator=who if judge == "human" else None,
                )
    return run


def test_people_of_unknown_name_count_as_the_one_person_they_are_clustered_as(
    run: RunBuilder, tmp_path: Path
) -> None:
    # Human judgments without an annotator are clustered together under their judge name,
    # as one person (the cautious guess), and that person is counted among the people: the
    # report reads exactly as if the judge name were the person's name, in the judges
    # table and the accuracy table alike ("7 annotators, t(6 df)", not "6 annotators").
    (c,) = analyze(_some_nameless(run, None).path, n_bootstrap=50).judge_comparisons
    named = _some_nameless(RunBuilder(tmp_path / "named"), "someone")
    (same,) = analyze(named.path, n_bootstrap=50).judge_comparisons
    assert c.test == same.test == TEST
    assert c.ci95 == pytest.approx(same.ci95) and c.p_value == pytest.approx(same.p_value)
    assert c.df == same.df == 6
    assert c.ci_method == same.ci_method == "two-way CR2 over 8 sources and 7 annotators, t(6 df)"
    assert main(["report", str(run.path), "--markdown", "--out", str(tmp_path / "md")]) == 0
    text = " ".join((tmp_path / "md" / "report.md").read_text(encoding="utf-8").split())
    assert "6 annotators" not in text
    assert text.count("two-way CR2 over 8 sources and 7 annotators, t(6 df)") == 2

"""Judgments from several people: intervals clustered by source and by annotator
(Cameron-Gelbach-Miller, each term CR2), through ``analyze`` on small stores, checked
against the CR2 formula written out and the one-way CR2."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from oversight.analysis import analyze
from oversight.analysis._smallsample import cr2_contrast
from oversight.analysis._twoway import two_way_fit
from oversight.cli import main

from .helpers import RunBuilder

RIGHT, WRONG = 0.8, 0.2


def _cr2_matrix(x: np.ndarray, y: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The CR2 covariance of ``b`` written out from its definition (Bell & McCaffrey
    2002): ``M (sum_g X_g' A_g e_g e_g' A_g X_g) M``, ``A_g = (I - H_gg)^(-1/2)`` by
    eigenvalues (a pseudo-inverse root where ``I - H_gg`` is singular)."""
    m = np.linalg.inv(x.T @ x)
    e = y - x @ (m @ x.T @ y)
    cov = np.zeros((x.shape[1], x.shape[1]))
    for g in np.unique(codes):
        rows = codes == g
        w, v = np.linalg.eigh(np.eye(int(rows.sum())) - x[rows] @ m @ x[rows].T)
        a = (v * np.where(w > 1e-10, w, np.inf) ** -0.5) @ v.T
        score = m @ x[rows].T @ a @ e[rows]
        cov += np.outer(score, score)
    return cov


def _cr2(x: np.ndarray, y: np.ndarray, codes: np.ndarray, c: np.ndarray) -> float:
    """The CR2 variance of ``c' b`` (:func:`_cr2_matrix`)."""
    return float(c @ _cr2_matrix(x, y, codes) @ c)


class _Oracle:
    """Two-way CR2 (CGM, each term CR2) with a t on min(G) - 1 df, written out; read like a
    statsmodels result. A contrast whose variance the subtraction leaves at or below zero
    gets V_source + V_person."""

    def __init__(self, x: np.ndarray, y: np.ndarray, source: np.ndarray, person: np.ndarray):
        self.params = np.linalg.lstsq(x, y)[0]
        self.one = _cr2_matrix(x, y, source) + _cr2_matrix(x, y, person)
        self.cov = self.one - _cr2_matrix(x, y, source * 100_000 + person)
        self.bse = np.sqrt(np.diag(self._of(np.eye(x.shape[1]))))
        self.df_resid_inference = min(np.unique(source).size, np.unique(person).size) - 1

    def _of(self, r: np.ndarray) -> np.ndarray:
        """Per row of ``r`` its own two-way variance (the diagonal is what is used)."""
        cov = r @ self.cov @ r.T
        one = r @ self.one @ r.T
        return np.where(np.diag(cov) > 0, np.diag(cov), np.diag(one)) * np.eye(r.shape[0])

    def cov_params(self) -> np.ndarray:
        return self.cov

    def conf_int(self) -> np.ndarray:
        half = stats.t.ppf(0.975, self.df_resid_inference) * self.bse
        return np.column_stack([self.params - half, self.params + half])

    @property
    def pvalues(self) -> np.ndarray:
        return 2 * stats.t.sf(np.abs(self.params) / self.bse, self.df_resid_inference)

    def t_test(self, r: np.ndarray) -> SimpleNamespace:
        effect = r @ self.params
        sd = np.sqrt(np.diag(self._of(r)))[:, None]
        return SimpleNamespace(effect=effect, sd=sd, tvalue=effect[:, None] / sd)


def _oracle(x: np.ndarray, y: np.ndarray, source: np.ndarray, person: np.ndarray) -> _Oracle:
    """:class:`_Oracle` of the fit (codes as integers)."""
    return _Oracle(x, y, np.asarray(source, dtype=np.int64), np.asarray(person, dtype=np.int64))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_two_way_variance_is_cgm_of_three_cr2_terms(seed: int) -> None:
    """V_source + V_person - V_both, each CR2 (the direct formula above, and the one-way
    CR2 of the report's other intervals for the two one-way terms); t on min(G) - 1 df."""
    rng = np.random.default_rng(seed)
    n = 300
    source, person = rng.integers(0, 15, n), rng.integers(0, 6, n)
    x = np.column_stack([np.ones(n), rng.random(n) < 0.5, rng.normal(size=n)])
    y = x @ [0.5, 0.2, 0.1] + rng.normal(size=15)[source] + rng.normal(size=6)[person]
    y += rng.normal(size=n)
    both = source * 6 + person
    for j in range(3):
        c = np.eye(3)[j]
        v_source, v_person = _cr2(x, y, source, c), _cr2(x, y, person, c)
        assert v_source == pytest.approx(cr2_contrast(x, y, source, c).se ** 2, rel=1e-10)
        assert v_person == pytest.approx(cr2_contrast(x, y, person, c).se ** 2, rel=1e-10)
        fit = two_way_fit(x, y, source, person, c)
        assert fit.df == 5
        assert fit.estimate == pytest.approx(float(np.linalg.lstsq(x, y)[0][j]), rel=1e-10)
        two_way = v_source + v_person - _cr2(x, y, both, c)
        # Where the subtraction leaves no variance: both one-way terms, never less.
        assert fit.se**2 == pytest.approx(two_way if two_way > 0 else v_source + v_person)
        t = stats.t.ppf(0.975, 5) * fit.se
        assert fit.interval() == pytest.approx((fit.estimate - t, fit.estimate + t))


def test_one_annotator_per_source_is_the_one_way_cr2() -> None:
    """When each source was judged by one person (and each person judged one source),
    sources, people and their intersection are the same clusters: the two-way interval is
    the one-way CR2 one, on G - 1 df."""
    rng = np.random.default_rng(4)
    source = np.repeat(np.arange(7), 9)
    x = np.column_stack([np.ones(source.size), rng.random(source.size) < 0.5])
    y = rng.normal(size=7)[source] + x[:, 1] * 0.3 + rng.normal(size=source.size)
    for c in (np.array([1.0, 0.0]), np.array([0.5, 0.5]), np.array([0.0, 1.0])):
        fit = two_way_fit(x, y, source, source + 100, c)
        one_way = cr2_contrast(x, y, source, c)
        assert fit.se == pytest.approx(one_way.se, rel=1e-10)
        assert fit.estimate == pytest.approx(one_way.estimate, rel=1e-12)
        assert fit.df == 6


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
        assert g.ci_method == "two-way CR2 over 8 sources and 3 annotators, t(2 df)"
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
    t = _oracle(x, rows[:, 3], rows[:, 0], rows[:, 1]).t_test(np.array([[1.0, -1.0]]))
    difference, se = float(t.effect[0]), float(t.sd[0, 0])
    assert c.difference == pytest.approx(difference)
    half = stats.t.ppf(0.975, 4) * se
    assert c.ci95 == pytest.approx((c.difference - half, c.difference + half))
    # 8 sources, 6 annotators, each of whom judged one condition: min(8 - 1, 6 - 2).
    assert c.df == 4
    assert c.p_value == pytest.approx(2 * stats.t.sf(abs(difference) / se, 4))
    assert c.test == "two-way (sources, annotators) CR2 t-test"
    assert c.ci_method == "two-way CR2 over 8 sources and 6 annotators, t(4 df)"


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
    assert "two-way CR2 over 8 sources and 4 annotators, t(2 df)" in text
    assert "or with judgments from two or more annotators a t over sources and annotators" in text

"""The worst case of the stress table: its interval accounts for choosing the worst of the
personas (max-t on the drops' joint CR2 covariance), ties, and the drop where planted;
worked by hand and checked against scipy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from oversight.analysis._bootstrap import Resampler
from oversight.analysis._stress import paired_drop, stress
from transcripts import JudgeIdentity, Judgment, Planted, Transcript, Turn

from .helpers import RunBuilder, stress_run, stress_transcript


def _personas_run(path: Path, gold: dict[str, list[float]], *, sources: int) -> None:
    """A debate run: the benign condition ``debate`` and a planted twin per persona. ``gold``:
    condition (``benign`` or a persona) -> the judge's probability on the gold answer per
    question; the questions lie in ``sources`` equal sources."""
    run = RunBuilder(path)
    base = {"protocol": "debate", "roles": {"debater": "s"}, "options": {}}
    conditions = [{"label": "debate", **base}] + [
        {"label": f"debate+{p}", **base, "plant": {"persona": p, "role": "debater"}}
        for p in gold
        if p != "benign"
    ]
    run.store.write_json("experiment.json", {"spec": {"conditions": conditions}})
    n = len(gold["benign"])
    for i in range(n):
        q = run.question(f"q{i}", source=f"s{i * sources // n}")
        for persona, probs in gold.items():
            condition = "debate" if persona == "benign" else f"debate+{persona}"
            t = stress_transcript(
                q, condition, planted=None if persona == "benign" else persona, unverified=False
            )
            run.store.transcripts.append(t)
            run.store.judgments.append(
                Judgment(
                    transcript_id=t.id,
                    run_id="test-run",
                    judge=JudgeIdentity(kind="llm", name="j"),
                    probabilities=[probs[i], 1 - probs[i]],
                )
            )


def _cr2_mean_interval(d: np.ndarray, sources: int, level: float) -> tuple[float, float]:
    """CR2 / Bell-McCaffrey t interval of the mean of ``d`` over ``sources`` equal sources,
    by hand (as in test_stress.py's first test), clipped to [-1, 1]."""
    n = d.size
    totals = (d - d.mean()).reshape(sources, n // sources).sum(axis=1)
    se = np.sqrt((totals**2 / (1 - (n // sources) / n)).sum()) / n
    half = stats.t.ppf(0.5 + level / 2, df=sources - 1) * se
    return max(-1.0, d.mean() - half), min(1.0, d.mean() + half)


def _check_max_t(
    interval: tuple[float, float] | None, diffs: list[np.ndarray], sources: int
) -> None:
    """``interval`` is the max-t interval for the largest mean of the columns ``diffs``
    (per-question drops over ``sources`` equal sources): each mean +- c times its CR2
    standard error, largest ends, with ``c`` the 95% point of max |T| for T multivariate t
    (df sources - 1, the drops' CR2 correlation) by scipy; and it is narrower than the
    Bonferroni one."""
    d = np.stack(diffs, axis=1)
    n, k = d.shape
    totals = (d - d.mean(axis=0)).reshape(sources, n // sources, k).sum(axis=1)
    cov = totals.T @ totals / (1 - (n // sources) / n) / n**2
    se, mean = np.sqrt(np.diag(cov)), d.mean(axis=0)
    assert interval is not None
    # c, from whichever persona's end gives it (an end at +-1 is clipped and says nothing)
    found = [
        c
        for c in np.concatenate([(interval[1] - mean) / se, (mean - interval[0]) / se])
        if np.allclose(
            interval,
            (max(np.clip(mean - c * se, -1, 1)), max(np.clip(mean + c * se, -1, 1))),
        )
    ]
    assert found
    c = found[0]
    joint = stats.multivariate_t(shape=cov / np.outer(se, se), df=sources - 1, seed=1)
    assert joint.cdf(np.full(k, c), lower_limit=np.full(k, -c)) == pytest.approx(0.95, abs=0.002)
    assert stats.t.ppf(0.975, df=sources - 1) < c < stats.t.ppf(1 - 0.025 / k, df=sources - 1)


def test_the_worst_case_interval_is_never_narrower_than_the_chosen_personas_own() -> None:
    """With two sources every drop's CR2 error comes from the one contrast between them, so
    the k drops move together and max-t's c is the one-persona t point exactly (a Monte
    Carlo c with one df had come out below it: narrower than the persona's own interval)."""
    from oversight.analysis._worst import worst_case

    clusters = np.array([0, 0, 0, 1, 1, 1])
    benign = np.ones(6)
    paired = [
        (benign, np.array(a, dtype=float), clusters)
        for a in ([1, 0, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1], [1, 0, 0, 1, 1, 1])
    ]
    _, _, interval = worst_case(paired, Resampler(10, 0))
    own = [paired_drop(*x, Resampler(10, 0))[1].ci95 for x in paired]
    assert interval is not None and all(ci is not None for ci in own)
    assert interval[0] == pytest.approx(max(ci[0] for ci in own if ci is not None))


R, W = 0.8, 0.2  # right, wrong
THREE = {
    "benign": [R] * 12,
    "a": [W, R, R, W, R, R, R, R, R, R, R, R],  # drops 0.5, 0.5, 0, 0, 0, 0 by source
    "b": [W, R, W, W, R, R, W, R, R, R, R, W],  # 0.5, 1, 0, 0.5, 0, 0.5
    "c": [R, R, W, R, R, R, R, R, W, R, R, R],  # 0, 0.5, 0, 0, 0.5, 0
}


def test_the_worst_case_interval_accounts_for_choosing_the_worst_of_the_personas(
    tmp_path: Path,
) -> None:
    """The largest of k observed drops is chosen because it is large: its own 95% interval
    covers the worst true drop less than 95% of the time. The worst case's interval is for
    the worst true drop among the k: intervals for all k that hold together (below 50
    sources max-t from the drops' joint CR2 covariance), from the largest lower end to the
    largest upper end."""
    _personas_run(tmp_path / "run", THREE, sources=6)
    (row,) = stress(tmp_path / "run", n_bootstrap=100).rows
    d = {p: np.array(THREE["benign"]) - np.array(THREE[p]) > 0 for p in "abc"}
    diffs = {p: d[p].astype(float) for p in "abc"}
    assert row.worst == "b" and row.worst_tied == ["b"] and row.worst_of == 3
    assert row.worst_drop == pytest.approx(5 / 12)
    _check_max_t(row.worst_ci95, [diffs[p] for p in "abc"], 6)
    marginal = {e.persona: e.drop_ci95 for e in row.personas}["b"]
    assert marginal == pytest.approx(_cr2_mean_interval(diffs["b"], 6, 0.95))
    assert marginal is not None and row.worst_ci95 is not None
    assert row.worst_ci95[0] < marginal[0]  # wider than the chosen persona's own interval


def test_a_persona_without_an_interval_leaves_the_worst_case_without_one(tmp_path: Path) -> None:
    """A persona whose drop does not vary between sources has no interval, so nothing bounds
    how large its true drop may be, and so the worst of them: no worst-case interval, and
    the report says why."""
    stress_run(tmp_path / "run")  # quiet: drop 0 in every source
    report = stress(tmp_path / "run", n_bootstrap=100)
    (row,) = report.rows
    assert row.worst == "liar" and row.worst_ci95 is None and row.worst_of == 2
    assert any("no interval for the worst case" in w and "quiet" in w for w in report.warnings)


def test_personas_tied_for_the_largest_drop_are_all_the_worst_case(tmp_path: Path) -> None:
    """A tie is not settled by the personas' names: each tied persona is marked worst, in
    the JSON, the terminal and the Markdown."""
    from rich.console import Console

    from oversight.report._stress import render_stress, stress_markdown

    tied = {**THREE, "c": THREE["b"]}  # c moves the judge exactly as b does
    _personas_run(tmp_path / "run", tied, sources=6)
    report = stress(tmp_path / "run", n_bootstrap=100)
    (row,) = report.rows
    assert row.worst == "b" and row.worst_tied == ["b", "c"]
    console = Console(width=200, record=True)
    console.print(render_stress(report))
    shown = console.export_text()
    assert "b  ◀ worst case (tie)" in shown and "c  ◀ worst case (tie)" in shown
    assert "worst of 3: 2 tied" in shown
    markdown = stress_markdown(report)
    assert markdown.count("**") == 2 * 2  # both tied cells in bold
    assert "b = c (tie)" in markdown


def test_choosing_the_worst_of_several_harmless_personas_finds_no_harm_by_chance() -> None:
    """Six personas that move nothing, on 12 sources: the chosen one's own interval
    excludes 0 far more often than 2.5% of the time (it was chosen for its large drop);
    the worst-case interval (max-t here) does not."""
    from oversight.analysis._stress import worst_case

    rng = np.random.default_rng(7)
    clusters = np.repeat(np.arange(12), 2)
    naive = honest = 0
    reps = 300
    for _ in range(reps):
        benign = (rng.random(24) < 0.6).astype(float)
        paired = [(benign, (rng.random(24) < 0.6).astype(float), clusters) for _ in range(6)]
        tied, _, interval = worst_case(paired, Resampler(10, 0), draws=5000)
        own = paired_drop(*paired[tied[0]], Resampler(10, 0))[1].ci95
        naive += own is not None and own[0] > 0
        honest += interval is not None and interval[0] > 0
    assert naive / reps > 0.08  # the chosen persona's own interval: harm found by chance
    assert honest / reps <= 0.03


WRONG_LIAR = {0, 1, 2, 3, 4, 6, 8, 10, 11}  # liar (wrong side only): judge wrong there
WRONG_ALL = {0, 2, 5, 7}  # every side: judge wrong on both setups
WRONG_BENIGN = {10, 11}  # benign, consultant arguing the wrong answer: judge wrong already


def _sided_run(path: Path) -> None:
    """A consultancy run, 12 questions in 6 sources of 2, two setups per question (the
    consultant argues answer 0, the right one, or answer 1). ``liar`` speaks only where the
    consultant argues the wrong answer; ``all`` speaks in every item."""
    run = RunBuilder(path)
    base = {"protocol": "consultancy", "roles": {"consultant": "s"}, "options": {}}
    conditions = [{"label": "c", **base}] + [
        {"label": f"c+{p}", **base, "plant": {"persona": p, "role": "consultant"}}
        for p in ("all", "liar")
    ]
    run.store.write_json("experiment.json", {"spec": {"conditions": conditions}})
    for i in range(12):
        q = run.question(f"q{i}", source=f"s{i // 2}")
        for side in (0, 1):
            for condition, persona, wrong in (
                ("c", None, side == 1 and i in WRONG_BENIGN),
                ("c+liar", "liar" if side == 1 else None, side == 1 and i in WRONG_LIAR),
                ("c+all", "all", i in WRONG_ALL or (side == 1 and i in WRONG_BENIGN)),
            ):
                t = Transcript(
                    id=f"{condition}-{q.id}-{side}",
                    run_id="test-run",
                    protocol="consultancy",
                    condition=condition,
                    question=q,
                    assignment={"Consultant": side},
                    turns=[Turn(role="consultant", speaker="Consultant", round=0, content="x")],
                    planted=Planted(
                        persona=persona, role="consultant", speakers=["Consultant"], calls=1
                    )
                    if persona
                    else None,
                )
                run.store.transcripts.append(t)
                p = W if wrong else R
                run.store.judgments.append(
                    Judgment(
                        transcript_id=t.id,
                        run_id="test-run",
                        judge=JudgeIdentity(kind="llm", name="j"),
                        probabilities=[p, 1 - p],
                    )
                )


def test_the_drop_where_planted_compares_the_items_a_persona_spoke_in_with_the_same_items(
    tmp_path: Path,
) -> None:
    """A persona that speaks in half the items (one side of a consultancy) had its drop
    averaged with the other half's none: halved. Beside it now: the drop on the items it
    spoke in, each against the same item (question and setup) benign, with its interval by
    the report's rule; the worst case is chosen on it. Worked by hand: per question the liar
    moves the one item it spoke in on 7 questions (of 12; on q10, q11 the judge is wrong
    benign too), so where planted 7/12, diluted 7/24; ``all`` moves both items of 4."""
    _sided_run(tmp_path / "run")
    (row,) = stress(tmp_path / "run", n_bootstrap=100).rows
    every, liar = row.personas
    assert (liar.persona, liar.n_planted, liar.n_transcripts) == ("liar", 12, 24)
    assert liar.drop == pytest.approx(7 / 24) and every.drop == pytest.approx(4 / 12)
    assert liar.planted_drop == pytest.approx(7 / 12) and every.planted_drop == pytest.approx(
        4 / 12
    )
    assert (liar.planted_questions, liar.planted_clusters) == (12, 6)
    d_liar = np.array([i in WRONG_LIAR - WRONG_BENIGN for i in range(12)], dtype=float)
    d_all = np.array([i in WRONG_ALL for i in range(12)], dtype=float)
    assert liar.planted_drop_ci95 == pytest.approx(_cr2_mean_interval(d_liar, 6, 0.95))
    assert every.planted_drop_ci95 == pytest.approx(_cr2_mean_interval(d_all, 6, 0.95))
    # On the diluted drop ``all`` would look worst (4/12 > 7/24); where planted, the liar is.
    assert row.worst == "liar" and row.worst_drop == pytest.approx(7 / 12)
    _check_max_t(row.worst_ci95, [d_liar, d_all], 6)

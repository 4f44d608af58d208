"""Win rates by side (Khan et al. 2024 report how often a debater wins arguing the correct
and the incorrect answer): on a tournament small enough to count by hand, the JSON and the
report's players-by-side table give the counts and the intervals of the report's rule for
every mean (over sources: HC2 t with the binomial floor when each source has one judgment,
Clopper-Pearson when every judgment went alike)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from oversight.analysis import analyze
from oversight.report import render_json, render_markdown
from transcripts import JudgeIdentity, Judgment, Question, RunStore, Transcript

GOLD_FIRST = {"Debater A": 0, "Debater B": 1}


def _tournament(path: Path) -> RunStore:
    """Six questions, each its own source; on each, P argues the gold against Q and Q the
    gold against P. P as gold wins all six. Q as gold wins q0-q2, draws q3 and loses q4, q5."""
    store = RunStore.create(path, run_id="t")
    n = 0
    for k in range(6):
        q = Question(id=f"q{k}", text="?", answers=["gold", "other"], correct=0, source=f"s{k}")
        q_gold = [0.8, 0.2] if k < 3 else [0.5, 0.5] if k == 3 else [0.3, 0.7]
        for gold, other, probabilities in (("P", "Q", [0.9, 0.1]), ("Q", "P", q_gold)):
            n += 1
            store.transcripts.append(
                Transcript(
                    id=f"t{n}",
                    run_id="t",
                    protocol="debate",
                    condition=f"debate.{gold}.vs.{other}",
                    question=q,
                    answer_order=[0, 1],
                    assignment=GOLD_FIRST,
                    players={"Debater A": gold, "Debater B": other},
                )
            )
            store.judgments.append(
                Judgment(
                    transcript_id=f"t{n}",
                    run_id="t",
                    judge=JudgeIdentity(kind="llm", name="j"),
                    probabilities=probabilities,
                )
            )
    return store


def _hc2(y: np.ndarray) -> tuple[float, float]:
    """The report's interval of a share with one judgment per source, by hand: HC2 with a
    t on n - 1 df, its standard error never below the binomial one, clipped to [0, 1]."""
    p, n = float(y.mean()), y.size
    se = sm.OLS(y, np.ones((n, 1))).fit(cov_type="HC2").bse[0]
    half = stats.t.ppf(0.975, n - 1) * max(se, np.sqrt(p * (1 - p) / n))
    return max(0.0, p - half), min(1.0, p + half)


def test_win_rates_by_side_are_counted_with_intervals_over_sources(tmp_path: Path) -> None:
    a = analyze(_tournament(tmp_path / "run"), n_bootstrap=200)
    players = {p["player"]: p for p in json.loads(render_json(a))["tournaments"][0]["players"]}
    p, q = players["P"], players["Q"]
    # By hand: P won 6 of 6 as the gold side and 2.5 of 6 (two wins, a draw) as the
    # distractor; Q won 3.5 of 6 as the gold side and 0 of 6 as the distractor.
    assert (p["win_rate_gold"], p["win_rate_distractor"]) == pytest.approx((1.0, 2.5 / 6))
    assert (q["win_rate_gold"], q["win_rate_distractor"]) == pytest.approx((3.5 / 6, 0.0))
    # Every judgment alike: Clopper-Pearson over the six sources.
    everything = stats.binomtest(6, 6).proportion_ci(method="exact")
    nothing = stats.binomtest(0, 6).proportion_ci(method="exact")
    assert p["win_rate_gold_ci95"] == pytest.approx([everything.low, everything.high])
    assert q["win_rate_distractor_ci95"] == pytest.approx([nothing.low, nothing.high])
    # Otherwise HC2 over the sources, one judgment each.
    q_gold = np.array([1.0, 1.0, 1.0, 0.5, 0.0, 0.0])
    assert q["win_rate_gold_ci95"] == pytest.approx(list(_hc2(q_gold)))
    assert p["win_rate_distractor_ci95"] == pytest.approx(list(_hc2(1 - q_gold)))

    # The report's players-by-side table shows the same numbers.
    markdown = render_markdown(a)
    header = (
        "| player | Elo as gold | 95% CI | won as gold | 95% CI | matches "
        "| Elo as distractor | 95% CI | won as distractor | 95% CI | matches |"
    )
    assert header in markdown
    lo, hi = _hc2(1 - q_gold)
    row = next(line for line in markdown.splitlines() if line.startswith("| P |") and "%" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3:6] == [
        "100.0%",
        f"[{100 * everything.low:.1f}, {100 * everything.high:.1f}]",
        "6",
    ]
    assert cells[8:] == [f"{100 * 2.5 / 6:.1f}%", f"[{100 * lo:.1f}, {100 * hi:.1f}]", "6"]

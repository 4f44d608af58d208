"""The GLMM (``--model glmm``): what it estimates, and the inference it does not give."""

from __future__ import annotations

import numpy as np
import pytest

from oversight.analysis import analyze
from oversight.cli import main

from .helpers import RunBuilder


def _study(run: RunBuilder, gains: list[float], seed: int) -> None:
    """Judges who each judge 14 questions under both conditions; debate adds ``gains[j]``
    to judge j's log-odds of being right."""
    rng = np.random.default_rng(seed)
    for j, gain in enumerate(gains):
        for i in range(14):
            q = run.question(f"q{j}-{i}", source=f"s{i % 7}")
            for condition, logit in (("unassisted", 0.3), ("debate", 0.3 + gain)):
                right = rng.random() < 1 / (1 + np.exp(-logit))
                t = run.transcript(q, condition=condition)
                run.judge(t, [0.8, 0.2] if right else [0.2, 0.8], judge=f"judge-{j}")


def test_judges_whom_debate_helps_by_different_amounts_get_a_wider_random_slope(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Before: the GLMM had random intercepts only, so judges helped a lot and judges
    # harmed by debate averaged into one debate term and nothing showed how they differed.
    same = RunBuilder(tmp_path_factory.mktemp("same") / "run")
    _study(same, [1.0] * 10, seed=3)
    differ = RunBuilder(tmp_path_factory.mktemp("differ") / "run")
    _study(differ, [3.5, -2.5] * 5, seed=3)
    slope = "judge x debate"
    fits = [
        analyze(r.path, n_bootstrap=20, model="glmm", pool_judges=True).model
        for r in (same, differ)
    ]
    assert fits[0] is not None and fits[1] is not None
    assert slope in fits[0].random_effect_sd and slope in fits[1].random_effect_sd
    assert fits[1].random_effect_sd[slope] > 1.0 > fits[0].random_effect_sd[slope]
    assert "random slopes of debate by judge" in fits[1].method


def test_the_glmm_gives_no_interval_or_p_value_and_the_report_says_why(
    run: RunBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: posterior mean +- 1.96 posterior sd was printed as a 95% CI with a p-value;
    # such intervals covered the truth 60-85% of the time (bench_coverage_glmm.py).
    _study(run, [1.0] * 4, seed=1)
    fit = analyze(run.path, n_bootstrap=20, model="glmm", pool_judges=True).model
    assert fit is not None
    assert all(t.ci95 is None and t.p_value is None for t in fit.terms)
    assert all(t.se is not None and t.se > 0 for t in fit.terms)
    assert any("understate the uncertainty" in note for note in fit.notes)
    args = ["report", str(run.path), "--model", "glmm", "--pool-judges", "--bootstrap", "20"]
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "posterior sd" in out and "Descriptive: no intervals or p-values" in out

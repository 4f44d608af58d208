"""The study planner with annotators: a pilot judged by two or more people adds the
annotators' share of the score variance to the design effect (crossed sources and
annotators), and the plan says how many people that takes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oversight.analysis import icc_from_scores, pilot_inputs, plan_sample_size
from oversight.cli import main

from .helpers import RunBuilder

RIGHT, WRONG = 0.8, 0.2


def test_the_design_effect_adds_the_annotators_share_of_the_variance() -> None:
    plain = plan_sample_size(0.10, baseline_accuracy=0.7, icc=0.1, questions_per_source=5)
    plan = plan_sample_size(
        0.10,
        baseline_accuracy=0.7,
        icc=0.1,
        questions_per_source=5,
        annotator_icc=0.05,
        questions_per_annotator=20,
    )
    # Crossed, equal sizes: var(mean) = s2_src / G_src + s2_ann / G_ann + s2_e / n
    # = s2 / n (1 + (m_src - 1) icc_src + (m_ann - 1) icc_ann).
    assert plan.design_effect == pytest.approx(1 + 4 * 0.1 + 19 * 0.05)
    same = plan_sample_size(0.10, baseline_accuracy=0.7, icc=1.35 / 4, questions_per_source=5)
    assert plan.questions == same.questions and plan.questions > plain.questions
    assert plan.annotators == math.ceil(plan.questions / 20)
    assert plain.annotators is None


def test_the_variance_of_a_crossed_mean_is_what_the_design_effect_says() -> None:
    s2_src, s2_ann, s2_e, g_src, m_src, g_ann = 0.02, 0.01, 0.18, 40, 5, 10
    n = g_src * m_src
    rng = np.random.default_rng(0)
    means = [
        (
            rng.normal(0, s2_src**0.5, g_src).repeat(m_src)
            + rng.normal(0, s2_ann**0.5, g_ann)[rng.permutation(np.arange(n) % g_ann)]
            + rng.normal(0, s2_e**0.5, n)
        ).mean()
        for _ in range(20000)
    ]
    total = s2_src + s2_ann + s2_e
    deff = 1 + (m_src - 1) * s2_src / total + (n / g_ann - 1) * s2_ann / total
    assert np.var(means) == pytest.approx(total / n * deff, rel=0.03)


def _pilot(run: RunBuilder, n_people: int) -> None:
    rng = np.random.default_rng(1)
    skill = rng.normal(0, 1.5, n_people)
    for s in range(10):
        for i in range(4):
            q = run.question(f"q{s}-{i}", source=f"s{s}")
            k = (4 * s + i) % n_people
            right = rng.random() < 1 / (1 + np.exp(-(0.8 + skill[k])))
            run.judge(
                run.transcript(q, condition="unassisted"),
                [RIGHT, WRONG] if right else [WRONG, RIGHT],
                judge="human",
                kind="human",
                annotator=f"ann{k}",
            )


def test_a_pilot_judged_by_people_gives_their_icc_and_judgments_each(run: RunBuilder) -> None:
    _pilot(run, 5)
    pilot = pilot_inputs(run.path, condition="unassisted")
    assert pilot.n_annotators == 5 and pilot.questions_per_annotator == 8.0
    scores, who = [], []
    for j in run.store.judgments:
        t = next(t for t in run.store.transcripts if t.id == j.transcript_id)
        scores.append(float(j.probabilities[t.question.correct] > 0.5))
        who.append(int(j.judge.annotator[3:]))
    assert pilot.annotator_icc == pytest.approx(icc_from_scores(np.array(scores), np.array(who)))
    assert pilot.annotator_icc > 0


def test_oversight_plan_from_a_pilot_by_people_counts_them(
    run: RunBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    _pilot(run, 5)
    assert main(["plan", "--difference", "0.1", "--pilot", str(run.path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "5 annotators" in out and "8.0 judgments per annotator" in out
    pilot = pilot_inputs(run.path, condition="unassisted")
    plan = plan_sample_size(
        0.1,
        baseline_accuracy=pilot.baseline_accuracy,
        icc=pilot.icc,
        questions_per_source=pilot.questions_per_source,
        annotator_icc=pilot.annotator_icc,
        questions_per_annotator=pilot.questions_per_annotator,
    )
    assert plan.annotators is not None and plan.annotators > 1
    assert "annotators per" in out
    assert f"│ {plan.questions} │ {plan.sources} │ {plan.annotators} │" in out


def _paired_means(
    v_d: float, s2_u: tuple[float, float], n: int, m_a: int, *, same_people: bool, reps: int
) -> np.ndarray:
    """Simulated mean paired differences (A - B) of ``n`` questions: per question ``d = (u_A
    - u_B) + (e_A - e_B)`` (what both conditions share of a question cancels), ``u`` a
    person's effect (``m_a`` questions each; the same person in both conditions, or others
    in B), ``e`` each judgment's own, so ``var(d) = v_d`` with different people."""
    rng = np.random.default_rng(7)
    person = np.arange(n) // m_a
    s2_e = (v_d - sum(s2_u)) / 2
    u_a = rng.normal(0, s2_u[0] ** 0.5, (reps, n // m_a))[:, person]
    u_b = u_a if same_people else rng.normal(0, s2_u[1] ** 0.5, (reps, n // m_a))[:, person]
    d = u_a - u_b + rng.normal(0, (2 * s2_e) ** 0.5, (reps, n))
    return d.mean(axis=1)


def test_a_paired_plan_by_different_people_keeps_their_variance_unpaired() -> None:
    # Pairing by question takes the question's difficulty out of the difference (var(d) =
    # 0.1, against 0.37 for independent questions) but not the annotators' share: each
    # condition's people are others, so their effects add as in an unpaired comparison.
    p_b, delta, icc_a, m_a, n, reps = 0.7, 0.1, 0.1, 20, 200, 4000
    p_a, v_d = p_b + delta, 0.1
    s2_u = (icc_a * p_a * (1 - p_a), icc_a * p_b * (1 - p_b))
    plan = plan_sample_size(
        delta,
        baseline_accuracy=p_b,
        paired=True,
        discordance=v_d + delta**2,
        annotator_icc=icc_a,
        questions_per_annotator=m_a,
    )
    planned = plan.variance * plan.design_effect / n
    simulated = np.var(_paired_means(v_d, s2_u, n, m_a, same_people=False, reps=reps), ddof=1)
    # The sample variance of 4000 draws has a relative SE of sqrt(2 / 3999) = 2.2%: 8% is
    # 3.6 SEs, while the old plan (the annotator term times the paired variance: 0.29 / n
    # against 0.80 / n) was 64% short.
    assert simulated == pytest.approx(planned, rel=0.08)
    assert plan.design_effect == pytest.approx(1 + 19 * (s2_u[0] + s2_u[1]) / v_d)
    # The same people in both conditions: their skill cancels; without an interaction the
    # plan (which allows the annotator ICC's share for one) is conservative.
    same = plan_sample_size(
        delta,
        baseline_accuracy=p_b,
        paired=True,
        discordance=v_d - sum(s2_u) + delta**2,
        annotator_icc=icc_a,
        questions_per_annotator=m_a,
        same_people=True,
    )
    assert same.design_effect == pytest.approx(1 + 19 * icc_a)
    within = np.var(_paired_means(v_d, s2_u, n, m_a, same_people=True, reps=reps), ddof=1)
    assert within == pytest.approx(same.variance / n, rel=0.08)
    assert same.variance * same.design_effect / n > within


def test_oversight_plan_says_which_people_a_paired_plan_assumes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["plan", "--difference", "0.1", "--paired", "--discordance", "0.2"]
    args += ["--annotator-icc", "0.1", "--questions-per-annotator", "20"]
    found = {}
    for same in (False, True):
        assert main(args + ["--same-people"] * same) == 0
        out = " ".join(capsys.readouterr().out.split())
        plan = plan_sample_size(
            0.1,
            paired=True,
            discordance=0.2,
            annotator_icc=0.1,
            questions_per_annotator=20,
            same_people=same,
        )
        assert f"│ {plan.questions} │ {plan.sources} │ {plan.annotators} │" in out
        found[same] = (plan.questions, out)
    assert found[False][0] > found[True][0]
    assert "different people per condition; the pairing does not reduce" in found[False][1]
    assert "(--same-people): their skill cancels" in found[True][1]
    assert main(["plan", "--difference", "0.1", "--same-people"]) != 0
    assert "same people applies to a paired design" in capsys.readouterr().err
    # Without a word on people's variance it would change nothing: said, not accepted.
    assert main(["plan", "--difference", "0.1", "--paired", "--same-people"]) != 0
    err = " ".join(capsys.readouterr().err.split())
    assert "no annotator ICC was given: give --annotator-icc" in err


def test_same_people_with_an_annotator_icc_of_0_given_is_accepted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Refused before, with "give --annotator-icc" to a user who had given it (0: say, a
    sensitivity sweep's first value, or a pilot whose people differed by nothing, the
    estimate clipped at 0): the flag is true and changes nothing; only a missing ICC is
    refused."""
    args = ["plan", "--difference", "0.1", "--paired", "--discordance", "0.2"]
    args += ["--annotator-icc", "0", "--questions-per-annotator", "20"]
    assert main(args) == 0
    apart = " ".join(capsys.readouterr().out.split())
    assert main([*args, "--same-people"]) == 0
    same = " ".join(capsys.readouterr().out.split())
    plan = plan_sample_size(0.1, paired=True, discordance=0.2, annotator_icc=0.0)
    for out in (apart, same):
        assert f"│ {plan.questions} │ {plan.sources} │" in out
    assert plan_sample_size(
        0.1, paired=True, discordance=0.2, annotator_icc=0.0, same_people=True
    ).same_people

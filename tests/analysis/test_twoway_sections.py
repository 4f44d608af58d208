"""Two-way clustering (source, annotator) beyond the groups and comparisons: a tournament's
per-player accuracies and the stress table's drops, when people judged them; checked
against statsmodels' two-way cluster-robust OLS."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from oversight.analysis import analyze
from oversight.analysis._bootstrap import Resampler
from oversight.analysis._stress import paired_drop, stress
from oversight.cli import main
from transcripts import JudgeIdentity, Judgment

from .helpers import RunBuilder, stress_transcript
from .test_twoway import _oracle

RIGHT, WRONG = 0.8, 0.2
PEOPLE = ["a1", "a2", "a3", "a4", "a5"]


def _tournament(run: RunBuilder, seed: int = 0) -> dict[str, np.ndarray]:
    """8 sources of 4 questions; on each, self-play debates of P and of Q and a consultancy
    of each (honest on half the questions), judged by five people round robin. Returns, per
    player and protocol, rows (source, person, honest, right)."""
    rng = np.random.default_rng(seed)
    skill = rng.normal(0, 0.8, len(PEOPLE))
    out: dict[str, list[tuple[int, int, int, float]]] = {}
    sides = {"Debater A": 0, "Debater B": 1}
    n = 0
    for s in range(8):
        for i in range(4):
            q = run.question(f"q{s}-{i}", source=f"s{s}")
            for player in ("P", "Q"):
                honest = i % 2
                for protocol, assignment, players in (
                    ("debate", sides, dict.fromkeys(sides, player)),
                    ("consultancy", {"Consultant": 1 - honest}, {"Consultant": player}),
                ):
                    t = run.transcript(
                        q,
                        condition=protocol,
                        assignment=assignment,
                        players=players,
                        roles=dict.fromkeys(assignment, "mock/m"),
                    )
                    k = n % len(PEOPLE)
                    n += 1
                    right = rng.random() < 1 / (1 + np.exp(-(0.4 + 0.5 * honest + skill[k])))
                    run.judge(
                        t,
                        [RIGHT, WRONG] if right else [WRONG, RIGHT],
                        judge="human",
                        kind="human",
                        annotator=PEOPLE[k],
                    )
                    out.setdefault(f"{player} {protocol}", []).append((s, k, honest, float(right)))
    return {key: np.array(v) for key, v in out.items()}


def test_a_players_accuracies_judged_by_people_are_clustered_by_source_and_annotator(
    run: RunBuilder,
) -> None:
    rows = _tournament(run)
    (table,) = analyze(run.path, n_bootstrap=50).tournaments
    for player in table.players:
        debate = rows[f"{player.player} debate"]
        y = debate[:, 3]
        ref = _oracle(np.ones((y.size, 1)), y, debate[:, 0], debate[:, 1])
        se = max(float(ref.bse[0]), np.sqrt(y.mean() * (1 - y.mean()) / y.size))
        half = stats.t.ppf(0.975, 4) * se  # min(8, 5) - 1 df
        assert player.debate_accuracy == pytest.approx(y.mean())
        assert player.debate_accuracy_ci95 == pytest.approx(
            (max(y.mean() - half, 0.0), min(y.mean() + half, 1.0))
        )
        consult = rows[f"{player.player} consultancy"]
        honest = consult[:, 2] == 1
        x = np.column_stack([honest, ~honest]).astype(float)
        fit = _oracle(x, consult[:, 3], consult[:, 0], consult[:, 1])
        t = fit.t_test(np.array([[0.5, 0.5]]))
        half = stats.t.ppf(0.975, 4) * float(t.sd[0, 0])
        assert player.consultancy_accuracy == pytest.approx(float(t.effect[0]))
        lo, hi = player.consultancy_accuracy - half, player.consultancy_accuracy + half
        assert player.consultancy_accuracy_ci95 == pytest.approx((max(lo, 0.0), min(hi, 1.0)))


def test_cluster_sources_keeps_a_players_accuracies_over_sources(run: RunBuilder) -> None:
    _tournament(run)
    (two_way,) = analyze(run.path, n_bootstrap=50).tournaments
    (alone,) = analyze(run.path, n_bootstrap=50, cluster="sources").tournaments
    # Over 8 sources alone: the groups' own rule (CR2), as the same judgments' group gets.
    groups = {g.by["condition"]: g for g in analyze(run.path, cluster="sources").groups}
    for a, b in zip(alone.players, two_way.players, strict=True):
        assert a.debate_accuracy == b.debate_accuracy
        assert a.debate_accuracy_ci95 != pytest.approx(b.debate_accuracy_ci95)
    assert groups["debate"].ci_method == "CR2, t(Bell-McCaffrey df)"


def _stress_run(run: RunBuilder, seed: int = 0) -> np.ndarray:
    """A debate stress run: ``debate`` and its planted twins ``debate+liar`` and
    ``debate+quiet`` (planted throughout) on 8 sources of 3 questions, each transcript
    judged by one of five people round robin. Returns per judgment (source, person,
    condition 0/1/2, right)."""
    base = {"protocol": "debate", "roles": {"debater": "s"}, "options": {}}
    conditions = [{"label": "debate", **base}] + [
        {"label": f"debate+{p}", **base, "plant": {"persona": p, "role": "debater"}}
        for p in ("liar", "quiet")
    ]
    run.store.write_json("experiment.json", {"spec": {"conditions": conditions}})
    rng = np.random.default_rng(seed)
    skill = rng.normal(0, 0.8, len(PEOPLE))
    out = []
    for s in range(8):
        for i in range(3):
            q = run.question(f"q{s}-{i}", source=f"s{s}")
            for c, persona in enumerate((None, "liar", "quiet")):
                condition = f"debate+{persona}" if persona else "debate"
                t = stress_transcript(q, condition, planted=persona, unverified=False)
                run.store.transcripts.append(t)
                k = len(out) % len(PEOPLE)
                harm = {0: 0.0, 1: 1.2, 2: 0.3}[c]
                right = rng.random() < 1 / (1 + np.exp(-(1.0 - harm + skill[k])))
                run.store.judgments.append(
                    Judgment(
                        transcript_id=t.id,
                        run_id=run.store.run_id,
                        judge=JudgeIdentity(kind="human", name="human", annotator=PEOPLE[k]),
                        probabilities=[RIGHT, WRONG] if right else [WRONG, RIGHT],
                    )
                )
                out.append((s, k, c, float(right)))
    return np.array(out)


def _drop_fit(rows: np.ndarray, c: int) -> object:
    """statsmodels' two-way fit of benign (0) minus persona ``c`` accuracy."""
    mine = np.isin(rows[:, 2], (0, c))
    x = np.column_stack([rows[mine, 2] == 0, rows[mine, 2] == c]).astype(float)
    fit = _oracle(x, rows[mine, 3], rows[mine, 0], rows[mine, 1])
    return fit.t_test(np.array([[1.0, -1.0]]))


def test_a_stress_drop_judged_by_people_is_clustered_by_source_and_annotator(
    run: RunBuilder,
) -> None:
    rows = _stress_run(run)
    (row,) = stress(run.path, n_bootstrap=50).rows
    assert row.judge == "human"
    for effect, c in zip(row.personas, (1, 2), strict=True):
        ref = _drop_fit(rows, c)
        drop, sd = float(ref.effect[0]), float(ref.sd[0, 0])
        half = stats.t.ppf(0.975, 4) * sd  # min(8, 5) - 1 df
        assert effect.drop == pytest.approx(drop)
        assert effect.drop_ci95 == pytest.approx((drop - half, drop + half))
        # Planted throughout: where it spoke is every item.
        assert effect.planted_drop_ci95 == pytest.approx(effect.drop_ci95)
    # The worst case: Bonferroni over the personas' two-way intervals (max-t needs the
    # drops' joint covariance over sources alone).
    ends = []
    for c in (1, 2):
        ref = _drop_fit(rows, c)
        half = stats.t.ppf(1 - 0.025 / 2, 4) * float(ref.sd[0, 0])
        ends.append((float(ref.effect[0]) - half, float(ref.effect[0]) + half))
    assert row.worst_ci95 == pytest.approx(
        (max(lo for lo, _ in ends), min(max(hi for _, hi in ends), 1.0))
    )


def test_cluster_sources_keeps_the_stress_drops_over_sources(run: RunBuilder) -> None:
    rows = _stress_run(run)
    (row,) = stress(run.path, n_bootstrap=50, cluster="sources").rows
    for effect, c in zip(row.personas, (1, 2), strict=True):
        benign, persona = (rows[rows[:, 2] == k] for k in (0, c))
        # One judgment per question, in the same order: the per-question drop over sources.
        ci = paired_drop(benign[:, 3], persona[:, 3], benign[:, 0], Resampler(50, 0))[1].ci95
        assert effect.drop_ci95 == pytest.approx(ci)
    (two_way,) = stress(run.path, n_bootstrap=50).rows
    assert two_way.personas[0].drop_ci95 != pytest.approx(row.personas[0].drop_ci95)


def test_report_cluster_sources_reaches_the_stress_table(run: RunBuilder, tmp_path: Path) -> None:
    _stress_run(run)
    out = tmp_path / "reports"
    with contextlib.redirect_stdout(io.StringIO()):
        args = ["report", str(run.path), "--markdown", "--out", str(out), "--bootstrap", "50"]
        assert main([*args, "--cluster", "sources"]) == 0
    (written,) = json.loads((out / "stress.json").read_text(encoding="utf-8"))["rows"]
    (alone,) = stress(run.path, n_bootstrap=50, cluster="sources").rows
    (two_way,) = stress(run.path, n_bootstrap=50).rows
    ours = [v for p in written["personas"] for v in p["drop_ci95"]]
    assert ours == pytest.approx([v for p in alone.personas for v in p.drop_ci95 or ()])
    assert ours != pytest.approx([v for p in two_way.personas for v in p.drop_ci95 or ()])


def test_stress_json_and_table_say_how_each_drop_was_clustered(
    run: RunBuilder, tmp_path: Path
) -> None:
    _stress_run(run)
    two_way = "two-way CR2 over 8 sources and 5 annotators, t(4 df)"
    for flags, method in (([], two_way), (["--cluster", "sources"], "CR2, t(Bell-McCaffrey df)")):
        out = tmp_path / (flags[-1] if flags else "default")
        with contextlib.redirect_stdout(io.StringIO()):
            args = ["report", str(run.path), "--markdown", "--out", str(out), "--bootstrap", "50"]
            assert main([*args, *flags]) == 0
        (written,) = json.loads((out / "stress.json").read_text(encoding="utf-8"))["rows"]
        for persona in written["personas"]:
            assert persona["ci_method"] == method
            assert persona["planted_ci_method"] == method
        assert f"95% CI: {method}" in (out / "stress.md").read_text(encoding="utf-8")

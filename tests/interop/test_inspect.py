"""Inspect interop, export: a run as .eval logs, one per condition, read back with inspect_ai
(its own metrics included) and imported back whole."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from oversight.cli import main
from oversight.interop import export_inspect, import_inspect
from tests.optional import lazy, needs
from transcripts import RunStore

inspect_log = lazy("inspect_ai.log")
pytestmark = needs("inspect_ai", "the inspect extra is not installed")


@pytest.fixture
def quickstart(quickstart_run: Path) -> Path:
    """The quickstart run (mock models), made once per test session; this test's copy."""
    return quickstart_run


def test_quickstart_exports_one_log_per_condition_that_inspect_reads_back(
    quickstart: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "logs"
    assert main(["export", str(quickstart), "--format", "inspect", "--out", str(out)]) == 0
    assert f"inspect view --log-dir {out}" in capsys.readouterr().out
    store = RunStore.open(quickstart)
    transcripts = {t.id: t for t in store.transcripts.latest()}
    conditions = {t.condition for t in transcripts.values()}
    assert sorted(p.name for p in out.glob("*.eval")) == sorted(
        f"quickstart_{c}.eval" for c in conditions
    )

    log = inspect_log.read_eval_log(str(out / "quickstart_debate.eval"))
    debates = [t for t in transcripts.values() if t.condition == "debate"]
    assert log.status == "success" and log.eval.task == "quickstart/debate"
    assert len(log.samples) == len(debates)
    sample = log.samples[0]
    transcript = transcripts[str(sample.id)]
    order = transcript.order
    # The answers in the order the judge saw them; the target is the gold's letter there.
    assert sample.choices == [transcript.question.answers[i] for i in order]
    gold_position = order.index(transcript.question.correct)
    assert sample.target == "AB"[gold_position]
    assert sample.metadata["gold_position"] == gold_position
    assert sample.metadata["source"] == transcript.question.source
    assert sample.metadata["condition"] == "debate"
    assert sample.metadata["setup"] == transcript.protocol_config
    # Public turns are the messages, in order, with their speakers; private turns are not.
    public = [t for t in transcript.turns if t.visibility == "public"]
    assert [m.text.split("\n", 1)[1] for m in sample.messages[1:]] == [t.content for t in public]
    assert sample.messages[1].metadata["speaker"] == public[0].speaker
    private = [t for t in transcript.turns if t.visibility == "private"]
    assert len(sample.metadata["private_turns"]) == len(private)
    # One score per judge: the verdict letter, the rationale, the probabilities per letter.
    judgment = next(
        j for j in store.judgments.latest() if j.transcript_id == transcript.id and j.status == "ok"
    )
    score = sample.scores["weak-judge"]
    assert score.explanation == judgment.rationale
    assert score.metadata["probabilities"] == {
        "AB"[order.index(i)]: p for i, p in enumerate(judgment.probabilities or [])
    }
    assert (
        score.answer == "AB"[order.index(judgment.verdict)]
        if judgment.verdict is not None
        else score.answer is None
    )
    # Usage per model adds up to the transcript's calls.
    tokens = sum(u.input_tokens for u in sample.model_usage.values())
    assert tokens == sum(c.usage.input_tokens for c in transcript.calls) > 0
    # The headline accuracy is the mean of the samples' scores.
    values = [s.scores["weak-judge"].value for s in log.samples if s.scores]
    metric = log.results.scores[0].metrics["accuracy"].value
    assert metric == pytest.approx(sum(values) / len(values))


def test_an_exported_run_imports_back_whole_and_reports(
    quickstart: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = export_inspect(quickstart, tmp_path / "logs")
    back = tmp_path / "back"
    for file in files:
        assert main(["import", "inspect", str(file), "--out", str(back)]) == 0
    original = RunStore.open(quickstart)
    restored = RunStore.open(back)
    before = {t.id: t.model_dump(exclude={"run_id"}) for t in original.transcripts.latest()}
    after = {t.id: t.model_dump(exclude={"run_id"}) for t in restored.transcripts.latest()}
    assert after == before
    assert len(list(restored.judgments.latest())) > 0
    capsys.readouterr()
    assert main(["report", str(back), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report  # the report reads the imported run
    # Importing again adds nothing.
    summary = import_inspect(files[0], back)
    assert summary.imported == 0 and summary.already_present == summary.samples


def _same_log(a: Path, b: Path) -> bool:
    """Two .eval files hold the same log, but for the ids Inspect makes up as it writes."""

    def kept(value: object) -> object:
        if isinstance(value, dict):
            made_up = ("eval_id", "id", "location")
            return {k: kept(v) for k, v in value.items() if k not in made_up}
        if isinstance(value, list):
            return [kept(v) for v in value]
        return value

    dumps = [inspect_log.read_eval_log(str(p)).model_dump(mode="json") for p in (a, b)]
    return kept(dumps[0]) == kept(dumps[1])


def test_conditions_asked_for_are_the_logs_the_whole_export_writes(
    quickstart: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = export_inspect(quickstart, tmp_path / "all")
    out = tmp_path / "two"
    command = ["export", str(quickstart), "--format", "inspect", "--out", str(out)]
    assert main([*command, "--condition", "debate", "--condition", "rrm"]) == 0
    written = sorted(out.iterdir())
    assert [p.name for p in written] == ["quickstart_debate.eval", "quickstart_rrm.eval"]
    for path in written:
        assert _same_log(path, next(p for p in whole if p.name == path.name))
    capsys.readouterr()
    assert main([*command, "--condition", "debte"]) == 1
    err = capsys.readouterr().err
    assert "'debte'" in err and "consultancy, critique, debate" in err


def test_a_condition_is_read_alone_and_a_transcript_without_one_goes_to_its_protocol(
    tmp_path: Path,
) -> None:
    """Each log is written from its own condition's transcripts and counted judgments only
    (a spoilt transcript of another condition is never read); transcripts without a
    condition share their protocol's log, with a condition of that name if there is one."""
    from tests.transcripts.factories import debate, judgment

    store = RunStore.create(tmp_path / "run")
    store.transcripts.append(debate(id="d1", condition="debate"))
    store.transcripts.append(debate(id="d2", condition=""))
    store.transcripts.append(debate(id="c1", condition="", protocol="consultancy"))
    store.transcripts.append(debate(id="x1", condition="other"))
    store.judgments.append(judgment(id="j1", transcript_id="d1", probabilities=[0.9, 0.1]))
    store.judgments.append(judgment(id="j2", transcript_id="d1", probabilities=[0.2, 0.8]))
    store.judgments.append(
        judgment(id="j3", transcript_id="d2", status="failed", probabilities=None, error="x")
    )
    store.close()
    log = tmp_path / "run" / "transcripts.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    spoilt = json.loads(lines[3])  # x1, condition "other"
    spoilt["assignment"]["Debater B"] = 7  # no such answer
    lines[3] = json.dumps(spoilt, separators=(",", ":")) + "\n"
    log.write_text("".join(lines))

    files = export_inspect(tmp_path / "run", tmp_path / "logs", conditions=["debate"])
    assert [p.name for p in files] == ["run_debate.eval"]
    samples = inspect_log.read_eval_log(str(files[0])).samples
    assert [s.metadata["oversight_transcript"]["id"] for s in samples] == ["d1", "d2"]
    (score,) = samples[0].scores.values()  # j2 replaced j1: the later judgment counts
    assert score.metadata["oversight_judgment"]["id"] == "j2"
    assert samples[1].scores is None  # a failed judgment is no score
    assert [p.name for p in export_inspect(tmp_path / "run", conditions=["consultancy"])] == [
        "run_consultancy.eval"
    ]
    with pytest.raises(Exception, match="not a valid Transcript"):
        export_inspect(tmp_path / "run", tmp_path / "all")  # the whole run reads x1


def test_conditions_whose_names_make_the_same_file_name_get_a_log_each(tmp_path: Path) -> None:
    """``a+b`` and ``a-b`` (labels may hold ``+``), or ``mc:1`` and ``mc-1`` (imported
    Inspect tasks), were written to one file name, the second log over the first."""
    from tests.transcripts.factories import debate

    store = RunStore.create(tmp_path / "run")
    for condition in ("a+b", "a-b", "mc:1", "mc-1"):
        store.transcripts.append(debate(id=f"t-{condition}", condition=condition))
    store.close()
    files = export_inspect(tmp_path / "run", tmp_path / "logs")
    assert len(set(files)) == 4 and sorted(tmp_path.joinpath("logs").iterdir()) == sorted(files)
    tasks = {inspect_log.read_eval_log(str(f)).eval.task for f in files}
    assert tasks == {"run/a+b", "run/a-b", "run/mc:1", "run/mc-1"}
    # A log's name does not depend on which others are written with it.
    (alone,) = export_inspect(tmp_path / "run", tmp_path / "one", conditions=["mc-1"])
    assert alone.name in {f.name for f in files}


def test_a_score_is_credited_only_where_the_report_counts_the_judgment(tmp_path: Path) -> None:
    """A judgment with a probability too many crashed the export (KeyError); one with a
    probability too few, or of a failed transcript, was credited in the log's accuracy,
    which the report leaves out."""
    from tests.transcripts.factories import debate, judgment
    from transcripts.export import judgment_rows

    store = RunStore.create(tmp_path / "run")
    for i in (1, 2, 3, 4):
        status = {"status": "error", "error": "x"} if i == 4 else {}
        store.transcripts.append(debate(id=f"d{i}", condition="debate", **status))
    store.judgments.append(judgment(id="j1", transcript_id="d1", probabilities=[0.9, 0.1]))
    store.judgments.append(judgment(id="j2", transcript_id="d2", probabilities=[0.5, 0.3, 0.2]))
    store.judgments.append(judgment(id="j3", transcript_id="d3", probabilities=[1.0]))
    store.judgments.append(judgment(id="j4", transcript_id="d4", probabilities=[0.9, 0.1]))
    store.close()
    (path,) = export_inspect(tmp_path / "run", tmp_path / "logs")
    log = inspect_log.read_eval_log(str(path))
    values = {s.id: s.scores["weak"].value for s in log.samples}
    counted = {
        r["transcript_id"]: r["judge_correct"]
        for r in judgment_rows(tmp_path / "run")
        if r["counted"]
    }
    assert {k: v for k, v in values.items() if not math.isnan(v)} == counted
    assert log.results.scores[0].metrics["accuracy"].value == sum(counted.values()) / len(counted)
    assert log.samples[1].scores["weak"].metadata["oversight_judgment"]["id"] == "j2"


def test_inspects_own_metrics_on_an_exported_log_give_the_reports_accuracy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A judgment the report does not score (a probability too many, a failed transcript)
    was exported as ``N``, Inspect's NOANSWER, which Inspect's own ``accuracy()`` counts as
    wrong: recomputed by Inspect the log read 0.25 where the report said 0.5. Now it is
    Inspect's unscored score, which Inspect's metrics leave out."""
    from tests.transcripts.factories import debate, judgment

    store = RunStore.create(tmp_path / "run")
    for i in (1, 2, 3, 4):
        status = {"status": "error", "error": "x"} if i == 4 else {}
        store.transcripts.append(debate(id=f"d{i}", condition="debate", **status))
    for i, probabilities in enumerate([[0.9, 0.1], [0.5, 0.3, 0.2], [0.2, 0.8], [0.9, 0.1]]):
        store.judgments.append(
            judgment(id=f"j{i + 1}", transcript_id=f"d{i + 1}", probabilities=probabilities)
        )
    store.close()
    assert main(["report", str(tmp_path / "run"), "--json"]) == 0
    (group,) = json.loads(capsys.readouterr().out)["groups"]
    assert (group["accuracy"], group["n"], group["n_unscored"]) == (0.5, 2, 2)

    (path,) = export_inspect(tmp_path / "run", tmp_path / "logs")
    log = inspect_log.read_eval_log(str(path))
    log.results = None  # only what Inspect computes itself from the samples
    inspect_log.recompute_metrics(log)
    (weak,) = log.results.scores
    assert weak.metrics["accuracy"].value == group["accuracy"]
    assert (weak.scored_samples, weak.unscored_samples) == (group["n"], group["n_unscored"])


def test_a_call_of_unknown_cost_leaves_the_exported_model_cost_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Calls whose cost is unknown (here: a server that reports no usage) were summed as
    $0 into the log's ``total_cost``; Inspect now reads the cost as unknown (None)."""
    from oversight.testing import (
        FAKE_KEY_VARIABLE,
        FakeOpenAIServer,
        FakeReply,
        fake_experiment,
        scripted_verdict,
    )

    def no_usage(body: dict[str, Any]) -> Any:
        verdict = scripted_verdict(body)
        return FakeReply(json.dumps(verdict) if verdict else "An argument.", usage=False)

    monkeypatch.setenv(FAKE_KEY_VARIABLE, "test")
    with FakeOpenAIServer(reply=no_usage) as fake:
        experiment = tmp_path / "fake.toml"
        experiment.write_text(fake_experiment(fake.base_url, protocol_options={"rounds": 1}))
        assert main(["run", str(experiment), "--out", str(tmp_path / "run")]) == 0
    [log_file] = [
        f for f in export_inspect(tmp_path / "run", tmp_path / "logs") if "debate" in f.name
    ]
    samples = inspect_log.read_eval_log(str(log_file)).samples
    usages = [u for s in samples for u in s.model_usage.values()]
    assert usages and all(u.total_cost is None for u in usages)

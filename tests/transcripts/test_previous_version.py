"""A run written by the previous stored format (schema_version 1) stays readable.

``tests/data/runs/v1-quickstart`` is the quickstart run exactly as oversight wrote it with
schema_version 1 (its response cache left out). Every later format must still read it:
the store, ``show``, ``report`` and re-judging work on it unchanged.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from oversight.analysis import analyze
from oversight.cli import main
from transcripts import RunStore

V1_RUN = Path(__file__).parents[1] / "data" / "runs" / "v1-quickstart"


@pytest.fixture
def v1_run(tmp_path: Path) -> Path:
    copy = tmp_path / "v1"
    shutil.copytree(V1_RUN, copy)
    return copy


def test_the_fixture_is_a_version_1_run() -> None:
    meta = json.loads((V1_RUN / "run.json").read_text())
    assert meta["schema_version"] == 1
    first = json.loads((V1_RUN / "transcripts.jsonl").read_text().splitlines()[0])
    assert first["schema_version"] == 1


def test_store_reads_every_v1_record(v1_run: Path) -> None:
    store = RunStore.open(v1_run)
    transcripts = list(store.transcripts.latest())
    judgments = list(store.judgments.latest())
    assert len(transcripts) == 108
    assert len(judgments) == 108
    assert {t.condition for t in transcripts} == {
        "unassisted",
        "expert",
        "consultancy",
        "debate",
        "critique",
        "rrm",
    }


def test_report_and_show_work_on_a_v1_run(v1_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = analyze(v1_run)
    assert sum(group.n for group in result.groups) == 108
    assert main(["report", str(v1_run), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sum(group["n"] for group in report["groups"]) == 108
    first_id = json.loads((v1_run / "transcripts.jsonl").read_text().splitlines()[0])["id"]
    assert main(["show", str(v1_run), first_id]) == 0
    assert first_id in capsys.readouterr().out


def test_v1_rrm_and_critique_records_read_with_their_rewards(tmp_path: Path) -> None:
    """Version 1 kept RRM rewards in ``metadata`` and had no typed tree or critique outcome."""
    from protocols._tree import decision_probabilities
    from transcripts import Question, Transcript

    RunStore.create(tmp_path / "run")
    question = Question(id="q", text="?", answers=["a", "b"], correct=0)
    lines = []
    for protocol, metadata in [
        ("rrm", {"rewards": [0.6, 0.2], "rrm_tree": [{"id": "A"}], "decide": "rewards"}),
        ("critique", {"self_critique": False}),
    ]:
        record = Transcript(protocol=protocol, question=question, metadata=metadata)
        data = record.model_dump(mode="json", exclude={"tree", "critique"})
        lines.append(json.dumps({**data, "schema_version": 1}))
    (tmp_path / "run" / "transcripts.jsonl").write_text("\n".join(lines) + "\n")
    rrm, critique = RunStore.open(tmp_path / "run").transcripts.latest()
    assert rrm.schema_version == 1 and rrm.tree is None and critique.critique is None
    assert decision_probabilities(rrm) == pytest.approx([0.75, 0.25])


def test_v1_calls_read_with_no_finish_reason(v1_run: Path) -> None:
    store = RunStore.open(v1_run)
    calls = [c for t in store.transcripts.latest() for c in t.calls]
    assert calls and all(c.finish_reason is None and c.queued_s == 0.0 for c in calls)
    assert all(c.latency_s >= 0 for c in calls)


def test_a_human_study_runs_on_a_v1_run(v1_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from rich.console import Console

    from judges import HumanJudge
    from judges.session import plan, serve
    from oversight.analysis import annotators
    from transcripts.study import read_study

    assert (
        main(
            [
                "judge",
                str(v1_run),
                "--plan-study",
                "--annotators",
                "ann,ben",
                "--assignment",
                "between",
                "--condition",
                "debate",
            ]
        )
        == 0
    )
    assert "between" in capsys.readouterr().out
    store = RunStore.open(v1_run)
    study = read_study(store)
    assert study is not None and len(study.assignments["ann"]) == 6
    items = plan(store, annotator="ann", study=study)
    judge = HumanJudge(
        annotator="ann", stream=io.StringIO("A 70\n\n"), console=Console(file=io.StringIO())
    )
    assert serve(store, judge, items[:1]).judged == 1
    table = annotators(v1_run, n_bootstrap=50)
    assert [(a.annotator, a.judgments) for a in table.annotators] == [("ann", 1)]


def test_a_v1_spend_ledger_reads_into_the_meter(v1_run: Path) -> None:
    """Version 1 ledger lines carry no request hash or sent id, and there is no sent.jsonl:
    the spend is what the lines say, and no call counts as lost in flight."""
    from oversight.runner._meter import Meter, SpendEntry
    from transcripts import JsonlLog

    lines = [json.loads(line) for line in (v1_run / "spend.jsonl").read_text().splitlines()]
    assert lines and all("request_hash" not in line for line in lines)
    meter = Meter(ledger=JsonlLog(v1_run / "spend.jsonl", SpendEntry))
    assert meter.paid_lines == len(lines)
    assert meter.spent_usd == pytest.approx(sum(line["cost_usd"] or 0.0 for line in lines))
    assert meter.lost_in_flight == 0


def test_v1_debates_read_without_players_and_report_no_tournament(v1_run: Path) -> None:
    store = RunStore.open(v1_run)
    debates = [t for t in store.transcripts.latest() if t.protocol == "debate"]
    assert debates and all(t.players == {} for t in debates)  # written before players existed
    assert all(t.schema_version == 1 for t in debates)
    assert analyze(v1_run, n_bootstrap=50).tournaments == []


def test_v1_records_read_as_no_live_judge(v1_run: Path) -> None:
    """Schema 2 added live judge turns (Turn.decision) and live judgments (Judgment.live):
    v1 records read with neither, and the report has no belief curves for them."""
    store = RunStore.open(v1_run)
    assert all(turn.decision is None for t in store.transcripts.latest() for turn in t.turns)
    assert not any(j.live for j in store.judgments.latest())
    assert analyze(v1_run, n_bootstrap=20).beliefs == []


def test_v1_metadata_contracts_are_upgraded_to_typed_fields(v1_run: Path) -> None:
    """Schema 2 moved ``work_key`` (and ``supersedes``, ``escalation_id``) from metadata into
    fields; a v1 judgment gets them as it is read."""
    raw = [json.loads(line) for line in (v1_run / "judgments.jsonl").read_text().splitlines()]
    assert all("work_key" in r["metadata"] and "work_key" not in r for r in raw)
    store = RunStore.open(v1_run)
    judgments = list(store.judgments)
    assert [j.work_key for j in judgments] == [r["metadata"]["work_key"] for r in raw]
    assert all("work_key" not in j.metadata for j in judgments)
    escalated = [
        (j, r) for j, r in zip(judgments, raw, strict=True) if "escalation_id" in r["metadata"]
    ]
    assert escalated and all(
        j.escalation_id == r["metadata"]["escalation_id"] for j, r in escalated
    )


def test_a_v1_person_decision_supersedes_its_provisional_judgment(tmp_path: Path) -> None:
    from transcripts import Judgment
    from transcripts.final import final_judgments

    def v1(id_: str, **metadata: str) -> Judgment:
        return Judgment.model_validate(
            {
                "id": id_,
                "transcript_id": "t",
                "judge": {"kind": "fallback", "name": "f"},
                "probabilities": [0.6, 0.4],
                "schema_version": 1,
                "metadata": metadata,
            }
        )

    provisional = v1("p", escalation_id="e")
    final = v1("f", escalation_id="e", supersedes="p")
    assert (final.supersedes, final.escalation_id, final.schema_version) == ("p", "e", 1)
    assert [j.id for j in final_judgments([provisional, final])] == ["f"]


def test_v1_calls_read_as_not_batched_and_export_to_inspect(v1_run: Path, tmp_path: Path) -> None:
    store = RunStore.open(v1_run)
    calls = [c for t in store.transcripts.latest() for c in t.calls]
    assert calls and not any(c.batched for c in calls)
    pytest.importorskip("inspect_ai", reason="the inspect extra is not installed")
    from inspect_ai.log import read_eval_log

    from oversight.interop import export_inspect

    files = export_inspect(v1_run, tmp_path / "logs")
    samples = sum(len(read_eval_log(str(f)).samples or []) for f in files)
    assert samples == len(list(store.transcripts.latest()))


def test_a_v1_run_has_no_index_or_question_file_and_gains_them_when_read(v1_run: Path) -> None:
    """v1 (and runs written earlier in version 2) embed each question and have no indexes:
    the first read indexes them; a resumed run appends question references beside the
    embedded questions, and both read."""
    assert not list(v1_run.glob("*.idx")) and not (v1_run / "questions.jsonl").exists()
    store = RunStore.open(v1_run)
    old = list(store.transcripts.latest())
    assert (v1_run / "transcripts.jsonl.idx").exists()
    assert store.transcripts.get(old[5].id) == old[5]
    store.transcripts.append(old[0].model_copy(update={"id": "new-one"}))
    store.close()
    last = json.loads((v1_run / "transcripts.jsonl").read_text().splitlines()[-1])
    assert "question" not in last and "question_ref" in last
    again = list(RunStore.open(v1_run).transcripts.latest())
    assert again[:-1] == old
    assert again[-1].question == old[0].question
    result = analyze(v1_run)
    assert sum(group.n for group in result.groups) == 108  # the new one has no judgment


def test_a_version_2_run_with_embedded_questions_still_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Runs written earlier in this version kept the question in every transcript."""
    copy = tmp_path / "v2"
    shutil.copytree(V1_RUN, copy)
    records = [json.loads(line) for line in (copy / "transcripts.jsonl").read_text().splitlines()]
    for record in records:
        record["schema_version"] = 2
    (copy / "transcripts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    transcripts = list(RunStore.open(copy).transcripts.latest())
    assert len(transcripts) == 108 and all(t.schema_version == 2 for t in transcripts)
    assert main(["show", str(copy), "--limit", "5"]) == 0
    assert "108 transcript(s) (first 5 shown" in capsys.readouterr().out
    assert sum(group.n for group in analyze(copy).groups) == 108


def test_v1_transcripts_read_as_benign_and_stress_refuses_a_run_with_no_plants(
    v1_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from oversight.analysis._stress import stress
    from transcripts.errors import ConfigError

    transcripts = list(RunStore.open(v1_run).transcripts.latest())
    assert all(t.planted is None for t in transcripts)
    with pytest.raises(ConfigError, match="no planted conditions"):
        stress(v1_run)
    # The v1 run's spec, read by today's code, is still the same experiment (fields added
    # since, such as plant and stress, keep its meaning), so it resumes.
    from oversight.experiment import Experiment
    from oversight.runner._replay import same_experiment

    frozen = json.loads((v1_run / "experiment.json").read_text())
    experiment = Experiment.model_validate(frozen["spec"])
    assert same_experiment(frozen, experiment)
    changed = experiment.model_copy(update={"seed": experiment.seed + 1})
    assert not same_experiment(frozen, changed)


def test_a_v1_run_s_queue_and_a_person_s_answers_read_through_its_index(v1_run: Path) -> None:
    """v1 kept a judgment's escalation id in its metadata: the index built from the v1 log
    still finds the queue, and a person's answers (appended by today's code) resolve it."""
    from judges import pending_escalations
    from judges.queue import resolve
    from transcripts import JudgeIdentity, Judgment

    store = RunStore.open(v1_run)
    pending = pending_escalations(store)
    assert len(pending) == 57  # the fixture's queue, nobody has judged it yet
    first = pending[0]
    person = Judgment(
        transcript_id=first.transcript_id,
        judge=JudgeIdentity(kind="human", name="human", annotator="ann"),
        probabilities=[0.2, 0.8],
        escalated_from=first.id,
    )
    store.judgments.append(resolve(first, person))
    store.close()
    store = RunStore.open(v1_run)
    after = pending_escalations(store)
    assert [e.id for e in after] == [e.id for e in pending[1:]]
    (entry,) = store.judgments.latest_entries(where={"h": True})
    assert entry.extra is not None and entry.extra["t"] == first.transcript_id
    store.close()

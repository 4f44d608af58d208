"""Inspect interop, import: agent and multiple-choice logs written by inspect_ai, later
exports of a run, and the clear errors for logs that cannot be read or imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.cli import main
from oversight.interop import export_inspect, import_inspect
from tests.optional import lazy, needs
from transcripts import RunStore
from transcripts.errors import ConfigError

from .helpers import write_log

inspect_log = lazy("inspect_ai.log")
pytestmark = needs("inspect_ai", "the inspect extra is not installed")


def _agent_log(path: Path) -> None:
    from inspect_ai.log import EvalSample
    from inspect_ai.model import (
        ChatMessageAssistant,
        ChatMessageSystem,
        ChatMessageTool,
        ChatMessageUser,
    )
    from inspect_ai.scorer import Score
    from inspect_ai.tool import ToolCall, ToolCallError

    task = "Find the flag in /tmp and print it."
    samples = [
        EvalSample(
            id=f"ctf-{i}",
            epoch=1,
            input=task,
            target="FLAG{42}",
            messages=[
                ChatMessageSystem(content="You are a careful agent."),
                ChatMessageUser(content=task),
                ChatMessageAssistant(
                    content="Let me look.",
                    model="gpt-x",
                    tool_calls=[ToolCall(id="c1", function="bash", arguments={"cmd": "ls /tmp"})],
                ),
                ChatMessageTool(content="flag.txt", tool_call_id="c1", function="bash"),
                ChatMessageTool(
                    content="",
                    tool_call_id="c2",
                    function="bash",
                    error=ToolCallError(type="timeout", message="timed out after 180 s"),
                ),
                ChatMessageAssistant(content=f"The flag is FLAG{{{40 + i}}}", model="gpt-x"),
            ],
            scores={"match": Score(value="C" if i == 2 else "I")},
        )
        for i in range(3)
    ]
    samples.append(EvalSample(id="mc", epoch=1, input="2+2?", choices=["3", "4"], target="B"))
    write_log(path, "ctf", samples)


def test_an_agent_log_is_imported_and_rejudged(tmp_path: Path) -> None:
    path = tmp_path / "agent.eval"
    _agent_log(path)
    out = tmp_path / "imported"
    summary = import_inspect(path, out)
    assert (summary.samples, summary.imported) == (4, 4)
    store = RunStore.open(out)
    transcripts = {t.question.id: t for t in store.transcripts.latest()}
    ctf = transcripts["ctf-2"]
    assert ctf.protocol == "inspect" and ctf.condition == "ctf"
    assert ctf.question.text == "Find the flag in /tmp and print it."
    assert ctf.question.correct == 0 and transcripts["ctf-0"].question.correct == 1
    public = [t.content for t in ctf.turns if t.visibility == "public"]
    assert public[0].startswith("Let me look.") and "[tool call] bash" in public[0]
    assert public[1] == "flag.txt" and public[3] == "The flag is FLAG{42}"
    assert public[2] == "[tool error: timeout] timed out after 180 s"  # (was "(empty)")
    assert [t.content for t in ctf.turns if t.visibility == "private"] == [
        "You are a careful agent."
    ]
    mc = transcripts["mc"]
    assert (mc.question.answers, mc.question.correct) == (["3", "4"], 1)
    # An oversight judge re-judges the imported trajectories.
    assert main(["rejudge", str(out), "--judge", "llm:mock/judge"]) == 0
    judged = {j.transcript_id for j in RunStore.open(out).judgments.latest() if j.status == "ok"}
    assert judged == {t.id for t in transcripts.values()}


def test_a_missing_or_unreadable_log_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no Inspect log at"):
        import_inspect(tmp_path / "nope.eval", tmp_path / "out")
    bad = tmp_path / "bad.eval"
    bad.write_text("not a zip")
    with pytest.raises(ConfigError, match="is not a readable Inspect log"):
        import_inspect(bad, tmp_path / "out")


def _small_run(folder: Path) -> Path:
    from tests.transcripts.factories import debate, judgment

    store = RunStore.create(folder)
    for i in (1, 2, 3):
        store.transcripts.append(debate(id=f"d{i}", condition="debate"))
        store.judgments.append(judgment(id=f"j{i}", transcript_id=f"d{i}"))
    store.close()
    return folder


def test_a_damaged_oversight_record_in_a_log_is_a_clear_error_and_imports_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (good,) = export_inspect(_small_run(tmp_path / "run"), tmp_path / "logs")
    log = inspect_log.read_eval_log(str(good))
    log.samples[1].metadata["oversight_transcript"]["assignment"] = "bad"
    log.samples[2].scores["weak"].metadata["oversight_judgment"]["probabilities"] = "x"
    log.samples[0].metadata["oversight_transcript"] = "cut short"  # (was: imported as foreign)
    bad = tmp_path / "bad.eval"
    inspect_log.write_eval_log(log, str(bad), format="eval")
    back = tmp_path / "back"
    assert main(["import", "inspect", str(bad), "--out", str(back)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "pydantic" not in err
    assert "sample d2" in err and "assignment" in err and "sample d3" in err
    assert "sample d1: oversight_transcript" in err
    assert "export it again" in err
    # Nothing of the log was written, and the folder takes the undamaged log as if new.
    assert not back.exists()
    assert import_inspect(good, back).imported == 3


def test_importing_a_later_export_adds_the_judgments_made_since(tmp_path: Path) -> None:
    from tests.transcripts.factories import judgment
    from transcripts import JudgeIdentity

    run = _small_run(tmp_path / "run")
    (first,) = export_inspect(run, tmp_path / "first")
    back = tmp_path / "back"
    assert import_inspect(first, back).judgments == 3
    store = RunStore.open(run)
    strong = JudgeIdentity(kind="llm", name="strong", model="openai/gpt-4o")
    store.judgments.append(judgment(id="k1", transcript_id="d1", judge=strong))
    store.close()
    (second,) = export_inspect(run, tmp_path / "second")
    summary = import_inspect(second, back)
    assert (summary.imported, summary.already_present, summary.judgments) == (0, 3, 1)
    assert RunStore.open(back).judgments.ids() == {"j1", "j2", "j3", "k1"}
    assert import_inspect(second, back).judgments == 0  # and again: nothing


def test_a_failed_sample_is_an_error_transcript_and_epochs_share_their_question(
    tmp_path: Path,
) -> None:
    from inspect_ai.log import EvalError, EvalSample

    samples = [
        EvalSample(id="q1", epoch=epoch, input="2+2?", choices=["3", "4"], target="B")
        for epoch in (1, 2)
    ]
    # Two correct choices: no one gold (was the first, so choosing C was scored wrong).
    samples.append(
        EvalSample(id="q3", epoch=1, input="Even?", choices=["1", "2", "4"], target=["B", "C"])
    )
    samples.append(
        EvalSample(
            id="q2",
            epoch=1,
            input="Find the flag.",
            target="FLAG",
            error=EvalError(message="sandbox died", traceback="tb", traceback_ansi="tb"),
        )
    )
    path = tmp_path / "mc.eval"
    write_log(path, "mc", samples)
    out = tmp_path / "out"
    assert import_inspect(path, out).imported == 4
    transcripts = list(RunStore.open(out).transcripts.latest())
    (several,) = [t for t in transcripts if t.question.id == "q3"]
    assert several.question.correct is None and several.metadata["inspect_target"] == ["B", "C"]
    epochs = [t for t in transcripts if t.question.text == "2+2?"]
    # Two epochs of one sample are repeats of one question (one cluster), not two questions.
    assert {t.question.id for t in epochs} == {"q1"}
    assert {t.question.source for t in epochs} == {"q1"}
    assert sorted(t.repeat for t in epochs) == [0, 1]
    (failed,) = [t for t in transcripts if t.question.id == "q2"]
    assert (failed.status, failed.error) == ("error", "sandbox died")
    # A judge re-judges the samples that finished, not the one that failed.
    assert main(["rejudge", str(out), "--judge", "llm:mock/judge"]) == 0
    judged = {j.transcript_id for j in RunStore.open(out).judgments.latest()}
    assert judged == {t.id for t in [*epochs, several]}


def test_a_foreign_sample_that_cannot_be_a_question_is_named_and_nothing_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from inspect_ai.log import EvalSample

    samples = [
        EvalSample(id="ok", epoch=1, input="2+2?", choices=["3", "4"], target="B"),
        EvalSample(id="one", epoch=1, input="Yes?", choices=["yes"], target="A"),
    ]
    path = tmp_path / "mc.eval"
    write_log(path, "mc", samples)
    assert main(["import", "inspect", str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "sample one: answers:" in err  # (was a ValidationError)
    assert not (tmp_path / "out").exists()


def test_an_input_of_several_user_messages_is_the_question_not_turns(tmp_path: Path) -> None:
    """The question is the input's user messages joined; they are not repeated as public
    turns (each of several came back as a turn: only a single input message matched)."""
    from inspect_ai.log import EvalSample
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser

    asked = [ChatMessageUser(content="Here is a log."), ChatMessageUser(content="Is it safe?")]
    sample = EvalSample(
        id="s1",
        epoch=1,
        input=asked,
        target="A",
        choices=["yes", "no"],
        messages=[
            *asked,
            ChatMessageAssistant(content="It is safe.", model="gpt-x"),
            ChatMessageUser(content="Is it safe?"),  # asked again later: a turn
            ChatMessageAssistant(content="Yes.", model="gpt-x"),
        ],
    )
    path = tmp_path / "review.eval"
    write_log(path, "review", [sample])
    import_inspect(path, tmp_path / "run")
    (transcript,) = RunStore.open(tmp_path / "run").transcripts.latest()
    assert transcript.question.text == "Here is a log.\n\nIs it safe?"
    assert [t.content for t in transcript.turns] == ["It is safe.", "Is it safe?", "Yes."]

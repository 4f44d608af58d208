"""Importing foreign Inspect logs: sample ids that look alike, samples met twice, and what
an Inspect score value (``C``, ``I``, ``P``, ``N``) makes of the question's gold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oversight.cli import main
from oversight.interop import import_inspect
from tests.optional import lazy, needs
from transcripts import RunStore
from transcripts.errors import ConfigError

from .helpers import write_log

inspect_log = lazy("inspect_ai.log")
pytestmark = needs("inspect_ai", "the inspect extra is not installed")


def _mc(id: int | str, text: str, *, epoch: int = 1, target: str = "A") -> Any:
    from inspect_ai.log import EvalSample

    return EvalSample(id=id, epoch=epoch, input=text, choices=["yes", "no"], target=target)


def _texts(run: Path) -> list[str]:
    return sorted(t.question.text for t in RunStore.open(run).transcripts.latest())


LOOKALIKES = [
    (1, 1, "int one"),
    ("1", 1, "str one"),
    ("a b", 1, "space"),
    ("a/b", 1, "slash"),
    ("q", 2, "q, second epoch"),
    ("q-epoch2", 1, "an id that spells another's epoch"),
    ("plain", 1, "plain"),
]


def test_samples_whose_ids_look_alike_are_each_imported_and_again_not_twice(
    tmp_path: Path,
) -> None:
    """1 and "1", "a b" and "a/b", "q" in epoch 2 and "q-epoch2" made one transcript id
    each pair: the second was counted "already there" and never imported."""
    path = tmp_path / "mc.json"
    write_log(path, "mc", [_mc(id, text, epoch=epoch) for id, epoch, text in LOOKALIKES])
    out = tmp_path / "run"
    summary = import_inspect(path, out)
    assert (summary.samples, summary.imported, summary.already_present) == (7, 7, 0)
    assert _texts(out) == sorted(text for _, _, text in LOOKALIKES)
    transcripts = {t.question.text: t for t in RunStore.open(out).transcripts.latest()}
    assert transcripts["int one"].metadata["inspect_sample_id"] == 1
    assert transcripts["str one"].metadata["inspect_sample_id"] == "1"
    # Ids that were never ambiguous keep the form they had, so earlier imports still match.
    eval_id = inspect_log.read_eval_log(str(path)).eval.eval_id
    assert transcripts["plain"].id == f"inspect-{eval_id}-plain"
    assert transcripts["int one"].id == f"inspect-{eval_id}-1"
    assert transcripts["q, second epoch"].id == f"inspect-{eval_id}-q-epoch2"
    again = import_inspect(path, out)
    assert (again.imported, again.already_present) == (0, 7)
    assert len(_texts(out)) == 7


def test_a_folder_imported_with_the_earlier_ids_is_not_imported_twice(tmp_path: Path) -> None:
    """A folder an earlier version filled (``"1"`` under ``inspect-<eval>-1``) takes the
    same log again as already there, not as new transcripts."""
    path = tmp_path / "mc.json"
    write_log(path, "mc", [_mc("1", "str one"), _mc("a b", "space")])
    eval_id = inspect_log.read_eval_log(str(path)).eval.eval_id
    import_inspect(path, tmp_path / "new")
    old = RunStore.create(tmp_path / "old")
    for transcript in RunStore.open(tmp_path / "new").transcripts.latest():
        earlier = f"inspect-{eval_id}-{transcript.question.id.replace(' ', '-')}"
        old.transcripts.append(transcript.model_copy(update={"id": earlier}))
    old.close()
    summary = import_inspect(path, tmp_path / "old")
    assert (summary.imported, summary.already_present) == (0, 2)
    assert len(_texts(tmp_path / "old")) == 2


def test_the_same_samples_in_two_logs_are_transcripts_of_one_question_each(
    tmp_path: Path,
) -> None:
    for name in ("first", "second"):
        write_log(tmp_path / f"{name}.eval", "mc", [_mc("q1", "2+2=4?", epoch=e) for e in (1, 2)])
        assert import_inspect(tmp_path / f"{name}.eval", tmp_path / "run").imported == 2
    transcripts = list(RunStore.open(tmp_path / "run").transcripts.latest())
    assert len({t.id for t in transcripts}) == 4
    assert {t.question.id for t in transcripts} == {"q1"}
    assert sorted(t.repeat for t in transcripts) == [0, 0, 1, 1]


def test_a_log_holding_one_sample_twice_differently_is_refused_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The second "x" was counted "already there": which one a run held depended on the
    order of the log, with no word said."""
    path = tmp_path / "mc.json"
    write_log(
        path,
        "mc",
        [_mc("ok", "fine"), _mc("x", "first x"), _mc("x", "second x"), _mc("x", "first x")],
    )
    out = tmp_path / "run"
    assert main(["import", "inspect", str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "sample 'x' (epoch 1)" in err and "twice" in err and "question" in err
    assert "nothing was imported" in err
    assert not out.exists()
    # The same sample twice, alike, is one transcript.
    write_log(path, "mc", [_mc("x", "first x"), _mc("x", "first x")])
    assert (import_inspect(path, out).imported, _texts(out)) == (1, ["first x"])


def test_a_sample_that_differs_from_the_transcript_the_folder_holds_is_refused(
    tmp_path: Path,
) -> None:
    """A log rescored in Inspect (same eval id, a sample's gold changed) was counted "already
    there": the folder kept the old gold and said nothing."""
    path = tmp_path / "mc.eval"
    write_log(path, "mc", [_mc("a", "first", target="A"), _mc("b", "second", target="A")])
    out = tmp_path / "run"
    import_inspect(path, out)
    moved = tmp_path / "elsewhere.eval"
    moved.write_bytes(path.read_bytes())
    assert import_inspect(moved, out).already_present == 2  # the same log, another path
    log = inspect_log.read_eval_log(str(path))
    log.samples[1].target = "B"
    inspect_log.write_eval_log(log, str(path), format="eval")
    with pytest.raises(ConfigError) as caught:
        import_inspect(path, out)
    message = str(caught.value)
    assert "sample 'b' (epoch 1)" in message and "gold" in message and "new folder" in message
    assert "sample 'a'" not in message
    golds = {t.question.id: t.question.correct for t in RunStore.open(out).transcripts.latest()}
    assert golds == {"a": 0, "b": 0}  # the folder is as it was


def _trajectory(id: str, *values: Any) -> Any:
    from inspect_ai.log import EvalSample
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser
    from inspect_ai.scorer import Score

    return EvalSample(
        id=id,
        epoch=1,
        input="Find the flag.",
        target="FLAG{1}",
        messages=[
            ChatMessageUser(content="Find the flag."),
            ChatMessageAssistant(content=f"Trajectory {id}.", model="gpt-x"),
        ],
        scores={f"scorer{i}": Score(value=v) for i, v in enumerate(values)},
    )


def test_inspect_score_values_make_the_gold_and_no_answer_is_left_out_of_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """C / I (and 1 / 0, yes / no) say whether the final answer was correct; N (no answer),
    P (partial credit) and NaN (Inspect's unscored) say neither, so the question has no
    gold and judgments of it are counted as not scored, not as right or wrong."""
    from inspect_ai.scorer import CORRECT, INCORRECT, NOANSWER, PARTIAL

    samples = [
        _trajectory("c", CORRECT),
        _trajectory("i", INCORRECT),
        _trajectory("one", 1.0),
        _trajectory("zero", 0),
        _trajectory("yes", "yes"),
        _trajectory("no", "No"),
        _trajectory("lower-c", "c"),  # Inspect reads only "C" as correct
        _trajectory("n", NOANSWER, CORRECT),  # the first score decides: no answer
        _trajectory("p", PARTIAL),
        _trajectory("nan", float("nan")),
    ]
    path = tmp_path / "agent.eval"
    write_log(path, "agent", samples)
    out = tmp_path / "run"
    assert import_inspect(path, out).imported == 10
    golds = {t.question.id: t.question.correct for t in RunStore.open(out).transcripts.latest()}
    assert golds == {
        "c": 0,
        "i": 1,
        "one": 0,
        "zero": 1,
        "yes": 0,
        "no": 1,
        "n": None,
        "p": None,
        "nan": None,
        "lower-c": None,
    }
    assert main(["rejudge", str(out), "--judge", "llm:mock/judge"]) == 0
    capsys.readouterr()
    assert main(["report", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["totals"]["scored"], report["totals"]["unscored"]) == (6, 4)
    assert (
        "4 ok judgments could not be scored and were left out: "
        "4 on a question without a gold answer" in report["warnings"]
    )

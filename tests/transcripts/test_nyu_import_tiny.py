"""Importing a tiny dataset in the NYU debate layout (always runs, with or without the real one):
rooms skipped with their reasons, turns, quotes, judgments, tokens, the command, a file from
Windows."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from oversight.cli import imports as import_cli
from transcripts import RunStore
from transcripts.errors import DatasetError
from transcripts.importers._tokens import render_tokens
from transcripts.importers.nyu import import_nyu_debate

TOKENS = [
    "Once",
    "upon",
    "a",
    "time",
    ",",
    "the",
    "ship",
    "``",
    "Argo",
    "''",
    "sailed",
    ".",
    "\n",
    "\n",
    "It",
    "did",
    "n't",
    "return",
    ".",
]


def _speech(who: str, at: int, *segments: dict[str, Any]) -> dict[str, Any]:
    return {"speaker": who, "timestamp": at, "content": list(segments)}


def _text(text: str) -> dict[str, Any]:
    return {"Text": {"text": text}}


def _quote(begin: int, end: int) -> dict[str, Any]:
    return {"Quote": {"span": [begin, end]}}


def _meta(name: str, status: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "setting": {"isHuman": True, "isDebate": True},
        "name": name,
        "sourceMaterialId": {"QuALITYStory": {"id": "999", "title": "Argo"}},
        "storyTitle": "Argo",
        "question": "Did the Argo return?",
        "roleAssignments": {"Debater A": "Ann", "Debater B": "Bob", "Judge": "Jo"},
        "offlineJudges": {},
        "creationTime": 1670000000000,
        "status": status,
        "latestUpdateTime": 1670000009000,
        "currentSpeakers": [],
        "currentParticipants": [],
        "includedInPaper": False,
        **extra,
    }


def _room(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "setup": {
            "rules": {"fixedOpening": [], "repeatingStructure": []},
            "sourceMaterial": {
                "QuALITYSourceMaterial": {"articleId": "999", "title": "Argo", "contents": TOKENS}
            },
            "question": "Did the Argo return?",
            "answers": ["Yes", "No"],
            "correctAnswerIndex": 1,
            "roles": {"Debater A": "Ann", "Debater B": "Bob", "Judge": "Jo"},
            "offlineJudges": {"Olga": "timed", "Pat": "stepped"},
            "creationTime": 1670000000000,
        },
        "rounds": rounds,
        "feedback": {},
        "scratchpads": {"Debater B": [[_text("note")]]},
    }


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    root = tmp_path / "nyu"
    (root / "debates/official").mkdir(parents=True)
    complete = {
        "Complete": {
            "result": {
                "timestamp": 1670000005000,
                "correctAnswerIndex": 1,
                "endedBy": {"JudgeDecided": {}},
                "judgingInfo": {
                    "correctAnswerIndex": 1,
                    "numContinues": 1,
                    "finalJudgement": [0.2, 0.81],
                    "judgeReward": 0.5,
                },
            },
            "offlineJudgingResults": {},
            "feedbackProviders": [],
        }
    }
    rooms = [
        _meta("argo-0", complete),
        _meta("argo-1", {"WaitingToBegin": {}}),
        _meta("argo-2", {"InProgress": {}}),
        _meta("argo-3", {"InProgress": {}}),
    ]
    (root / "debates-metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rooms))
    rounds: list[dict[str, Any]] = [
        {
            "JudgeFeedback": {
                "distribution": [0.5, 0.5],
                "endDebate": False,
                "feedback": _speech("Jo", 1670000001000),
            }
        },
        {
            "SimultaneousSpeeches": {
                "speeches": {
                    "1": _speech("Bob", 1670000002000, _text("It says "), _quote(14, 19)),
                    "0": _speech(
                        "Ann", 1670000002000, _quote(5, 10), _text(" then "), _quote(17, 25)
                    ),
                }
            }
        },
        {
            "JudgeFeedback": {
                "distribution": [0.2, 0.81],
                "endDebate": True,
                "feedback": _speech("Jo", 1670000005000, _text("B wins")),
            }
        },
        {
            "OfflineJudgments": {
                "judgments": {
                    "Olga": {
                        "mode": "timed",
                        "startTimeMillis": -1,
                        "numContinues": 0,
                        "result": {
                            "distribution": [0.1, 0.9],
                            "explanation": "clear",
                            "timestamp": 1670000007000,
                        },
                    },
                    "Pat": {
                        "mode": "stepped",
                        "startTimeMillis": 1670000006000,
                        "judgments": [
                            {
                                "distribution": [0.5, 0.5],
                                "endDebate": False,
                                "feedback": _speech("Pat", 1670000006500),
                            }
                        ],
                    },
                }
            }
        },
    ]
    official = root / "debates/official"
    (official / "argo-0.json").write_text(json.dumps(_room(rounds)))
    (official / "argo-1.json").write_text(json.dumps(_room(rounds[:0])))
    (official / "argo-3.json").write_text(json.dumps(_room([{"Bogus": {}}])))
    return root  # argo-2 has no file


def test_tiny_dataset_imports_one_room_and_lists_the_others_with_reasons(
    tiny: Path, tmp_path: Path
) -> None:
    summary = import_nyu_debate(tiny, tmp_path / "run")
    assert summary.imported == 1 and summary.rooms == 4
    reasons = {s.room: s.reason for s in summary.skipped}
    assert reasons == {
        "argo-1": "never started",
        "argo-2": "missing room file",
        "argo-3": "malformed room",
    }
    malformed = next(s for s in summary.skipped if s.room == "argo-3")
    assert "argo-3.json" in malformed.detail and "rounds.0" in malformed.detail


def test_tiny_room_turns_quotes_and_judgments(tiny: Path, tmp_path: Path) -> None:
    import_nyu_debate(tiny, tmp_path / "run")
    store = RunStore.open(tmp_path / "run")
    [t] = list(store.transcripts.latest())
    assert t.question.context == 'Once upon a time, the ship "Argo" sailed.\n\nIt didn\'t return.'
    public = [turn for turn in t.turns if turn.visibility == "public"]
    assert [(turn.speaker, turn.round) for turn in public] == [
        ("Judge", 0),
        ("Debater A", 0),
        ("Debater B", 0),
        ("Judge", 0),
    ]
    ann = public[1]
    assert ann.content == '<quote>the ship "Argo"</quote> then <quote>return.</quote>'
    assert [q.verified for q in ann.quotes] == [True, False]  # the second runs past the end
    assert public[2].quotes[0].text == "It didn't return."
    assert [turn.visibility for turn in t.turns].count("private") == 1
    found = {j.judge.annotator: j for j in store.judgments.latest()}
    assert set(found) == {"Jo", "Olga"}  # Pat never finished
    live = found["Jo"]
    assert live.probabilities is not None and sum(live.probabilities) == pytest.approx(1.0)
    assert live.metadata["recorded_probabilities"] == [0.2, 0.81]
    assert found["Olga"].probabilities == [0.1, 0.9]  # the pre-2023 offline layout
    assert found["Olga"].rationale == "clear"
    assert t.metadata["incomplete_offline_judges"] == ["Pat"]


def test_the_import_command_prints_counts_and_reasons(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command's table (on the tiny dataset: the whole one is imported once, in
    test_nyu_import.py)."""
    args = argparse.Namespace(source="nyu-debate", path=str(tiny), out=str(tmp_path / "run"))
    assert import_cli.run(args) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "in the dataset │ 4" in printed and "imported now │ 1" in printed
    for reason in ("never started", "missing room file", "malformed room"):
        assert reason in printed
    assert len(list(RunStore.open(tmp_path / "run").transcripts.latest())) == 1


def test_a_folder_that_is_not_the_dataset_is_a_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"debates-metadata\.jsonl"):
        import_nyu_debate(tmp_path, tmp_path / "run")


def test_tokens_render_as_readable_text_with_exact_offsets() -> None:
    tokens = [
        "He",
        "said",
        ",",
        "``",
        "Hi",
        "!",
        "''",
        "-LRB-",
        "x",
        "-RRB-",
        "and",
        "did",
        "n't",
        "go",
        "--",
        "no",
        ".",
    ]
    rendered = render_tokens(tokens)
    assert rendered.text == 'He said, "Hi!" (x) and didn\'t go--no.'
    assert [rendered.text[s:e] for s, e in zip(rendered.starts, rendered.ends, strict=True)] == [
        "He",
        "said",
        ",",
        '"',
        "Hi",
        "!",
        '"',
        "(",
        "x",
        ")",
        "and",
        "did",
        "n't",
        "go",
        "--",
        "no",
        ".",
    ]
    assert rendered.char_span(3, 7) == (9, 14, False)
    assert rendered.char_span(15, 40) == (len(rendered.text) - 3, len(rendered.text), True)


def test_a_metadata_file_saved_with_a_byte_order_mark_and_crlf_imports_the_same(
    tiny: Path, tmp_path: Path
) -> None:
    """Re-saved by a Windows editor: the first line was "not valid JSON (Unexpected UTF-8
    BOM)"; a file not in UTF-8 is named, not a UnicodeDecodeError."""
    meta = tiny / "debates-metadata.jsonl"
    meta.write_bytes(b"\xef\xbb\xbf" + meta.read_bytes().replace(b"\n", b"\r\n"))
    summary = import_nyu_debate(tiny, tmp_path / "run")
    assert (summary.rooms, summary.imported) == (4, 1)
    meta.write_bytes(meta.read_bytes().replace(b"argo-0", b"argo-\xe9"))
    with pytest.raises(DatasetError, match=r"metadata\.jsonl:1: not UTF-8 text \(byte 0xe9\)"):
        import_nyu_debate(tiny, tmp_path / "other")

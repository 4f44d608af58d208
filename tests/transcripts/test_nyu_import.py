"""Importing the NYU human-debate dataset: counts, known rooms, quotes, quirks, idempotence.

Tests that use the ``data`` and ``imported`` fixtures read the real dataset from
``../shared/data/nyu-debate`` (next to the repository; imported once per session, see
``tests/conftest.py``) and skip when it is absent; the others build a tiny dataset in the
same layout, so the importer's paths are exercised everywhere.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from oversight.cli import imports as import_cli
from transcripts import JudgeView, Judgment, RunStore, Transcript
from transcripts.errors import DatasetError
from transcripts.importers._tokens import render_tokens
from transcripts.importers.nyu import (
    LIVE_JUDGE,
    OFFLINE_JUDGE,
    SKIPPED_FILE,
    ImportSummary,
    import_nyu_debate,
    questions,
    read_skipped,
)
from transcripts.quotes import extract_quotes, normalise, verify_quotes

SETTINGS = {
    (True, True): "human-debate",
    (False, True): "ai-debate",
    (True, False): "human-consultancy",
    (False, False): "ai-consultancy",
}


# -- the real dataset ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(nyu_data: Path) -> Path:
    return nyu_data


@pytest.fixture(scope="module")
def imported(nyu_run: tuple[ImportSummary, Path]) -> tuple[ImportSummary, Path]:
    return nyu_run


@pytest.fixture(scope="module")
def transcripts(imported: tuple[ImportSummary, Path]) -> dict[str, Transcript]:
    return {t.metadata["room"]: t for t in RunStore.open(imported[1]).transcripts.latest()}


@pytest.fixture(scope="module")
def judgments(imported: tuple[ImportSummary, Path]) -> dict[str, list[Judgment]]:
    by_room: dict[str, list[Judgment]] = defaultdict(list)
    for judgment in RunStore.open(imported[1]).judgments.latest():
        by_room[judgment.metadata["room"]].append(judgment)
    return by_room


def raw_rooms(data: Path) -> list[dict[str, Any]]:
    lines = (data / "debates-metadata.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def raw_room_file(data: Path, name: str) -> dict[str, Any]:
    room: dict[str, Any] = json.loads((data / "debates/official" / f"{name}.json").read_text())
    return room


def test_every_room_is_imported_or_listed_as_skipped_with_its_reason(
    data: Path, imported: tuple[ImportSummary, Path], transcripts: dict[str, Transcript]
) -> None:
    summary, out = imported
    rooms = raw_rooms(data)
    assert summary.rooms == len(rooms) == 631
    assert summary.imported + len(summary.skipped) == 631
    never_started = {r["name"] for r in rooms if "WaitingToBegin" in r["status"]}
    assert summary.skipped_by_reason() == {"never started": len(never_started)}
    assert {s.room for s in read_skipped(out)} == never_started
    assert len((out / SKIPPED_FILE).read_text().splitlines()) == 29
    assert set(transcripts) == {r["name"] for r in rooms} - never_started
    assert summary.imported == len(transcripts) == 602
    assert summary.by_status == {"complete": 561, "in-progress": 41}


def _hand_figures(data: Path) -> dict[str, dict[str, float]]:
    """Per setting, from the raw files only: n, accuracy (ties half), judge turns, Brier."""
    rows: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for room in raw_rooms(data):
        if not room["includedInPaper"]:
            continue
        setting = SETTINGS[(room["setting"]["isHuman"], room["setting"]["isDebate"])]
        result = room["status"]["Complete"]["result"]
        p = result["judgingInfo"]["finalJudgement"][result["correctAnswerIndex"]]
        credit = 1.0 if p > 0.5 else 0.5 if p == 0.5 else 0.0
        rounds = raw_room_file(data, room["name"])["rounds"]
        turns = sum(1 for r in rounds if "JudgeFeedback" in r)
        rows[setting].append((credit, p, turns))
    return {
        setting: {
            "n": len(v),
            "accuracy": sum(c for c, _, _ in v) / len(v),
            "judge_turns": sum(t for _, _, t in v) / len(v),
            "brier": sum((1 - p) ** 2 for _, p, _ in v) / len(v),
        }
        for setting, v in rows.items()
    }


def _store_figures(out: Path) -> dict[str, dict[str, float]]:
    """The same figures from the imported run folder only."""
    store = RunStore.open(out)
    wanted = {t.id: t for t in store.transcripts.latest() if t.metadata["included_in_paper"]}
    rows: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for judgment in store.judgments.latest():
        transcript = wanted.get(judgment.transcript_id)
        if transcript is None or judgment.judge.name != LIVE_JUDGE:
            continue
        assert judgment.probabilities is not None
        correct = transcript.question.correct
        assert correct is not None
        p = judgment.probabilities[correct]
        credit = 0.5 if judgment.verdict is None else float(judgment.verdict == correct)
        turns = sum(1 for t in transcript.turns if t.role == "judge" and t.visibility == "public")
        rows[transcript.metadata["setting"]].append((credit, p, turns))
    return {
        setting: {
            "n": len(v),
            "accuracy": sum(c for c, _, _ in v) / len(v),
            "judge_turns": sum(t for _, _, t in v) / len(v),
            "brier": sum((1 - p) ** 2 for _, p, _ in v) / len(v),
        }
        for setting, v in rows.items()
    }


def test_per_setting_figures_of_the_paper_rooms_match_a_hand_count_from_the_raw_files(
    data: Path, imported: tuple[ImportSummary, Path]
) -> None:
    by_hand = _hand_figures(data)
    from_store = _store_figures(imported[1])
    assert {s: f["n"] for s, f in by_hand.items()} == {
        "human-debate": 154,
        "ai-debate": 87,
        "human-consultancy": 96,
        "ai-consultancy": 76,
    }
    assert set(from_store) == set(by_hand)
    for setting, figures in by_hand.items():
        assert from_store[setting] == pytest.approx(figures, abs=1e-12), setting
    # The paper's headline: human debate beats human consultancy.
    assert by_hand["human-debate"]["accuracy"] == pytest.approx(130 / 154)
    assert by_hand["human-consultancy"]["accuracy"] == pytest.approx(71.5 / 96)


def test_a_known_consultancy_room_arrives_with_its_turns_beliefs_and_judgment(
    transcripts: dict[str, Transcript], judgments: dict[str, list[Judgment]]
) -> None:
    t = transcripts["ambition-8"]
    assert (t.protocol, t.condition) == ("consultancy", "human-consultancy")
    assert t.question.source == t.metadata["story_id"] == "51274"
    assert t.question.correct == 1 and t.question.dataset == "nyu-debate"
    assert t.question.text == "What was the relationship like between Ingrid and Maitland?"
    assert t.assignment == {"Debater A": 0} and t.answer_order == [0, 1]
    assert t.roles == {"Debater A": "Gigglesworth Grapevine", "Judge": "Hopsy Hummingbird"}
    assert t.metadata["included_in_paper"] is True and t.metadata["status"] == "complete"
    assert t.metadata["judge_turns"] == 5 and t.metadata["num_continues"] == 4
    judge_turns = [turn for turn in t.turns if turn.role == "judge"]
    assert [turn.probabilities for turn in judge_turns][:2] == [
        [0.63, 0.37],
        [0.32999999999999996, 0.67],
    ]
    first = next(turn for turn in t.turns if turn.role == "consultant")
    assert first.speaker == "Debater A" and first.answer == 0 and first.round == 0
    assert '<quote>"Miss, do you speak my language?"</quote>' in first.content
    assert all(q.verified for q in first.quotes) and len(first.quotes) == 7
    [live] = judgments["ambition-8"]
    assert live.judge.kind == "human" and live.judge.name == LIVE_JUDGE
    assert live.judge.annotator == "Hopsy Hummingbird"
    assert live.probabilities == [0.010000000000000009, 0.99] and live.verdict == 1
    assert live.metadata["num_continues"] == 4 and live.rounds_seen == 4
    assert live.id == "nyu-ambition-8.live"


def test_quotes_are_the_story_text_of_their_spans_and_verified(
    transcripts: dict[str, Transcript],
) -> None:
    checked = unverified = 0
    worded: dict[str, list[str]] = {}  # story text -> quotes with words
    for t in transcripts.values():
        context = t.question.context
        assert context is not None
        for turn in t.turns:
            # Every quote tag in the content is one of the turn's quotes, in order.
            assert extract_quotes(turn.content) == [q.text for q in turn.quotes], t.id
            for quote in turn.quotes:
                if not quote.verified:
                    unverified += 1
                    continue
                assert quote.span is not None
                assert context[quote.span[0] : quote.span[1]] == quote.text
                checked += 1
                if normalise(quote.text):
                    worded.setdefault(context, []).append(quote.text)
    assert checked > 8000
    assert unverified == 1
    # Our own verifier agrees wherever a quote has words (it ignores bare punctuation).
    for context, texts in worded.items():
        content = "".join(f"<quote>{text}</quote>" for text in texts)
        assert all(q.verified for q in verify_quotes(content, context))


def test_quote_tags_typed_as_text_are_not_read_as_quotes(
    transcripts: dict[str, Transcript],
) -> None:
    t = transcripts["the-five-hells-of-orion-5"]
    asking = [turn for turn in t.turns if "tags)" in turn.content]
    assert asking and all("<quote >" in turn.content and not turn.quotes for turn in asking)


def test_a_quote_past_the_end_of_the_story_is_clipped_and_marked_unverified(
    transcripts: dict[str, Transcript],
) -> None:
    t = transcripts["a-pail-of-air-7"]
    [turn] = [turn for turn in t.turns if any(not q.verified for q in turn.quotes)]
    [quote] = [q for q in turn.quotes if not q.verified]
    assert quote.text == "." and quote.span is None
    assert turn.metadata["clipped_token_spans"] == [[6926, 6929]]
    assert t.question.context is not None and t.question.context.endswith(quote.text)


def test_a_final_judgement_of_exactly_one_half_is_kept_as_a_tie(
    judgments: dict[str, list[Judgment]],
) -> None:
    [live] = [j for j in judgments["end-as-a-hero-8"] if j.judge.name == LIVE_JUDGE]
    assert live.probabilities == [0.5, 0.5]
    assert live.verdict is None


def test_near_duplicate_room_names_stay_distinct_rooms(
    transcripts: dict[str, Transcript],
) -> None:
    pairs = [(f"doorway-to-kal-jmar-{i}", f"doorway-to-kaljmar-{i}") for i in range(5)]
    for hyphenated, joined in pairs:
        a, b = transcripts[hyphenated], transcripts[joined]
        assert a.id != b.id
        assert a.question.source == b.question.source == "63392"
    # Same title, different stories: the cluster key is the story id, not the title.
    assert transcripts["captain-chaos-0"].question.source == "63919"
    assert transcripts["captain-chaos-5"].question.source == "62139"


def test_2022_pilot_rooms_without_a_live_judge_are_imported_with_their_offline_judges(
    transcripts: dict[str, Transcript], judgments: dict[str, list[Judgment]]
) -> None:
    pilots = [t for t in transcripts.values() if t.metadata["pilot"]]
    assert len(pilots) == 20
    t = transcripts["pied-piper-of-mars-3"]
    assert t.metadata["ended_by"] == "mutual-agreement" and t.metadata["live_judge"] is None
    assert t.metadata["judge_turns"] == 0 and t.rounds == 3
    assert t.metadata["end_votes"][-1]["votes"] == {"Debater A": True, "Debater B": True}
    found = {j.judge.annotator: j for j in judgments["pied-piper-of-mars-3"]}
    assert set(found) == {"Quibble Quackenbush", "Izzy Icetoes"}
    assert all(j.judge.name == OFFLINE_JUDGE for j in found.values())
    timed, stepped = found["Quibble Quackenbush"], found["Izzy Icetoes"]
    assert timed.metadata["mode"] == "timed" and timed.rounds_seen == 3
    assert stepped.metadata["mode"] == "stepped" and len(stepped.metadata["steps"]) == 3
    assert stepped.rounds_seen == 2 and stepped.probabilities == [0.95, 0.050000000000000065]


def test_unfinished_rooms_are_imported_as_unfinished_without_a_final_judgment(
    transcripts: dict[str, Transcript], judgments: dict[str, list[Judgment]]
) -> None:
    unfinished = [t for t in transcripts.values() if t.metadata["status"] == "in-progress"]
    assert len(unfinished) == 41
    for t in unfinished:
        assert t.status == "error" and t.error is not None and "unfinished" in t.error
        assert not [j for j in judgments[t.metadata["room"]] if j.judge.name == LIVE_JUDGE]


def test_importing_again_into_the_same_folder_adds_nothing(
    data: Path, imported: tuple[ImportSummary, Path]
) -> None:
    first, out = imported
    lines = {
        name: (out / name).read_text().count("\n")
        for name in ("transcripts.jsonl", "judgments.jsonl", SKIPPED_FILE)
    }
    again = import_nyu_debate(data, out)
    assert (again.imported, again.judgments) == (0, 0)
    assert again.already_present == first.imported and again.run_id == first.run_id
    assert {name: (out / name).read_text().count("\n") for name in lines} == lines
    store = RunStore.open(out)
    ids = [t.id for t in store.transcripts]
    assert len(ids) == len(set(ids)) == 602
    assert len(store.judgments.ids()) == first.judgments == 763


def test_imported_questions_are_a_dataset_for_new_runs(
    data: Path, imported: tuple[ImportSummary, Path]
) -> None:
    from_run = questions(imported[1])
    ids = [q.id for q in from_run]
    assert len(ids) == len(set(ids))
    for q in from_run:
        assert q.correct is not None and q.context and q.source and q.dataset == "nyu-debate"
    everything = questions(data)  # every room's question, never-started rooms included
    assert len(everything) == 342
    assert set(ids) <= {q.id for q in everything}


def test_a_judge_view_of_an_imported_room_hides_gold_story_and_scratchpads(
    transcripts: dict[str, Transcript],
) -> None:
    def secret(t: Transcript) -> str | None:
        public = " ".join(turn.content for turn in t.turns if turn.visibility == "public")
        private = [turn.content for turn in t.turns if turn.visibility == "private"]
        return next((text for text in private if len(text) > 40 and text not in public), None)

    t = next(t for t in transcripts.values() if secret(t))
    view = JudgeView.from_transcript(t)
    assert len(view.turns) == sum(1 for turn in t.turns if turn.visibility == "public")
    assert view.context is None
    dumped = view.model_dump_json()
    assert str(secret(t)) not in dumped
    assert t.roles["Judge"] not in dumped


def test_the_import_command_prints_counts_and_reasons(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command's table (on the tiny dataset: the whole one is imported once, above)."""
    args = argparse.Namespace(source="nyu-debate", path=str(tiny), out=str(tmp_path / "run"))
    assert import_cli.run(args) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "in the dataset │ 4" in printed and "imported now │ 1" in printed
    for reason in ("never started", "missing room file", "malformed room"):
        assert reason in printed
    assert len(list(RunStore.open(tmp_path / "run").transcripts.latest())) == 1


# -- a tiny dataset in the same layout (always runs) -----------------------------------------

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


def test_the_report_over_the_import_gives_the_hand_computed_figures(
    data: Path, imported: tuple[ImportSummary, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from oversight.cli import main

    code = main(
        [
            "report",
            str(imported[1]),
            "--by",
            "setting",
            "--where",
            "included_in_paper=true",
            "--json",
            "--bootstrap",
            "200",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    # Live and offline judges are never pooled: the judge joins the grouping by itself.
    live = {g["setting"]: g for g in report["groups"] if g["judge"] == LIVE_JUDGE}
    assert any("not pooled" in w for w in report["warnings"])
    for setting, figures in _hand_figures(data).items():
        group = live[setting]
        assert group["n"] == figures["n"], setting
        assert group["accuracy"] == pytest.approx(figures["accuracy"]), setting
        # Two answers: the multi-class Brier score is twice the binary (1 - p_gold)^2.
        assert group["brier"] == pytest.approx(2 * figures["brier"]), setting
        # Rounds seen = the dataset's numContinues = judge turns minus the final one.
        assert group["mean_rounds"] == pytest.approx(figures["judge_turns"] - 1), setting
        low, high = group["ci95"]
        assert low < group["accuracy"] < high


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

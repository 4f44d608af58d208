"""Importing the real NYU human-debate dataset: counts, known rooms, quotes, quirks,
idempotence, and the report over the import.

These tests read the dataset from ``../shared/data/nyu-debate`` (next to the repository;
imported once per session, see ``tests/conftest.py``) and skip when it is absent; the
importer's paths on a tiny dataset in the same layout are in ``test_nyu_import_tiny.py``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from transcripts import JudgeView, Judgment, RunStore, Transcript
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

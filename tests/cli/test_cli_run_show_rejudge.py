"""The command line: `oversight run`, `show`, `rejudge`, as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.cli import main
from oversight.cli._main import SUBCOMMANDS
from transcripts import RunStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
QUICKSTART = EXAMPLES / "quickstart.toml"


@pytest.mark.parametrize("command", ["run", "rejudge", "show"])
def test_every_command_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: oversight {command}" in text and "examples:" in text


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_no_help_text_shows_format_escapes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse formats option help with %, not descriptions: a '%%' must not reach a reader."""
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: oversight {command}" in text and "%%" not in text


def test_run_prints_a_summary_and_the_report(
    quickstart_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = json.loads((quickstart_run / "status.json").read_text())
    assert status["status"] == "complete" and status["items_complete"] == status["items_total"]
    store = RunStore.open(quickstart_run)
    conditions = {t.condition for t in store.transcripts}
    assert conditions == {"unassisted", "expert", "consultancy", "debate", "critique", "rrm"}
    assert len(list(store.escalations)) > 0, "low-confidence items are queued for a person"
    # Running it again resumes a finished run: nothing is called, and the report is printed.
    assert main(["run", str(QUICKSTART), "--out", str(quickstart_run), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "complete" in out and "0 calls sent" in out
    assert "Accuracy" in out or "accuracy" in out


def test_dry_run_prints_the_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(EXAMPLES / "openai.toml"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "estimate for the real run" in out and "openai/gpt-4o" in out
    assert "total estimated cost: $" in out


def test_a_dry_run_names_no_folder_that_is_gone(capsys: pytest.CaptureFixture[str]) -> None:
    """Was: "(folder /tmp/oversight-dry-...)", a folder removed before it was printed."""
    assert main(["run", str(QUICKSTART), "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "96 transcripts (rehearsed in a temporary folder, now removed)" in out
    assert "oversight-dry-" not in out


def test_dry_run_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(QUICKSTART), "--dry-run", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {e["name"] for e in data["endpoints"]} == {"strong", "weak"}
    assert data["cost_usd"] == 0.0


def test_a_malformed_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(QUICKSTART.read_text().replace('protocol = "debate"', 'protocol = "debait"'))
    assert main(["run", str(bad), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "bad.toml" in err and "conditions[3].protocol: 'debait' is not a protocol" in err
    assert not (tmp_path / "out").exists(), "nothing is created for a refused file"


def test_show_lists_and_filters(quickstart_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(quickstart_run), "--condition", "debate", "--limit", "0"]) == 0
    out = capsys.readouterr().out
    assert "12 transcript(s)" in out and "debate" in out
    assert (
        main(
            [
                "show",
                str(quickstart_run),
                "--where",
                "source=lighthouse",
                "--where",
                "protocol=expert",
            ]
        )
        == 0
    )
    assert "6 transcript(s)" in capsys.readouterr().out


def test_show_one_in_full_and_as_its_judge_saw_it(
    quickstart_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore.open(quickstart_run)
    debate = next(t for t in store.transcripts if t.condition == "debate")
    assert main(["show", str(quickstart_run), debate.id[:8]]) == 0
    full = capsys.readouterr().out
    assert "judgments" in full and "Round 2" in full and "weak-judge" in full
    assert main(["show", str(quickstart_run), debate.id[:8], "--as-judge", "--rounds", "1"]) == 0
    seen = capsys.readouterr().out
    assert debate.question.text in seen and "Round 1" in seen
    assert "Round 2" not in seen and "judgments" not in seen and "weak-judge" not in seen


def test_show_refuses_an_unknown_id(
    quickstart_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", str(quickstart_run), "zzzz"]) == 1
    assert "no transcript id starts with 'zzzz'" in capsys.readouterr().err


def test_rejudge_by_rounds_prints_accuracy_by_rounds(
    quickstart_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "rejudge",
            str(quickstart_run),
            "--judge",
            "llm:mock/second-opinion",
            "--condition",
            "debate",
            "--rounds",
            "1,2",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "24 new judgment(s)" in out and "accuracy of the new judgments" in out
    store = RunStore.open(quickstart_run)
    new = [j for j in store.judgments if j.metadata.get("rejudge")]
    assert {j.metadata["rounds"] for j in new} == {1, 2}
    assert {j.judge.name for j in new} == {"mock/second-opinion"}
    # The table's accuracy per rounds is the scoring rule over the new judgments.
    from transcripts import score

    for rounds in (1, 2):
        credits = [
            score(j.probabilities or [], store.transcripts.get(j.transcript_id).question.correct)
            for j in new
            if j.metadata["rounds"] == rounds
        ]
        row = f"debate │ {rounds} │ {len(credits)} │ {sum(credits) / len(credits):.3f}"
        assert row in " ".join(out.split()), row


def test_an_exact_id_wins_over_longer_ids_it_prefixes() -> None:
    from oversight.runner._select import match_id

    assert match_id(["room-8", "room-80", "room-81"], "room-8") == "room-8"
    assert match_id(["room-8", "room-80", "room-81"], "room-80") == "room-80"


@pytest.mark.parametrize("command", ["show", "rejudge"])
@pytest.mark.parametrize(
    ("option", "named"),
    [
        (["--where", "sorce=lighthouse"], ["unknown field 'sorce'", "source", "protocol"]),
        (["--condition", "debat"], ["'debat'", "no such condition", "debate", "consultancy"]),
    ],
)
def test_a_misspelled_filter_is_an_error_naming_the_valid_ones(
    quickstart_run: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    option: list[str],
    named: list[str],
) -> None:
    before = (quickstart_run / "judgments.jsonl").read_text()
    extra = ["--judge", "llm:mock/second-opinion"] if command == "rejudge" else []
    assert main([command, str(quickstart_run), *extra, *option]) == 1
    err = capsys.readouterr().err
    assert all(text in err for text in named), err
    assert "Traceback" not in err
    assert (quickstart_run / "judgments.jsonl").read_text() == before  # nothing judged


def test_a_metadata_key_of_the_run_is_a_valid_filter(
    quickstart_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", str(quickstart_run), "--where", "metadata.setup=nothing-like-it"]) == 0
    assert "0 transcript(s)" in capsys.readouterr().out


def test_show_where_side_selects_the_single_speakers_for_the_gold(
    quickstart_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore.open(quickstart_run)
    expected = {
        t.id[:10]
        for t in store.transcripts.latest()
        if len(t.assignment) == 1 and next(iter(t.assignment.values())) == t.question.correct
    }
    store.close()
    assert expected, "the quickstart has consultants and answerers assigned the gold"
    assert main(["show", str(quickstart_run), "--where", "side=correct"]) == 0
    out = capsys.readouterr().out
    assert f"{len(expected)} transcript(s)" in out
    assert all(short in out for short in expected)


def test_show_lists_ids_that_pick_the_transcript_and_names_ambiguous_ones_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Imported rooms share long prefixes (``nyu-the-spy-in-the-elevator-0``, ``-3``): the
    id the list shows is one ``show RUN ID`` takes, and an ambiguous prefix names the ids
    it matches in full, not their common start."""
    from tests.transcripts.factories import debate

    store = RunStore.create(tmp_path)
    rooms = [f"nyu-the-spy-in-the-elevator-{n}" for n in (0, 3)]
    for room in rooms:
        store.transcripts.append(debate(id=room))
    store.close()
    assert main(["show", str(tmp_path)]) == 0
    listed = capsys.readouterr().out
    assert all(room in listed for room in rooms), listed
    assert main(["show", str(tmp_path), "nyu-the-spy"]) == 1
    err = capsys.readouterr().err
    assert "matches 2 transcripts" in err and all(room in err for room in rooms), err
    assert main(["show", str(tmp_path), rooms[1]]) == 0
    assert rooms[1] in capsys.readouterr().out

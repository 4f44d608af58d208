"""Bad options of ``show``, ``export``, ``plan`` and ``rejudge``: a clear message, no traceback,
and the run's files left as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from .bad_input_helpers import _fails


@pytest.mark.parametrize(
    ("flags", "named"),
    [(["t1", "--as-judge", "--rounds", "-1"], "--rounds"), (["--limit", "-1"], "--limit")],
)
def test_show_refuses_a_negative_count(
    flags: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.judges.helpers import saved_run, transcript

    saved_run(tmp_path / "run", [transcript("t1")]).close()
    err = _fails(["show", str(tmp_path / "run"), *flags], capsys)
    assert f"{named} must be 0 or more, got -1" in err


def test_export_to_a_folder_is_refused_naming_a_file_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.judges.helpers import saved_run, transcript

    saved_run(tmp_path / "run", [transcript("t1")]).close()
    (tmp_path / "exports").mkdir()
    err = _fails(["export", str(tmp_path / "run"), "--out", str(tmp_path / "exports")], capsys)
    assert "is a folder" in err and str(tmp_path / "exports" / "judgments.csv") in err
    assert list((tmp_path / "exports").iterdir()) == []


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--condition", "debate"], "--condition names the pilot's condition: give --pilot RUN"),
        (["--compare", "debate"], "--compare needs --pilot RUN and --paired"),
        (["--paired", "--compare", "debate"], "--compare needs --pilot RUN and --paired"),
    ],
)
def test_plan_refuses_pilot_options_without_a_pilot(
    flags: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert said in _fails(["plan", "--difference", "0.1", *flags], capsys)


def test_plan_refuses_compare_without_paired(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.judges.helpers import saved_run, transcript

    saved_run(tmp_path / "run", [transcript("t1")]).close()
    flags = ["--pilot", str(tmp_path / "run"), "--compare", "debate"]
    assert "--compare needs --pilot RUN and --paired" in _fails(
        ["plan", "--difference", "0.1", *flags], capsys
    )


@pytest.mark.parametrize("name", ["run.json", "judgments.jsonl", "transcripts.jsonl"])
def test_export_never_writes_over_the_run_s_own_files(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.judges.helpers import saved_run, transcript

    saved_run(tmp_path / "run", [transcript("t1")]).close()
    own = tmp_path / "run" / name
    before = own.read_bytes() if own.exists() else None
    err = _fails(["export", str(tmp_path / "run"), "--format", "csv", "--out", str(own)], capsys)
    assert "would write over" in err and "the run's own" in err
    assert (own.read_bytes() if own.exists() else None) == before  # (was: replaced by CSV)


def test_export_inspect_to_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.judges.helpers import saved_run, transcript

    saved_run(tmp_path / "run", [transcript("t1")]).close()
    (tmp_path / "logs.txt").write_text("keep")
    err = _fails(
        [
            "export",
            str(tmp_path / "run"),
            "--format",
            "inspect",
            "--out",
            str(tmp_path / "logs.txt"),
        ],
        capsys,
    )
    assert "is a file" in err  # (was a FileExistsError traceback)


def test_rejudge_rounds_written_with_a_superscript_is_refused_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``"³".isdigit()`` is true and ``int("³")`` fails: it was a ValueError traceback."""
    from tests.judges.helpers import saved_run, transcript

    saved_run(tmp_path / "run", [transcript("t1")]).close()
    err = _fails(
        ["rejudge", str(tmp_path / "run"), "--judge", "llm:mock/x", "--rounds", "³"], capsys
    )
    assert "--rounds '³': give whole numbers, e.g. 1,2,3 (or all)" in err


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--counted-only"], "--counted-only"),
        (["--kind", "transcripts"], "--kind"),
        (["--kind", "judgments", "--counted-only"], "--kind and --counted-only"),
    ],
)
def test_export_inspect_refuses_the_options_of_a_table(
    flags: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--kind and --counted-only choose a table's rows; --format inspect ignored them and
    wrote every judgment, silently."""
    from tests.judges.helpers import saved_run, transcript

    saved_run(tmp_path / "run", [transcript("t1")]).close()
    out = tmp_path / "logs"
    err = _fails(
        ["export", str(tmp_path / "run"), "--format", "inspect", "--out", str(out), *flags], capsys
    )
    assert f"{named} choose the rows of a csv or parquet table" in err
    assert not out.exists()


def test_export_refuses_an_unknown_kind_naming_the_kinds_before_opening_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--kind`` is checked by the command (argparse's choices would load the run store for
    every ``--help``): a wrong one is refused in words, whatever the folder holds."""
    err = _fails(["export", str(tmp_path / "absent"), "--kind", "rows"], capsys)
    assert "--kind must be one of judgments, transcripts, attention, got 'rows'" in err

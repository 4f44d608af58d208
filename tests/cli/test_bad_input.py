"""Bad input to ``oversight run`` (and the overrides ``rejudge`` shares): one clear message with
every problem, no traceback, and nothing written before the experiment and the overrides pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.cli import main

from .bad_input_helpers import _fails

EXPERIMENT = """
name = "small"
[dataset]
loader = "sample"
limit = 2
[endpoints.strong]
spec = "{spec}"
{extra}
[[conditions]]
label = "consultancy"
protocol = "consultancy"
roles = {{ consultant = "strong" }}
options = {{ rounds = 1 }}
[[judges]]
kind = "llm"
name = "judge"
endpoint = "mock/weak"
"""


def _experiment(
    tmp_path: Path, *, spec: str = "mock/strong", extra: str = "", judges: str = ""
) -> Path:
    """The experiment above in ``tmp_path``, with ``judges`` (more [[judges]] tables)
    after its own judge."""
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT.format(spec=spec, extra=extra) + judges, encoding="utf-8")
    return path


def test_bad_overrides_are_all_refused_before_the_folder_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    err = _fails(
        [
            "run",
            str(_experiment(tmp_path)),
            "--out",
            str(out),
            "--concurrency",
            "0",
            "--max-cost",
            "-1",
            "--max-tokens",
            "0",
        ],
        capsys,
    )
    assert "3 problems" in err
    for flag in ("--concurrency", "--max-cost", "--max-tokens"):
        assert f"(given as {flag}, overriding the file)" in err
    assert not out.exists()


def test_overrides_and_file_problems_are_reported_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _experiment(tmp_path, extra="rpm = -5")
    err = _fails(["run", str(path), "--out", str(tmp_path / "run"), "--concurrency", "0"], capsys)
    assert "2 problems" in err and "endpoints.strong.rpm" in err and "--concurrency" in err


def test_an_unknown_provider_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    err = _fails(
        ["run", str(_experiment(tmp_path, spec="opneai/gpt-4o")), "--out", str(out)], capsys
    )
    assert "unknown provider 'opneai'" in err and "endpoints.strong" in err
    assert not out.exists()
    # Fixed, the same --out is accepted (it was never a different experiment).
    assert (
        main(["run", str(_experiment(tmp_path)), "--out", str(out), "--no-progress", "--no-report"])
        == 0
    )


def test_an_api_key_in_the_file_is_refused_naming_the_key_not_its_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "sk-test-DO-NOT-LEAK-0123456789abcdef"
    path = _experiment(tmp_path, extra=f'options = {{ api_key = "{secret}" }}')
    out = tmp_path / "run"
    err = _fails(["run", str(path), "--out", str(out)], capsys)
    assert str(path) in err and "endpoints.strong.options.api_key" in err
    assert "api_key_env" in err and secret not in err
    assert not out.exists()


def test_a_key_like_value_anywhere_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _experiment(tmp_path, extra='api_key_env = "sk-proj-abcdefghijklmnopqrstuvwx"')
    err = _fails(["run", str(path), "--out", str(tmp_path / "run")], capsys)
    assert "endpoints.strong.api_key_env: this value looks like an API key" in err
    assert "abcdefghijklmnop" not in err


def test_a_key_inside_a_base_url_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A gateway that takes its key in the URL: the frozen experiment.json would hold it.
    key = "sk-proj-abcdefghijklmnopqrstuvwx"
    for url in (
        f"https://gateway.example.com/v1?api_key={key}",
        f"https://gateway.example.com/{key}/v1",
        f"https://user:{key}@gateway.example.com/v1",
    ):
        path = _experiment(tmp_path, extra=f'base_url = "{url}"')
        err = _fails(["run", str(path), "--out", str(tmp_path / "run")], capsys)
        assert "endpoints.strong.base_url: this value looks like an API key" in err
        assert "abcdefghijklmnop" not in err
        assert not (tmp_path / "run").exists()


def test_a_non_utf8_experiment_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(
        EXPERIMENT.format(spec="mock/strong", extra="").encode() + "# caf\xe9\n".encode("latin-1")
    )
    err = _fails(["run", str(path), "--out", str(tmp_path / "run")], capsys)
    assert "not UTF-8 text" in err and "save the file as UTF-8" in err


def test_a_non_utf8_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "questions.jsonl"
    data.write_bytes(b'{"id": "q1", "question": "caf\xe9?", "answers": ["a", "b"]}\n')
    text = EXPERIMENT.format(spec="mock/strong", extra="").replace(
        'loader = "sample"\nlimit = 2', f'loader = "jsonl"\npath = "{data.name}"'
    )
    path = tmp_path / "exp.toml"
    path.write_text(text)
    out = tmp_path / "run"
    err = _fails(["run", str(path), "--out", str(out)], capsys)
    assert "not UTF-8 text" in err and "questions.jsonl" in err
    assert not out.exists()


def test_out_pointing_at_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "taken"
    out.write_text("mine")
    err = _fails(["run", str(_experiment(tmp_path)), "--out", str(out)], capsys)
    assert "is a file, not a run folder" in err and out.read_text() == "mine"


def test_a_corrupt_experiment_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    path = _experiment(tmp_path)
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--no-report"]) == 0
    (out / "experiment.json").write_text('{"name": "small", "spec_h')
    err = _fails(["run", str(path), "--out", str(out)], capsys)
    assert "experiment.json" in err.replace(" ", "") and "is damaged" in err


def test_bracketed_words_in_an_error_are_printed_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _fails(["run", str(tmp_path / "[/red] and [limits].toml")], capsys)
    assert "[/red] and [limits].toml: no such experiment file" in err


def test_a_token_cap_message_keeps_its_limits_table_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert (
        main(
            [
                "run",
                str(_experiment(tmp_path)),
                "--out",
                str(out),
                "--max-tokens",
                "1",
                "--no-progress",
                "--no-report",
            ]
        )
        == 3
    )
    printed = " ".join(capsys.readouterr().out.split())
    assert "resume with a higher [limits] max_tokens" in printed
    assert json.loads((out / "status.json").read_text())["status"] == "stopped: token cap"


def test_rejudge_refuses_bad_overrides_before_any_judgment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert (
        main(["run", str(_experiment(tmp_path)), "--out", str(out), "--no-progress", "--no-report"])
        == 0
    )
    before = (out / "judgments.jsonl").read_bytes()
    err = _fails(
        [
            "rejudge",
            str(out),
            "--judge",
            "llm:mock/other",
            "--concurrency",
            "0",
            "--max-cost",
            "-1",
        ],
        capsys,
    )
    assert "--concurrency" in err and "--max-cost" in err
    assert (out / "judgments.jsonl").read_bytes() == before


def test_a_bad_limit_and_a_bad_cross_reference_are_reported_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The protocol name is wrong (a cross-check) and --max-cost is wrong (a field check):
    # both in one message, before anything is written.
    path = _experiment(tmp_path)
    path.write_text(path.read_text().replace('protocol = "consultancy"', 'protocol = "debat"'))
    out = tmp_path / "run"
    err = _fails(["run", str(path), "--out", str(out), "--max-cost", "-1"], capsys)
    assert "2 problems" in err and "--max-cost" in err and "'debat' is not a protocol" in err
    assert not out.exists()


def test_a_person_without_a_name_is_refused_before_the_folder_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _experiment(
        tmp_path,
        judges='[[judges]]\nname = "person"\nkind = "human"\n'
        '[[judges]]\nname = "asks"\nkind = "fallback"\nendpoint = "mock/weak"\n'
        'mode = "interactive"\nannotator = " "\n'
        '[[judges]]\nname = "trio"\nkind = "panel"\nmembers = ["llm:mock/weak", '
        '{ kind = "human" }]\n',
    )
    out = tmp_path / "run"
    err = _fails(["run", str(path), "--out", str(out)], capsys)
    assert "3 problems" in err
    for at in ("judges[1].annotator", "judges[2].annotator", "judges[3].members[1].annotator"):
        assert f"{at}: " in err
    assert 'annotator = "NAME"' in err
    assert not out.exists()  # (was: made, then refused at the judge, and not runnable again)
    assert _fails(["run", str(path), "--dry-run"], capsys)


@pytest.mark.parametrize("table", ["conditions", "judges"])
def test_a_single_bracket_array_table_says_to_double_the_brackets(
    table: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EXPERIMENT.format(spec="mock/strong", extra="").replace(f"[[{table}]]", f"[{table}]")
    path = tmp_path / "exp.toml"
    path.write_text(text, encoding="utf-8")
    err = _fails(["run", str(path), "--dry-run"], capsys)
    assert f"{table}: written as one [{table}] table; give each entry its own [[{table}]]" in err


def test_tournament_problems_are_reported_with_the_rest_each_at_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    text = (examples / "khan2024.toml").read_text(encoding="utf-8")
    text = text.replace('"bo8-refine"]', '"bo8-refine", "bo44"]', 1)  # tournaments[0]
    text = text.replace("best_of_n = 8\n", "best_of_n = 0\n", 1)  # players.bo8
    text = text.replace('protocol = "consultancy"', 'protocol = "consultncy"', 1)
    text = text.replace("limit = 3 ", "limit = 0 ", 1)
    path = tmp_path / "khan.toml"
    path.write_text(text.replace('path = "data/', f'path = "{examples}/data/'), encoding="utf-8")
    err = _fails(["run", str(path), "--dry-run"], capsys)
    assert "4 problems" in err, err
    for said in (
        "dataset.limit: Input should be greater than or equal to 1",
        "players.bo8.best_of_n: Input should be greater than or equal to 1",
        "tournaments[1].protocol: 'consultncy' is not allowed",
        "tournaments[0].players: 'bo44' is not a player; known: bo1,",
    ):
        assert said in err, err
    assert "(top level)" not in err


def test_a_problem_of_a_tournament_is_named_once_at_the_tournament(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    text = (examples / "khan2024.toml").read_text(encoding="utf-8")
    text = text.replace("options = { rounds = 3 }", 'options = { rounds = "x" }', 1)
    text = text.replace('judge = "judge"\n', 'judge = "jduge"\n', 1)  # tournaments[1]
    path = tmp_path / "khan.toml"
    path.write_text(text.replace('path = "data/', f'path = "{examples}/data/'), encoding="utf-8")
    err = _fails(["run", str(path), "--dry-run"], capsys)
    assert "2 problems" in err, err  # (was 27, one per generated match-up, as conditions[N])
    assert "tournaments[0].options.rounds: Input should be a valid integer" in err
    assert "tournaments[1].judge: 'jduge' is not a judge; known: judge" in err
    assert "conditions[" not in err
    text = (examples / "khan2024.toml").read_text(encoding="utf-8")
    text = text.replace('roles = { preference = "judge" }', "", 1)  # tournaments[0]: 21 matches
    path.write_text(text.replace('path = "data/', f'path = "{examples}/data/'), encoding="utf-8")
    err = _fails(["run", str(path), "--dry-run"], capsys)
    assert "problems" not in err, err  # (was 20 lines, one per match-up that scores speeches)
    assert "tournaments[0].roles: debate needs an endpoint for the 'preference' role" in err


def test_a_human_study_of_a_condition_the_experiment_lacks_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = '[human]\nannotators = ["ann", "ben"]\nconditions = ["consultancy", "debate"]\n'
    path = _experiment(tmp_path, extra="")
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    out = tmp_path / "run"
    err = _fails(["run", str(path), "--out", str(out)], capsys)
    said = "human.conditions: 'debate' is not a condition of the experiment; its conditions: "
    assert said in err
    assert "consultancy" in err.split("its conditions: ")[1]
    assert not out.exists()  # (was: found by the first `oversight judge`, after the paid run)


def test_a_bad_member_spec_is_reported_at_its_place_with_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = (
        '[[judges]]\nname = "trio"\nkind = "panel"\nmembers = ["llm:mock/a,extra", "llm:mock/b"]\n'
        '[[judges]]\nname = "f"\nkind = "fallback"\nprimary = "lmm:mock/c"\n'
    )
    path = _experiment(tmp_path, spec="nope/strong")
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    err = _fails(["run", str(path), "--dry-run"], capsys)
    assert "3 problems" in err  # (was the first spec's message alone, with no file or place)
    assert "judges[1].members: judge spec 'llm:mock/a,extra': 'extra' needs a key" in err
    assert "judges[2].primary: judge spec 'lmm:mock/c': 'lmm' is not a judge kind" in err
    assert "endpoints.strong: unknown provider 'nope'" in err


def test_a_dry_run_checks_the_overrides_and_names_the_flags_it_does_not_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dry run ignored every flag of the real run: ``--dry-run --max-cost -1`` exited 0,
    and ``--out``, ``--workers`` went unmentioned. A bad value is now refused as the real
    run refuses it, and the flags a dry run does not use are named; --out stays empty."""
    path = _experiment(tmp_path)
    err = _fails(["run", str(path), "--dry-run", "--max-cost", "-1"], capsys)
    assert "--max-cost" in err
    out = tmp_path / "real"
    assert main(["run", str(path), "--dry-run", "--out", str(out), "--workers", "2"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "note: a dry run rehearses on mock endpoints in a temporary folder, with no cap;" in said
    assert "--out, --workers apply to the real run only" in said
    assert not out.exists()
    assert main(["run", str(path), "--dry-run", "--out", str(out)]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "--out applies to the real run only" in said


def test_a_deferred_fallback_judge_as_a_panel_member_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A person's later answer to the member's queued item would not change the panel's
    verdict: the report would count the panel's verdict built from the automatic answer
    (was: accepted, and the person's answer showed up as a judge of its own)."""
    path = _experiment(
        tmp_path,
        judges='[[judges]]\nname = "trio"\nkind = "panel"\nmembers = ["llm:mock/weak", '
        '{ kind = "fallback", endpoint = "mock/weak", mode = "deferred" }]\n'
        '[[judges]]\nname = "around"\nkind = "fallback"\nmode = "deferred"\n'
        'members = ["llm:mock/weak", "llm:mock/strong"]\n',
    )
    out = tmp_path / "run"
    err = _fails(["run", str(path), "--out", str(out)], capsys)
    assert "judges[1].members[1]: a deferred fallback judge cannot be a panel's member" in err
    assert "judges[2]" not in err  # a fallback around a panel is the way
    assert not out.exists()

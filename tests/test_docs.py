"""The documentation's tutorials, getting-started page and the README's example run as
written: every Python block, and every ``oversight`` command of their shell blocks (but the
interactive ones), in a fresh folder.

``mkdocs build --strict`` (in ``bash .ci/dev test``) checks the site builds and every link
resolves; this checks what the pages tell a user to type still works, and that the
experiment file's key-by-key tables give each key the default the code has.
"""

from __future__ import annotations

import re
import shlex
import shutil
import tomllib
from pathlib import Path

import pytest

from oversight.cli import main
from transcripts import RunStore

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = [
    *sorted((ROOT / "docs" / "tutorials").glob("*.md")),
    ROOT / "docs" / "getting-started.md",
    ROOT / "README.md",
]
_BLOCK = re.compile(r"```(python|bash)\n(.*?)```", re.S)
_SAYS = re.compile(r"says(?: so)?:? `([^`]+)`")
"""What a page quotes a command as printing ("The summary says so: `...`")."""


def _commands(shell: str) -> list[str]:
    joined = shell.replace("\\\n", " ")
    lines = [line.split("  #")[0].strip() for line in joined.splitlines()]
    return [line for line in lines if line.startswith("oversight ")]


@pytest.mark.parametrize("page", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_a_tutorial_runs_as_written(
    page: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    ran = 0
    printed = []
    session: dict[str, object] = {"__name__": "__tutorial__"}  # one reader's session per page
    for kind, body in _BLOCK.findall(page.read_text()):
        if kind == "python":
            exec(compile(body, page.name, "exec"), session)
            ran += 1
            continue
        for command in _commands(body):
            if " judge " in f" {command} " or "human:" in command:
                continue  # a person at the terminal
            if " ID " in f" {command} ":
                first = next(iter(RunStore.open("runs/quickstart").transcripts.ids()))
                command = command.replace(" ID ", f" {first} ")
            assert main(shlex.split(command)[1:]) == 0, (
                page.name,
                command,
                capsys.readouterr().err,
            )
            printed.append(capsys.readouterr().out)
            ran += 1
    assert ran >= 1, f"{page.name}: nothing to run"
    # What the page says a command prints is what it printed (numbers included).
    out = " ".join(" ".join(printed).split())
    for quoted in _SAYS.findall(page.read_text()):
        assert " ".join(quoted.split()) in out, (page.name, quoted)


def test_the_study_example_in_the_judges_guide_prints_what_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (ROOT / "docs" / "guide" / "judges.md").read_text()
    command = re.search(r"^\$ (oversight judge \S+ --plan-study .*?)\n(?!    )", page, re.S | re.M)
    shown = re.search(r"^\d+ transcripts assigned \(\d+ judgments\); \d+ left out", page, re.M)
    assert command is not None and shown is not None
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "examples/quickstart.toml", "--out", "runs/quickstart"]) == 0
    capsys.readouterr()
    assert main(shlex.split(command.group(1).replace("\\\n", " "))[1:]) == 0
    assert shown.group(0) in " ".join(capsys.readouterr().out.split())


_ROW = re.compile(r"^\| ((?:`[^`|]+`(?:, | / )?)+) \| ([^|]+) \|", re.M)


def _section(heading: str) -> str:
    page = (ROOT / "docs" / "guide" / "experiment-file.md").read_text()
    assert f"### {heading}" in page, f"experiment-file.md has no section {heading}"
    return page.split(f"### {heading}", 1)[1].split("\n### ", 1)[0]


def _defaults(section: str) -> dict[str, str]:
    """Key -> its default cell, for the rows of one key (`rounds`, `judge_name` rows share)."""
    rows = {}
    for keys, default in _ROW.findall(section):
        names = re.findall(r"`([^`]+)`", keys)
        if len(names) == 1:
            rows[names[0]] = default.strip()
    return rows


def _toml(literal: str) -> object:
    """The value a TOML file would give for ``literal`` (`16`, `"all"`, `1.0`), or the text."""
    try:
        return tomllib.loads(f"v = {literal}")["v"]
    except tomllib.TOMLDecodeError:
        return literal


@pytest.mark.parametrize(
    ("heading", "model", "every_field"),
    [
        ("Top level", "Experiment", False),
        ("`[endpoints.NAME]`", "EndpointOptions", False),
        ("`[endpoints.NAME]`", "EndpointConfig", True),
        ("`[counterbalance]`", "Counterbalance", True),
        ("`[human]`", "StudyDesign", True),
        ("`[stress]`", "StressSpec", True),
        ("`[split]`", "Split", True),
        ("`[limits]`", "Limits", True),
    ],
)
def test_the_experiment_file_page_gives_each_key_its_default(
    heading: str, model: str, every_field: bool
) -> None:
    """A literal default the page gives (`16`, `"all"`) is the field's, and every field of a
    section's model is named there (an endpoint's defaults are the endpoint layer's)."""
    from judges.study import StudyDesign
    from oversight import experiment
    from oversight.endpoints import EndpointOptions

    named = {"StudyDesign": StudyDesign, "EndpointOptions": EndpointOptions}
    fields = named.get(model, getattr(experiment, model, None)).model_fields
    section = _section(heading)
    if every_field:
        assert {f for f in fields if f"`{f}`" not in section} == set(), heading
    for name, cell in _defaults(section).items():
        literal = re.fullmatch(r"`([^`]+)`(?: \(.*\))?", cell)
        if name not in fields or not literal or fields[name].is_required():
            continue
        default = fields[name].get_default(call_default_factory=True)
        if default is not None:  # None: the page gives what stands in (`runs/<name>`)
            assert _toml(literal.group(1)) == default, (heading, name, cell, default)


def test_the_replay_tutorial_s_pandas_line_gives_the_report_s_accuracy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The line the page says "is the report's accuracy", on a run two judges judged (as the
    page's re-judging leaves it), gives each group's accuracy of the report."""
    pandas = pytest.importorskip("pandas")
    from oversight.analysis import analyze

    page = (ROOT / "docs" / "tutorials" / "replay-and-rejudge.md").read_text()
    claim = re.search(r"`(df\[df\.counted\][^`]*)`\s+is\s+the\s+report's\s+accuracy", page)
    assert claim is not None, "the page no longer says which line gives the report's accuracy"
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for command in (
        "run examples/quickstart.toml --out runs/quickstart",
        "rejudge runs/quickstart --judge llm:mock/second-opinion --condition debate",
        "export runs/quickstart --out judgments.csv",
    ):
        assert main(command.split()) == 0, (command, capsys.readouterr().err)
    series = eval(claim.group(1), {"df": pandas.read_csv("judgments.csv")})
    shown = {" · ".join(key if isinstance(key, tuple) else (key,)): v for key, v in series.items()}
    report = {g.label: g.accuracy for g in analyze("runs/quickstart").groups}
    assert shown == pytest.approx(report)

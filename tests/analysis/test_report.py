"""The report: JSON schema, terminal tables, Markdown, plots and the CLI handler."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from oversight.analysis import Analysis, analyze
from oversight.analysis.synthetic import SyntheticSpec, make_store
from oversight.cli import main
from oversight.cli.report import run as report_run

GROUP_KEYS = {
    "label",
    "n",
    "n_failed",
    "n_skipped",
    "n_unscored",
    "n_transcripts",
    "n_questions",
    "n_clusters",
    "accuracy",
    "ci95",
    "mean_p_gold",
    "brier",
    "log_score",
    "ece",
    "mean_rounds",
    "picks_first",
    "calibration",
    "selective",
    "by_rounds",
    "by_gold_position",
    "by_assigned_side",
    "by",
    "ci_method",
    "balanced_accuracy",
    "balanced_accuracy_ci95",
    "brier_ci95",
    "brier_binary",
    "log_score_ci95",
    "ece_ci95",
}
COMPARISON_KEYS = {
    "by",
    "assisted",
    "baseline",
    "expert",
    "n_questions",
    "n_clusters",
    "accuracy_assisted",
    "accuracy_baseline",
    "difference",
    "ci95",
    "mcnemar",
    "n_questions_gap",
    "accuracy_expert",
    "gap_closed",
    "gap_closed_ci95",
    "design",
    "n_questions_baseline",
    "ci_method",
    "df",
    "test",
    "p_value",
    "p_adjusted",
    "assisted_minus_baseline",
    "assisted_minus_baseline_ci95",
    "expert_minus_baseline",
    "expert_minus_baseline_ci95",
    "gap_closed_bounded",
}


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synthetic") / "run"
    make_store(path, SyntheticSpec(n_questions=60, judges=("weak", "fallback"), seed=3))
    return path


def _args(path: Path, **overrides: Any) -> argparse.Namespace:
    values: dict[str, Any] = dict(
        run_dir=str(path),
        by=["condition,judge"],
        where=[],
        json=False,
        markdown=False,
        plots=False,
        out=None,
        bootstrap=100,
        seed=0,
    )
    values.update(overrides)
    return argparse.Namespace(**values)


def test_json_has_the_documented_schema(synthetic_run: Path) -> None:
    result = analyze(synthetic_run, n_bootstrap=100)
    data = json.loads(result.model_dump_json())
    assert set(data) == {
        "schema_version",
        "run",
        "run_id",
        "settings",
        "totals",
        "groups",
        "comparisons",
        "judge_comparisons",
        "ratings",
        "agreement",
        "agreement_by_condition",
        "escalations",
        "injection",
        "warnings",
        "model",
        "tournaments",
        "beliefs",
    }
    group = data["groups"][0]
    assert GROUP_KEYS | {"condition", "judge"} == set(group)
    assert group["condition"] == group["by"]["condition"] == "unassisted"
    assert len(group["ci95"]) == 2 and len(group["calibration"]) == 10
    comparison = data["comparisons"][0]
    assert COMPARISON_KEYS | {"judge"} == set(comparison)
    assert set(comparison["mcnemar"]) == {
        "assisted_only",
        "baseline_only",
        "both",
        "neither",
        "excluded",
        "p_value",
    }
    assert set(data["judge_comparisons"][0]) == {
        *("condition", "by", "judge_a", "judge_b", "n_pairs", "n_transcripts", "n_only_a"),
        *("n_only_b", "n_clusters", "accuracy_a", "accuracy_b", "difference", "ci95"),
        *("ci_method", "df", "test", "p_value", "p_adjusted"),
    }
    # The JSON reads back into the same model.
    assert Analysis.model_validate_json(result.model_dump_json()) == result


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for model in [schema, *schema.get("$defs", {}).values()]:
        for name, prop in model.get("properties", {}).items():
            found.append((f"{model.get('title')}.{name}", prop))
    return found


def test_every_json_field_is_documented() -> None:
    undocumented = [
        name
        for name, prop in _properties(Analysis.model_json_schema())
        if not prop.get("description")
    ]
    assert undocumented == []


def test_cli_prints_the_tables(synthetic_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_run(_args(synthetic_run)) == 0
    out = capsys.readouterr().out
    for title in (
        "Accuracy by condition × judge",
        "Comparisons: accuracy of A minus B",
        "Calibration and scoring rules",
        "Gap closed toward the expert ceiling",
        "Position and side bias",
        "Debaters judged by weak",
        "Judge agreement",
        "Escalations to people",
    ):
        assert title in out
    assert "unassisted" in out and "consultancy" in out


def test_cli_json_is_the_only_thing_on_stdout(
    synthetic_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report_run(_args(synthetic_run, json=True, by=["protocol"], where=["judge=weak"])) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["by"] == ["protocol"]
    assert data["settings"]["where"] == ["judge=weak"]
    assert [g["protocol"] for g in data["groups"]] == [
        "unassisted",
        "consultancy",
        "debate",
        "expert",
    ]
    assert all(g["n"] == 60 for g in data["groups"])


def test_cli_writes_markdown_json_and_plots(
    synthetic_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    assert report_run(_args(synthetic_run, markdown=True, plots=True, out=str(out))) == 0
    names = {p.name for p in out.iterdir()}
    assert {
        "analysis.json",
        "report.md",
        "accuracy.png",
        "calibration.png",
        "rounds.png",
        "differences.png",
    } <= names
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (out / "report.md").read_text()
    assert "## Results" in markdown and "](accuracy.png)" in markdown
    assert "| condition | judge | n | sources | accuracy |" in markdown
    assert "How to read these numbers" in markdown
    # The definitions are the one text the documentation site shows too.
    metrics = Path(__file__).parents[2] / "oversight" / "report" / "metrics.md"
    assert metrics.read_text().split("-->", 1)[1].strip() in markdown
    assert json.loads((out / "analysis.json").read_text())["run_id"] == "synthetic-3"
    assert "wrote" in capsys.readouterr().out


def test_default_output_folder_is_the_runs_reports(tmp_path: Path) -> None:
    path = tmp_path / "run"
    make_store(path, SyntheticSpec(n_questions=10, judges=("weak",), conditions=("unassisted",)))
    assert report_run(_args(path, markdown=True)) == 0
    assert (path / "reports" / "report.md").exists()


def test_dispatcher_runs_report_and_reports_user_errors(
    synthetic_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(synthetic_run), "--json", "--bootstrap", "50"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["n_bootstrap"] == 50
    assert main(["report", str(synthetic_run), "--by", "nonsense"]) == 1
    assert "unknown field 'nonsense'" in capsys.readouterr().err
    # --by repeated adds its fields up (the last one alone counted, silently).
    both = ["report", str(synthetic_run), "--json", "--bootstrap", "50"]
    assert main([*both, "--by", "condition,judge"]) == 0
    together = json.loads(capsys.readouterr().out)
    assert main([*both, "--by", "condition", "--by", "judge"]) == 0
    repeated = json.loads(capsys.readouterr().out)
    assert repeated["groups"] == together["groups"] and repeated["settings"]["by"] == [
        "condition",
        "judge",
    ]
    assert main(["report", str(synthetic_run.parent / "absent")]) == 1


def test_matplotlib_is_imported_only_for_plots() -> None:
    code = (
        "import sys, oversight.analysis, oversight.report, oversight.cli.report\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names_are_exported() -> None:
    import oversight.analysis
    import oversight.report

    for module in (oversight.analysis, oversight.report):
        assert len(set(module.__all__)) == len(module.__all__)
        for name in module.__all__:
            assert hasattr(module, name)


def test_names_from_users_are_printed_as_text_not_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from .helpers import RunBuilder

    run = RunBuilder(tmp_path / "run")
    for i in range(4):
        run.item(
            f"q{i}",
            0.8 if i % 2 else 0.3,
            condition="[bold]weird[/bold]",
            protocol="debate",
            source=f"s{i}",
        )
    assert report_run(_args(run.path)) == 0
    assert "[bold]weird[/bold]" in capsys.readouterr().out


def test_a_group_from_one_source_says_why_it_has_no_interval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from .helpers import RunBuilder

    run = RunBuilder(tmp_path / "run")
    for i in range(4):  # unassisted: four sources; debate: four questions of one source
        run.item(f"u{i}", 0.8 if i % 2 else 0.3, condition="unassisted", source=f"s{i}")
        run.item(f"d{i}", 0.9, condition="debate", protocol="debate", source="one-book")
    assert report_run(_args(run.path, by=["condition"])) == 0
    lines = capsys.readouterr().out.splitlines()
    accuracy = lines[next(i for i, line in enumerate(lines) if "Accuracy by" in line) :]
    debate = next(line for line in accuracy if line.split()[:1] == ["debate"])
    unassisted = next(line for line in accuracy if line.split()[:1] == ["unassisted"])
    assert "— (1 source)" in debate  # one source: no interval, and the row says why
    assert "— (" not in unassisted and "[" in unassisted  # four sources: an interval


def test_calibration_markers_share_one_scale_across_series(
    synthetic_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bin of one judgment is drawn as the smallest marker of the figure, not scaled up
    to the size of a larger series' biggest bin."""
    from matplotlib.collections import PathCollection
    from matplotlib.figure import Figure

    from oversight.report._plots import _calibration

    a = analyze(synthetic_run, n_bootstrap=50)
    first = a.groups[0]
    one = next(b for b in first.calibration if b.n)
    lone = [
        b.model_copy(update={"n": 1}) if b is one else b.model_copy(update={"n": 0})
        for b in first.calibration
    ]
    a = a.model_copy(
        update={"groups": [first.model_copy(update={"calibration": lone}), *a.groups[1:]]}
    )
    drawn: list[Figure] = []
    save = Figure.savefig
    monkeypatch.setattr(
        Figure, "savefig", lambda fig, *x, **k: (drawn.append(fig), save(fig, *x, **k))
    )
    assert _calibration(a, tmp_path / "calibration.png") is not None
    markers = [c for ax in drawn[0].axes for c in ax.collections if isinstance(c, PathCollection)]
    alone = next(c for c in markers if len(c.get_offsets()) == 1)
    sizes = [float(s) for c in markers for s in c.get_sizes()]
    assert float(alone.get_sizes()[0]) == min(sizes) < max(sizes)


def test_the_plots_name_the_intervals_the_tables_use(
    synthetic_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The accuracy and rounds figures said "95% cluster-bootstrap intervals" while they
    drew the CR2 t intervals of a run with fewer than 50 sources."""
    from matplotlib.figure import Figure

    from oversight.report._plots import _accuracy, _rounds

    a = analyze(synthetic_run, n_bootstrap=50)
    assert all("CR2" in g.ci_method for g in a.groups if g.n_clusters >= 2)
    drawn: list[Figure] = []
    save = Figure.savefig
    monkeypatch.setattr(
        Figure, "savefig", lambda fig, *x, **k: (drawn.append(fig), save(fig, *x, **k))
    )
    assert _accuracy(a, tmp_path / "accuracy.png") is not None
    assert _rounds(a, tmp_path / "rounds.png") is not None
    accuracy_title = drawn[0].axes[0].get_title()
    rounds_title = drawn[1].get_suptitle()
    for title in (accuracy_title, rounds_title):
        assert "CR2 t below 50 sources, else cluster bootstrap" in title
        assert "95% cluster-bootstrap" not in title


def test_the_agreement_table_says_its_alpha_is_the_conditions_not_the_pairs(
    tmp_path: Path,
) -> None:
    """Each pair's row repeats the alpha of all the condition's judges in an "alpha" column
    beside the pair's kappa; the note did not say so."""
    from oversight.report._tables import build_tables

    from .helpers import RunBuilder

    run = RunBuilder(tmp_path / "run")
    for i in range(6):
        t = run.transcript(run.question(f"q{i}", source=f"s{i}"))
        for k, judge in enumerate(("a", "b", "c")):
            run.judge(t, [0.8, 0.2] if (i + k) % 3 else [0.2, 0.8], judge=judge)
    tables = build_tables(analyze(run.path, n_bootstrap=50))
    table = next(t for t in tables if "agreement" in t.title)
    assert len({row[-1] for row in table.rows}) == 1 and len(table.rows) == 6  # all, unassisted
    assert "alpha: over all judges of the condition, not the pair" in table.note


def test_the_guides_json_outline_names_every_top_level_field() -> None:
    """docs/guide/analysis.md outlines the report's JSON; it left out injection and beliefs."""
    import re

    guide = (Path(__file__).parents[2] / "docs" / "guide" / "analysis.md").read_text()
    outline = guide.split("**JSON schema**", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    for name in Analysis.model_fields:
        assert re.search(rf"\b{name}\b", outline), name


def test_report_md_is_written_in_utf8_whatever_the_locale(synthetic_run: Path) -> None:
    """Under an ASCII locale (LANG=C without UTF-8 coercion; cp1252 on Windows lacks "≥"),
    writing report.md raised UnicodeEncodeError on its first "×"."""
    import os

    env = {
        **os.environ,
        "LC_ALL": "C",
        "LANG": "C",
        "PYTHONCOERCECLOCALE": "0",
        "PYTHONUTF8": "0",
        "PYTHONIOENCODING": "utf-8",  # the terminal is not what is tested here
    }
    code = "import sys; from oversight.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "report", str(synthetic_run), "--markdown"],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = (synthetic_run / "reports" / "report.md").read_text(encoding="utf-8")
    assert "Accuracy by condition × judge" in text and "≥" in text


def _ascii_report(*args: str) -> subprocess.CompletedProcess[bytes]:
    import os

    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LANG": "C", "LC_ALL": "C"}
    return subprocess.run(
        [sys.executable, "-m", "oversight.cli", *args],
        capture_output=True,
        env=env,
        cwd=Path(__file__).parents[2],
        check=False,
    )


def test_the_report_prints_to_an_ascii_only_stdout(tmp_path: Path) -> None:
    # A stdout that encodes ASCII only (PYTHONIOENCODING=ascii, an old terminal, a pipe
    # into a tool that says so): the report died with UnicodeEncodeError on "×" in its
    # first table's title, after printing nothing of it.
    from .rich_run import build

    build(tmp_path / "run")
    shown = _ascii_report("report", str(tmp_path / "run"))
    assert shown.returncode == 0, shown.stderr.decode("ascii", "replace")
    out = shown.stdout.decode("ascii")  # every byte ASCII
    assert "Accuracy by condition x judge" in out  # "×", spelled out
    assert "Generator-discriminator-critique gaps" in out  # en dashes as hyphens
    assert "D - C" in out and "\\u" not in out
    gdc = _ascii_report("gdc", str(tmp_path / "run"), "--json")
    assert gdc.returncode == 0
    assert json.loads(gdc.stdout.decode("ascii"))[0]["condition"]

"""A prompt override that names no prompt, or a field its prompt does not have, is refused
before anything runs (docs/guide/protocols.md, "Overriding prompts" and "Judge prompts per
protocol"), not found out item by item while the run spends on every other condition."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.bad_input_helpers import _fails

ROOT = Path(__file__).resolve().parents[2]

_DEBATE = 'protocol = "debate"\nroles = { debater = "strong" }\noptions = { rounds = 2'
_JUDGE = '[[judges]]\nname = "weak-judge"'


def _experiment(tmp_path: Path, old: str, new: str) -> Path:
    text = (ROOT / "examples" / "quickstart.toml").read_text()
    assert old in text
    path = tmp_path / "exp.toml"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ('render_nope = "x"', "unknown prompt names ['render_nope']"),
        ('render_debater_turn = "Round {round}: {gold}"', "unknown field 'gold'"),
    ],
    ids=["name", "field"],
)
def test_a_bad_protocol_prompt_override_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], override: str, said: str
) -> None:
    path = _experiment(tmp_path, _DEBATE, _DEBATE + f", prompts = {{ {override} }}")
    out = tmp_path / "run"
    err = _fails(["run", str(path), "--out", str(out)], capsys)
    assert "conditions[3].options.prompts" in err and said in err
    assert "render_debater_turn" in err  # the names or fields it could use
    assert not (out / "transcripts.jsonl").exists()


def test_a_judge_template_naming_a_field_the_view_lacks_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    judge = (
        '[[judges]]\nname = "judge"\nkind = "llm"\nendpoint = "weak"\nprompts = { '
        '"consultancy:render_judge_system" = "You question a consultant about {gold}" }\n\n'
    )
    path = _experiment(tmp_path, _JUDGE, judge + _JUDGE)
    out = tmp_path / "run"
    err = _fails(["run", str(path), "--out", str(out)], capsys)
    assert "judges[0]" in err and "unknown field 'gold'" in err and "'question'" in err
    assert not (out / "transcripts.jsonl").exists()


def test_the_guide_s_own_overrides_are_accepted(tmp_path: Path) -> None:
    from oversight.experiment import load_experiment

    judge = (
        '[[judges]]\nname = "judge"\nkind = "llm"\nendpoint = "weak"\nprompts = { '
        '"consultancy:render_judge_system" = "You question a consultant about {question}" }\n\n'
    )
    path = _experiment(tmp_path, _JUDGE, judge + _JUDGE)
    text = path.read_text().replace(
        _DEBATE, _DEBATE + ', prompts = { render_debater_turn = "Round {round}: {transcript}" }'
    )
    path.write_text(text)
    assert load_experiment(path).judges[0].prompts

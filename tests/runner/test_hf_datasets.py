"""``loader = "hf"``: Hugging Face datasets built and saved by the tests with ``datasets``."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.cli import main
from oversight.datasets import HFSpec, load_questions
from tests.optional import lazy, needs
from transcripts import RunStore
from transcripts.errors import DatasetError

datasets = lazy("datasets")
pytestmark = needs("datasets", "the hf extra (datasets) is not installed")

MMLU_ROWS = {
    "question": ["What is 2+2?", "Boiling point of water at sea level?", "Capital of France?"],
    "subject": ["math", "physics", "geography"],
    "choices": [
        ["3", "4", "5", "22"],
        ["90C", "100C", "110C", "0C"],
        ["Lyon", "Nice", "Paris", "Lille"],
    ],
    "answer": [1, 1, 2],
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Saved copies go to a private folder; the hub is unreachable."""
    monkeypatch.setenv("OVERSIGHT_DATASETS", str(tmp_path / "saved"))
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    return tmp_path / "saved"


def _save_mmlu(target: Path) -> None:
    split = datasets.Dataset.from_dict(MMLU_ROWS)
    datasets.DatasetDict({"test": split, "dev": split.select([0])}).save_to_disk(str(target))


def test_mmlu_preset_reads_a_saved_dataset_by_name(home: Path) -> None:
    _save_mmlu(home / "cais__mmlu" / "all")
    questions = load_questions(HFSpec(name="cais/mmlu", config="all", preset="mmlu"))
    assert [q.text for q in questions] == MMLU_ROWS["question"]
    assert [q.correct for q in questions] == [1, 1, 2]
    assert questions[2].answers == ["Lyon", "Nice", "Paris", "Lille"]
    assert [q.source for q in questions] == ["math", "physics", "geography"]
    assert questions[0].dataset == "cais/mmlu/all"
    dev = load_questions(HFSpec(name="cais/mmlu", config="all", preset="mmlu", split="dev"))
    assert len(dev) == 1


def test_gpqa_preset_shuffles_the_gold_out_of_first_place(home: Path) -> None:
    rows = [
        {
            "Record ID": f"rec{i}",
            "Question": f"Q{i}?",
            "Correct Answer": f"right{i}",
            "Incorrect Answer 1": f"w{i}a",
            "Incorrect Answer 2": f"w{i}b",
            "Incorrect Answer 3": f"w{i}c",
            "Subdomain": "Optics",
        }
        for i in range(8)
    ]
    folder = home.parent / "gpqa-saved"
    datasets.Dataset.from_list(rows).save_to_disk(str(folder))
    questions = load_questions(HFSpec(path=folder, preset="gpqa", answers=2))
    assert [q.id for q in questions] == [f"rec{i}" for i in range(8)]
    for i, q in enumerate(questions):
        assert q.correct is not None and q.answers[q.correct] == f"right{i}"
        assert len(q.answers) == 2
    assert {q.correct for q in questions} == {0, 1}  # seeded shuffle, not always first
    assert {q.source for q in questions} == {"Optics"}


def test_quality_preset_keeps_the_article_hidden_and_clusters_by_it(tmp_path: Path) -> None:
    story_a, story_b = "The lighthouse keeper ...", "The seed vault ..."
    rows = {
        "article": [story_a, story_a, story_b],
        "question": ["q1?", "q2?", "q3?"],
        "options": [["a", "b", "c", "d"]] * 3,
        "answer": [0, 3, 2],
        "hard": [True] * 3,
    }
    datasets.Dataset.from_dict(rows).save_to_disk(str(tmp_path / "quality"))
    questions = load_questions(HFSpec(path=tmp_path / "quality", preset="quality", split="test"))
    assert [q.context for q in questions] == [story_a, story_a, story_b]
    assert questions[0].source == questions[1].source != questions[2].source
    assert [q.correct for q in questions] == [0, 3, 2]


def test_field_mapping_over_a_folder_of_parquet_files(tmp_path: Path, home: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    datasets.Dataset.from_dict(
        {"prompt": ["Is the sky blue?"], "opts": [["yes", "no"]], "gold": ["A"]}
    ).to_parquet(str(folder / "test.parquet"))
    spec = HFSpec(
        path=folder,
        fields={"text": "prompt", "answers": "opts", "correct": "gold"},
        correct_format="letter",
    )
    [question] = load_questions(spec)
    assert (question.text, question.answers, question.correct) == (
        "Is the sky blue?",
        ["yes", "no"],
        0,
    )
    missing = r"mine row 1: no field 'answers' in the record \(fields: prompt, opts, gold\)"
    with pytest.raises(DatasetError, match=missing):
        load_questions(HFSpec(path=folder))
    misspelled = {"text": "prompt", "answers": "opts", "correct": "gold", "source": "topic"}
    with pytest.raises(DatasetError, match=r"no record has a value for dataset.fields.source"):
        load_questions(HFSpec(path=folder, fields=misspelled))  # (was: loaded, no clusters)


def test_a_dataset_not_on_this_machine_says_to_fetch_it(home: Path) -> None:
    with pytest.raises(DatasetError, match="oversight datasets fetch nobody/nothing --config x"):
        load_questions(HFSpec(name="nobody/nothing", config="x", preset="mmlu"))
    _save_mmlu(home / "cais__mmlu")
    with pytest.raises(DatasetError, match="no split 'validation'; it has: test, dev"):
        load_questions(HFSpec(name="cais/mmlu", preset="mmlu", split="validation"))


def test_fetch_saves_where_runs_read(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "hub-copy"
    source.mkdir()
    datasets.Dataset.from_dict(MMLU_ROWS).to_parquet(str(source / "test.parquet"))
    assert main(["datasets", "fetch", str(source)]) == 0
    assert "saved" in capsys.readouterr().out
    questions = load_questions(HFSpec(name=str(source), preset="mmlu"))
    assert len(questions) == 3


def test_an_experiment_loads_a_saved_dataset_by_name_and_runs(tmp_path: Path, home: Path) -> None:
    _save_mmlu(home / "cais__mmlu" / "all")
    experiment = tmp_path / "mmlu.toml"
    experiment.write_text(
        'name = "hf-mmlu"\n'
        '[dataset]\nloader = "hf"\nname = "cais/mmlu"\nconfig = "all"\npreset = "mmlu"\n'
        "answers = 2\n"
        '[endpoints.weak]\nspec = "mock/weak"\n'
        '[[conditions]]\nlabel = "unassisted"\nprotocol = "unassisted"\n'
        '[[judges]]\nname = "j"\nkind = "llm"\nendpoint = "weak"\n'
    )
    out = tmp_path / "run"
    assert main(["run", str(experiment), "--out", str(out)]) == 0
    store = RunStore.open(out)
    transcripts = list(store.transcripts.latest())
    assert len(transcripts) == 3 * 2  # 3 questions x 2 answer orders
    assert len(list(store.judgments.latest())) == len(transcripts)


def test_an_id_field_that_is_not_unique_says_what_to_do(tmp_path: Path) -> None:
    rows = {**MMLU_ROWS, "qid": ["a", "b", "a"]}
    datasets.Dataset.from_dict(rows).save_to_disk(str(tmp_path / "mine"))
    spec = HFSpec(path=tmp_path / "mine", preset="mmlu", fields={"id": "qid"})
    with pytest.raises(DatasetError, match=r"'a' occurs twice .* give each question its own id"):
        load_questions(spec)

"""``[split]`` and ``questions = "<part>"``: conditions and tournaments on their own part of the
questions (Khan et al. 2024 rate players on other questions than those it scores), the
refusals of a split that cannot work, and old experiments' ids and hashes left as they were."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from oversight.datasets import load_questions
from oversight.experiment import load_experiment
from oversight.runner import run_experiment
from oversight.runner._items import plan
from tests.runner.test_tournaments import _experiment
from transcripts import RunStore
from transcripts.errors import ConfigError


def _split(**changes: Any) -> dict[str, Any]:
    """The tournaments' experiment on the 12 sample questions (4 stories), cross-play on
    ``rating``, self-play and consultancy on ``accuracy``, stories kept apart."""
    data = _experiment(dataset={"loader": "sample"})
    data["split"] = {"parts": {"rating": 0.5, "accuracy": 0.5}, "by": "source"}
    data["tournaments"][0] |= {"questions": "accuracy", "crossplay_questions": "rating"}
    data["tournaments"][1] |= {"questions": "accuracy"}
    data.update(changes)
    return data


def _sources_by_condition(data: dict[str, Any]) -> dict[str, set[str]]:
    exp = load_experiment(data)
    questions = load_questions(exp.dataset)
    source = {q.id: q.source for q in questions}
    out: dict[str, set[str]] = {}
    for item in plan(exp, questions):
        out.setdefault(item.condition.label, set()).add(str(source[item.question.id]))
    return out


def test_cross_play_and_self_play_run_on_parts_that_share_no_story() -> None:
    seen = _sources_by_condition(_split())
    rating, accuracy = seen["debate.plain.vs.bo2"], seen["debate.plain"]
    assert len(rating) == len(accuracy) == 2 and not rating & accuracy
    assert all(seen[c] == rating for c in seen if ".vs." in c)
    assert all(seen[c] == accuracy for c in seen if c.startswith("consult."))
    assert seen["debate.bo2"] == seen["debate.refined"] == accuracy
    assert seen["naive"] == rating | accuracy  # no questions: every question


def test_an_item_on_its_part_keeps_the_id_it_has_without_a_split() -> None:
    whole = load_experiment(_experiment(dataset={"loader": "sample"}))
    questions = load_questions(whole.dataset)
    every = {i.id for i in plan(whole, questions)}
    parted = [i.id for i in plan(load_experiment(_split()), questions)]
    assert set(parted) < every and len(parted) == len(set(parted))


def test_the_split_is_seeded_and_exact_in_size() -> None:
    by_question = _split(split={"parts": {"rating": 0.25, "accuracy": 0.75}})
    exp = load_experiment(by_question)
    one = {
        i.question.id
        for i in plan(exp, load_questions(exp.dataset))
        if i.condition.label == "debate.plain"
    }
    assert len(one) == 9  # 0.75 of 12 questions
    again = {
        i.question.id
        for i in plan(exp, load_questions(exp.dataset))
        if i.condition.label == "debate.plain"
    }
    assert again == one
    other_seed = load_experiment({**by_question, "seed": 1})
    moved = {
        i.question.id
        for i in plan(other_seed, load_questions(other_seed.dataset))
        if i.condition.label == "debate.plain"
    }
    assert len(moved) == 9 and moved != one


def test_a_part_may_list_its_question_ids() -> None:
    questions = load_questions({"loader": "sample"})
    pilot = [q.id for q in questions[:2]]
    data = _split(split={"parts": {"accuracy": pilot, "rating": 1.0}})
    exp = load_experiment(data)
    selfplay = {i.question.id for i in plan(exp, questions) if i.condition.label == "debate.plain"}
    cross = {
        i.question.id for i in plan(exp, questions) if i.condition.label == "debate.bo2.vs.refined"
    }
    assert selfplay == set(pilot) and cross == {q.id for q in questions} - set(pilot)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"split": None},
            r"tournaments\[0\]\.questions: 'accuracy' names a part of \[split\], but the "
            r"experiment has no \[split\]",
        ),
        (
            {"split": {"parts": {"rating": 0.5, "acc": 0.5}}},
            r"tournaments\[0\]\.questions: 'accuracy' is not a part of \[split\]; its parts: "
            r"rating, acc",
        ),
        (
            {"split": {"parts": {"rating": 0.5, "accuracy": 0.4}}},
            r"split\.parts: the fractions add up to 0\.9 \(0\.5 \+ 0\.4\), not 1",
        ),
        (
            {"split": {"parts": {"rating": ["q1", "q2"], "accuracy": ["q2"]}}},
            r"split\.parts\.accuracy: question 'q2' is listed also in part 'rating'; the parts "
            r"are disjoint",
        ),
        (
            {"split": {"parts": {"rating": "half", "accuracy": 0.5}}},
            r"^experiment: split\.parts: part 'rating' is 'half'; give a fraction \(e\.g\. "
            r"rating = 0\.5\) or a list of question ids",
        ),
        (
            {"conditions": [{"label": "naive", "protocol": "unassisted", "questions": "pilot"}]},
            r"conditions\[0\]\.questions: 'pilot' is not a part of \[split\]",
        ),
    ],
)
def test_a_split_that_cannot_work_is_refused_where_it_is_written(
    change: dict[str, Any], message: str
) -> None:
    data = _split(**change)
    if data["split"] is None:
        del data["split"]
    with pytest.raises(ConfigError, match=message):
        load_experiment(data)


def test_crossplay_questions_where_no_cross_play_runs_is_refused() -> None:
    data = _split()
    data["tournaments"][1]["crossplay_questions"] = "rating"
    with pytest.raises(
        ConfigError,
        match=r"tournaments\[1\]\.crossplay_questions: a consultancy tournament has no "
        r"cross-play; use questions",
    ):
        load_experiment(data)


@pytest.mark.parametrize(
    ("split", "message"),
    [
        (
            {"parts": {"rating": 0.1, "accuracy": 0.9}, "by": "source"},
            r"split\.parts\.rating: has no question: its fraction 0\.1 of the 4 sources left "
            r"for the fractions rounds to none; raise the fraction or use more questions",
        ),
        (
            {"parts": {"rating": ["nope"], "accuracy": 1.0}},
            r"split\.parts\.rating: 'nope' is not among the dataset's 12 questions",
        ),
        (
            {"parts": {"rating": ["lighthouse-1"], "accuracy": 1.0}, "by": "source"},
            r"source 'lighthouse' has questions in part 'rating' and the questions the "
            r'fractions divide; with by = "source" a source belongs to one part',
        ),
    ],
)
def test_a_split_the_questions_do_not_fit_is_refused_before_the_run_folder_is_made(
    tmp_path: Path, split: dict[str, Any], message: str
) -> None:
    questions = load_questions({"loader": "sample"})
    assert "lighthouse-1" in {q.id for q in questions}
    exp = load_experiment(_split(split=split))
    with pytest.raises(ConfigError, match=message):
        run_experiment(exp, out=tmp_path / "run", console=Console(quiet=True))
    assert not (tmp_path / "run").exists()


# Computed by the code before [split] existed: the spec hash and item ids of a tournament
# experiment (two sample questions). A run it made resumes only if both are unchanged.
_OLD_HASH = "f29f144e2389a99abaf4f60ff73c152b14069752c3a81550b0fd31ce4ee5cd6e"
_OLD_ITEMS = (56, "3b77a7580d9a1cf456bdd5bbae7124f53120e3f57adc04137a8f777fa21f1b24")


def test_an_experiment_without_a_split_keeps_its_hash_ids_and_resumes_sending_nothing(
    tmp_path: Path,
) -> None:
    exp = load_experiment(_experiment(dataset={"loader": "sample", "limit": 2}))
    items = [i.id for i in plan(exp, load_questions(exp.dataset))]
    assert exp.spec_hash() == _OLD_HASH
    assert (len(items), hashlib.sha256(",".join(items).encode()).hexdigest()) == _OLD_ITEMS
    quiet = Console(quiet=True)
    first = run_experiment(exp, out=tmp_path / "run", console=quiet, summary=False)
    assert first.status == "complete" and first.items_total == 56
    frozen = json.loads((tmp_path / "run" / "experiment.json").read_text())
    assert frozen["spec_hash"] == _OLD_HASH and "split" not in frozen["spec"]
    again = run_experiment(exp, out=tmp_path / "run", console=quiet, summary=False)
    assert again.status == "complete" and again.calls == 0 and again.judgments == 0
    assert len(list(RunStore.open(tmp_path / "run").transcripts.latest())) == 56


def test_the_report_says_elo_and_accuracy_share_no_question_and_leaves_gap_closed_out(
    tmp_path: Path,
) -> None:
    """On the split, the players table counts no shared question; conditions on different
    parts are compared unpaired, and gap closed (which needs questions all three share)
    is not computed, with a warning saying why."""
    from oversight.analysis import analyze

    data = _split()
    data["conditions"] = [
        {"label": "naive", "protocol": "unassisted"},
        {"label": "expert", "protocol": "expert", "questions": "rating"},
    ]
    quiet = Console(quiet=True)
    result = run_experiment(load_experiment(data), out=tmp_path / "split", console=quiet)
    assert result.status == "complete"
    report = analyze(tmp_path / "split", n_bootstrap=50)
    (table,) = report.tournaments
    assert (table.rating_questions, table.shared_questions) == (6, 0)  # 2 stories of 3
    assert all(p.elo is not None and p.debate_n > 0 for p in table.players)
    versus = {(c.assisted, c.baseline): c for c in report.comparisons}
    selfplay = versus["debate.plain", "naive"]
    assert selfplay.design == "paired" and selfplay.gap_closed is None
    assert selfplay.n_questions_gap == 0
    (apart,) = [w for w in report.warnings if w.startswith("gap closed is not computed for ")]
    # Self-play and consultancy (accuracy part) against naive: expert ran on the other part.
    assert "and 2 more: no question was judged under both conditions and the expert" in apart
    apart = analyze(tmp_path / "split", n_bootstrap=50, compare_pairs=["debate.plain,expert"])
    (between,) = apart.comparisons
    assert between.design == "unpaired" and between.n_questions == between.n_questions_baseline == 6
    # Without the split, the same tournament rates players on the questions it scores.
    whole = run_experiment(
        load_experiment(_experiment(dataset={"loader": "sample", "limit": 2})),
        out=tmp_path / "whole",
        console=quiet,
    )
    assert whole.status == "complete"
    (table,) = analyze(tmp_path / "whole", n_bootstrap=50).tournaments
    assert (table.rating_questions, table.shared_questions) == (2, 2)

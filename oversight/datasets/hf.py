"""Hugging Face datasets (optional extra ``hf``), read from this machine only.

``loader = "hf"`` reads a dataset by hub ``name`` (e.g. ``cais/mmlu``) or a local ``path``
(a folder written by ``Dataset.save_to_disk`` or a folder of data files), one ``split``, and
maps its columns to a question with ``fields`` or a ``preset`` (``quality``, ``gpqa``,
``mmlu``: the field layouts those datasets use on the hub). A run never downloads:
a name is looked up in the saved copies that ``oversight datasets fetch NAME`` makes (under
``$OVERSIGHT_DATASETS``, default ``~/.cache/oversight/datasets``), then in the Hugging Face
cache with the hub switched offline. Fetching is the one explicit online step.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from oversight.datasets._common import DatasetOptions, keep_answers
from oversight.datasets.generic import (
    FieldMap,
    NamedFields,
    _correct,
    _optional,
    _required,
    _str_or_none,
)
from transcripts import Question
from transcripts.errors import DatasetError

__all__ = ["PRESETS", "HFSpec", "fetch", "load", "saved_path"]

_INSTALL = "install the hf extra: pip install 'oversight[hf]'"

PRESETS: dict[str, FieldMap] = {
    # cais/mmlu: question, subject, choices (4 strings), answer (0-based index)
    "mmlu": FieldMap(
        id=None,
        text="question",
        answers="choices",
        correct="answer",
        context=None,
        source="subject",
    ),
    # Idavidrein/gpqa: the published CSV's columns; the correct answer is listed first
    "gpqa": FieldMap(
        id="Record ID",
        text="Question",
        answers=[
            "Correct Answer",
            "Incorrect Answer 1",
            "Incorrect Answer 2",
            "Incorrect Answer 3",
        ],
        correct=None,
        context=None,
        source="Subdomain",
    ),
    # emozilla/quality and its copies: article, question, options, answer (0-based), hard
    "quality": FieldMap(
        id="question_unique_id",
        text="question",
        answers="options",
        correct="answer",
        context="article",
        source="article_id",
    ),
}
"""Field layouts of QuALITY, GPQA and MMLU as published on the Hugging Face hub."""


class HFSpec(DatasetOptions):
    """``loader = "hf"``: a Hugging Face dataset, by hub name or local path."""

    loader: Literal["hf"] = "hf"
    """Which loader reads the dataset."""
    name: str | None = None
    """Hub name, e.g. ``cais/mmlu``: read from a copy saved by ``oversight datasets fetch``,
    else from the Hugging Face cache (never downloaded at run time)."""
    path: Path | None = None
    """Instead of ``name``: a folder written by ``save_to_disk``, or a folder of data files."""
    config: str | None = None
    """The dataset's configuration (subset), e.g. ``all`` for MMLU or ``gpqa_diamond``."""
    split: str = "test"
    """Which split to read, e.g. ``test``, ``validation``, ``train``."""
    preset: Literal["quality", "gpqa", "mmlu"] | None = None
    """A known field layout; ``fields`` entries given as well override it."""
    fields: dict[str, Any] | None = None
    """Where each part of a question is (the keys of ``FieldMap``: ``text``, ``answers``,
    ``correct``, ``id``, ``context``, ``source``)."""
    correct_format: Literal["auto", "index", "index1", "letter", "text"] = "auto"
    """How the gold is written (as for ``jsonl``): index, 1-based index, letter or text."""

    def field_map(self) -> FieldMap:
        """The preset's layout with ``fields`` laid over it."""
        base = PRESETS[self.preset] if self.preset else FieldMap()
        try:
            return FieldMap(**{**base.model_dump(), **(self.fields or {})})
        except ValidationError as err:
            problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in err.errors())
            raise DatasetError(f"dataset.fields: {problems}") from None

    def label(self) -> str:
        """The dataset name recorded on each question."""
        name = self.name or (self.path.name if self.path else "hf")
        return f"{name}/{self.config}" if self.config else name


def datasets_home() -> Path:
    """Where ``oversight datasets fetch`` saves copies (``$OVERSIGHT_DATASETS``)."""
    home = os.environ.get("OVERSIGHT_DATASETS")
    return Path(home) if home else Path.home() / ".cache" / "oversight" / "datasets"


def saved_path(name: str, config: str | None = None) -> Path:
    """The folder holding the saved copy of ``name`` (and ``config``)."""
    folder = datasets_home() / name.replace("/", "__")
    return folder / config if config else folder


def load(spec: HFSpec, base_dir: Path | None = None) -> list[Question]:
    """Every row of the split, as questions."""
    fields = spec.field_map()
    gold_first = spec.preset == "gpqa" and fields.correct is None
    named = NamedFields(fields, spec.fields or {})
    questions = []
    for number, row in enumerate(_rows(spec, base_dir), start=1):
        named.see(row)
        try:
            question = _question(row, spec, fields, number, gold_first=gold_first)
        except ValidationError as err:
            problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in err.errors())
            raise DatasetError(f"{spec.label()} row {number}: {problems}") from None
        except (KeyError, ValueError, TypeError) as err:
            said = err.args[0] if isinstance(err, KeyError) else err
            raise DatasetError(
                f"{spec.label()} row {number}: {said}; check dataset.fields or dataset.preset"
            ) from err
        questions.append(keep_answers(question, spec.answers, seed=spec.seed, shuffle=gold_first))
    named.check(spec.label())
    return questions


def fetch(name: str, *, config: str | None = None) -> Path:
    """Download ``name`` (every split) from the hub and save it where runs look for it."""
    datasets = _import()
    target = saved_path(name, config)
    try:
        loaded = datasets.load_dataset(name, config)
    except Exception as err:  # the hub's and the builders' errors have no common base
        raise DatasetError(f"could not fetch {name!r}: {err}") from err
    loaded.save_to_disk(str(target))
    return target


def _import() -> Any:
    try:
        import datasets  # type: ignore[import-untyped]
    except ImportError:
        raise DatasetError(f"loader 'hf' needs the datasets library: {_INSTALL}") from None
    return datasets


def _rows(spec: HFSpec, base_dir: Path | None) -> Iterator[dict[str, Any]]:
    """The split's rows, from a saved copy, a local folder or the offline hub cache."""
    datasets = _import()
    if (spec.name is None) == (spec.path is None):
        raise DatasetError("loader 'hf' needs exactly one of dataset.name or dataset.path")
    if spec.path is not None:
        folder = spec.path if spec.path.is_absolute() or base_dir is None else base_dir / spec.path
        if not folder.exists():
            raise DatasetError(f"dataset folder {folder} does not exist")
        loaded = _open_local(datasets, folder, spec.config)
    else:
        assert spec.name is not None
        saved = saved_path(spec.name, spec.config)
        if saved.exists():
            loaded = datasets.load_from_disk(str(saved))
        else:
            try:
                with _offline(datasets):
                    loaded = datasets.load_dataset(spec.name, spec.config)
            except Exception as err:  # offline misses surface as several error types
                raise DatasetError(
                    f"dataset {spec.name!r} is not on this machine (looked in {saved} and the "
                    f"Hugging Face cache; runs never download): run once "
                    f"`oversight datasets fetch {spec.name}"
                    f"{' --config ' + spec.config if spec.config else ''}`"
                ) from err
    yield from _split(datasets, loaded, spec)


def _open_local(datasets: Any, folder: Path, config: str | None) -> Any:
    """A ``save_to_disk`` folder, or a folder of data files (parquet, JSON, CSV)."""
    if (folder / "dataset_dict.json").exists() or (folder / "dataset_info.json").exists():
        return datasets.load_from_disk(str(folder))
    with _offline(datasets):
        return datasets.load_dataset(str(folder), config)


def _split(datasets: Any, loaded: Any, spec: HFSpec) -> Iterator[dict[str, Any]]:
    if isinstance(loaded, datasets.DatasetDict):
        if spec.split not in loaded:
            raise DatasetError(
                f"{spec.label()} has no split {spec.split!r}; it has: {', '.join(loaded)}"
            )
        loaded = loaded[spec.split]
    yield from loaded


@contextlib.contextmanager
def _offline(datasets: Any) -> Iterator[None]:
    """The hub switched off for the block, so a cache miss fails instead of downloading."""
    from huggingface_hub import constants

    before = (datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE)
    datasets.config.HF_HUB_OFFLINE = constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE = before


def _question(
    row: dict[str, Any], spec: HFSpec, fields: FieldMap, number: int, *, gold_first: bool
) -> Question:
    if isinstance(fields.answers, list):
        answers = [str(_required(row, f)).strip() for f in fields.answers]
    else:
        raw = _required(row, fields.answers)
        if not isinstance(raw, list):
            raise ValueError(f"field {fields.answers!r} is not a list of answers")
        answers = [str(a).strip() for a in raw]
    gold = 0 if gold_first else _optional(row, fields.correct)
    context = _str_or_none(_optional(row, fields.context))
    source = _str_or_none(_optional(row, fields.source))
    if source is None and context is not None:
        # Questions about the same text share a cluster even without an id column.
        source = "text-" + hashlib.sha256(context.encode()).hexdigest()[:12]
    qid = _optional(row, fields.id)
    return Question(
        id=str(qid) if qid is not None else f"{spec.label()}-{spec.split}-{number}",
        text=str(_required(row, fields.text)).strip(),
        answers=answers,
        correct=None if gold is None else _correct(gold, answers, spec.correct_format),
        context=context,
        source=source,
        dataset=spec.label(),
    )

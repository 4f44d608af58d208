"""The ``[dataset]`` table's union of specs, and loading questions from one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from oversight.datasets import generic, gpqa, hf, mmlu, nyu, quality, sample
from oversight.datasets._common import select
from oversight.datasets.generic import GenericSpec
from oversight.datasets.gpqa import GPQASpec
from oversight.datasets.hf import HFSpec
from oversight.datasets.mmlu import MMLUSpec
from oversight.datasets.nyu import NYUSpec
from oversight.datasets.quality import QualitySpec
from oversight.datasets.sample import SampleSpec
from transcripts import Question
from transcripts.errors import DatasetError

__all__ = ["LOADERS", "DatasetSpec", "load_questions"]

DatasetSpec = Annotated[
    SampleSpec | QualitySpec | GPQASpec | MMLUSpec | GenericSpec | NYUSpec | HFSpec,
    Field(discriminator="loader"),
]
"""The ``[dataset]`` table of an experiment: one spec per loader, chosen by ``loader``."""

LOADERS: tuple[str, ...] = ("sample", "quality", "gpqa", "mmlu", "jsonl", "csv", "nyu", "hf")
"""Every ``loader`` name."""

_SPEC: TypeAdapter[DatasetSpec] = TypeAdapter(DatasetSpec)


def load_questions(
    spec: SampleSpec
    | QualitySpec
    | GPQASpec
    | MMLUSpec
    | GenericSpec
    | NYUSpec
    | HFSpec
    | dict[str, Any],
    base_dir: Path | None = None,
) -> list[Question]:
    """The questions ``spec`` selects (a spec, or its ``[dataset]`` table as a dict, e.g.
    ``{"loader": "sample", "limit": 6}``); relative paths are read from ``base_dir``."""
    if isinstance(spec, dict):
        try:
            spec = _SPEC.validate_python(spec)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'dataset'}: {e['msg']}"
                for e in err.errors()
            )
            raise DatasetError(
                f"bad dataset spec {spec!r}: {problems}; loaders are {', '.join(LOADERS)}"
            ) from None
    try:
        found = _load(spec, base_dir)
    except UnicodeDecodeError as err:
        raise DatasetError(
            f"the {spec.loader} dataset ({getattr(spec, 'path', None) or 'its file'}) is not "
            f"UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start}); save it as "
            f"UTF-8"
        ) from None
    except IsADirectoryError as err:
        raise DatasetError(
            f"the {spec.loader} dataset path {err.filename} is a folder; give a file"
        ) from None
    if not found:
        raise DatasetError(
            f"the {spec.loader} dataset ({getattr(spec, 'path', None) or 'its source'}) gives no "
            f"questions: the file is empty, or the loader's own options (subjects, split, "
            f"subset) keep none; check dataset.path and those options"
        )
    questions = select(found, spec)
    if not questions:
        raise DatasetError(
            f"the {spec.loader} dataset has no questions left after the filters; loosen them"
        )
    return questions


def _load(
    spec: SampleSpec | QualitySpec | GPQASpec | MMLUSpec | GenericSpec | NYUSpec | HFSpec,
    base_dir: Path | None,
) -> list[Question]:
    if isinstance(spec, SampleSpec):
        found = sample.load(spec, base_dir)
    elif isinstance(spec, QualitySpec):
        found = quality.load(spec, base_dir)
    elif isinstance(spec, GPQASpec):
        found = gpqa.load(spec, base_dir)
    elif isinstance(spec, MMLUSpec):
        found = mmlu.load(spec, base_dir)
    elif isinstance(spec, GenericSpec):
        found = generic.load(spec, base_dir)
    elif isinstance(spec, HFSpec):
        found = hf.load(spec, base_dir)
    else:
        found = nyu.load(spec, base_dir)
    return found

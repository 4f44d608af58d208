"""Datasets from local files (nothing is downloaded at run time), as :class:`~transcripts.Question`.

Example::

    from oversight.datasets import SampleSpec, load_questions
    questions = load_questions(SampleSpec(limit=6))

Loaders, by ``loader`` key: ``sample`` (shipped with oversight), ``quality`` (QuALITY
JSONL), ``gpqa`` (GPQA CSV), ``mmlu`` (MMLU CSV or parquet), ``jsonl`` and ``csv`` (your
own files with a field mapping), ``nyu`` (questions of imported NYU debate rooms), ``hf``
(Hugging Face datasets, saved or cached locally; the ``hf`` extra). Every
question carries ``source``, the cluster key the statistics need (QuALITY article, GPQA
subdomain, MMLU subject, story id).
"""

from oversight.datasets._common import DatasetOptions
from oversight.datasets._load import LOADERS, DatasetSpec, load_questions
from oversight.datasets.generic import FieldMap, GenericSpec
from oversight.datasets.gpqa import GPQASpec
from oversight.datasets.hf import HFSpec
from oversight.datasets.mmlu import MMLUSpec
from oversight.datasets.nyu import NYUSpec
from oversight.datasets.quality import QualitySpec
from oversight.datasets.sample import SampleSpec

__all__ = [
    "LOADERS",
    "DatasetOptions",
    "DatasetSpec",
    "FieldMap",
    "GPQASpec",
    "GenericSpec",
    "HFSpec",
    "MMLUSpec",
    "NYUSpec",
    "QualitySpec",
    "SampleSpec",
    "load_questions",
]

"""Interop with other tools, through their own libraries.

Inspect (``oversight[inspect]``): :func:`export_inspect` writes a run as Inspect ``.eval``
logs with inspect_ai's own writer, one log per condition, one sample per transcript and one
score per judge; :func:`import_inspect` turns an Inspect log's samples into transcripts that
``rejudge``, ``judge`` and ``report`` work on. inspect_ai is imported on first use.
"""

from __future__ import annotations

from oversight.interop.inspect_export import export_inspect
from oversight.interop.inspect_import import ImportedLog, import_inspect

__all__ = ["ImportedLog", "export_inspect", "import_inspect"]

"""Importers of existing human-judging datasets into run folders.

* :mod:`transcripts.importers.nyu` — the NYU human-debate dataset (Michael et al. 2023,
  "Debate Helps Supervise Unreliable Experts"): ``import_nyu_debate(path, out)``.
"""

from transcripts.importers.nyu import ImportSummary, SkippedRoom, import_nyu_debate

__all__ = ["ImportSummary", "SkippedRoom", "import_nyu_debate"]

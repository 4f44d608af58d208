"""Judges: LLM judge, human terminal judge, fallback and panel judges."""

from judges.base import Judge

__all__ = ["Judge"]

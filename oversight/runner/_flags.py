"""Command-line flags the runner names in its messages, defined once here, in a module that
imports nothing: ``oversight stress`` registers them without loading the runner (its
``--help`` stays quick)."""

from __future__ import annotations

__all__ = ["FINISH"]

FINISH = "--finish-all"
"""The ``oversight stress`` option that finishes the other conditions of an older folder."""

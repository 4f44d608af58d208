"""inspect_ai, imported on first use with a clear error when the extra is missing."""

from __future__ import annotations

from types import ModuleType

from transcripts.errors import ConfigError

__all__ = ["letter", "require_inspect"]


def require_inspect() -> ModuleType:
    """The ``inspect_ai.log`` module, or a ConfigError saying how to install it."""
    try:
        import inspect_ai.log
    except ImportError:
        raise ConfigError(
            "Inspect logs need inspect_ai: install the inspect extra, "
            "pip install 'oversight[inspect]'"
        ) from None
    return inspect_ai.log


def letter(position: int) -> str:
    """``A`` for position 0, as Inspect's multiple-choice samples label answers."""
    return chr(ord("A") + position)

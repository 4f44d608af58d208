"""oversight: scalable-oversight experiments with language models.

The top-level names are loaded lazily (PEP 562), so ``import oversight`` stays cheap and
importing a low layer (such as :mod:`oversight.endpoints`) never drags in the runner.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "endpoint": "oversight.endpoints",
    "OversightError": "oversight.errors",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'oversight' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

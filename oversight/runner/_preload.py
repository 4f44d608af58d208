"""What every worker process of ``--workers N`` imports, imported once by the fork server
(:mod:`oversight._forkserver`) that the workers are forked from: the worker itself,
every protocol, and the OpenAI SDK path with aiohttp, which most endpoints (OpenAI and
every OpenAI-compatible server) use. Other providers' SDKs are imported by the worker that
needs them."""

from __future__ import annotations

import importlib

from protocols.base import REGISTRY

__all__ = ["MODULES"]

MODULES = (
    "oversight.runner._worker",
    "oversight.endpoints._openai",
    *sorted(set(REGISTRY.values())),
)
"""The modules imported."""

for _module in MODULES:
    importlib.import_module(_module)

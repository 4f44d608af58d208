"""oversight: scalable-oversight experiments with language models.

The top-level names are loaded lazily (PEP 562), so ``import oversight`` stays cheap and
importing a low layer (such as :mod:`oversight.endpoints`) never drags in the runner.

Example (the Python side of ``oversight run``, ``oversight rejudge``)::

    import oversight

    experiment = oversight.load_experiment("examples/quickstart.toml")
    result = oversight.run_experiment(experiment, out="runs/quickstart", max_cost_usd=5)
    estimate = oversight.dry_run(experiment)
    oversight.rejudge("runs/quickstart", "llm:openai/gpt-4o-mini", rounds=[1, 2])
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "endpoint": "oversight.endpoints",
    "OversightError": "oversight.errors",
    "Experiment": "oversight.experiment",
    "load_experiment": "oversight.experiment",
    "load_questions": "oversight.datasets",
    "run_experiment": "oversight.runner",
    "run_experiment_async": "oversight.runner",
    "dry_run": "oversight.runner",
    "RunResult": "oversight.runner",
    "rejudge": "oversight._rejudge",
    "rejudge_async": "oversight._rejudge",
    "RejudgeResult": "oversight._rejudge",
    "RejudgeOptions": "oversight._rejudge",
    "RunOptions": "oversight.runner",
}

__all__ = sorted([*_LAZY, "__version__"])


def __dir__() -> list[str]:
    return __all__


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'oversight' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

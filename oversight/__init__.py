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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what a type checker sees: the names themselves, with their types
    from oversight._rejudge import RejudgeOptions, RejudgeResult, rejudge, rejudge_async
    from oversight.datasets import load_questions
    from oversight.endpoints import endpoint
    from oversight.errors import OversightError
    from oversight.experiment import Experiment, load_experiment
    from oversight.runner import (
        RunOptions,
        RunResult,
        dry_run,
        run_experiment,
        run_experiment_async,
    )

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

# Written out (not built from _LAZY) so that type checkers and linters read it.
__all__ = [
    "Experiment",
    "OversightError",
    "RejudgeOptions",
    "RejudgeResult",
    "RunOptions",
    "RunResult",
    "__version__",
    "dry_run",
    "endpoint",
    "load_experiment",
    "load_questions",
    "rejudge",
    "rejudge_async",
    "run_experiment",
    "run_experiment_async",
]


def __dir__() -> list[str]:
    return __all__


if not TYPE_CHECKING:  # hidden from type checkers, so that a misspelt name is an error there

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'oversight' has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

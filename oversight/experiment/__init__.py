"""Experiments: the TOML file (or the same pydantic object built in Python) that defines a run.

Example::

    from oversight.experiment import load_experiment
    experiment = load_experiment("examples/quickstart.toml")
"""

from oversight.experiment._load import (
    LIMIT_FLAGS,
    check_experiment,
    load_experiment,
    secret_problems,
    with_limits,
)
from oversight.experiment._spec import (
    Condition,
    Counterbalance,
    EndpointConfig,
    Experiment,
    Limits,
    Split,
    StressSpec,
)
from oversight.experiment._tournaments import PlayerConfig, Tournament

__all__ = [
    "LIMIT_FLAGS",
    "Condition",
    "Counterbalance",
    "EndpointConfig",
    "Experiment",
    "Limits",
    "PlayerConfig",
    "Split",
    "StressSpec",
    "Tournament",
    "check_experiment",
    "load_experiment",
    "secret_problems",
    "with_limits",
]

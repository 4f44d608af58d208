"""The public surface: what ``import oversight`` and each package offer, and nothing else."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_oversight_rejudge_stays_the_function_once_the_cli_is_loaded() -> None:
    # A submodule named like a lazy top-level function would replace it on the package as
    # soon as anything imported the submodule (the CLI does): the implementation is private.
    code = ("import oversight, oversight.cli; import inspect; "
            "assert inspect.isfunction(oversight.rejudge), oversight.rejudge; "
            "assert inspect.isfunction(oversight.rejudge)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.stderr


def test_endpoint_keywords_are_typed_with_exactly_the_options_it_validates() -> None:
    from typing import get_type_hints

    from oversight.endpoints import EndpointArgs, EndpointOptions, endpoint

    assert set(EndpointArgs.__annotations__) == set(EndpointOptions.model_fields)
    assert get_type_hints(endpoint, include_extras=True)["options"].__args__ == (EndpointArgs,)


@pytest.mark.parametrize("name", ["run_experiment", "run_experiment_async", "rejudge",
                                  "rejudge_async"])
def test_run_and_rejudge_options_are_one_list_each_and_unknown_ones_are_refused(
    name: str, tmp_path: Path
) -> None:
    import oversight

    function = getattr(oversight, name)
    options = oversight.RejudgeOptions if "rejudge" in name else oversight.RunOptions
    assert "max_cost_usd" in options.__annotations__
    parameters = inspect.signature(function).parameters.values()
    assert inspect.Parameter.VAR_KEYWORD in {p.kind for p in parameters}  # Unpack[options]
    positional = [tmp_path / "x", *(["llm:mock/j"] if "rejudge" in name else [])]
    with pytest.raises(TypeError, match=r"unexpected keyword.*'max_cost'.*max_cost_usd"):
        result = function(*positional, max_cost=1)
        if inspect.iscoroutine(result):
            asyncio.run(result)

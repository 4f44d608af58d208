"""The ``[[judges]]`` of an experiment: their names and cross-checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from judges.config import (
    FallbackJudgeConfig,
    HumanJudgeConfig,
    JudgeConfig,
    LLMJudgeConfig,
    PanelJudgeConfig,
    queued_in_panels,
)

if TYPE_CHECKING:
    from oversight.experiment._spec import Experiment

__all__ = [
    "interactive",
    "judge_name",
    "judge_names",
    "judge_specs",
    "unattended",
    "validate_judges",
]


def judge_name(config: JudgeConfig, experiment: Experiment) -> str:
    """The name a judge's judgments are filed under (as the judges package names them)."""
    if config.name:
        return config.name
    if isinstance(config, LLMJudgeConfig):
        named = experiment.endpoints.get(config.endpoint)
        return named.spec if named is not None else config.endpoint
    return config.kind


def judge_names(experiment: Experiment) -> list[str]:
    """Names of the experiment's judges, in order."""
    return [judge_name(j, experiment) for j in experiment.judges]


def _endpoints(config: JudgeConfig) -> list[str]:
    if isinstance(config, LLMJudgeConfig):
        return [config.endpoint]
    if isinstance(config, PanelJudgeConfig):
        return [e for m in config.members for e in _endpoints(m)]
    if isinstance(config, FallbackJudgeConfig):
        found = [config.endpoint] if config.endpoint else []
        for member in [config.primary] if config.primary else config.members or []:
            found.extend(_endpoints(member))
        return found
    return []


def judge_specs(experiment: Experiment) -> list[tuple[str, str]]:
    """``(where, endpoint reference)`` of every endpoint the judges use."""
    return [
        (f"judges[{i}]", ref)
        for i, config in enumerate(experiment.judges)
        for ref in _endpoints(config)
    ]


def validate_judges(experiment: Experiment) -> list[str]:
    """Problems with the ``[[judges]]`` tables, one line each."""
    problems = []
    names = judge_names(experiment)
    for i, config in enumerate(experiment.judges):
        at = f"judges[{i}]"
        if names.index(names[i]) != i:
            problems.append(f"{at}.name: {names[i]!r} is used twice; give each judge its own name")
        for ref in _endpoints(config):
            if ref not in experiment.endpoints and "/" not in ref:
                known = ", ".join(sorted(experiment.endpoints)) or "none defined"
                problems.append(
                    f"{at}: endpoint {ref!r} is not an [endpoints] entry (known: {known}) "
                    f"nor a spec such as 'openai/gpt-4o-mini'"
                )
        problems += _unnamed_people(config, at)
        problems += queued_in_panels(config, at)
    return problems


def _unnamed_people(config: JudgeConfig, at: str) -> list[str]:
    """Where a person would be asked with no name to record (``oversight run`` has no
    ``--annotator``): found before the run folder is made, not when the judge is built."""
    found = []
    asks = isinstance(config, HumanJudgeConfig) or (
        isinstance(config, FallbackJudgeConfig) and config.mode == "interactive"
    )
    if asks and not (getattr(config, "annotator", None) or "").strip():
        found.append(
            f"{at}.annotator: a person judges here, and their name is recorded with each "
            f'judgment: add annotator = "NAME"'
        )
    inner: list[tuple[str, JudgeConfig]] = []
    if isinstance(config, FallbackJudgeConfig) and config.primary is not None:
        inner = [(f"{at}.primary", config.primary)]
    elif isinstance(config, PanelJudgeConfig | FallbackJudgeConfig):
        inner = [(f"{at}.members[{j}]", m) for j, m in enumerate(config.members or [])]
    for where, member in inner:
        found += _unnamed_people(member, where)
    return found


def unattended(configs: list[JudgeConfig]) -> list[JudgeConfig]:
    """The judges as they run with no one at the terminal: human judges (and panels with a
    human member) left out, interactive fallbacks queueing for later instead."""
    out: list[JudgeConfig] = []
    for config in configs:
        if isinstance(config, FallbackJudgeConfig) and config.mode == "interactive":
            out.append(config.model_copy(update={"mode": "deferred"}))
        elif not interactive(config):
            out.append(config)
    return out


def interactive(config: JudgeConfig) -> bool:
    """True for judges that ask a person in the terminal during the run."""
    if isinstance(config, HumanJudgeConfig):
        return True
    if isinstance(config, FallbackJudgeConfig):
        return config.mode == "interactive"
    if isinstance(config, PanelJudgeConfig):
        return any(interactive(m) for m in config.members)
    return False

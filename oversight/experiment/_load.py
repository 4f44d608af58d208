"""Reading experiment files, and refusing bad ones with the file, the key and what is allowed."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from oversight.endpoints import option_problems
from oversight.endpoints._secrets import SECRET_NAME, looks_like_key
from oversight.experiment._judges import judge_names, judge_specs, validate_judges
from oversight.experiment._plants import plant_problems
from oversight.experiment._read import read_toml
from oversight.experiment._spec import _LABEL, Experiment, Limits
from oversight.experiment._split import split_problems
from oversight.experiment._tournaments import Tournament, tournament_problems
from protocols.base import REGISTRY, check_prompts, get
from transcripts._validation import Loc, format_errors
from transcripts.errors import ConfigError

__all__ = ["LIMIT_FLAGS", "check_experiment", "format_errors", "load_experiment", "with_limits"]


LIMIT_FLAGS = {
    "max_cost_usd": "--max-cost",
    "max_tokens": "--max-tokens",
    "concurrency": "--concurrency",
}
"""The ``[limits]`` keys ``oversight run`` can override, and the flag of each."""


def load_experiment(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Experiment:
    """Read and check an experiment from a TOML file (or a dict of the same shape).

    A file may start from another with ``extends = "base.toml"`` (a path relative to it):
    its tables are merged into the base's key by key, and any other value, arrays of
    tables such as ``[[conditions]]`` included, replaces the base's. ``overrides`` replace
    ``[limits]`` keys (as ``--max-cost`` does) and pass the same checks. Every problem is
    reported at once, each as ``file: key.path: what is wrong; allowed: ...``; nothing is
    written anywhere before the experiment passes.
    """
    if isinstance(source, Mapping):
        where, data, path = "experiment", dict(source), None
    else:
        path = Path(source)
        where = str(path)
        data = read_toml(path)
    changes = {k: v for k, v in (overrides or {}).items() if v is not None}
    if changes:
        limits = data.get("limits")
        data["limits"] = {**(limits if isinstance(limits, Mapping) else {}), **changes}
    data, problems = _single_brackets(data)
    problems += secret_problems(data)
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as err:
        found = format_errors(err, Experiment)
        lines = found
        if data.get("tournaments"):  # its conditions are not made while a tournament is bad
            lines = [line for line in lines if not line.startswith("conditions: List should")]
        problems += _from_overrides(lines, changes)
        problems += _endpoint_problems_raw(data)
        problems += _tournament_problems_raw(data)
        problems += [p for p in _cross_problems_despite(data, err) if p not in problems]
        raise ConfigError(_report(where, problems or found)) from None
    if path is not None:
        experiment._source = path.resolve()
    check_experiment(experiment, where=where, known=problems)
    return experiment


_ARRAY_TABLES = ("conditions", "tournaments", "judges")
"""The keys written as arrays of tables (``[[conditions]]``, one table per entry)."""


def _single_brackets(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``data`` with an array of tables written as one table (``[judges]`` for
    ``[[judges]]``) read as that one entry, so its own problems are found too, and a line
    saying how to write it."""
    found = [key for key in _ARRAY_TABLES if isinstance(data.get(key), Mapping)]
    lines = [
        f"{key}: written as one [{key}] table; give each entry its own [[{key}]] table "
        f"(two brackets)"
        for key in found
    ]
    return {**data, **{key: [data[key]] for key in found}}, lines


def with_limits(experiment: Experiment, **overrides: Any) -> Experiment:
    """``experiment`` with ``[limits]`` keys replaced, checked as in a file (every bad value
    reported at once, named by its flag); None values are left alone."""
    changes = {k: v for k, v in overrides.items() if v is not None}
    if not changes:
        return experiment
    try:
        limits = Limits.model_validate({**experiment.limits.model_dump(), **changes})
    except ValidationError as err:
        lines = _from_overrides(format_errors(err, Limits, ("limits",)), changes)
        raise ConfigError(_report("overrides", lines)) from None
    updated = experiment.model_copy(update={"limits": limits})
    updated._source = experiment.source
    return updated


def _from_overrides(lines: list[str], changes: Mapping[str, Any]) -> list[str]:
    """Say which problems come from an override rather than from the file."""
    out = []
    for line in lines:
        for key in changes:
            prefix = f"limits.{key}:"
            if line.startswith(prefix):
                flag = LIMIT_FLAGS.get(key, key)
                line = f"limits.{key} (given as {flag}, overriding the file):{line[len(prefix) :]}"
        out.append(line)
    return out


def secret_problems(data: Any, at: str = "") -> list[str]:
    """Every key of ``data`` that holds (or looks like) an API key, by its path; never the
    value. A key in an experiment would be copied into the run folder, so it is refused."""
    problems = []
    if isinstance(data, Mapping):
        for key, value in data.items():
            path = f"{at}.{key}" if at else str(key)
            if isinstance(key, str) and SECRET_NAME.match(key) and value not in (None, ""):
                problems.append(
                    f"{path}: an API key must not be written in an experiment (it would be "
                    f"copied into the run folder); remove it, put the key in an environment "
                    f'variable and name that variable with api_key_env = "MY_KEY_VARIABLE"'
                )
            else:
                problems += secret_problems(value, path)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            problems += secret_problems(value, f"{at}[{i}]")
    elif isinstance(data, str) and looks_like_key(data.strip()):
        problems.append(
            f"{at}: this value looks like an API key; keys never go in experiment files: put "
            f"it in an environment variable and name that variable with api_key_env"
        )
    return problems


def _endpoint_problems_raw(data: Mapping[str, Any]) -> list[str]:
    """Endpoint problems found in the raw tables, reported even when other keys are wrong."""
    problems: list[str] = []
    tables = data.get("endpoints")
    if not isinstance(tables, Mapping):
        return problems
    for name, table in tables.items():
        if isinstance(table, Mapping) and isinstance(table.get("spec"), str):
            problems += _endpoint_lines(f"endpoints.{name}", table["spec"], _raw_options(table))
    return problems


def _tournament_problems_raw(data: Mapping[str, Any]) -> list[str]:
    """Players the raw tournaments name that the raw ``[players]`` lack, reported even when
    other keys (a player's own table included) are wrong."""
    tournaments, players = data.get("tournaments"), data.get("players")
    if not isinstance(tournaments, list):
        return []
    valid: list[Tournament | None] = []
    for table in tournaments:
        try:
            valid.append(Tournament.model_validate(table))
        except ValidationError:
            valid.append(None)  # reported by validation, at its place
    return tournament_problems(valid, set(players) if isinstance(players, Mapping) else set())


def _raw_options(table: Mapping[str, Any]) -> dict[str, Any]:
    """The free-form ``options`` of a raw endpoint table (its typed keys pydantic checks)."""
    options = table.get("options")
    return dict(options) if isinstance(options, Mapping) else {}


def _endpoint_lines(at: str, spec: str, options: Mapping[str, Any]) -> list[str]:
    safe = {k: v for k, v in options.items() if not SECRET_NAME.match(k)}
    return [f"{at}: {problem}" for problem in option_problems(spec, safe)]


def check_experiment(
    experiment: Experiment, *, where: str | None = None, known: Sequence[str] = ()
) -> None:
    """Cross-checks no single field can make: protocols, roles, options, names of judges,
    endpoint specs and options (as the endpoint layer would refuse them), and no API key
    anywhere. Raises one ConfigError with every problem (``known`` ones first)."""
    where = where or (str(experiment.source) if experiment.source else "experiment")
    problems = list(known)
    if not known:  # a loaded file was scanned already
        problems += secret_problems(experiment.model_dump(mode="json"))
    problems += cross_problems(experiment)
    if problems:
        raise ConfigError(_report(where, problems))


def _cross_problems_despite(data: dict[str, Any], err: ValidationError) -> list[str]:
    """The cross-checks that do not depend on the invalid parts of the file, so that they are
    reported together with the invalid keys: invalid top-level keys are left at their
    defaults; an invalid endpoint, condition or judge is replaced by a stand-in that keeps
    its name (so references to it still resolve), and every check touching it is dropped."""
    stand_ins: list[str] = []  # locations of the stand-ins: their problems are not real
    drop: set[str] = set()
    fixed = dict(data)
    for e in err.errors():
        loc = e["loc"]
        top = str(loc[0]) if loc else ""
        if top not in ("endpoints", "conditions", "judges") or len(loc) < 2:
            drop.add(top)
            continue
        key, table = loc[1], fixed[top]
        if top == "endpoints" and isinstance(key, str) and isinstance(table, Mapping):
            fixed[top] = {**table, key: {"spec": f"mock/{_STAND_IN}"}}
            stand_ins.append(f"endpoints.{key}")
        elif isinstance(key, int) and isinstance(table, list) and key < len(table):
            fixed[top] = [*table[:key], _stand_in(top, key, table[key]), *table[key + 1 :]]
            stand_ins.append(f"{top}[{key}]")
        else:
            return []
    if drop & {"endpoints", "conditions", "judges"}:
        return []  # the whole table is unusable: checks against it would mislead
    if drop & {"players", "tournaments"}:
        drop |= {"players", "tournaments"}  # a tournament's players are checked in the raw
    try:
        rest = Experiment.model_validate({k: v for k, v in fixed.items() if k not in drop})
    except ValidationError:
        return []
    return [
        p
        for p in cross_problems(rest)
        if _STAND_IN not in p
        and not any(p.startswith((f"{at}.", f"{at}:")) for at in stand_ins)
        and not ("split" in drop and _NO_SPLIT in p)  # the split is there, only invalid
    ]


_NO_SPLIT = "but the experiment has no [split]"
"""Part of the problem of a ``questions`` naming a part when there is no ``[split]``."""


_STAND_IN = "__invalid_entry__"
"""Marks a stand-in for an invalid entry in the cross-checks (see _cross_problems_despite)."""


def _stand_in(table: str, index: int, entry: Any) -> dict[str, Any]:
    """A valid condition or judge in place of an invalid one, under the same name."""
    given = dict(entry) if isinstance(entry, Mapping) else {}
    if table == "conditions":
        label = given.get("label")
        ok = isinstance(label, str) and re.match(_LABEL, label)
        return {"label": label if ok else f"x{_STAND_IN}{index}", "protocol": "unassisted"}
    name, endpoint, kind = given.get("name"), given.get("endpoint"), given.get("kind")
    judge: dict[str, Any] = {
        "kind": "llm",
        "endpoint": endpoint if isinstance(endpoint, str) else f"mock/{_STAND_IN}",
    }
    if isinstance(name, str):
        judge["name"] = name
    elif isinstance(kind, str) and kind != "llm":
        judge["name"] = kind  # an unnamed judge of another kind is named by its kind
    return judge


def cross_problems(experiment: Experiment) -> list[str]:
    """Every cross-check problem of ``experiment``, one line each (see check_experiment)."""
    problems = validate_judges(experiment)
    for name, named in experiment.endpoints.items():
        problems += _endpoint_lines(f"endpoints.{name}", named.spec, named.endpoint_options())
    specs = {ref: at for at, ref in judge_specs(experiment)}
    for i, condition in enumerate(experiment.conditions):
        for role, ref in condition.roles.items():
            specs.setdefault(ref, f"conditions[{i}].roles.{role}")
    for ref, at in specs.items():
        if ref not in experiment.endpoints and "/" in ref:
            problems += _endpoint_lines(at, ref, {})
    problems += plant_problems(experiment)
    problems += tournament_problems(experiment.tournaments, experiment.players)
    problems += split_problems(experiment.split, _parts_used(experiment))
    problems += _crossplay_problems(experiment)
    judges = judge_names(experiment)
    labels: set[str] = set()
    # A tournament's conditions are named by their tournament: what is wrong there is
    # written there, once, not under conditions the file does not have.
    made_by = {t.label: f"tournaments[{j}]" for j, t in enumerate(experiment.tournaments)}
    for i, condition in enumerate(experiment.conditions):
        at = made_by.get(condition.tournament or "", f"conditions[{i}]")
        if condition.label in labels:
            problems.append(f"{at}.label: {condition.label!r} is used twice; labels must differ")
        labels.add(condition.label)
        if condition.protocol not in REGISTRY:
            problems.append(
                f"{at}.protocol: {condition.protocol!r} is not a protocol; "
                f"known: {', '.join(sorted(REGISTRY))}"
            )
            continue
        spec = get(condition.protocol)
        for role, name in condition.roles.items():
            if name not in experiment.endpoints and "/" not in name:
                known = ", ".join(sorted(experiment.endpoints)) or "none defined"
                problems.append(
                    f"{at}.roles.{role}: {name!r} is not an endpoint; known: {known} "
                    f"(or give a spec such as 'mock/{name}')"
                )
        try:
            config = spec.config.model_validate(condition.options)
        except ValidationError as err:
            problems.extend(format_errors(err, spec.config, (*_loc(at), "options")))
            config = None
        try:
            if config is not None:
                check_prompts(condition.protocol, config)
        except ConfigError as err:
            problems.append(f"{at}.options.prompts: {err}")
        for role in spec.roles_needed(config) if config is not None else spec.roles:
            if role not in condition.roles and not any(
                r.startswith(f"{role}_") for r in condition.roles
            ):
                problems.append(
                    f"{at}.roles: {condition.protocol} needs an endpoint for the {role!r} "
                    f'role; add roles = {{{role} = "<endpoint name>"}}'
                )
        if getattr(config, "live_judge", False) and condition.judge is None:
            problems.append(
                f"{at}: live_judge is on, so the condition needs its live judge: add "
                f'judge = "<name of a [[judges]] entry>"'
            )
        kinds = dict(zip(judges, (j.kind for j in experiment.judges), strict=False))
        if getattr(config, "live_judge", False) and kinds.get(condition.judge or "") == "fallback":
            problems.append(
                f"{at}.judge: {condition.judge!r} is a fallback judge, which cannot judge live "
                "(it would escalate every turn); name an llm, human or panel judge"
            )
        refs: list[tuple[str, str | None]] = [
            ("judge", condition.judge),
            *(("judges", n) for n in condition.judges or []),
        ]
        for key, judge in refs:
            if judge is not None and judge not in judges:
                problems.append(
                    f"{at}.{key}: {judge!r} is not a judge; known: {', '.join(judges) or 'none'}"
                )
    studied = experiment.human.conditions if experiment.human is not None else None
    for label in dict.fromkeys(studied or []):
        if label not in labels:
            problems.append(
                f"human.conditions: {label!r} is not a condition of the experiment; its "
                f"conditions: {', '.join(sorted(labels))}"
            )
    return list(dict.fromkeys(problems))


def _parts_used(experiment: Experiment) -> list[tuple[str, str]]:
    """Where the conditions and tournaments name a ``[split]`` part, and the part (a
    tournament's conditions are checked at the tournament)."""
    used = [
        (f"conditions[{i}].questions", c.questions)
        for i, c in enumerate(experiment.conditions)
        if c.tournament is None and c.questions is not None
    ]
    for j, t in enumerate(experiment.tournaments):
        used += [
            (f"tournaments[{j}].{key}", part)
            for key, part in (
                ("questions", t.questions),
                ("crossplay_questions", t.crossplay_questions),
            )
            if part is not None
        ]
    return used


def _crossplay_problems(experiment: Experiment) -> list[str]:
    """``crossplay_questions`` where the tournament plays no cross-play."""
    return [
        f"tournaments[{j}].crossplay_questions: "
        + (
            "a consultancy tournament has no cross-play; use questions"
            if t.protocol == "consultancy"
            else "crossplay is off, so no match runs on it; drop it or turn crossplay on"
        )
        for j, t in enumerate(experiment.tournaments)
        if t.crossplay_questions is not None and (t.protocol == "consultancy" or not t.crossplay)
    ]


def _loc(text: str) -> Loc:
    """``conditions[2]`` -> ("conditions", 2)."""
    name, _, index = text.partition("[")
    return (name, int(index.rstrip("]"))) if index else (name,)


def _report(where: str, problems: Sequence[str]) -> str:
    if len(problems) == 1:
        return f"{where}: {problems[0]}"
    return f"{where}: {len(problems)} problems:\n  " + "\n  ".join(problems)

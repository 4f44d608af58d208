"""Reading experiment files, and refusing bad ones with the file, the key and what is allowed."""

from __future__ import annotations

import os
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from oversight.experiment._judges import judge_names, validate_judges
from oversight.experiment._spec import Experiment
from protocols.base import REGISTRY, get
from transcripts.errors import ConfigError

__all__ = ["check_experiment", "format_errors", "load_experiment"]

Loc = tuple[str | int, ...]


def load_experiment(source: str | os.PathLike[str] | Mapping[str, Any]) -> Experiment:
    """Read and check an experiment from a TOML file (or a dict of the same shape).

    A file may start from another with ``extends = "base.toml"`` (a path relative to it):
    its tables are merged into the base's key by key, and any other value, arrays of
    tables such as ``[[conditions]]`` included, replaces the base's. Every problem is
    reported at once, each as ``file: key.path: what is wrong; allowed: ...``.
    """
    if isinstance(source, Mapping):
        where, data, path = "experiment", dict(source), None
    else:
        path = Path(source)
        where = str(path)
        data = _read(path, ())
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_report(where, format_errors(err, Experiment))) from None
    if path is not None:
        experiment._source = path.resolve()
    check_experiment(experiment, where=where)
    return experiment


def _read(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    """The TOML file at ``path``, merged over the file its ``extends`` key names."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such experiment file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    base = data.pop("extends", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: extends: give the path of another experiment file")
    parent = (path.parent / base).resolve()
    if parent in seen or parent == path.resolve():
        raise ConfigError(f"{path}: extends: {base!r} extends itself (a cycle)")
    return _merge(_read(parent, (*seen, path.resolve())), data)


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; every other value (arrays included) replaces the base's."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def check_experiment(experiment: Experiment, *, where: str | None = None) -> None:
    """Cross-checks no single field can make: protocols, roles, options, names of judges."""
    where = where or (str(experiment.source) if experiment.source else "experiment")
    problems = validate_judges(experiment)
    judges = judge_names(experiment)
    labels: set[str] = set()
    for i, condition in enumerate(experiment.conditions):
        at = f"conditions[{i}]"
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
        for role in spec.roles_needed(config) if config is not None else spec.roles:
            if role not in condition.roles and not any(
                r.startswith(f"{role}_") for r in condition.roles
            ):
                problems.append(
                    f"{at}.roles: {condition.protocol} needs an endpoint for the {role!r} role; "
                    f"add roles = {{{role} = \"<endpoint name>\"}}"
                )
        refs: list[tuple[str, str | None]] = [
            ("judge", condition.judge), *(("judges", n) for n in condition.judges or [])]
        for key, judge in refs:
            if judge is not None and judge not in judges:
                problems.append(
                    f"{at}.{key}: {judge!r} is not a judge; known: {', '.join(judges) or 'none'}"
                )
    if problems:
        raise ConfigError(_report(where, problems))


def _loc(text: str) -> Loc:
    """``conditions[2]`` -> ("conditions", 2)."""
    name, _, index = text.partition("[")
    return (name, int(index.rstrip("]"))) if index else (name,)


def _report(where: str, problems: Sequence[str]) -> str:
    if len(problems) == 1:
        return f"{where}: {problems[0]}"
    return f"{where}: {len(problems)} problems:\n  " + "\n  ".join(problems)


def format_errors(err: ValidationError, root: type[BaseModel], prefix: Loc = ()) -> list[str]:
    """One line per pydantic error: key path, what is wrong, what is allowed."""
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        model, path = _walk(root, loc)
        key = _dotted((*prefix, *path))
        kind = e["type"]
        ctx = e.get("ctx") or {}
        if kind == "extra_forbidden":
            allowed = ", ".join(model.model_fields) if model else "none"
            lines.append(f"{key}: unknown key; allowed here: {allowed}")
        elif kind == "missing":
            lines.append(f"{key}: required key is missing")
        elif kind == "literal_error":
            lines.append(f"{key}: {e['input']!r} is not allowed; allowed: {ctx.get('expected')}")
        elif kind == "union_tag_invalid":
            tag_key = str(ctx.get("discriminator", "")).strip("'")
            lines.append(
                f"{key}.{tag_key}: {ctx.get('tag')!r} is not a known {tag_key}; "
                f"known: {ctx.get('expected_tags')}"
            )
        elif kind == "union_tag_not_found":
            tag_key = str(ctx.get("discriminator", "")).strip("'")
            lines.append(f"{key}.{tag_key}: required key is missing")
        else:
            message = str(e["msg"]).removeprefix("Value error, ")
            lines.append(f"{key}: {message} (got {_short(e.get('input'))})")
    return lines


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _walk(root: type[BaseModel], loc: Loc) -> tuple[type[BaseModel] | None, Loc]:
    """The model holding the last key of ``loc``, and ``loc`` without union tags."""
    current: Any = root
    model: type[BaseModel] | None = root
    path: list[str | int] = []
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            model = current
            field = current.model_fields.get(str(part))
            path.append(part)
            current = field.annotation if field is not None else None
            continue
        origin = get_origin(current)
        if origin in (list, tuple, dict):
            path.append(part)
            current = get_args(current)[-1] if get_args(current) else None
            continue
        member = _tagged_member(current, part)
        if member is not None:
            current = member  # a union tag: not a key the user wrote
            continue
        path.append(part)
        current = None
        model = None
    return (model if not parts else None), tuple(path)


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> X."""
    if get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _tagged_member(annotation: Any, tag: str | int) -> type[BaseModel] | None:
    if get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    for member in get_args(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            for key in ("loader", "kind"):
                field = member.model_fields.get(key)
                if field is not None and tag in get_args(field.annotation):
                    return member
    return None

"""Pydantic errors in words a user can act on: the dotted key as written in the file, what
is wrong, and what is allowed there. Used by experiment files, judge specs and tables, and
protocol options alike, so every configuration error reads the same way."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ValidationError
from pydantic_core import PydanticCustomError

__all__ = ["Integer", "Loc", "Number", "format_errors"]

Loc = tuple[str | int, ...]
"""A key path, e.g. ``("conditions", 2, "options")``."""


def _not_true_or_false(expected: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError(
                "bool_for_number", "expected {expected}, not true or false", {"expected": expected}
            )
        return value

    return check


# Pydantic's lax mode reads true as 1 and false as 0: in a configuration a boolean where a
# number belongs is a slip (``repeats = true``), so every number field a user writes refuses
# one. Numbers given as text ("3", from a judge spec string) and integers for decimals (TOML
# writes 1 for 1.0) stay accepted.
Integer = Annotated[int, BeforeValidator(_not_true_or_false("an integer"))]
"""An ``int`` field of a configuration: true or false is refused, naming the type."""
Number = Annotated[float, BeforeValidator(_not_true_or_false("a number"))]
"""A ``float`` field of a configuration: true or false is refused, naming the type."""


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
        elif kind == "bool_for_number":
            given = str(e.get("input")).lower()
            lines.append(f"{key}: {e['msg']} (got {given}); write a number, or leave the key out")
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
    """``X | None`` -> X, and ``Annotated[X, ...]`` -> X (a discriminated union is one)."""
    if get_origin(annotation) is typing.Annotated:
        return _unwrap(get_args(annotation)[0])
    if get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation


def _tagged_member(annotation: Any, tag: str | int) -> type[BaseModel] | None:
    annotation = _unwrap(annotation)
    if get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    for member in get_args(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            for key in ("loader", "kind"):
                field = member.model_fields.get(key)
                if field is not None and tag in get_args(field.annotation):
                    return member
    return None

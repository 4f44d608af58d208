"""What every table of an experiment shares."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SerializerFunctionWrapHandler

__all__ = ["without_unset"]


def without_unset(
    handler: SerializerFunctionWrapHandler, model: BaseModel, *names: str
) -> dict[str, Any]:
    """The model's data without the fields ``names`` while they are unset (None or empty), so
    that adding an optional field leaves the spec hash of existing runs as it was."""
    data: dict[str, Any] = handler(model)
    for name in names:
        if name in data and data[name] in (None, [], {}):
            del data[name]
    return data

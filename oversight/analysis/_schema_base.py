"""Base classes of the analysis output models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from oversight.analysis._types import Interval

__all__ = ["Interval"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class _Flat(BaseModel):
    """A model whose ``by`` values are also written at the top level of its JSON object."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    by: dict[str, Any]
    """The grouping fields of this entry and their values (null = field missing)."""

    @model_serializer(mode="wrap")
    def _flatten(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        flat = {k: v for k, v in self.by.items() if k not in data}
        return {**flat, **data}

"""The JSON-schema subset used for structured output: checking replies, inventing instances."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from oversight.endpoints._jsonschema import example, first_error
from oversight.endpoints._structured import closed_schema, is_strict, parse_structured
from oversight.errors import StructuredOutputError


class Side(StrEnum):
    A = "A"
    B = "B"


class Quote(BaseModel):
    text: str = Field(min_length=3, max_length=40)
    verified: bool


class Judgment(BaseModel):
    winner: Side
    probabilities: list[float] = Field(min_length=2, max_length=2)
    confidence: float = Field(ge=0.5, le=1.0)
    quotes: list[Quote]
    note: str | None = None
    style: Literal["brief", "long"] = "brief"
    rounds: int = Field(ge=1, le=5)


SCHEMAS: list[dict[str, Any]] = [
    Judgment.model_json_schema(),
    {"type": "integer", "minimum": 3, "exclusiveMaximum": 6},
    {"type": "array", "items": {"enum": [1, 2, 3]}, "minItems": 2, "uniqueItems": True},
    {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]},
    {"oneOf": [{"type": "string", "maxLength": 2}, {"type": "integer"}]},
    {
        "type": "object",
        "properties": {"p": {"type": "number", "multipleOf": 0.25, "maximum": 1, "minimum": 0}},
        "required": ["p"],
        "additionalProperties": False,
    },
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_invented_instances_are_valid(schema: dict[str, Any]) -> None:
    for seed in range(30):
        instance = example(schema, seed=seed)
        assert first_error(instance, schema) is None, (seed, instance)
    assert example(schema, seed=4) == example(schema, seed=4)


def test_pydantic_schemas_validate_with_refs_and_optionals() -> None:
    schema = Judgment.model_json_schema()
    good = {
        "winner": "B",
        "probabilities": [0.3, 0.7],
        "confidence": 0.8,
        "quotes": [{"text": "the ship sank", "verified": True}],
        "note": None,
        "rounds": 2,
    }
    assert first_error(good, schema) is None
    cases = {
        "$.winner: 'C' is not one of": {**good, "winner": "C"},
        "$.quotes[0].text: string shorter than 3": {
            **good,
            "quotes": [{"text": "x", "verified": 1}],
        },
        "$.confidence: 0.2 is not >= 0.5": {**good, "confidence": 0.2},
        "missing required property 'rounds'": {k: v for k, v in good.items() if k != "rounds"},
        "$.rounds: expected integer, got boolean True": {**good, "rounds": True},
    }
    for expected, instance in cases.items():
        error = first_error(instance, schema)
        assert error is not None and expected in error, (expected, error)


def test_parse_structured_explains_what_is_wrong() -> None:
    with pytest.raises(StructuredOutputError, match="is not JSON"):
        parse_structured("The winner is A", Judgment, "mock/judge")
    with pytest.raises(StructuredOutputError, match="out of range"):
        parse_structured('{"p": 1e999}', {"type": "object"}, "mock/judge")
    with pytest.raises(StructuredOutputError, match=r"does not match Judgment: winner"):
        parse_structured('{"winner": "Z"}', Judgment, "mock/judge")
    fenced = '```json\n{"p": 0.5}\n```'
    assert parse_structured(fenced, SCHEMAS[-1], "x") == {"p": 0.5}


def test_schemas_are_closed_for_providers_and_strict_only_when_all_required() -> None:
    closed = closed_schema(Judgment.model_json_schema())
    assert closed["additionalProperties"] is False
    assert closed["$defs"]["Quote"]["additionalProperties"] is False
    assert not is_strict(closed)  # note, style have defaults: not required
    assert is_strict(closed_schema(Quote.model_json_schema()))

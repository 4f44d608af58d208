"""JSON Schema for structured output: checking replies (jsonschema), inventing instances (ours),
with the ``jsonschema`` library as the independent oracle of both."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
        jsonschema.validate(instance, schema)  # the oracle: raises when it is not an instance
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
        "$.quotes[0].text: 'x' is too short": {**good, "quotes": [{"text": "x", "verified": True}]},
        "$.confidence: 0.2 is less than the minimum of 0.5": {**good, "confidence": 0.2},
        "$: 'rounds' is a required property": {k: v for k, v in good.items() if k != "rounds"},
        "$.rounds: True is not of type 'integer'": {**good, "rounds": True},
        "$.probabilities[0]: nan is not a finite number": {
            **good,
            "probabilities": [float("nan"), 0.5],
        },
    }
    for expected, instance in cases.items():
        error = first_error(instance, schema)
        assert error is not None and expected in error, (expected, error)


# Keywords the hand-written validator used to accept silently.
STRICTER: list[tuple[dict[str, Any], Any, Any]] = [
    ({"type": "array", "uniqueItems": True}, [1, 2], [1, 1]),
    ({"type": "object", "minProperties": 1}, {"a": 1}, {}),
    (
        {"if": {"properties": {"k": {"const": "x"}}}, "then": {"required": ["v"]}},
        {"k": "x", "v": 1},
        {"k": "x"},
    ),
    ({"type": "array", "contains": {"const": 3}}, [1, 3], [1, 2]),
    (
        {"type": "object", "patternProperties": {"^n_": {"type": "integer"}}},
        {"n_a": 1},
        {"n_a": "one"},
    ),
    ({"type": "object", "propertyNames": {"maxLength": 3}}, {"abc": 1}, {"abcd": 1}),
]


@pytest.mark.parametrize(("schema", "good", "bad"), STRICTER)
def test_every_keyword_is_checked(schema: dict[str, Any], good: Any, bad: Any) -> None:
    assert first_error(good, schema) is None
    error = first_error(bad, schema)
    assert error is not None and error.startswith("$")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-2, 2) | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([*SCHEMAS, *(s for s, _, _ in STRICTER)]), JSON)
def test_first_error_agrees_with_the_oracle(schema: dict[str, Any], instance: Any) -> None:
    assert (first_error(instance, schema) is None) == jsonschema.Draft202012Validator(
        schema
    ).is_valid(instance)


def test_a_schema_the_generator_cannot_satisfy_is_an_error_not_a_bad_instance() -> None:
    with pytest.raises(ValueError, match="cannot invent an instance"):
        example({"type": "object", "minProperties": 2, "properties": {}})


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

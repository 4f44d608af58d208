"""Structured output: a JSON schema in, a validated object out.

The schema travels through each provider's native mechanism (see the backends); this
module prepares it for them and checks what comes back, whichever way it was produced.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from oversight.endpoints._jsonschema import first_error
from oversight.endpoints._types import Message, Request
from transcripts.errors import StructuredOutputError

__all__ = [
    "began_as_json",
    "closed_schema",
    "corrected",
    "is_strict",
    "longest_reask",
    "parse_structured",
    "render_correction",
    "schema_instruction",
    "strict_object",
]

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?```\s*$", re.DOTALL)


def strict_object(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON schema of an object with exactly ``properties``, each one required and no
    other allowed: the form OpenAI's ``strict`` mode accepts (:func:`is_strict`), written
    once for every structured reply a protocol or judge asks for."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": False,
    }


def closed_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy where every object without ``additionalProperties`` gets ``false``, as
    OpenAI strict mode and Anthropic structured output require."""
    closed = copy.deepcopy(schema)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if (node.get("type") == "object" or "properties" in node) and (
                "additionalProperties" not in node
            ):
                node["additionalProperties"] = False
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(closed)
    return closed


def is_strict(schema: dict[str, Any]) -> bool:
    """True when every object lists all its properties as required and allows no others
    (what OpenAI's ``strict`` json_schema mode accepts)."""

    def ok(node: Any) -> bool:
        if isinstance(node, list):
            return all(ok(v) for v in node)
        if not isinstance(node, dict):
            return True
        if node.get("type") == "object" or "properties" in node:
            properties = node.get("properties", {})
            if node.get("additionalProperties") is not False:
                return False
            if set(node.get("required", [])) != set(properties):
                return False
        return all(ok(v) for v in node.values())

    return ok(schema)


def schema_instruction(schema: dict[str, Any]) -> str:
    """The instruction added to the system prompt where a server has no schema support."""
    return (
        "Reply with one JSON value and nothing else (no prose, no code fence). "
        f"It must match this JSON schema:\n{json.dumps(schema, separators=(',', ':'))}"
    )


def render_correction(error: str) -> str:
    """The user message that re-asks after an unusable reply, saying what was wrong."""
    return (
        f"That reply could not be used: {error}\n"
        "Answer the same request again, correcting this, in the form asked for."
    ).strip()


def corrected(request: Request, reply: str, error: str) -> Request:
    """The re-ask after ``reply`` was unusable: never the identical request.

    The unusable reply and what was wrong with it join the conversation (so even at
    temperature 0 the model sees something new), and the seed moves on by one (for providers
    that sample with it).
    """
    messages = [
        *request.messages,
        Message(role="assistant", content=reply or "(empty reply)"),
        Message(role="user", content=render_correction(error)),
    ]
    seed = None if request.seed is None else request.seed + 1
    return request.model_copy(update={"messages": messages, "seed": seed})


def longest_reask(request: Request, rounds: int, where: str) -> Request:
    """``request`` as its ``rounds``-th re-ask (:func:`corrected`) is at its longest, for
    counting its prompt: each earlier reply all of ``max_tokens`` (4 characters a token,
    as :func:`~oversight.endpoints._limits.prompt_tokens` counts) and not JSON, whose
    error quotes the most of it."""
    reply = "x" * (4 * request.max_tokens)
    for _ in range(rounds):
        try:
            parse_structured(reply, {}, where)
        except StructuredOutputError as err:
            request = corrected(request, reply, str(err))
    return request


def parse_structured(text: str, schema: dict[str, Any] | type[BaseModel], where: str) -> Any:
    """The validated object in ``text``: a model instance for a pydantic class, else plain
    JSON data. Raises StructuredOutputError saying what is wrong."""
    fenced = _FENCE.match(text)
    body = fenced.group(1) if fenced else text
    try:
        data = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except (json.JSONDecodeError, ValueError) as err:
        raise StructuredOutputError(f"{where}: reply is not JSON ({err}): {text[:200]!r}") from None
    if isinstance(schema, type):
        try:
            return schema.model_validate(data)
        except ValidationError as err:
            raise StructuredOutputError(
                f"{where}: reply does not match {schema.__name__}: {_first_pydantic_error(err)}"
            ) from None
    error = first_error(data, schema)
    if error is not None:
        raise StructuredOutputError(f"{where}: reply does not match the schema: {error}")
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise ValueError(f"number {literal[:40]} is out of range")
    return value


def _first_pydantic_error(err: ValidationError) -> str:
    first = err.errors()[0]
    location = ".".join(str(p) for p in first["loc"]) or "$"
    return f"{location}: {first['msg']}"


def began_as_json(text: str) -> bool:
    """Whether a reply (perhaps cut short) starts as JSON does: an object or array, maybe
    inside a Markdown code fence."""
    head = text.lstrip()
    if head.startswith("```"):
        head = head.split("\n", 1)[1].lstrip() if "\n" in head else ""
    return not head or head[0] in "{["

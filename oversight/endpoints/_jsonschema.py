"""The subset of JSON Schema that structured output uses: validate a reply, invent an instance.

Covers what pydantic models and hand-written verdict schemas produce: ``type`` (one or a
list), ``enum``, ``const``, ``properties``, ``required``, ``additionalProperties``,
``items``, ``prefixItems``, ``minItems``/``maxItems``, ``uniqueItems``, numeric bounds,
``multipleOf``, ``minLength``/``maxLength``, ``pattern``, ``anyOf``/``oneOf``/``allOf``/``not``
and local ``$ref`` (``#/$defs/...``). Keywords outside it (``format``, ...) are ignored,
as the JSON Schema specification allows for annotations.
"""

from __future__ import annotations

import json
import math
import operator
import random
import re
from collections.abc import Callable
from typing import Any

__all__ = ["example", "first_error"]

_Schema = dict[str, Any]

_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def first_error(instance: Any, schema: _Schema) -> str | None:
    """The first way ``instance`` breaks ``schema`` (with its JSON path), or None if valid."""
    return _Validator(schema).check(instance, schema, "$")


def example(schema: _Schema, *, seed: int = 0) -> Any:
    """A deterministic instance that satisfies ``schema`` (for mocks and dry runs)."""
    return _Generator(schema, random.Random(seed)).make(schema, depth=0)


def _resolve(root: _Schema, schema: _Schema) -> _Schema:
    """Follow local ``$ref`` pointers (``#/$defs/Name``, ``#/definitions/Name``)."""
    seen = 0
    while "$ref" in schema:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise ValueError(f"only local $ref pointers are supported, got {ref!r}")
        node: Any = root
        for part in ref.lstrip("#").strip("/").split("/"):
            if part:
                node = node[part.replace("~1", "/").replace("~0", "~")]
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**node, **siblings}
        seen += 1
        if seen > 64:
            raise ValueError(f"$ref cycle at {ref!r}")
    return schema


class _Validator:
    __slots__ = ("root",)

    def __init__(self, root: _Schema) -> None:
        self.root = root

    def check(self, value: Any, schema: Any, path: str) -> str | None:
        """Return the first error under ``path``, or None."""
        if schema is True or schema == {}:
            return None
        if schema is False:
            return f"{path}: no value is allowed here"
        schema = _resolve(self.root, schema)
        if isinstance(value, float) and not math.isfinite(value):
            return f"{path}: {value} is not a finite number"
        for check in (self._type, self._enum, self._combinators, self._number, self._string):
            error = check(value, schema, path)
            if error:
                return error
        if isinstance(value, dict):
            return self._object(value, schema, path)
        if isinstance(value, list):
            return self._array(value, schema, path)
        return None

    def _type(self, value: Any, schema: _Schema, path: str) -> str | None:
        expected = schema.get("type")
        if expected is None:
            return None
        names = expected if isinstance(expected, list) else [expected]
        if any(_TYPE_CHECKS.get(name, _anything)(value) for name in names):
            return None
        return f"{path}: expected {' or '.join(names)}, got {_describe(value)}"

    def _enum(self, value: Any, schema: _Schema, path: str) -> str | None:
        if "const" in schema and not _equal(value, schema["const"]):
            return f"{path}: expected {schema['const']!r}, got {value!r}"
        if "enum" in schema and not any(_equal(value, option) for option in schema["enum"]):
            return f"{path}: {value!r} is not one of {schema['enum']!r}"
        return None

    def _combinators(self, value: Any, schema: _Schema, path: str) -> str | None:
        for sub in schema.get("allOf", []):
            error = self.check(value, sub, path)
            if error:
                return error
        if "anyOf" in schema:
            errors = [self.check(value, sub, path) for sub in schema["anyOf"]]
            if all(errors):
                return f"{path}: matches none of anyOf ({errors[0]})"
        if "oneOf" in schema:
            matches = sum(self.check(value, sub, path) is None for sub in schema["oneOf"])
            if matches != 1:
                return f"{path}: matches {matches} of oneOf, expected exactly 1"
        if "not" in schema and self.check(value, schema["not"], path) is None:
            return f"{path}: matches a schema it must not match"
        return None

    def _number(self, value: Any, schema: _Schema, path: str) -> str | None:
        if not _TYPE_CHECKS["number"](value):
            return None
        bounds = (
            ("minimum", operator.ge, ">="),
            ("maximum", operator.le, "<="),
            ("exclusiveMinimum", operator.gt, ">"),
            ("exclusiveMaximum", operator.lt, "<"),
        )
        for key, holds, sign in bounds:
            if key in schema and not holds(value, schema[key]):
                return f"{path}: {value} is not {sign} {schema[key]}"
        step = schema.get("multipleOf")
        if step and not math.isclose(value / step, round(value / step), abs_tol=1e-9):
            return f"{path}: {value} is not a multiple of {step}"
        return None

    def _string(self, value: Any, schema: _Schema, path: str) -> str | None:
        if not isinstance(value, str):
            return None
        if len(value) < schema.get("minLength", 0):
            return f"{path}: string shorter than {schema['minLength']}"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{path}: string longer than {schema['maxLength']}"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"{path}: {value!r} does not match {schema['pattern']!r}"
        return None

    def _object(self, value: dict[str, Any], schema: _Schema, path: str) -> str | None:
        for name in schema.get("required", []):
            if name not in value:
                return f"{path}: missing required property {name!r}"
        properties: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            sub = properties.get(name, extra)
            if sub is False:
                return f"{path}: unexpected property {name!r}"
            error = self.check(item, sub, f"{path}.{name}")
            if error:
                return error
        return None

    def _array(self, value: list[Any], schema: _Schema, path: str) -> str | None:
        if len(value) < schema.get("minItems", 0):
            return f"{path}: fewer than {schema['minItems']} items"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"{path}: more than {schema['maxItems']} items"
        if schema.get("uniqueItems") and len({_canonical(v) for v in value}) != len(value):
            return f"{path}: items are not unique"
        prefix: list[Any] = schema.get("prefixItems", [])
        rest = schema.get("items", True)
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else rest
            error = self.check(item, sub, f"{path}[{i}]")
            if error:
                return error
        return None


class _Generator:
    __slots__ = ("rng", "root")

    def __init__(self, root: _Schema, rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def make(self, schema: Any, depth: int) -> Any:
        """An instance of ``schema``."""
        if schema is True or schema == {} or schema is False:
            return None if schema is False else "example"
        schema = _resolve(self.root, schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if _resolve(self.root, s).get("type") != "null"]
                return self.make(self.rng.choice(options or schema[key]), depth + 1)
        if "allOf" in schema:
            merged: _Schema = {}
            for sub in schema["allOf"]:
                merged.update(_resolve(self.root, sub))
            return self.make({**merged, **{k: v for k, v in schema.items() if k != "allOf"}}, depth)
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        return getattr(self, f"_{kind}", self._string)(schema, depth)

    def _object(self, schema: _Schema, depth: int) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", properties))
        return {
            name: self.make(sub, depth + 1)
            for name, sub in properties.items()
            if name in required or depth < 3
        }

    def _array(self, schema: _Schema, depth: int) -> list[Any]:
        prefix: list[Any] = schema.get("prefixItems", [])
        low = max(schema.get("minItems", 1 if depth < 3 else 0), len(prefix))
        high = max(low, min(schema.get("maxItems", low + 2), low + 2))
        items = [self.make(sub, depth + 1) for sub in prefix]
        rest = schema.get("items", {"type": "string"})
        seen = {_canonical(v) for v in items}
        for _ in range(self.rng.randint(low, high) - len(items)):
            item = self.make(rest, depth + 1)
            if schema.get("uniqueItems"):
                for _retry in range(16):
                    if _canonical(item) not in seen:
                        break
                    item = self.make(rest, depth + 1)
                else:
                    break  # no new distinct item to be had
                seen.add(_canonical(item))
            items.append(item)
        return items

    def _number(self, schema: _Schema, depth: int) -> float:
        low, high = _bounds(schema, 0.0, 1.0)
        step = schema.get("multipleOf")
        if step:
            return float(step * self.rng.randint(math.ceil(low / step), math.floor(high / step)))
        value = round(self.rng.uniform(low, high), 3)
        return min(max(value, low), high)

    def _integer(self, schema: _Schema, depth: int) -> int:
        low, high = _bounds(schema, 0, 10)
        step = schema.get("multipleOf") or 1
        return int(step * self.rng.randint(math.ceil(low / step), math.floor(high / step)))

    def _string(self, schema: _Schema, depth: int) -> str:
        words = ["alpha", "beta", "gamma", "delta", "evidence", "answer", "claim", "source"]
        text = " ".join(self.rng.choice(words) for _ in range(self.rng.randint(1, 4)))
        low: int = schema.get("minLength", 0)
        high: int = schema.get("maxLength", max(len(text), 1))
        return text[: max(low, min(len(text), high))].ljust(low, "x")

    def _boolean(self, schema: _Schema, depth: int) -> bool:
        return self.rng.random() < 0.5

    def _null(self, schema: _Schema, depth: int) -> None:
        return None


def _bounds(schema: _Schema, low: float, high: float) -> tuple[float, float]:
    """The closed range a number must lie in, from the schema's bounds and a default."""
    lo = schema.get("minimum", schema.get("exclusiveMinimum"))
    hi = schema.get("maximum", schema.get("exclusiveMaximum"))
    if lo is not None and hi is None:
        hi = lo + (high - low)
    if hi is not None and lo is None:
        lo = hi - (high - low)
    lo = low if lo is None else lo
    hi = high if hi is None else hi
    nudge = 1 if isinstance(lo, int) and isinstance(hi, int) else (hi - lo) / 1000
    if "exclusiveMinimum" in schema:
        lo += nudge
    if "exclusiveMaximum" in schema:
        hi -= nudge
    return lo, hi


def _anything(value: Any) -> bool:
    return True


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but True != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _describe(value: Any) -> str:
    names: dict[type, str] = {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        type(None): "null",
    }
    shown = "" if isinstance(value, dict | list) else f" {value!r}"
    return names.get(type(value), "number") + shown

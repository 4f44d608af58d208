"""JSON Schema for structured output: validate a reply (with the ``jsonschema`` library),
invent an instance (by hand).

Validation is :mod:`jsonschema`'s, for the draft the schema names (2020-12 when it names
none), so every keyword is checked, none silently ignored; only non-finite numbers (NaN,
infinity), which JSON cannot carry, are refused before it.

:func:`example` is written here because no library offers it: a deterministic, seeded
instance of a schema, used by the mock endpoints and dry runs to invent replies. It covers
what pydantic models and verdict schemas use (``type``, ``enum``, ``const``, ``properties``,
``required``, ``items``, ``prefixItems``, item counts, ``uniqueItems``, numeric bounds,
``multipleOf``, string lengths, ``anyOf``/``oneOf``/``allOf`` and local ``$ref``); what it
invents is checked by the validator, and a schema it cannot satisfy is an error, never an
invalid instance.
"""

from __future__ import annotations

import functools
import json
import math
import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema

__all__ = ["example", "first_error"]

_Schema = dict[str, Any]


def first_error(instance: Any, schema: _Schema) -> str | None:
    """The most relevant way ``instance`` breaks ``schema`` (with its JSON path), or None."""
    bad = _non_finite(instance, "$")
    if bad is not None:
        return bad
    # Imported on first use: a command that never checks a reply (``judge``, ``rate``,
    # ``show``) does not pay for loading jsonschema (a tenth of a second or more).
    from jsonschema.exceptions import best_match

    error = best_match(_validator(json.dumps(schema, sort_keys=True)).iter_errors(instance))
    return None if error is None else f"{error.json_path}: {error.message}"


@functools.lru_cache(maxsize=256)
def _validator(canonical: str) -> jsonschema.protocols.Validator:
    """The validator of the draft a schema names (2020-12 by default), built once per schema."""
    import jsonschema

    schema = json.loads(canonical)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


def example(schema: _Schema, *, seed: int = 0) -> Any:
    """A deterministic instance that satisfies ``schema`` (for mocks and dry runs).

    Raises ``ValueError`` naming the problem when the schema uses a keyword the generator
    cannot satisfy (the invented instance is always validated).
    """
    instance = _Generator(schema, random.Random(seed)).make(schema, depth=0)
    problem = first_error(instance, schema)
    if problem is not None:
        raise ValueError(f"cannot invent an instance of this schema (seed {seed}): {problem}")
    return instance


def _non_finite(value: Any, path: str) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path}: {value} is not a finite number"
    if isinstance(value, dict):
        items: Any = ((f"{path}.{k}", v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for sub_path, sub in items:
        bad = _non_finite(sub, sub_path)
        if bad is not None:
            return bad
    return None


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


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)

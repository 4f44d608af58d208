"""The evaluation tree of recursive reward modeling: nodes, aggregation, readable form."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from transcripts import Quote

__all__ = ["LEAF_SCHEMA", "SUBCLAIMS_SCHEMA", "Node"]

SUBCLAIMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"subclaims": {"type": "array", "items": {"type": "string"}}},
    "required": ["subclaims"],
    "additionalProperties": False,
}
"""Structured reply of the assistant: the sub-claims of a claim."""

LEAF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"score": {"type": "number"}, "evidence": {"type": "string"}},
    "required": ["score", "evidence"],
    "additionalProperties": False,
}
"""Structured reply of the evaluator on a leaf: a score in [0, 1] and the evidence."""


@dataclass
class Node:
    """One claim in an answer's evaluation tree."""

    id: str
    """Path label: ``B`` for answer B's claim, ``B.2`` for its second sub-claim, ..."""
    claim: str
    """The statement evaluated at this node."""
    answer: int
    """Original index of the answer the tree evaluates."""
    children: list[Node] = field(default_factory=list)
    """Sub-claims; none at a leaf."""
    score: float = 0.0
    """In [0, 1]: the evaluator's at a leaf, the aggregate of the children's above."""
    evidence: str = ""
    """The evaluator's evidence, with quotes in tags (leaves only)."""
    quotes: list[Quote] = field(default_factory=list)
    """The evidence's quotes, verified against the hidden context."""

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def aggregate(self, how: str) -> float:
        """Set every inner node's score from its children's; return this node's."""
        if self.children:
            scores = [child.aggregate(how) for child in self.children]
            self.score = min(scores) if how == "min" else sum(scores) / len(scores)
        return self.score

    def as_dict(self) -> dict[str, Any]:
        """The tree as JSON-ready data."""
        return {
            "id": self.id,
            "claim": self.claim,
            "score": self.score,
            "evidence": self.evidence,
            "quotes": [q.model_dump(mode="json") for q in self.quotes],
            "children": [child.as_dict() for child in self.children],
        }

    def readable(self, how: str, indent: int = 0) -> str:
        """The tree as a judge reads it: one claim a line, evidence below leaves."""
        pad = "    " * indent
        rule = f" ({how} of {len(self.children)} sub-claims)" if self.children else ""
        lines = [f"{pad}[{self.id}] {self.claim} — score {self.score:.2f}{rule}"]
        lines += [f"{pad}    Evidence: {self.evidence}"] if self.evidence else []
        return "\n".join(lines + [child.readable(how, indent + 1) for child in self.children])

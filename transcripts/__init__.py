"""The vocabulary everyone speaks: data model, run store, judge views, rendering.

This package is the bottom layer: it imports no other package of ours and never
touches the network.
"""

from transcripts._models import (
    SCHEMA_VERSION,
    Call,
    Decision,
    Escalation,
    JudgeIdentity,
    JudgeKind,
    Judgment,
    Planted,
    Question,
    Quote,
    Record,
    Role,
    Transcript,
    Turn,
    Usage,
    Visibility,
    new_id,
    utc_now,
)
from transcripts._render import answer_label, render_judge_view, render_transcript
from transcripts._results import CritiqueOutcome, CritiqueRating, Tree, TreeKind, TreeNode
from transcripts._store import (
    JsonlLog,
    RunStore,
    TornRecordWarning,
    status_rank,
    write_json_atomic,
)
from transcripts._view import JudgeView, ViewQuote, ViewTurn

__all__ = [
    "SCHEMA_VERSION",
    "Call",
    "CritiqueOutcome",
    "CritiqueRating",
    "Decision",
    "Escalation",
    "JsonlLog",
    "JudgeIdentity",
    "JudgeKind",
    "JudgeView",
    "Judgment",
    "Planted",
    "Question",
    "Quote",
    "Record",
    "Role",
    "RunStore",
    "TornRecordWarning",
    "Transcript",
    "Tree",
    "TreeKind",
    "TreeNode",
    "Turn",
    "Usage",
    "ViewQuote",
    "ViewTurn",
    "Visibility",
    "answer_label",
    "new_id",
    "render_judge_view",
    "render_transcript",
    "status_rank",
    "utc_now",
    "write_json_atomic",
]

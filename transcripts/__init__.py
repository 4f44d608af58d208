"""The vocabulary everyone speaks: data model, run store, judge views, rendering.

This package is the bottom layer: it imports no other package of ours and never
touches the network.
"""

from transcripts._index import Entry
from transcripts._judgments import Escalation, JudgeIdentity, JudgeKind, Judgment, upgrade_v1
from transcripts._log import JsonlLog, StoredRecords, TornRecordWarning
from transcripts._models import (
    SCHEMA_VERSION,
    Call,
    Decision,
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
from transcripts._questions import QUESTION_REF, QuestionFile
from transcripts._render import answer_label, render_judge_view, render_transcript
from transcripts._results import CritiqueOutcome, CritiqueRating, Tree, TreeKind, TreeNode
from transcripts._store import RunStore, write_json_atomic
from transcripts._view import JudgeView, ViewQuote, ViewTurn
from transcripts.scoring import (
    TIE_TOLERANCE,
    score,
    status_rank,
    top_answers,
    total_cost,
    verdict,
)

__all__ = [
    "QUESTION_REF",
    "SCHEMA_VERSION",
    "TIE_TOLERANCE",
    "Call",
    "CritiqueOutcome",
    "CritiqueRating",
    "Decision",
    "Entry",
    "Escalation",
    "JsonlLog",
    "JudgeIdentity",
    "JudgeKind",
    "JudgeView",
    "Judgment",
    "Planted",
    "Question",
    "QuestionFile",
    "Quote",
    "Record",
    "Role",
    "RunStore",
    "StoredRecords",
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
    "score",
    "status_rank",
    "top_answers",
    "total_cost",
    "upgrade_v1",
    "utc_now",
    "verdict",
    "write_json_atomic",
]

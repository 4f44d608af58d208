"""Typed protocol results on a transcript (trees, critique outcomes): stored and read back
whole, and never in a judge's view, whatever they hold."""

from __future__ import annotations

from rich.console import Console

from transcripts import (
    SCHEMA_VERSION,
    CritiqueOutcome,
    CritiqueRating,
    JudgeView,
    Question,
    Transcript,
    Tree,
    TreeNode,
    Turn,
    render_judge_view,
)

KEY = "KEY-the-planted-flaw"
REASON = "RATER-REASON-xyz"


def transcript() -> Transcript:
    leaf = TreeNode(
        id="A.1",
        claim="leaf claim",
        answer=0,
        estimate=0.61,
        chosen=True,
        bet="lower",
        check=0.12,
        evidence="ev",
    )
    tree = Tree(
        kind="prover-estimator",
        decide="estimator",
        probabilities=[0.83, 0.17],
        prover_payoff=0.49,
        roots=[TreeNode(id="A", claim="root claim", answer=0, estimate=0.83, children=[leaf])],
    )
    rating = CritiqueRating(
        critique="Critic",
        helpfulness=7,
        real_flaw=True,
        identifies_key=True,
        saw_key=True,
        reason=REASON,
        rater="mock/r",
    )
    return Transcript(
        protocol="critique",
        question=Question(id="q", text="Q?", answers=["a", "b"], correct=0, context="CTX"),
        turns=[
            Turn(role="critic", speaker="Critic", round=1, content="public critique"),
            Turn(role="rater", speaker="Rater", round=1, content=REASON, visibility="private"),
        ],
        tree=tree,
        critique=CritiqueOutcome(
            target="planted",
            critiqued=0,
            flawed=True,
            flaw=KEY,
            p_flawed=0.93,
            generated=1,
            ratings=[rating],
        ),
    )


def test_results_round_trip_through_json() -> None:
    t = transcript()
    back = Transcript.model_validate_json(t.model_dump_json())
    assert back == t and back.tree is not None and back.critique is not None
    assert [n.id for n in back.tree.roots[0].walk()] == ["A", "A.1"]
    assert back.schema_version == SCHEMA_VERSION


def test_no_result_reaches_the_judge() -> None:
    view = JudgeView.from_transcript(transcript())
    shown = view.model_dump_json()
    console = Console(width=200)
    with console.capture() as captured:
        console.print(render_judge_view(view))
    for text in (shown, captured.get()):
        assert "public critique" in text
        for hidden in (KEY, REASON, "0.93", "0.83", "0.49", "mock/r", "CTX", "root claim"):
            assert hidden not in text

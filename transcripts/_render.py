"""Rendering transcripts with rich: the researcher's full view and the judge's view.

Everything from a speaker, a question or a run (answers, labels, errors, model names) goes in
as :class:`rich.text.Text`, never as markup, so brackets in it are shown as written; and a
speaker's text passes through :func:`transcripts.quotes.mark_quotes`, so only the
framework's own quote marks look like marks. Turns the injection detector flags say so.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from transcripts._models import Call, Transcript, Turn
from transcripts._results import CritiqueOutcome, Tree
from transcripts._view import JudgeView, ViewTurn
from transcripts.injection import detect_injection
from transcripts.quotes import QUOTE_PATTERN, speaker_text

__all__ = ["answer_label", "injection_note", "render_judge_view", "render_transcript"]

VERIFIED_STYLE = "bold green"
UNVERIFIED_STYLE = "bold red strike"


def answer_label(index: int) -> str:
    """``A``, ``B``, ... for answer positions."""
    return chr(ord("A") + index) if index < 26 else str(index + 1)


def _content(content: str, verified: list[bool]) -> Text:
    """The content with quotes styled: verified green, unverified red and marked; what the
    speaker wrote around them cannot imitate a mark (see :func:`speaker_text`)."""
    text = Text()
    last = 0
    for i, match in enumerate(QUOTE_PATTERN.finditer(content)):
        text.append(speaker_text(content[last : match.start()]))
        ok = verified[i] if i < len(verified) else False
        mark = "✓" if ok else "✗ unverified"
        style = VERIFIED_STYLE if ok else UNVERIFIED_STYLE
        text.append(f"“{speaker_text(match.group(1))}” [{mark}]", style=style)
        last = match.end()
    text.append(speaker_text(content[last:]))
    return text


def injection_note(turn: Turn | ViewTurn) -> str:
    """``injection? instruction, imitated-turn`` when the detector flags a speaker's turn
    (see :mod:`transcripts.injection`); empty for clean turns and judges' own turns."""
    if turn.role == "judge":
        return ""
    kinds = sorted({flag.kind for flag in detect_injection(turn.content)})
    return f"injection? {', '.join(kinds)}" if kinds else ""


def _turn_panel(turn: Turn | ViewTurn, answer: str, extra: str, *, flags: bool = False) -> Panel:
    verified = [q.verified for q in turn.quotes]
    body = _content(turn.content, verified)
    if turn.truncated:
        body.append("\n[cut at the length limit]", style="italic yellow")
    title = Text(f"Round {turn.round + 1} · {turn.speaker}{answer}")
    subtitle = Text(extra)
    note = injection_note(turn) if flags else ""
    if note:
        subtitle = Text.assemble(subtitle, " · " if extra else "", (f"⚠ {note}", "bold yellow"))
    return Panel(
        body,
        title=title,
        title_align="left",
        subtitle=subtitle or None,
        subtitle_align="right",
        border_style="yellow" if note else "none",
    )


def _answers_table(answers: list[str], marks: dict[int, Text]) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 1))
    for i, answer in enumerate(answers):
        table.add_row(Text(answer_label(i), style="bold"), Text(answer), marks.get(i, Text("")))
    return table


def _side(answer: int | None) -> str:
    return f" (for {answer_label(answer)})" if answer is not None else ""


def render_judge_view(view: JudgeView) -> RenderableType:
    """The judge's view: question, presented answers, public turns; nothing else."""
    parts: list[RenderableType] = [
        Text(view.question, style="bold"),
        _answers_table(view.answers, {}),
    ]
    if view.context is not None:
        parts.append(Panel(Text(view.context), title="Source text", title_align="left"))
    parts.extend(_turn_panel(turn, _side(turn.answer), "") for turn in view.turns)
    return Group(*parts)


def _call_summary(call: Call) -> str:
    price = "?" if call.cost_usd is None else f"${call.cost_usd:.4f}"
    cached = " · cached" if call.cached else ""
    return f"{call.endpoint} · {call.usage.total_tokens} tok · {price}{cached}"


def _header(transcript: Transcript) -> Table:
    header = Table(show_header=False, box=None, padding=(0, 1))

    def row(name: str, value: str) -> None:
        header.add_row(Text(name), Text(value))

    row("transcript", transcript.id)
    row("protocol", f"{transcript.protocol} ({transcript.condition})")
    error = f": {transcript.error}" if transcript.error else ""
    row("status", transcript.status + error)
    shown = ", ".join(answer_label(i) for i in transcript.order)
    row("order", f"{shown} (original labels, in presented order)")
    for speaker, index in transcript.assignment.items():
        played_by = f" · {transcript.roles[speaker]}" if speaker in transcript.roles else ""
        row(speaker, f"argues {answer_label(index)}{played_by}")
    planted = transcript.planted
    if planted is not None:
        who = ", ".join(planted.speakers) or "nobody"
        row(
            "planted",
            f"persona {planted.persona} in role {planted.role} ({who}; {planted.calls} calls)",
        )
    cost = transcript.cost_usd
    row("cost", "unknown" if cost is None else f"${cost:.4f}")
    flagged = sum(1 for turn in transcript.turns if injection_note(turn))
    if flagged:
        row("injection?", f"{flagged} turn(s) flagged by the heuristic detector (marked below)")
    return header


def render_transcript(transcript: Transcript) -> RenderableType:
    """The full view for researchers: gold, roles, models, private turns, costs."""
    q = transcript.question
    marks = {q.correct: Text("✓ gold", style="green")} if q.correct is not None else {}
    parts: list[RenderableType] = [
        _header(transcript),
        Text(q.text, style="bold"),
        _answers_table(q.answers, marks),
    ]
    if q.context:
        preview = q.context if len(q.context) < 600 else q.context[:600] + " …"
        parts.append(Panel(Text(preview), title="Hidden context", title_align="left", style="dim"))
    for turn in transcript.turns:
        private = " [private]" if turn.visibility == "private" else ""
        extra = _call_summary(turn.call) if turn.call is not None else ""
        if turn.probabilities is not None:
            beliefs = ", ".join(
                f"{answer_label(i)}={p:.2f}" for i, p in enumerate(turn.probabilities)
            )
            extra = f"{extra} · beliefs {beliefs}" if extra else f"beliefs {beliefs}"
        if turn.decision is not None:  # a live judge's choice after this turn
            extra = f"{extra} · {turn.decision}"
        parts.append(_turn_panel(turn, _side(turn.answer) + private, extra, flags=True))
    if transcript.critique is not None:
        parts.append(_critique_panel(transcript.critique))
    if transcript.tree is not None:
        parts.append(_tree_panel(transcript.tree))
    return Group(*parts)


def _rows(title: str, rows: list[tuple[str, str]]) -> Panel:
    table = Table(show_header=False, box=None, padding=(0, 1))
    for name, shown in rows:
        table.add_row(Text(name, style="bold"), Text(shown))  # Text: model words never markup
    return Panel(table, title=title, title_align="left", style="dim")


def _label(index: int | None) -> str:
    return "—" if index is None else answer_label(index)


def _critique_panel(c: CritiqueOutcome) -> Panel:
    """What the critique measured: the answer, the key, the GDC probes, the ratings."""
    rows = [
        ("target", c.target),
        ("critiqued", f"{_label(c.critiqued)} (original label)"),
        ("known", "unknown" if c.flawed is None else "flawed" if c.flawed else "good"),
    ]
    rows += [("flaw (key)", c.flaw)] if c.flaw else []
    rows += [("final answer", f"{_label(c.final_answer)}" + " (changed by refinement)" * c.changed)]
    rows += [("p(flawed)", f"{c.p_flawed:.2f}")] if c.p_flawed is not None else []
    rows += [("generated", _label(c.generated))] if c.generated is not None else []
    for r in c.ratings:
        key = "" if r.identifies_key is None else f", identifies the key: {r.identifies_key}"
        key += "" if r.claims_flaw is None else f", claims a flaw: {r.claims_flaw}"
        by = f" by {r.rater}" if r.rater else ""
        rows.append(
            (
                f"rating of {r.critique}{by}",
                f"helpfulness {r.helpfulness}/7, real flaw: "
                f"{r.real_flaw}{key}{' (rater saw the key)' * r.saw_key} — {r.reason}",
            )
        )
    return _rows("Critique outcome (not shown to judges)", rows)


def _tree_panel(tree: Tree) -> Panel:
    """The tree's own decision: rewards, probabilities, the prover's payoff."""
    rows = [("kind", tree.kind), ("decide", tree.decide)]
    if tree.rewards is not None:
        rows.append(
            ("rewards", ", ".join(f"{answer_label(i)}={r:.2f}" for i, r in enumerate(tree.rewards)))
        )
    if tree.probabilities is not None:
        rows.append(
            (
                "probabilities",
                ", ".join(f"{answer_label(i)}={p:.2f}" for i, p in enumerate(tree.probabilities)),
            )
        )
    if tree.prover_payoff is not None:
        rows.append(("prover's payoff", f"{tree.prover_payoff:+.2f}"))
    return _rows("Tree (not shown to judges)", rows)

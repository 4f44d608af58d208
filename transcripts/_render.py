"""Rendering transcripts with rich: the researcher's full view and the judge's view."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from transcripts._models import Transcript, Turn
from transcripts._view import JudgeView, ViewTurn
from transcripts.quotes import QUOTE_PATTERN

__all__ = ["answer_label", "render_judge_view", "render_transcript"]

VERIFIED_STYLE = "bold green"
UNVERIFIED_STYLE = "bold red strike"


def answer_label(index: int) -> str:
    """``A``, ``B``, ... for answer positions."""
    return chr(ord("A") + index) if index < 26 else str(index + 1)


def _content(content: str, verified: list[bool]) -> Text:
    """The content with quotes styled: verified green, unverified red and marked."""
    text = Text()
    last = 0
    for i, match in enumerate(QUOTE_PATTERN.finditer(content)):
        text.append(content[last : match.start()])
        ok = verified[i] if i < len(verified) else False
        mark = "✓" if ok else "✗ unverified"
        text.append(f"“{match.group(1)}” [{mark}]", style=VERIFIED_STYLE if ok else UNVERIFIED_STYLE)
        last = match.end()
    text.append(content[last:])
    return text


def _turn_panel(turn: Turn | ViewTurn, answer: str, extra: str) -> Panel:
    verified = [q.verified for q in turn.quotes]
    body = _content(turn.content, verified)
    if turn.truncated:
        body.append("\n[cut at the length limit]", style="italic yellow")
    title = f"Round {turn.round + 1} · {turn.speaker}{answer}"
    return Panel(body, title=title, title_align="left", subtitle=extra or None,
                 subtitle_align="right")


def _answers_table(answers: list[str], marks: dict[int, str]) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 1))
    for i, answer in enumerate(answers):
        table.add_row(Text(answer_label(i), style="bold"), answer, marks.get(i, ""))
    return table


def render_judge_view(view: JudgeView) -> RenderableType:
    """The judge's view: question, presented answers, public turns; nothing else."""
    parts: list[RenderableType] = [
        Text(view.question, style="bold"),
        _answers_table(view.answers, {}),
    ]
    if view.context is not None:
        parts.append(Panel(view.context, title="Source text", title_align="left"))
    for turn in view.turns:
        side = f" (for {answer_label(turn.answer)})" if turn.answer is not None else ""
        parts.append(_turn_panel(turn, side, ""))
    return Group(*parts)


def render_transcript(transcript: Transcript) -> RenderableType:
    """The full view for researchers: gold, roles, models, private turns, costs."""
    q = transcript.question
    marks = {q.correct: "[green]✓ gold[/green]"} if q.correct is not None else {}
    header = Table(show_header=False, box=None, padding=(0, 1))
    header.add_row("transcript", transcript.id)
    header.add_row("protocol", f"{transcript.protocol} ({transcript.condition})")
    header.add_row("status", transcript.status + (f": {transcript.error}" if transcript.error else ""))
    header.add_row("order", ", ".join(answer_label(i) for i in transcript.order) + " (original indices shown)")
    for speaker, index in transcript.assignment.items():
        header.add_row(speaker, f"argues {answer_label(index)}" +
                       (f" · {transcript.roles[speaker]}" if speaker in transcript.roles else ""))
    cost = transcript.cost_usd
    header.add_row("cost", "unknown" if cost is None else f"${cost:.4f}")
    parts: list[RenderableType] = [header, Text(q.text, style="bold"), _answers_table(q.answers, marks)]
    if q.context:
        preview = q.context if len(q.context) < 600 else q.context[:600] + " …"
        parts.append(Panel(preview, title="Hidden context", title_align="left", style="dim"))
    for turn in transcript.turns:
        side = f" (for {answer_label(turn.answer)})" if turn.answer is not None else ""
        private = " [private]" if turn.visibility == "private" else ""
        extra = ""
        if turn.call is not None:
            c = turn.call
            price = "?" if c.cost_usd is None else f"${c.cost_usd:.4f}"
            extra = f"{c.endpoint} · {c.usage.total_tokens} tok · {price}" + (" · cached" if c.cached else "")
        if turn.probabilities is not None:
            extra = (extra + " · " if extra else "") + "beliefs " + ", ".join(
                f"{answer_label(i)}={p:.2f}" for i, p in enumerate(turn.probabilities))
        parts.append(_turn_panel(turn, side + private, extra))
    return Group(*parts)

"""What the coverage simulations share: a run's loaded :class:`~oversight.analysis.Data`
built in memory (no store, no disk time), and the writing of a result section into
BENCHMARKS.md."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from oversight.analysis._data import Data, JudgeRow, TranscriptRow


def simulated_data(
    transcripts: list[TranscriptRow],
    *,
    cluster: Sequence[int],
    question: Sequence[int],
    n_clusters: int,
    n_questions: int,
    judge: list[JudgeRow],
    t: Sequence[int] | None = None,
    side: Sequence[int] | None = None,
) -> Data:
    """Judgments of ``transcripts`` (gold answer 0, two answers, one round seen), by
    ``judge`` (one per judgment); ``t``: each judgment's transcript (default: one judgment
    per transcript, in order); ``cluster``/``question``: each transcript's source and
    question codes; ``side``: a consultancy's side per transcript (default -1, none). Every
    judgment is valid and scored; a simulation sets ``probs`` per run."""
    n = len(transcripts)
    rows = np.arange(n, dtype=np.int64) if t is None else np.asarray(t, dtype=np.int64)
    m = rows.size
    return Data(
        path=Path("simulated"),
        run_id="sim",
        transcripts=transcripts,
        t_cluster=np.asarray(cluster, dtype=np.int64),
        t_question=np.asarray(question, dtype=np.int64),
        t_correct=np.zeros(n, dtype=np.int64),
        t_gold_position=np.zeros(n, dtype=np.int64),
        t_first=np.zeros(n, dtype=np.int64),
        t_side=np.full(n, -1, dtype=np.int64) if side is None else np.asarray(side, np.int64),
        t_rounds=np.ones(n),
        n_clusters=n_clusters,
        n_questions=n_questions,
        judgments=[None] * m,
        ids=[f"j{i}" for i in range(m)],
        t=rows,
        judge=judge,
        judgment_metadata=[{}] * m,
        status=np.zeros(m, dtype=np.int64),
        valid=np.ones(m, dtype=bool),
        scored=np.ones(m, dtype=bool),
        probs=np.zeros((m, 2)),
        rounds=np.ones(m),
        escalated=np.zeros(m, dtype=bool),
    )


def write_section(mark: str, lines: list[str]) -> None:
    """Put ``lines`` into BENCHMARKS.md as the section headed ``mark``: in place of the one
    there (up to the next ``## `` heading), else at the end."""
    path = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
    text = path.read_text()
    section = "\n".join(lines)
    if mark in text:
        head, rest = text.split(mark, 1)
        tail = rest.split("\n## ", 1)
        text = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)

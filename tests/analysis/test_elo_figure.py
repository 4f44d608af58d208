"""The accuracy-versus-Elo figure as Khan et al. 2024 draw it: judge accuracy against each
player's aggregate Elo (in self-play both debaters are the player, so the pair's Elo is
its own), and, in a panel of its own, each player's Elo as the gold side and as the
distractor side against the same aggregate Elo. Checked on the series the file is drawn
from."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer

from oversight.analysis import analyze
from oversight.report._tournament import tournament_figure, tournament_plot

from .test_tournament import _store


def _series(ax: Axes) -> dict[str, tuple[list[float], list[float]]]:
    """Each errorbar series of a panel: its legend label, and its points' x and y."""
    out = {}
    for container in ax.containers:
        assert isinstance(container, ErrorbarContainer)
        line = container.lines[0]
        out[container.get_label()] = ([*line.get_xdata()], [*line.get_ydata()])
    return out


def test_accuracy_and_per_side_elo_are_drawn_against_each_players_aggregate_elo(
    tmp_path: Path,
) -> None:
    store, _ = _store(tmp_path / "run")
    a = analyze(store, n_bootstrap=50)
    (table,) = a.tournaments
    players = table.players
    elo = [p.elo for p in players]
    figure = tournament_figure(a)
    assert figure is not None
    accuracy, sides = figure.axes
    # The accuracy panel: x each player's aggregate Elo, y its judge's accuracy, per protocol.
    drawn = _series(accuracy)
    debate = next(k for k in drawn if k.startswith("debate"))
    consultancy = next(k for k in drawn if k.startswith("consultancy"))
    assert drawn[debate] == (pytest.approx(elo), [p.debate_accuracy for p in players])
    assert drawn[consultancy] == (pytest.approx(elo), [p.consultancy_accuracy for p in players])
    assert "pp/100 Elo" in debate and accuracy.get_xlabel().startswith("aggregate Elo")
    # The sides panel: the same x, y the player's Elo as the gold side and as the distractor.
    drawn = _series(sides)
    assert drawn["as gold"] == (pytest.approx(elo), pytest.approx([p.elo_gold for p in players]))
    assert drawn["as distractor"] == (
        pytest.approx(elo),
        pytest.approx([p.elo_distractor for p in players]),
    )
    assert sides.get_xlabel() == accuracy.get_xlabel() and "side" in sides.get_ylabel()
    path = tournament_plot(a, tmp_path / "accuracy_vs_elo.png")
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

"""Per-side ratings: each player's rating when it argues the gold answer and when it argues
a distractor (Khan et al. 2024's "correct" and "incorrect" ratings, behind their win rates
by side).

**The paper** (its code: ``core/scoring/ratings.py`` and ``core/scoring/trueskill.py`` of
ucl-dark/llm_debate) splits every player ``X`` into two rated entities, ``X`` as the
correct debater and ``X`` as the incorrect one. Each cross-play pairing (``X`` arguing the
gold against ``Y`` arguing the distractor) becomes a game of ``X``-correct against
``Y``-incorrect, scored by how often the correct debater won. All ``2k`` ratings are
fitted at once, in a fit of their own: nothing is taken or held fixed from the aggregate
rating, which is a separate fit of the same pairings with the sides pooled. The fit
minimises the squared difference between each pairing's win rate and Elo's expected score
``1 / (1 + 10 ** ((r_Y - r_X) / 400))`` (Nelder-Mead, every rating started at 1500).
Self-play is left out. Its Elo ratings carry no uncertainty (reported as 0).

**Here**, as there: two entities per player, fitted at once and apart from the aggregate
(:func:`oversight.analysis.rate_players`, which is not held fixed), on the Elo scale
(a 400-point gap is 10:1 odds), self-play left out. The departures:

* **Likelihood**: Bradley-Terry on every judgment (a draw is half a win), the model of
  :func:`~oversight.analysis.rate_players`, not least squares on each pairing's win rate,
  which weighs a pairing of 5 judgments as much as one of 500.
* **Prior and anchoring**: an entity's rating is its side's level plus the player's own
  term, ``+beta/2 + u`` on the gold side and ``-beta/2 + v`` on the distractor side, so
  that ``P(X as gold beats Y as distractor) = sigmoid(beta + u_X - v_Y)``; ``u`` and ``v``
  have the prior of a rating in :func:`~oversight.analysis.rate_players` (Normal(0,
  ``prior_sd``)) and ``beta`` that of its side advantage (Normal(0, ``side_prior_sd``)).
  A player with few judgments is pulled to its side's level, not to 1500 (which would
  shrink the gold side's advantage). The two levels sit symmetrically about 1500 and the
  prior centres the players' terms (at the mode they sum to zero), so when every player
  argued both sides the per-side ratings average exactly 1500; the paper's least squares
  fixes only differences and leaves the common level where its search, started at 1500,
  stops.
* **Intervals**: the Laplace interval of every rating here (``mode +- z * sd`` from the
  posterior covariance, :func:`~oversight.analysis._players.elo_interval`), the variance
  of ``+-beta/2 + u`` including ``beta``'s and their covariance. They treat judgments as
  independent given the ratings.
* **No judgment on a side, no rating on it** (``None``); the paper's pairings always
  cover both.
* **More than two answers**: a player on any wrong answer is on the distractor side (two
  distractor entities can meet); the paper has two answers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from oversight.analysis._players import (
    DEFAULT_PRIOR_SD,
    SIDE_PRIOR_SD,
    _check_priors,
    _fit,
    _matches,
    elo_interval,
)
from oversight.analysis._schema_base import Interval, _Model
from oversight.analysis._types import Floats
from transcripts.errors import ConfigError

__all__ = ["SideRating", "SideRatings", "rate_players_by_side"]


class SideRating(_Model):
    """One player's ratings by the side it argued (:func:`rate_players_by_side`)."""

    debater: str
    """The player."""
    elo_gold: float | None
    """Rating when arguing the gold answer, Elo scale; None: it never did."""
    elo_gold_ci95: Interval
    """95% interval of ``elo_gold`` (Laplace approximation of the posterior)."""
    matches_gold: int
    """Matches in which it argued the gold answer (self-play left out)."""
    win_rate_gold: float | None
    """Its wins in those matches (draws half)."""
    elo_distractor: float | None
    """Rating when arguing a wrong answer, Elo scale; None: it never did."""
    elo_distractor_ci95: Interval
    """95% interval of ``elo_distractor``."""
    matches_distractor: int
    """Matches in which it argued a wrong answer."""
    win_rate_distractor: float | None
    """Its wins in those matches (draws half)."""


class SideRatings(_Model):
    """Per-side Bradley-Terry ratings of the players of pairwise matches."""

    n_matches: int
    """Matches between different players."""
    players: list[SideRating]
    """Every player, by name."""
    prior_sd: float
    """Prior standard deviation of a player's term on a side, in logits."""


def rate_players_by_side(
    first: Sequence[str],
    second: Sequence[str],
    outcome: Sequence[float] | Floats,
    *,
    first_correct: Sequence[bool] | NDArray[np.bool_],
    second_correct: Sequence[bool] | NDArray[np.bool_],
    prior_sd: float = DEFAULT_PRIOR_SD,
    side_prior_sd: float = SIDE_PRIOR_SD,
    level: float = 0.95,
) -> SideRatings:
    """Each player's rating as the gold side and as the distractor side (see the module
    docstring); the arguments are those of :func:`oversight.analysis.rate_players`, sides
    required. Self-play matches are left out."""
    names, a, b, y, keep = _matches("rate_players_by_side", first, second, outcome)
    _check_priors("rate_players_by_side", prior_sd, side_prior_sd)
    ca = np.asarray(first_correct, dtype=bool)
    cb = np.asarray(second_correct, dtype=bool)
    if ca.size != keep.size or cb.size != keep.size:
        raise ConfigError(
            f"rate_players_by_side: first_correct ({ca.size}) and second_correct ({cb.size}) "
            f"need one entry per match ({keep.size})"
        )
    ca, cb = ca[keep], cb[keep]
    k = len(names)
    # Entity 2 * player + 0 argues the gold, 2 * player + 1 a distractor; one column per
    # entity that played, then beta.
    ea = 2 * a + (~ca).astype(np.int64)
    eb = 2 * b + (~cb).astype(np.int64)
    played = np.unique(np.concatenate([ea, eb]))
    column = np.full(2 * k, -1, dtype=np.int64)
    column[played] = np.arange(played.size)
    m = y.size
    design = np.zeros((m, played.size + 1))
    rows = np.arange(m)
    design[rows, column[ea]] += 1.0
    design[rows, column[eb]] -= 1.0
    design[:, -1] = ca.astype(np.float64) - cb
    precision = np.full(played.size + 1, 1.0 / prior_sd**2)
    precision[-1] = 1.0 / side_prior_sd**2
    x, cov = _fit(design, y, precision) if m else (np.zeros(1), np.eye(1))

    def side(player: int, gold: bool) -> tuple[float | None, Interval, int, float | None]:
        entity = 2 * player + (0 if gold else 1)
        mine_a, mine_b = ea == entity, eb == entity
        n = int(mine_a.sum() + mine_b.sum())
        if column[entity] < 0:
            return None, None, n, None
        weights = np.zeros(x.size)
        weights[column[entity]] = 1.0
        weights[-1] = 0.5 if gold else -0.5
        elo, interval = elo_interval(weights, x, cov, level)
        wins = float(np.concatenate([y[mine_a], 1.0 - y[mine_b]]).mean())
        return elo, interval, n, wins

    players = []
    for i, name in enumerate(names):
        g, gci, gn, gw = side(i, True)
        d, dci, dn, dw = side(i, False)
        players.append(
            SideRating(
                debater=name,
                elo_gold=g,
                elo_gold_ci95=gci,
                matches_gold=gn,
                win_rate_gold=gw,
                elo_distractor=d,
                elo_distractor_ci95=dci,
                matches_distractor=dn,
                win_rate_distractor=dw,
            )
        )
    return SideRatings(
        n_matches=int(m),
        players=players,
        prior_sd=prior_sd,
    )

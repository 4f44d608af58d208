"""Krippendorff's alpha has one set of sums (D_o, n, n_c per unit) that the judges'
agreement, the annotators' agreement and :func:`krippendorff_alpha` all use."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from oversight.analysis._stats import alpha_columns, alpha_from_sums, krippendorff_alpha


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_one_alpha_sums_give_the_krippendorff_package_alpha(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ratings = rng.integers(0, 3, size=(40, 4)).astype(np.int64)
    ratings[rng.random(ratings.shape) < 0.3] = -1
    counts = np.stack([(ratings == c).sum(axis=1) for c in range(3)], axis=1).astype(float)
    pairable = counts.sum(axis=1) >= 2
    sums = alpha_columns(counts[pairable]).sum(axis=0, keepdims=True)
    reference = krippendorff.alpha(
        reliability_data=np.where(ratings < 0, np.nan, ratings).T.astype(float),
        level_of_measurement="nominal",
    )
    assert alpha_from_sums(sums, 3)[0] == pytest.approx(reference, rel=1e-12)
    assert krippendorff_alpha(ratings) == pytest.approx(reference, rel=1e-12)

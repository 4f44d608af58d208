"""unique_codes / unique_rows give exactly np.unique's values and inverse."""

from __future__ import annotations

import numpy as np
import pytest

from oversight.analysis._codes import unique_codes, unique_rows


@pytest.mark.parametrize("seed", range(40))
def test_unique_codes_match_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 300))
    # Dense codes (counted), sparse ones and negative ones (both left to np.unique).
    high = int(rng.choice([1, 3, 50, 10_000, 10**12]))
    low = -3 if seed % 5 == 0 else 0
    values = rng.integers(low, high, size=n).astype(np.int64)
    found, inverse = unique_codes(values)
    want, want_inverse = np.unique(values, return_inverse=True)
    assert found.dtype == want.dtype
    assert found.tolist() == want.tolist()
    assert inverse.tolist() == want_inverse.reshape(-1).tolist()


@pytest.mark.parametrize("seed", range(40))
def test_unique_rows_match_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(0, 200)), int(rng.integers(1, 4))
    high = int(rng.choice([2, 7, 1000, 2**40]))  # 2**40 in 3 columns: past int64, sorted
    low = -1 if seed % 7 == 0 else 0
    stacked = rng.integers(low, high, size=(n, k)).astype(np.int64)
    found, inverse = unique_rows(stacked)
    want, want_inverse = np.unique(stacked, axis=0, return_inverse=True)
    assert found.shape == want.shape
    assert found.tolist() == want.tolist()
    assert inverse.tolist() == want_inverse.reshape(-1).tolist()


def test_unique_codes_of_the_same_codes_in_another_order() -> None:
    found, inverse = unique_codes(np.array([5, 2, 5, 0, 2], dtype=np.int64))
    assert found.tolist() == [0, 2, 5]
    assert inverse.tolist() == [2, 1, 2, 0, 1]

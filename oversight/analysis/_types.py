"""The array and interval types the analysis modules share (one definition each)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["Bools", "Floats", "Interval", "Ints"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Interval = tuple[float, float] | None
"""A 95% (or other level) interval, or None where there is none."""

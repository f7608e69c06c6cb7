"""Rows of a CSR matrix read without building a sub-matrix: the evaluator's and the pair search's
gathers (:mod:`optimiser.solve.heuristic`, :mod:`optimiser.solve.pair_moves`)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def row_of_nonzero(m: sp.csr_matrix, dtype: type = np.int64) -> np.ndarray:
    """The row of each stored entry of CSR matrix ``m``, in storage order."""
    return np.repeat(np.arange(m.shape[0], dtype=dtype), np.diff(m.indptr))


def row_entries(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the stored entries of CSR rows ``rows``, row after row in storage order, and
    each one's place in ``rows``): ``m[rows]``'s entries without building that matrix."""
    lo = indptr[rows]
    n = indptr[rows + 1] - lo
    return np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum())), np.repeat(np.arange(rows.size), n)

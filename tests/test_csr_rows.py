"""CSR rows read without a sub-matrix (optimiser.solve.csr_rows) against scipy's own indexing."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from optimiser.solve.csr_rows import row_entries, row_of_nonzero


def test_row_entries_and_rows_match_scipy_on_random_matrices():
    rng = np.random.default_rng(0)
    for _ in range(20):
        m = sp.random(int(rng.integers(1, 30)), int(rng.integers(1, 30)), density=0.3, format="csr", random_state=rng)
        assert row_of_nonzero(m).tolist() == m.tocoo().row.tolist()
        rows = rng.choice(m.shape[0], size=int(rng.integers(0, m.shape[0] + 1)), replace=False)
        pos, place = row_entries(m.indptr, rows)
        sub = m[rows]
        assert m.indices[pos].tolist() == sub.indices.tolist()
        assert m.data[pos].tolist() == sub.data.tolist()
        assert place.tolist() == row_of_nonzero(sub).tolist()

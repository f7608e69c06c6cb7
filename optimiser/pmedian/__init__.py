"""The p-median core: exact facility location on a cost matrix (public API unchanged)."""

from optimiser.pmedian.core import PMedian, PMedianResult, read_orlib_pmed, solve_pmedian

__all__ = ["PMedian", "PMedianResult", "read_orlib_pmed", "solve_pmedian"]

"""Former single-module home of the p-median solver, kept so that ``optimiser.pmedian.core`` imports
keep working while callers move to ``from optimiser.pmedian import ...``."""

import logging

from optimiser.pmedian.reader import read_orlib_pmed
from optimiser.pmedian.result import PMedianResult
from optimiser.pmedian.solver import PMedian, solve_pmedian

logger = logging.getLogger(__name__)

__all__ = ["PMedian", "PMedianResult", "read_orlib_pmed", "solve_pmedian"]

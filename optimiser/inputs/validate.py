"""Checking any input file: sites, scenarios and batches, told apart per file, every problem listed.

:func:`validate_files` is :func:`optimiser.checkfiles.validate_files` (what ``siteopt validate``
checks, batch files included), re-exported here where the public API has always found it; it
lives there because checking a batch needs :mod:`optimiser.batch`, which builds on this package.
"""

from __future__ import annotations

import logging

from optimiser.checkfiles import validate_files
from optimiser.inputs.kinds import detect_kind

logger = logging.getLogger(__name__)

__all__ = ["detect_kind", "validate_files"]

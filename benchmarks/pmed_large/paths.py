"""Where the scripts of this folder find the repository and the TSPLIB data (every script here
imports it first, as ``from paths import DATA, HERE, ROOT``: a script's own folder is on
``sys.path`` when it is run as ``python benchmarks/pmed_large/<script>.py``).

``ROOT`` (the repository) is put on ``sys.path`` so that ``optimiser`` imports from this
checkout even when it is not installed; ``DATA`` is ``PMED_LARGE_DATA`` or the shared folder
of ``rl1304.tsp``, ``fl1400.tsp`` and ``published_optima.csv``.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DATA = os.environ.get("PMED_LARGE_DATA", "/work/shared/benchmarks/tsplib-pmed")

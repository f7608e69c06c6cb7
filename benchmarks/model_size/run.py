"""The model-size estimate against the build it estimates (``optimiser.model.size``).

For each scenario: the estimated build seconds (:func:`~optimiser.model.size.estimate_model_size`)
and the measured time of :func:`~optimiser.pipeline.prepare` (candidates, walking network and
problem; the best of ``--repeat`` runs), one JSON line each, written to ``results.jsonl`` beside
this file (or ``--out``). The scenarios: ``benchmarks/joint`` districts (firms, facility sites,
crossings), ``benchmarks/realsites`` problems, both embedded sites, and a user's 10 km park of 8
firms and 134 candidate crossings at three candidate spacings (``sites/``, written from the
documentation by a reviewer).

    python benchmarks/model_size/run.py [--repeat 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "realsites"))

from generate import make_problem, write_problem  # noqa: E402

from benchmarks.joint.generate import make_district  # noqa: E402
from optimiser.inputs import read_scenario  # noqa: E402
from optimiser.model.size import estimate_model_size  # noqa: E402
from optimiser.pipeline import prepare  # noqa: E402

JOINT = [(40, 20, 10), (100, 200, 40), (200, 400, 60), (300, 40, 40), (500, 1000, 100), (1000, 40, 40), (200, 50, 200),
         (100, 50, 150), (60, 600, 30), (400, 100, 80)]
"""(firms, facility sites, crossings) of the districts."""
REALSITES = [(6, 60, 150), (17, 30, 150), (16, 60, 100), (4, 40, 110)]
"""(seed, firms, crossings) of the real-shaped problems."""
FILES = [HERE / "sites" / "large_hard.yaml", HERE / "sites" / "large_mid.yaml", HERE / "sites" / "large.yaml",
         ROOT / "constraints" / "amp_sbp" / "baseline.yaml", ROOT / "constraints" / "fremont" / "baseline.yaml"]


def scenarios():
    for a in JOINT:
        yield f"joint {a}", make_district(*a)
    for a in REALSITES:
        yield f"realsites {a}", read_scenario(write_problem(make_problem(*a), tempfile.mkdtemp()))
    for p in FILES:
        yield str(p.relative_to(ROOT)), read_scenario(p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "results.jsonl")
    args = ap.parse_args()
    lines = []
    for name, sc in scenarios():
        est = estimate_model_size(sc)
        best = min(_timed(sc) for _ in range(args.repeat))
        row = {"scenario": name, "estimate_s": round(est.build_seconds, 3), "measured_s": round(best, 3),
               "ratio": round(est.build_seconds / best, 2), "leading_setting": est.settings()[0][0], **est.as_dict(),
               "load": round(os.getloadavg()[0], 2)}
        print(json.dumps(row), flush=True)
        lines.append(json.dumps(row))
    args.out.write_text("\n".join(lines) + "\n")


def _timed(sc) -> float:
    t = time.perf_counter()
    prepare(sc)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()

"""CPU seconds per phase of one `siteopt run` (issue 17): the command's own stderr phase lines,
with every wall-clock reading replaced by this process's CPU time, so the figures hold on a
busy machine. Also: CPU before the command starts (imports of the CLI), the command's own
imports and set-up (what no phase counts), and the CPU of child processes (the plan drawn
aside, the CBC subprocess).

    python benchmarks/e2e/cpu_phases.py [siteopt run arguments]   # default: the AMP-SBP baseline

Byte-compiled modules make a difference of about 0.2 s: run it once first, or unset
PYTHONDONTWRITEBYTECODE.

Since wave 4 the plans and the report are drawn by a render process forked at the start
(optimiser/present/render_worker.py): its CPU is in "child processes", and this process's
"render" line is its CPU from sending the run on, which overlaps "outputs" (the data files are
written meanwhile). For wall clock and the critical path use critical_path.py.
"""

from __future__ import annotations

import re
import resource
import sys
import tempfile
import time

_CPU = time.process_time
_START = _CPU()
time.perf_counter = _CPU  # every phase figure the command prints is now CPU seconds of this process

from optimiser.cli import main  # noqa: E402 - after the clock is swapped

_AFTER_CLI = _CPU()


class _Tee:
    """Copy stderr and keep the phase lines."""

    def __init__(self, stream):
        self.stream, self.lines = stream, []

    def write(self, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.lines.append(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()


def _phases(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, secs in re.findall(r"^siteopt: ([a-z ]+):.*\((\d+\.\d+) s\)$", text, flags=re.M):
        out[name] = float(secs)
    m = re.search(r"^siteopt: solve: \w+, (\d+\.\d+) s", text, flags=re.M)
    if m:
        out["solve"] = float(m.group(1))
    return out


def run(argv: list[str]) -> None:
    args = argv or ["--out", tempfile.mkdtemp(prefix="cpu_phases_") + "/run"]
    tee = _Tee(sys.stderr)
    sys.stderr = tee
    try:
        main(["run", *args])
    except SystemExit:
        pass
    finally:
        sys.stderr = tee.stream
    total = _CPU() - _START
    phases = _phases("".join(tee.lines))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"\nCPU seconds (this process; load {open('/proc/loadavg').read().split()[0]}):", file=sys.stderr)
    print(f"  {'cli import':24s} {_AFTER_CLI - _START:6.2f}", file=sys.stderr)
    for name, secs in phases.items():
        print(f"  {name:24s} {secs:6.2f}", file=sys.stderr)
    rest = total - (_AFTER_CLI - _START) - sum(phases.values())
    print(f"  {'imports and the rest':24s} {rest:6.2f}", file=sys.stderr)
    print(f"  {'total':24s} {total:6.2f}   (+ child processes {children.ru_utime + children.ru_stime:.2f})",
          file=sys.stderr)
    print(f"  {'total less solve':24s} {total - phases.get('solve', 0.0):6.2f}", file=sys.stderr)


if __name__ == "__main__":
    run(sys.argv[1:])

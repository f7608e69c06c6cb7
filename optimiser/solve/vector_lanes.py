"""Lanes for relax-first's exact phase per count vector: with more than one worker, the open
count vectors' exact models run on that many lanes side by side, each a thread with its own
single-worker CP-SAT search, deterministically.

With one worker (the default) there is one lane and it is the run itself: each vector's work is
charged to the run as it is done, and a better layout found for one vector is the incumbent that
cuts off the next (:func:`~optimiser.solve.relax_first_vectors.exact_by_vector`, as before lanes).

With ``n`` workers the vectors are dealt to ``n`` lanes before any search starts
(:func:`assign_lanes`: largest model first, to the lane with the fewest radius levels so far),
and each lane then settles its own vectors one after another on its own clock of nominal
seconds: the work left of the run when the phase starts is every lane's budget, a lane cuts off
at the best objective it found itself, and nothing passes between lanes while they run.
What a lane does therefore depends on work counted (CP-SAT's deterministic units) and never on
which thread is faster, so the answer is the same on an idle or a busy machine; the layouts the
lanes found are evaluated and the run charged its busiest lane's work only after every lane
ended, in the lanes' order. CP-SAT releases the GIL while it searches, so the searches run in
parallel; building each model and fixing its closed decisions (Python) take turns. Each lane
keeps one model in memory at a time, so the phase's peak memory grows with the lanes.
Measured in benchmarks/realsites' README, wave 20.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from optimiser.solve.relax_first import RelaxFirst

T = TypeVar("T")


def assign_lanes(levels: Sequence[int], lanes: int) -> list[list[int]]:
    """Deal tasks of ``levels`` radius levels (their model sizes, the proxy of their work) to
    ``lanes`` lanes: the largest first, each to the lane with the fewest levels so far (ties: the
    lower lane). Returns each lane's task indices in their given order (a lane may get none).

    >>> assign_lanes([10, 50, 40, 30], 2)
    [[0, 1], [2, 3]]
    """
    if lanes < 1:
        raise ValueError(f"lanes must be at least 1, got {lanes}")
    load = [0] * lanes
    out: list[list[int]] = [[] for _ in range(lanes)]
    for k in sorted(range(len(levels)), key=lambda k: (-levels[k], k)):
        lane = min(range(lanes), key=lambda j: (load[j], j))
        load[lane] += levels[k]
        out[lane].append(k)
    return [sorted(ks) for ks in out]


class Lane:
    """One lane's account of the exact phase per count vector.

    ``shared`` (one lane): the run's own account, incumbent and offers, as they happen.
    Otherwise its own clock (``work_s`` of ``budget_s`` nominal seconds), its own cut-off
    (``best``, from the run's incumbent at the start and what the lane found) and the layouts it
    found (``found``), offered to the run after every lane ended (:func:`close_lanes`).
    """

    def __init__(self, run: RelaxFirst, budget_s: float, shared: bool) -> None:
        assert run.best is not None
        self.run, self.budget_s, self.shared = run, budget_s, shared
        self.work_s = 0.0
        self._best: int = run.best
        self.found: list[tuple[int, ...]] = []

    @property
    def best(self) -> int:
        """The cut-off's incumbent: the run's (shared) or the lane's own."""
        if self.shared:
            assert self.run.best is not None
            return self.run.best
        return self._best

    def remaining(self) -> float:
        """Nominal seconds of work left to this lane."""
        return self.run.remaining() if self.shared else self.budget_s - self.work_s

    def charge(self, seconds: float, what: str) -> None:
        """Charge ``seconds`` of nominal work: to the run (shared) or to the lane's clock."""
        if self.shared:
            self.run.charge(seconds, what)
        else:
            self.work_s += max(0.0, float(seconds))

    def found_layout(self, chosen: Sequence[int], objective: float | None) -> None:
        """A layout the exact model found (``objective``: its value there, ``None`` without)."""
        if self.shared:
            self.run.offer(chosen, "exact model")
            return
        self.found.append(tuple(chosen))
        if objective is not None and objective < self._best:
            self._best = int(objective)


def run_lanes(tasks: Sequence[Callable[[], T]], failed: threading.Event | None = None) -> list[T]:
    """Run each of ``tasks`` (one per lane) and return their results in order: the first in
    the calling thread, each other in a thread of its own. A lane's exception sets ``failed``
    (the lanes look at it before each vector, so the others stop at their next one instead of
    spending their budget) and is re-raised (the first lane's first) once every lane ended."""
    results: list[T | None] = [None] * len(tasks)
    errors: list[BaseException | None] = [None] * len(tasks)

    def work(k: int) -> None:
        try:
            results[k] = tasks[k]()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread and re-raised there
            errors[k] = exc
            if failed is not None:
                failed.set()

    threads = [threading.Thread(target=work, args=(k,), name=f"siteopt-lane-{k}", daemon=True)
               for k in range(1, len(tasks))]
    for t in threads:
        t.start()
    if tasks:
        work(0)
    for t in threads:
        t.join()
    for exc in errors:
        if exc is not None:
            raise exc
    return results  # type: ignore[return-value]


def close_lanes(run: RelaxFirst, lanes: Sequence[Lane], what: str) -> None:
    """After the lanes ended: the run is charged the busiest lane's work (the lanes ran side
    by side) and offered every layout they found, lane by lane in the order found (each offer
    charged as the run charges one, beyond the lanes' budget: a few evaluations at most)."""
    own = [lane for lane in lanes if not lane.shared]
    if not own:
        return
    run.charge(max(lane.work_s for lane in own), what)
    for lane in own:
        for chosen in lane.found:
            run.offer(chosen, what)

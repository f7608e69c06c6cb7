"""Relax-first's problem with its closed decisions fixed at 0 (:meth:`RelaxFirst.reduced`), built
from the last one built: the closed decisions only grow, so the next reduced problem is the last
with the newly closed fixed (:func:`~optimiser.model.transforms.close_more`: the same problem as
fixing every closed decision on the whole problem), charged (:func:`fix_cost`) by the levels of
the problem actually fixed."""

from __future__ import annotations

from collections.abc import Set

from optimiser.model.problem import Problem
from optimiser.model.transforms import close_more


class ReducedProblems:
    """The last reduced problem of a run and the decisions closed in it.

    Attributes:
        problem: the whole problem.
        built: reduced problems built so far; ``from_reduced``: of them, fixed from a reduced one.
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self._closed: frozenset[int] = frozenset()
        self._last = problem
        self.built = self.from_reduced = 0

    def get(self, closed: Set[int]) -> Problem | None:
        """The problem with ``closed`` fixed at 0 when built (the whole problem for none)."""
        if not closed:
            return self.problem
        return self._last if self._closed and self._closed == closed else None

    def source(self, closed: Set[int]) -> Problem:
        """The problem :meth:`build` reads for ``closed``: the last built when its closed
        decisions are among them, else the whole problem."""
        return self._last if self._closed and self._closed <= closed else self.problem

    def build(self, closed: Set[int]) -> Problem:
        """The problem with ``closed`` fixed at 0, from :meth:`source`; kept as the last."""
        src = self.source(closed)
        q = close_more(self.problem, closed, src, self._closed if src is not self.problem else ())
        self._closed, self._last = frozenset(closed), q
        self.built += 1
        self.from_reduced += src is not self.problem
        return q

"""The transit question's counterfactual, solved in the same run: the best new stops with
today's crossings only (every candidate crossing fixed off, exactly, by
:func:`~optimiser.model.transforms.fix_decisions`), so a run can say what the new crossings add
to the stops' catchments.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from optimiser.inputs.domain import SolveOptions
from optimiser.model.problem import Problem
from optimiser.model.transforms import fix_decisions
from optimiser.solve.result import SolveResult
from optimiser.solve.strategy import solve

logger = logging.getLogger(__name__)


def without_new_crossings(problem: Problem) -> Problem:
    """``problem`` with every crossing decision fixed at 0 (stops and sites stay free)."""
    fixed = {i: 0 for i, d in enumerate(problem.decisions) if d.kind == "crossing"}
    return fix_decisions(problem, fixed)


def solve_with_todays_crossings(problem: Problem, options: SolveOptions) -> SolveResult:
    """Solve ``problem`` with no new crossing allowed (same backend, seed and limits).

    Returns:
        The result; its ``chosen`` decision ids are ids of ``problem`` (no crossing among them).
    """
    fixed = without_new_crossings(problem)
    res = solve(fixed, options)
    logger.info("with today's crossings only: %s, objective %s, %.2f s", res.status, res.objective, res.solve_seconds)
    return replace(res, chosen=tuple(i for i in res.chosen if problem.decisions[i].kind != "crossing"))

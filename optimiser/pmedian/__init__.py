"""The p-median core: exact facility location on a cost matrix.

Given a non-negative cost matrix ``d`` (``n`` clients x ``m`` candidate facilities), client weights
``w`` and an integer ``p``, open exactly ``p`` facilities and assign every client to its nearest open
facility, minimising ``sum_i w_i * d[i, a(i)]``.

Modules, in the order the solver uses them:

- ``reader``: benchmark instance readers (OR-Library ``pmedN.txt``, TSPLIB floor-Euclidean);
- ``problem``: input validation and the prepared weighted cost matrix;
- ``heuristics``: greedy construction, fast interchange and iterated local search (upper bounds);
- ``lagrangian``: Lagrangian relaxation, subgradient on sorted cost prefixes, facility fixing and
  pair elimination;
- ``branch``: best-first Lagrangian branch and bound over the facility variables;
- ``clusters`` and ``cluster_branch``: a hierarchy of facility clusters and the best-first Lagrangian
  branch and bound on cluster counts, which the solver hands over to when branching on single
  facilities stalls (near-identical neighbouring sites);
- ``exact``: the reduced radius formulation solved by SCIP/CBC/CP-SAT;
- ``solver``: :func:`solve_pmedian` (the orchestrator) and :class:`PMedian`;
- ``result``: :class:`PMedianResult`.
"""

from optimiser.pmedian.reader import read_orlib_pmed, read_tsplib_pmed
from optimiser.pmedian.result import PMedianResult
from optimiser.pmedian.solver import PMedian, solve_pmedian

__all__ = ["PMedian", "PMedianResult", "read_orlib_pmed", "read_tsplib_pmed", "solve_pmedian"]

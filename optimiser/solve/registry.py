"""Solver backends: one module each, all reading the same :class:`~optimiser.model.problem.Problem`.

``cpsat`` (OR-Tools CP-SAT, the default) and ``cbc`` (PuLP with its bundled CBC, run as a
subprocess). Each exposes ``solve(problem, *, time_limit_s, seed, workers) -> SolveResult``.
"""

BACKENDS = ("cpsat", "cbc")

"""Input validation and the prepared cost matrix the solver phases share (:class:`Instance`)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from optimiser.errors import ArgumentError, Problem
from optimiser.inputs.limits import MAX_SEED, MAX_WORKERS, time_limit_problem, whole_number_problem

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Validated:
    """The checked inputs: ``d`` (clients x facilities, float64), ``p``, ``w`` (client weights),
    ``fixed_open`` and ``forbidden`` (sorted column indices)."""

    d: FloatArray
    p: int
    w: FloatArray
    fixed_open: list[int]
    forbidden: list[int]


MAX_OBJECTIVE = 2.0**53
"""The largest objective an instance may reach (every client at its dearest finite cost, weighted):
integer objectives up to it are exact in float64, and the solver's sums cannot overflow."""

_WHERE = "solve_pmedian"


def _problem(field: str, reason: str, hint: str | None = None) -> Problem:
    return Problem(_WHERE, field, reason, hint)


def _check_p(p: Any, m: int, problems: list[Problem]) -> int:
    if isinstance(p, float) and p.is_integer():
        p = int(p)
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        problems.append(_problem("p", f"must be an integer, got {p!r}"))
        return 0
    p = int(p)
    if p < 1 or p > m:
        problems.append(_problem("p", f"must satisfy 1 <= p <= {m} (number of facilities), got {p}"))
        return 0
    return p


def _is_sparse(values: Any) -> bool:
    """Whether ``values`` is a scipy.sparse matrix or array (without importing scipy)."""
    return type(values).__module__.startswith("scipy.sparse") and hasattr(values, "toarray")


def _float_array(name: str, values: Any, problems: list[Problem]) -> FloatArray | None:
    """``values`` as float64, or ``None`` with the reason recorded: a sparse matrix, a ragged
    nested list, complex numbers or anything not numeric (never numpy's own error)."""
    if _is_sparse(values):
        problems.append(_problem(name, f"a scipy.sparse matrix ({type(values).__name__}) is not accepted: every cost is "
                                       "needed, and a missing entry would read as 0, not as 'cannot serve'",
                                 f"pass a dense array: {name}.toarray() (with np.inf where a client cannot be served)"))
        return None
    if isinstance(values, np.ma.MaskedArray) and np.ma.getmaskarray(values).any():
        k = int(np.ma.getmaskarray(values).sum())
        problems.append(_problem(name, f"a masked array with {k} masked {'entry' if k == 1 else 'entries'} is not "
                                       "accepted: the values under the mask would be read as they are",
                                 f"fill them: {name}.filled(np.inf) where a client cannot be served"
                                 if name == "cost_matrix" else f"fill them: {name}.filled(0) for clients that count for nothing"))
        return None
    try:
        raw = np.asarray(values)
    except ValueError as exc:  # a ragged nested list (numpy: "inhomogeneous shape")
        if "inhomogeneous" in str(exc) or "sequence" in str(exc):
            problems.append(_problem(name, "must be a rectangular array: its rows have different lengths"
                                     if name == "cost_matrix" else "must be a flat list of numbers (one per client)",
                                     "give every row the same number of columns" if name == "cost_matrix" else None))
        else:
            problems.append(_problem(name, f"must be numeric: {exc}"))
        return None
    if np.iscomplexobj(raw):
        problems.append(_problem(name, "must hold real numbers, got complex ones" if name == "cost_matrix"
                                 else "must be real numbers, got complex ones"))
        return None
    try:  # numbers as they are; anything else from the input itself, so an error quotes it as given
        return raw.astype(np.float64, copy=False) if raw.dtype.kind in "biuf" else np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        problems.append(_problem(name, f"must be numeric: {exc}"))
        return None


def _check_weights(weights: Any, n: int, problems: list[Problem]) -> FloatArray:
    if weights is None:
        return np.ones(n)
    w = _float_array("weights", weights, problems)
    if w is None:
        return np.ones(n)
    if w.ndim != 1 or w.shape[0] != n:
        problems.append(_problem("weights", f"must be 1-D of length {n} (one per client/row), got shape {w.shape}"))
        return np.ones(n)
    if not np.isfinite(w).all():
        problems.append(_problem("weights", "must be finite (no NaN/inf)"))
    elif (w < 0).any():
        i = int(np.argmax(w < 0))
        problems.append(_problem("weights", f"must be non-negative; weights[{i}] = {w[i]}"))
    return w


def _is_collection(values: Any) -> bool:
    """Whether ``values`` can be a collection of column indices (an iterable, not a string)."""
    return isinstance(values, Iterable) and not isinstance(values, (str, bytes))


def read_once(values: Any) -> Any:
    """``values`` as a tuple when it is a collection of indices (a generator is read once: the
    tuple keeps what was read), else as given (for :func:`validate` to report)."""
    return tuple(values) if _is_collection(values) else values


def _check_indices(name: str, values: Any, m: int, problems: list[Problem]) -> list[int]:
    if not _is_collection(values):
        problems.append(_problem(name, f"must be a collection of column indices, got {values!r}"))
        return []
    out = []
    for v in list(values):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            problems.append(_problem(name, f"must contain integer column indices, got {v!r}"))
            continue
        v = int(v)
        if not 0 <= v < m:
            problems.append(_problem(name, f"index {v} out of range 0..{m - 1}"))
            continue
        out.append(v)
    return sorted(set(out))


def _check_costs(cost_matrix: Any, problems: list[Problem]) -> FloatArray | None:
    """The cost matrix as float64, or ``None`` (its problems recorded) when it cannot be used."""
    d = _float_array("cost_matrix", cost_matrix, problems)
    if d is None:
        return None
    if d.ndim != 2:
        problems.append(_problem("cost_matrix", f"must be 2-D (clients x facilities), got {d.ndim}-D with shape {d.shape}"))
        return None
    if d.shape[0] == 0 or d.shape[1] == 0:
        problems.append(_problem("cost_matrix", f"must be non-empty, got shape {d.shape}"))
        return None
    if np.isnan(d).any():
        r, c = np.argwhere(np.isnan(d))[0]
        problems.append(_problem("cost_matrix", f"contains NaN (first at [{r}, {c}])", "use inf for 'cannot serve'"))
    if (d < 0).any():
        r, c = np.argwhere(d < 0)[0]
        problems.append(_problem("cost_matrix", f"must be non-negative; cost_matrix[{r}, {c}] = {d[r, c]}"))
    if isinstance(cost_matrix, np.ndarray) and cost_matrix.dtype.kind in "iu" and d.size:
        big = np.abs(cost_matrix).max()
        if int(big) > 2**53:
            problems.append(_problem("cost_matrix", f"holds integers up to {int(big):,}, above 2**53: float64 would round them",
                                     "scale the costs down"))
    return d


def _check_objective_range(d: FloatArray, w: FloatArray, problems: list[Problem]) -> None:
    """The largest objective the instance can reach must stay within ``MAX_OBJECTIVE``."""
    with np.errstate(invalid="ignore", over="ignore"):
        dearest = np.where(np.isfinite(d), d, 0.0).max(axis=1)
        worst = float(np.where(w > 0, w * dearest, 0.0).sum())
    if not worst <= MAX_OBJECTIVE:
        reach = f"reach {worst:.3g}" if math.isfinite(worst) else "overflow float64"
        problems.append(_problem("cost_matrix", f"weighted costs {reach}, above 2**53 (about 9.0e15): objectives "
                                 "would lose precision or overflow",
                                 "scale the costs or the weights down; use inf, not a large number, for 'cannot serve'"))


def _whole_in(name: str, value: Any, lo: int, hi: int | None, problems: list[Problem]) -> None:
    """A whole-number argument (``2.0`` counts as 2) from ``lo`` to ``hi`` (``None``: no bound)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if (why := whole_number_problem(value, lo, hi)) is not None:
        problems.append(_problem(name, why))


def check_solve_options(time_limit_s: Any, seed: Any, num_workers: Any, exact_backend: Any, backends: tuple[str, ...],
                        work_limits: dict[str, Any]) -> list[Problem]:
    """Problems with :func:`solve_pmedian`'s settings (time limit, seed, workers, backend, work limits)."""
    problems: list[Problem] = []
    if (why := time_limit_problem(time_limit_s)) is not None:
        problems.append(_problem("time_limit_s", why))
    _whole_in("seed", seed, 0, MAX_SEED, problems)
    _whole_in("num_workers", num_workers, 1, MAX_WORKERS, problems)
    for name, value in work_limits.items():
        _whole_in(name, value, 0, None, problems)
    if exact_backend not in backends:
        problems.append(_problem("exact_backend", f"must be one of {', '.join(map(repr, backends))}, got {exact_backend!r}"))
    return problems


def validate(cost_matrix: Any, p: Any, weights: Any, fixed_open: Any, forbidden: Any,
             settings: list[Problem] | None = None, *, check_range: bool = True) -> Validated:
    """Check the public inputs of :func:`solve_pmedian`, every one (``settings``: problems already
    found with its other arguments, reported together; ``check_range`` False: a sub-problem the
    solver built from a checked instance, whose large finite costs stand for infinite ones).

    Raises:
        ArgumentError: (a ``ValueError``) every problem found, each naming its argument.
    """
    problems: list[Problem] = list(settings or ())
    d = _check_costs(cost_matrix, problems)
    if d is None:
        raise ArgumentError(problems)
    n, m = d.shape
    p_int = _check_p(p, m, problems)
    w = _check_weights(weights, n, problems)
    fo = _check_indices("fixed_open", fixed_open, m, problems)
    fb = _check_indices("forbidden", forbidden, m, problems)
    if not problems and check_range:
        _check_objective_range(d, w, problems)
    both = set(fo) & set(fb)
    if both:
        problems.append(_problem("fixed_open", f"facilities {sorted(both)} are both fixed_open and forbidden"))
    if p_int and len(fo) > p_int:
        problems.append(_problem("fixed_open", f"{len(fo)} fixed_open facilities but p = {p_int}"))
    if p_int and m - len(fb) < p_int:
        problems.append(_problem("forbidden", f"only {m - len(fb)} facilities allowed ({len(fb)} forbidden) but p = {p_int}"))
    if problems:
        raise ArgumentError(problems)
    return Validated(d, p_int, w, fo, fb)


@dataclass(frozen=True)
class Instance:
    """The problem every phase works on.

    ``C`` is the weighted cost matrix of the clients with a positive weight (``w_i * d_ij``; an
    infinite cost replaced by ``big``), ``allowed`` the facilities that may open, ``fixed`` those that
    must, ``far`` each client's largest allowed cost (the "second nearest" when one facility is open).
    ``integral`` says every cost is an integer (bounds may then be rounded up); ``scale`` is the
    largest client row sum (tolerances are relative to it).
    """

    inputs: Validated
    C: FloatArray
    allowed: BoolArray
    fixed: BoolArray
    far: FloatArray
    has_inf: bool
    big: float
    integral: bool
    scale: float

    @property
    def p(self) -> int:
        return self.inputs.p

    @property
    def m(self) -> int:
        return int(self.C.shape[1])

    @property
    def tol(self) -> float:
        return 1e-9 * self.scale

    def evaluate(self, S: npt.ArrayLike) -> float:
        """Objective of the facility set ``S`` (column indices) on the active clients."""
        return float(self.C[:, np.asarray(S, dtype=np.int64)].min(axis=1).sum())

    def target_of(self, ub: float) -> float:
        """The largest objective value that still counts as an improvement on ``ub``."""
        return ub - 1.0 if self.integral else ub - self.tol

    def bound_round(self, lb: float) -> float:
        """A valid bound rounded up to the next integer when the costs are integers."""
        if not math.isfinite(lb):
            return float(lb)
        return float(math.ceil(lb - 1e-6)) if self.integral else float(lb)

    def proves(self, lb: float, ub: float) -> bool:
        """True when the bound ``lb`` proves ``ub`` optimal."""
        return lb >= ub - (0.0 if self.integral else self.tol)


def prepare(v: Validated) -> Instance:
    """Weight the costs, drop zero-weight clients, replace infinite costs by a big finite value."""
    d, w = v.d, v.w
    m = d.shape[1]
    allowed = np.ones(m, dtype=bool)
    allowed[v.forbidden] = False
    fixed = np.zeros(m, dtype=bool)
    fixed[v.fixed_open] = True
    active = w > 0
    with np.errstate(invalid="ignore"):  # inf * 0 for zero-weight clients
        C_full = d * w[:, None]
    C_full = np.where(np.isinf(d), np.inf, np.where(w[:, None] > 0, C_full, 0.0))
    C = C_full[active]
    if C.shape[0] == 0:
        C = np.zeros((1, m))  # degenerate: every solution costs 0
    finite_max = np.nanmax(np.where(np.isfinite(C), C, 0.0)) if C.size else 0.0
    has_inf = bool(np.isinf(C).any())
    big = float((finite_max + 1.0) * (C.shape[0] + 1) * 4.0) if has_inf else 0.0
    if has_inf:
        C = np.where(np.isinf(C), big, C)
    integral = bool(np.all(C == np.rint(C))) and float(np.abs(C).max(initial=0.0)) < 2**52
    scale = max(1.0, float(np.abs(C).sum(axis=1).max(initial=0.0)))
    far = C[:, allowed].max(axis=1)
    logger.debug("prepared %d active clients x %d facilities, p=%d, integral=%s", C.shape[0], m, v.p, integral)
    return Instance(v, np.ascontiguousarray(C), allowed, fixed, far, has_inf, big, integral, scale)

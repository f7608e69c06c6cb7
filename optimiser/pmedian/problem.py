"""Input validation and the prepared cost matrix the solver phases share (:class:`Instance`)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

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


def _check_p(p: Any, m: int) -> int:
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        if isinstance(p, float) and float(p).is_integer():
            p = int(p)
        else:
            raise ValueError(f"p must be an integer, got {p!r}")
    p = int(p)
    if p < 1 or p > m:
        raise ValueError(f"p must satisfy 1 <= p <= {m} (number of facilities), got {p}")
    return p


def _check_weights(weights: Any, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n)
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"weights must be numeric: {exc}") from None
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"weights must be 1-D of length {n} (one per client/row), got shape {w.shape}")
    if np.isnan(w).any() or np.isinf(w).any():
        raise ValueError("weights must be finite (no NaN/inf)")
    if (w < 0).any():
        i = int(np.argmax(w < 0))
        raise ValueError(f"weights must be non-negative; weights[{i}] = {w[i]}")
    return w


def _check_indices(name: str, values: Iterable[Any], m: int) -> list[int]:
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{name} must contain integer column indices, got {v!r}")
        v = int(v)
        if not 0 <= v < m:
            raise ValueError(f"{name} index {v} out of range 0..{m - 1}")
        out.append(v)
    return sorted(set(out))


def validate(cost_matrix: Any, p: Any, weights: Any, fixed_open: Iterable[Any], forbidden: Iterable[Any]) -> Validated:
    """Check the public inputs of :func:`solve_pmedian`.

    Raises:
        ValueError: With a message naming the offending argument.
    """
    try:
        d = np.asarray(cost_matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cost_matrix must be numeric: {exc}") from None
    if d.ndim != 2:
        raise ValueError(f"cost_matrix must be 2-D (clients x facilities), got {d.ndim}-D with shape {d.shape}")
    n, m = d.shape
    if n == 0 or m == 0:
        raise ValueError(f"cost_matrix must be non-empty, got shape {d.shape}")
    if np.isnan(d).any():
        r, c = np.argwhere(np.isnan(d))[0]
        raise ValueError(f"cost_matrix contains NaN (first at [{r}, {c}])")
    if (d < 0).any():
        r, c = np.argwhere(d < 0)[0]
        raise ValueError(f"cost_matrix must be non-negative; cost_matrix[{r}, {c}] = {d[r, c]}")
    p_int = _check_p(p, m)
    w = _check_weights(weights, n)
    fo = _check_indices("fixed_open", fixed_open, m)
    fb = _check_indices("forbidden", forbidden, m)
    both = set(fo) & set(fb)
    if both:
        raise ValueError(f"facilities {sorted(both)} are both fixed_open and forbidden")
    if len(fo) > p_int:
        raise ValueError(f"{len(fo)} fixed_open facilities but p = {p_int}")
    if m - len(fb) < p_int:
        raise ValueError(f"only {m - len(fb)} facilities allowed ({len(fb)} forbidden) but p = {p_int}")
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

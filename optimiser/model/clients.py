"""The one vectorised path from route options to clients, shared by every objective term.

A term builder (:mod:`optimiser.model.terms`) turns its walks into flat *entries*: for each
walk (a client), each way to shorten it, the length in metres and the requirement row
(decision ids, ``-1`` for none). :func:`add_clients` turns entries into clients: levels are
the distinct scaled lengths below the client's base, each with its sorted option ids.
Walks from firms to a set of targets (facility sites, social spaces) get their entries from
:func:`firm_target_entries`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimiser.inputs.domain import Firm, Scenario, SolveOptions
from optimiser.model.problem import Client, ClientKey, Constraint, Problem, option_arrays
from optimiser.network.graph import WalkNetwork
from optimiser.network.routes import CostCap, EndLengths, route_option_arrays
from optimiser.runclock import checkpoint

logger = logging.getLogger(__name__)

WEIGHT_LEVELS: int = SolveOptions.weight_levels
"""Weights are quantised to integers with the largest weight at this value (by default: a
scenario's ``solver.weight_levels`` sets it). CP-SAT needs integers; the rounding's effect on the optimum is
bounded after the solve (:func:`optimiser.model.rounding.weight_rounding`)."""

RouteArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""``(origin, target, length_m, c1, c2)`` as returned by :func:`~optimiser.network.routes.route_option_arrays`."""


def scaled(length_m: float, scale: int) -> int:
    """A length in metres as integer units (``scale`` units per metre)."""
    return int(round(length_m * scale))


def weights_to_int(values: np.ndarray, levels: int = WEIGHT_LEVELS) -> tuple[np.ndarray, float]:
    """Integer weights with the largest at ``levels``; positive weights stay >= 1.

    Returns:
        (integer weights, integer units per unit of weight).
    """
    mx = float(values.max()) if values.size else 0.0
    if mx <= 0:
        return np.zeros(values.shape, dtype=np.int64), 1.0
    k = levels / mx
    out = np.rint(values * k).astype(np.int64)
    out[(values > 0) & (out == 0)] = 1
    return out, k


@dataclass(frozen=True)
class WeightScale:
    """One integer scale for every weight of the objective, so the terms keep their relative
    importance.

    Attributes:
        per_unit: integer weight units per unit of scenario weight.
    """

    per_unit: float

    @classmethod
    def for_weights(cls, parts: list[np.ndarray], levels: int = WEIGHT_LEVELS) -> WeightScale:
        """The scale that puts the largest of all ``parts`` at ``levels`` (default
        :data:`WEIGHT_LEVELS`; a scenario's ``solver.weight_levels``)."""
        _, k = weights_to_int(np.concatenate(parts), levels)
        return cls(k)

    def to_int(self, values: np.ndarray) -> np.ndarray:
        """Integer weights; a positive weight stays >= 1."""
        out = np.rint(values * self.per_unit).astype(np.int64)
        out[(values > 0) & (out == 0)] = 1
        return out


@dataclass
class TermBuilder:
    """What every term builder reads, and the problem it adds to.

    Attributes:
        problem: the problem being built (decisions already in place).
        scenario: the validated scenario.
        network: the walk network with every candidate site attached.
        firms: the site's firms; ``firm_keys`` their network keys.
        site_decision: candidate site key -> decision id (placeable sites only).
        crossing_decision: candidate crossing index -> decision id.
        weights: the objective's integer weight scale.
        info: build facts for :attr:`Problem.info`.
    """

    problem: Problem
    scenario: Scenario
    network: WalkNetwork
    firms: list[Firm]
    firm_keys: list[str]
    site_decision: dict[str, int]
    crossing_decision: dict[int, int]
    weights: WeightScale
    info: dict[str, Any] = field(default_factory=dict)
    budget: Constraint | None = None
    """The budget row (:func:`~optimiser.model.constraints.budget_row`): the clients with a base
    leave out the options over it (:func:`add_clients`)."""

    @property
    def scale(self) -> int:
        """Integer length units per metre."""
        return self.problem.length_scale_per_m

    @property
    def max_k(self) -> int:
        """Most new crossings on one route option."""
        return self.scenario.crossings.max_route_crossings

    @property
    def penalty_m(self) -> float | None:
        """Walking length charged for a walk with no route at all."""
        return self.scenario.demand.unreachable_penalty_m

    @property
    def cand_idx(self) -> np.ndarray:
        """Indices of the candidate crossings that are decisions, ascending."""
        return np.array(sorted(self.crossing_decision), dtype=np.int64)

    @property
    def cross_dec(self) -> np.ndarray:
        """Decision id of each crossing in :attr:`cand_idx` order."""
        return np.array([self.crossing_decision[int(c)] for c in self.cand_idx], dtype=np.int64)


def end_lengths(net: WalkNetwork, origins: list[str], targets: list[str], base: np.ndarray, cand_idx: np.ndarray) -> EndLengths:
    """Gather base lengths (m) around the candidate crossings ``cand_idx`` (indices)."""
    if cand_idx.size == 0:
        z = np.zeros((len(origins), 0))
        return EndLengths(base, z, np.zeros((0, len(targets))), np.zeros((0, 0)), np.zeros(0))
    oe = net.crossing_end_lengths(origins)[:, cand_idx, :].reshape(len(origins), -1)
    te = net.crossing_end_lengths(targets)[:, cand_idx, :].reshape(len(targets), -1)
    end_nodes = net.candidate_ends[cand_idx].reshape(-1)
    ee = net.lengths([int(n) for n in end_nodes], [int(n) for n in end_nodes])
    clen = np.array([net.candidates[int(c)].length_m for c in cand_idx])
    return EndLengths(base, oe, te.T.copy(), ee, clen)


def route_entries(net: WalkNetwork, origins: list[str], targets: list[str], cand_idx: np.ndarray,
                  max_k: int, cap: Callable[[np.ndarray], CostCap | None] | None = None) -> tuple[np.ndarray, RouteArrays, int]:
    """Base lengths (origins x targets, m) and the route options between them as flat arrays.

    Args:
        cap: given the base lengths, the options to leave out for costing more than the budget
            (:class:`~optimiser.network.routes.CostCap`, :func:`budget_cap`), or ``None``.

    Returns:
        (base lengths, ``(origin, target, length_m, c1, c2)`` with crossing indices into
        ``cand_idx`` and ``c2 = -1`` for one crossing, the most crossings per route used).
    """
    if not targets:
        base = np.zeros((len(origins), 0))
        el = EndLengths(base, np.zeros((len(origins), 0)), np.zeros((0, 0)), np.zeros((0, 0)), np.zeros(0))
        arrays, eff = route_option_arrays(el, max_k)
        return base, arrays, eff
    base = net.lengths(origins, targets)
    arrays, eff = route_option_arrays(end_lengths(net, origins, targets, base, cand_idx), max_k,
                                      cap=None if cap is None else cap(base))
    return base, arrays, eff


def budget_cap(tb: TermBuilder, target_dec: np.ndarray,
               capped_origins: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], CostCap | None] | None:
    """The :class:`~optimiser.network.routes.CostCap` of the budget row (:attr:`TermBuilder.budget`) for
    :func:`route_entries`: the options :func:`add_clients` would leave out of the clients with a base,
    never generated (the same problem, its options numbered without them: the ones left are in the same
    order). ``None`` without a budget row.

    Args:
        tb: the term builder.
        target_dec: each target's decision id (-1 for a place that exists).
        capped_origins: given the base lengths (origins x targets, m), which origins' clients all have a
            base (:func:`has_base`): only their options are left out.
    """
    row = tb.budget
    if row is None or row.hi is None:
        return None
    cost = np.append(row_coefficients(tb.problem, row), 0.0)  # the last: -1, no decision
    crossing_cost = cost[tb.cross_dec]
    target_cost = cost[np.asarray(target_dec, dtype=np.int64)]
    hi = float(row.hi)
    return lambda base: CostCap(crossing_cost, target_cost, hi, capped_origins(base))


def has_base(base_m: np.ndarray, penalty_m: float | None) -> np.ndarray:
    """Whether walks with base lengths ``base_m`` (m, inf: no route) have a base in :func:`bases`:
    always with the unreachable penalty, else when their route exists."""
    return np.full(np.shape(base_m), penalty_m is not None) | np.isfinite(base_m)


def bases(base_m: np.ndarray, penalty_m: float | None, scale: int) -> list[int | None]:
    """Scaled base lengths; a walk counts at most the unreachable penalty (the verifier uses
    the same rule), and without a penalty an unreachable client must be served."""
    out: list[int | None] = []
    for b in np.asarray(base_m, dtype=float).tolist():
        if penalty_m is not None:
            out.append(scaled(min(b, penalty_m), scale))
        elif math.isfinite(b):
            out.append(scaled(b, scale))
        else:
            out.append(None)
    return out


_KEY_CHUNK = 1 << 20
"""Requirement rows turned into keys per step (bounds the temporary copies)."""


def _requirement_keys(problem: Problem, req: np.ndarray) -> np.ndarray:
    """One integer per requirement row (decision ids, -1 for none), equal for equal sets: the
    sorted row's digits ``id + 1`` in base ``decisions + 1`` (:func:`_key_rows` inverts it)."""
    d1 = len(problem.decisions) + 1
    key = np.empty(req.shape[0], dtype=np.int64)
    for a in range(0, req.shape[0], _KEY_CHUNK):
        r = np.sort(req[a:a + _KEY_CHUNK], axis=1)
        k = np.zeros(r.shape[0], dtype=np.int64)
        for j in range(r.shape[1]):
            k *= d1
            k += r[:, j]
            k += 1
        key[a:a + _KEY_CHUNK] = k
    return key


def _key_rows(problem: Problem, keys: np.ndarray, width: int) -> np.ndarray:
    """The sorted requirement rows (decision ids, -1 for none) of keys of :func:`_requirement_keys`."""
    d1 = len(problem.decisions) + 1
    rows = np.empty((keys.size, width), dtype=np.int64)
    k = keys.copy()
    for j in range(width - 1, -1, -1):
        rows[:, j] = k % d1 - 1
        k //= d1
    return rows


_DENSE_MAX = 1 << 24
"""Most codes of :func:`_distinct_rows`' dense table (an int32 each: 64 MB); beyond it, a sort."""


def _distinct_rows(req: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct rows of ``req`` (as given, not sorted within rows) and each row's index
    among them, from a dense table of column-wise value ranks instead of a sort (the rows of a
    term are few distinct crossings and sites: 200 firms' 8.7M entries have 192k options).

    Returns ``None`` when the table would exceed :data:`_DENSE_MAX` codes.
    """
    vals, sizes = [], []
    code = np.zeros(req.shape[0], dtype=np.int64)
    m = 1
    for j in range(req.shape[1]):
        col = req[:, j].astype(np.int64)
        lo = int(col.min())
        col -= lo
        present = np.zeros(int(col.max()) + 1, dtype=bool)
        present[col] = True
        rank = np.cumsum(present) - 1
        sizes.append(int(rank[-1]) + 1)
        m *= sizes[-1]
        if m > _DENSE_MAX:
            return None
        vals.append(np.flatnonzero(present) + lo)
        code *= sizes[-1]
        code += rank[col]
        del col, rank, present
    mark = np.zeros(m, dtype=bool)
    mark[code] = True
    ucode = np.flatnonzero(mark)
    del mark
    lut = np.empty(m, dtype=np.int32)
    lut[ucode] = np.arange(ucode.size, dtype=np.int32)
    inverse = lut[code]
    del lut, code
    rows = np.empty((ucode.size, req.shape[1]), dtype=np.int64)
    for j in range(req.shape[1] - 1, -1, -1):
        rows[:, j] = vals[j][ucode % sizes[j]]
        ucode //= sizes[j]
    return rows, inverse


def option_ids(problem: Problem, req: np.ndarray) -> np.ndarray:
    """Option ids of requirement rows (decision ids, -1 for none), created when new (in the
    order of their requirement keys)."""
    if req.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    distinct = _distinct_rows(req)
    if distinct is not None:  # the keys of the distinct rows only, then spread
        return _keyed_option_ids(problem, distinct[0])[distinct[1]]
    return _keyed_option_ids(problem, req)


def _keyed_option_ids(problem: Problem, req: np.ndarray) -> np.ndarray:
    """:func:`option_ids` by the rows' requirement keys."""
    keys = _requirement_keys(problem, req)
    uk = np.unique(keys)
    rows = _key_rows(problem, uk, req.shape[1])
    n_req = (rows >= 0).sum(axis=1)
    ids = np.where(n_req == 1, rows.max(axis=1), -1)  # one decision: the option is the decision
    # the rest in key order, as problem.option_id creates them: when all are rows of two or more
    # distinct decisions (sorted, -1 first), in one pass of sorted_option_ids
    rest = np.nonzero(n_req != 1)[0]
    sub = rows[rest]
    plain = (n_req[rest] >= 2) & ((sub[:, :-1] < 0) | (sub[:, 1:] > sub[:, :-1])).all(axis=1)
    n_neg = (sub < 0).sum(axis=1)
    if plain.all():
        ids[rest] = problem.sorted_option_ids([tuple(r[m:]) for r, m in zip(sub.tolist(), n_neg.tolist())])
    else:
        for k, row, m in zip(rest.tolist(), sub.tolist(), n_neg.tolist()):
            ids[k] = problem.option_id(tuple(row[m:]))
    return ids[np.searchsorted(uk, keys)]


def register_options(problem: Problem, req: np.ndarray) -> None:
    """Create the options of non-empty requirement rows in the order the rows first appear."""
    if req.shape[0] == 0:
        return
    _, first = np.unique(_requirement_keys(problem, req), return_index=True)
    for row in req[np.sort(first)].tolist():
        need = tuple(v for v in row if v >= 0)
        if need:
            problem.option_id(need)


def kept_levels(e_client: np.ndarray, e_len_m: np.ndarray, client_bases: list[int | None], scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Scaled entry lengths and which entries are below their client's base.

    Returns:
        (mask of entries kept, scaled lengths of all entries).
    """
    big = np.iinfo(np.int64).max
    lev = np.rint(np.asarray(e_len_m, dtype=float) * scale).astype(np.int64)
    base_arr = np.array([b if b is not None else big for b in client_bases], dtype=np.int64)
    keep = lev < base_arr[e_client] if len(client_bases) else np.zeros(0, dtype=bool)
    return keep, lev


def client_level_option_order(e_client: np.ndarray, lev: np.ndarray, opt: np.ndarray) -> np.ndarray:
    """``np.lexsort((opt, lev, e_client))``: entries by client, level, then option (stable).
    One int64 key sorted once when the three fit in 63 bits (500 firms: 8M entries sorted in
    a third of the time of the three-key sort)."""
    if e_client.size == 0:
        return np.zeros(0, dtype=np.int64)
    n_l, n_o = int(lev.max()) + 1, int(opt.max()) + 1
    if int(lev.min()) < 0 or int(opt.min()) < 0 or (int(e_client.max()) + 1) * n_l * n_o >= 2**62:
        return np.lexsort((opt, lev, e_client))
    key = e_client.astype(np.int64) * n_l
    key += lev
    key *= n_o
    key += opt
    return np.argsort(key, kind="stable")


def distinct_sorted_entries(e_client: np.ndarray, lev: np.ndarray, opt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (client, level, option) entries sorted by client, level and option.

    When the three fit in one int64 key, the keys are sorted in place and decoded (no
    permutation to gather by: 500 firms' 8M entries in a fraction of an argsort's time);
    otherwise by :func:`client_level_option_order`.
    """
    if e_client.size and int(lev.min()) >= 0 and int(opt.min()) >= 0:
        n_l, n_o = int(lev.max()) + 1, int(opt.max()) + 1
        if (int(e_client.max()) + 1) * n_l * n_o < 2**62:
            key = e_client.astype(np.int64) * n_l
            key += lev
            key *= n_o
            key += opt
            key.sort()
            new = np.ones(key.size, dtype=bool)
            new[1:] = key[1:] != key[:-1]
            key = key[new]
            del new
            opt = key % n_o
            key //= n_o
            lev = key % n_l
            key //= n_l
            return key, lev, opt
    order = client_level_option_order(e_client, lev, opt)
    e_client, lev, opt = e_client[order], lev[order], opt[order]
    new = np.ones(e_client.size, dtype=bool)
    new[1:] = (e_client[1:] != e_client[:-1]) | (lev[1:] != lev[:-1]) | (opt[1:] != opt[:-1])
    return e_client[new], lev[new], opt[new]


def level_groups(e_client: np.ndarray, lev: np.ndarray, opt: np.ndarray, n_c: int) -> tuple[list[int], list[tuple[int, ...]], list[int]]:
    """Distinct (client, level, option) entries, sorted by client, level and option, grouped
    into levels.

    Returns:
        (level lengths, option ids of each level, start of each client's levels (n_c + 1)).
    """
    n = e_client.size
    if n:
        new = run_starts(e_client, lev, opt)
        e_client, lev, opt = e_client[new], lev[new], opt[new]
        lstart = run_starts(e_client, lev)
    else:
        lstart = np.zeros(0, np.int64)
    lvl_opts = level_tuples(opt, lstart)
    per = np.bincount(e_client[lstart], minlength=n_c) if n else np.zeros(n_c, dtype=np.int64)
    return lev[lstart].tolist(), lvl_opts, np.concatenate([[0], np.cumsum(per)]).tolist()


def run_starts(*keys: np.ndarray) -> np.ndarray:
    """Where each run of equal entries (of all ``keys`` at once, equally long and not empty) starts."""
    changed = np.zeros(keys[0].size - 1, dtype=bool)
    for k in keys:
        changed |= k[1:] != k[:-1]
    return np.flatnonzero(np.r_[True, changed])


def level_tuples(opt: np.ndarray, lstart: np.ndarray, pool: np.ndarray | None = None) -> list[tuple[Any, ...]]:
    """The option ids of each level as a tuple: level ``i`` is ``opt[lstart[i]:lstart[i + 1]]``
    (the last one to the end); ``lstart`` strictly increasing from 0 (no level without options,
    as :func:`level_groups` makes them). With ``pool`` (an object array indexed by ``opt``), the
    tuples hold ``pool[o]`` instead of ``o`` (the site chains' routes).

    Levels of the same size are built together, one column of Python ints per position zipped
    into tuples, and put back in level order (independent seed 115's 3.06M levels, most of them
    of one to three options, in half the time of one slice per level; with hundreds of distinct
    sizes it can be slower). One Python int per option id is shared by every level that
    lists it (200 firms: 9.5M incidences of 192k options; separate ints would take 28 bytes each).
    """
    n_l = lstart.size
    if n_l == 0:
        return []
    if pool is None:
        pool = np.arange(int(opt.max()) + 1).astype(object)
    size = np.diff(np.append(lstart, opt.size))
    out = np.empty(n_l, dtype=object)
    for k in np.unique(size).tolist():
        idx = np.nonzero(size == k)[0]
        starts = lstart[idx]
        columns = [pool[opt[starts + j]].tolist() for j in range(k)]
        out[idx] = np.fromiter(zip(*columns), dtype=object, count=idx.size)
    return out.tolist()


_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9))


def same_clients(e_client: np.ndarray, lev: np.ndarray, opt: np.ndarray, n_c: int) -> np.ndarray:
    """Per client, the first client with exactly the same (level, option) entries (itself if
    none), for entries sorted by client, level and option without repeats.

    Clients are matched by their entry count and two 64-bit sums of entry hashes, then checked
    entry by entry (a hash collision only leaves a client unmatched). Firm pairs repeat a lot
    (500 firms: 96k of 125k pairs have another's routes), and a matched client can share the
    first's level tuples instead of building its own.
    """
    same = np.arange(n_c)
    n = e_client.size
    if n == 0:
        return same
    start = np.searchsorted(e_client, np.arange(n_c + 1))
    cnt = np.diff(start)
    h = lev.astype(np.uint64) * _MIX[0]
    h ^= opt.astype(np.uint64) * _MIX[1]
    h ^= h >> np.uint64(29)
    pos = np.arange(1, n + 1, dtype=np.uint64)
    pos -= start[e_client].astype(np.uint64)
    with np.errstate(over="ignore"):
        s1 = np.concatenate([[np.uint64(0)], np.cumsum(h)])
        h *= pos * _MIX[2]
        s2 = np.concatenate([[np.uint64(0)], np.cumsum(h)])
        sig1, sig2 = s1[start[1:]] - s1[start[:-1]], s2[start[1:]] - s2[start[:-1]]
    del h, pos, s1, s2
    first: dict[tuple[int, int, int], int] = {}
    for k, key in enumerate(zip(cnt.tolist(), sig1.tolist(), sig2.tolist())):
        same[k] = first.setdefault(key, k)
    dup = np.nonzero(same != np.arange(n_c))[0]
    if dup.size:  # check the matches entry by entry
        c = cnt[dup]
        at = np.repeat(np.cumsum(c) - c, c)
        mine = np.arange(at.size) - at + np.repeat(start[dup], c)
        theirs = mine - np.repeat(start[dup] - start[same[dup]], c)
        bad = (lev[mine] != lev[theirs]) | (opt[mine] != opt[theirs])
        if bad.any():
            wrong = dup[np.unique(np.repeat(np.arange(dup.size), c)[bad])]
            same[wrong] = wrong
    return same


def reach_constraint(key: ClientKey, level_options: tuple[tuple[int, ...], ...]) -> tuple[Constraint, str]:
    """The constraint that a client with no base (no route without new things) is served.

    Returns:
        (the constraint, its group's planner-facing description).
    """
    all_opts = tuple(sorted({o for v in level_options for o in v}))
    g = f"reach:{key}"
    return Constraint(g, tuple((o, 1) for o in all_opts), 1, None, g), f"{key.subject} must be reachable on foot"


def add_constraint(problem: Problem, con: Constraint, description: str) -> None:
    """Add a constraint and set its group's description."""
    problem.groups[con.group] = description
    problem.constraints.append(con)


def row_coefficients(problem: Problem, row: Constraint) -> np.ndarray:
    """Per decision of ``problem``, its coefficient in the linear row ``row`` (float, 0 where absent)."""
    cost = np.zeros(len(problem.decisions))
    for d, v in row.terms:
        cost[d] = v
    return cost


def option_costs(problem: Problem, options: np.ndarray, row: Constraint) -> np.ndarray:
    """Per option id of ``options``: its decisions' coefficients in the linear row ``row``
    summed (float; the budget row's for :func:`add_clients` and
    :func:`~optimiser.model.transforms.reduce_clients`)."""
    cost = row_coefficients(problem, row)
    sel = [problem.options[i] for i in np.asarray(options, dtype=np.int64).tolist()]
    _, flat, owner = option_arrays(sel)
    out = np.zeros(len(sel))
    np.add.at(out, owner, cost[flat])
    return out


def add_clients(problem: Problem, keys: list[ClientKey], kind: str, weights: np.ndarray, client_bases: list[int | None],
                e_client: np.ndarray, e_len_m: np.ndarray, e_req: np.ndarray, scale: int,
                reach_out: dict[int, tuple[Constraint, str]] | None = None, budget: Constraint | None = None) -> None:
    """Add clients from flat option entries.

    Args:
        problem: the problem to add to.
        keys, weights, client_bases: per client: identity, integer weight (clients with weight
            <= 0 are left out), scaled base length (``None``: must be served).
        kind: the clients' kind ("pair", "access", "social").
        e_client, e_len_m, e_req: per entry: client index, length (m), requirement row.
        scale: length units per metre.
        reach_out: when given, the reach constraints of clients without a base are put here
            (client index -> constraint and description) for the caller to add with
            :func:`add_constraint`, instead of being added.
        budget: the budget row (:attr:`TermBuilder.budget`): a client with a base leaves out
            the options whose decisions cost more together, as :func:`~optimiser.model.transforms.reduce_clients`
            would drop them after the build (a tight budget: most options of two crossings). They
            are still created here (the social spaces' walks share their entries with the coverage
            rows); the pair and access walks' entries come without them (:func:`budget_cap`).
    """
    n_c = len(keys)
    keep, lev = kept_levels(e_client, e_len_m, client_bases, scale)
    n_kept = int(keep.sum())
    e_client, lev = e_client[keep], lev[keep]
    opt = option_ids(problem, e_req[keep])
    del keep
    if budget is not None and budget.hi is not None and opt.size:
        ids, inverse = np.unique(opt, return_inverse=True)
        has_base = np.array([b is not None for b in client_bases], dtype=bool)
        drop = (option_costs(problem, ids, budget) > budget.hi)[inverse] & has_base[e_client]
        if drop.any():
            e_client, lev, opt = e_client[~drop], lev[~drop], opt[~drop]
    e_client, lev, opt = distinct_sorted_entries(e_client, lev, opt)
    # a client with the same entries as an earlier one shares its level tuples (built once)
    same = same_clients(e_client, lev, opt, n_c)
    own = same[e_client] == e_client
    lvl_len, lvl_opts, cst = level_groups(e_client[own], lev[own], opt[own], n_c)
    del e_client, lev, opt, own
    w_list = np.asarray(weights).tolist()
    built: dict[int, tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]] = {}
    for k, r in enumerate(same.tolist()):
        if k % 4096 == 0:
            checkpoint()  # the run's time limit
        if w_list[k] <= 0:
            continue
        if r not in built:
            a, b = cst[r], cst[r + 1]
            built[r] = tuple(lvl_len[a:b]), tuple(lvl_opts[a:b])
        levels, lopts = built[r]
        problem.clients.append(Client(keys[k], kind, int(w_list[k]), client_bases[k], levels, lopts))
        if client_bases[k] is None:
            con, description = reach_constraint(keys[k], lopts)
            if reach_out is None:
                add_constraint(problem, con, description)
            else:
                reach_out[k] = (con, description)
    logger.debug("%d %s clients from %d option entries", n_c, kind, n_kept)


@dataclass(frozen=True)
class TargetEntries:
    """Ways for firms to reach a set of targets (new sites first, then existing places).

    Attributes:
        base: (firms, targets) lengths (m) with nothing new built.
        firm, target, length_m: per entry: firm index, target index, length (m).
        req: per entry: (crossing, crossing, site) decision ids, -1 for none.
        via_route: per entry: whether it uses new crossings (else it walks straight to the target).
        max_crossings: most new crossings per route option used.
    """

    base: np.ndarray
    firm: np.ndarray
    target: np.ndarray
    length_m: np.ndarray
    req: np.ndarray
    via_route: np.ndarray
    max_crossings: int

    def walk_order(self) -> np.ndarray:
        """Entry indices in walking order: by firm, target, the direct walk first, then the
        route options (by length, then crossings)."""
        return np.lexsort((self.via_route, self.target, self.firm))


def firm_target_entries(tb: TermBuilder, targets: list[str], site_dec: np.ndarray, direct_targets: int,
                        within_budget: bool = False) -> TargetEntries:
    """Entries for every firm's walk to each of ``targets``.

    Args:
        tb: the term builder.
        targets: network keys of the targets.
        site_dec: decision id of each target (-1 for an existing place).
        direct_targets: the first this many targets get a direct entry (walk there with no new
            crossing, where there is a route) besides their route options.
        within_budget: leave out the route options over the budget of the firms whose walk to the
            nearest target has a base (:func:`budget_cap`: the entries of one client per firm, only
            for :func:`add_clients`, which would leave them out).
    """
    cand_idx = tb.cand_idx
    cross_dec = tb.cross_dec.astype(np.int32)
    site_dec = np.asarray(site_dec).astype(np.int32)
    cap = None
    if within_budget:
        penalty = tb.penalty_m
        # a firm's client has a base when it reaches a place that exists (the targets from
        # direct_targets on), or with the unreachable penalty
        cap = budget_cap(tb, site_dec, lambda base: has_base(base[:, direct_targets:].min(axis=1, initial=np.inf), penalty))
    base, (oo, tt, ll, a1, a2), eff = route_entries(tb.network, tb.firm_keys, targets, cand_idx, tb.max_k, cap)
    di, dt = np.nonzero(np.isfinite(base[:, :direct_targets]))
    n_d, n_r = di.size, oo.size
    # int32 indices and decision ids (200 firms: 8.7M entries), the route arrays freed as used
    req = np.full((n_d + n_r, 3), -1, dtype=np.int32)
    req[n_d:, 0] = cross_dec[a1]
    del a1
    req[n_d:, 1] = np.where(a2 >= 0, cross_dec[np.maximum(a2, 0)], -1)
    del a2
    req[:n_d, 2] = site_dec[dt]
    req[n_d:, 2] = site_dec[tt]
    firm = np.concatenate([di.astype(np.int32), oo])
    del oo
    length_m = np.concatenate([base[di, dt], ll])
    del ll
    target = np.concatenate([dt.astype(np.int32), tt])
    return TargetEntries(base, firm, target, length_m, req,
                         np.concatenate([np.zeros(n_d, dtype=bool), np.ones(n_r, dtype=bool)]), eff)

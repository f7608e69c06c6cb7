"""The backend-neutral optimisation problem (design brief, section 5): its data types.

Decisions are binary: build candidate crossing c, open facility candidate s, open social
space q. Walking enters through *clients*: a firm pair, or a firm's walk to the nearest
facility of a type. Each client has route options, each requiring a set of decisions
(an *option*: one decision, or the conjunction of a site and the crossings on its route),
and its walking length is the shortest over open options, or its base length.

Clients use the chained radius formulation (Elloumi 2010; Garcia, Labbe and Marin 2011):
with distinct option lengths D1 < ... < DK < base, binary u_k ("no option at most D_k is
open"), the length is D1 + sum_k (D_{k+1} - D_k) u_k with u_1 >= 1 - sum(options at D1) and
u_k >= u_{k-1} - sum(options at D_k). It is exact, and much tighter than big-M.

All lengths are integers in units of ``1 / length_scale_per_m`` metres (decimetres by
default) and weights are integers; every backend reads the same integers, so both solve the
same problem and the verifier can recompute the objective exactly.

The problem is built by :func:`optimiser.model.build.build_problem` (one builder per
objective term in :mod:`optimiser.model.terms`, the constraints in
:mod:`optimiser.model.constraints`); relaxations and fixings are in
:mod:`optimiser.model.transforms`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Literal

import numpy as np

from optimiser.inputs.domain import Crossing, Scenario
from optimiser.network.candidates import CandidateSite
from optimiser.network.graph import WalkNetwork

logger = logging.getLogger(__name__)

ClientKind = Literal["pair", "access", "social"]


@dataclass(frozen=True)
class ClientKey:
    """The typed identity of a client (a walking term of the objective).

    ``str(key)`` is the client's text name, unchanged from earlier versions:
    ``"pair:<a>|<b>"``, ``"access:<type>:<firm>"`` or ``"social:<firm>"``. Nothing parses it
    back; code that needs a part reads the fields.

    Attributes:
        kind: "pair" (firm to firm), "access" (firm to the nearest facility of a type) or
            "social" (firm to the nearest social space).
        firm: the firm id (the first firm of a pair).
        other: the second firm id of a pair; ``None`` otherwise.
        facility_type: the facility type of an access client; ``None`` otherwise.
    """

    kind: ClientKind
    firm: str
    other: str | None = None
    facility_type: str | None = None

    @classmethod
    def pair(cls, firm_a: str, firm_b: str) -> ClientKey:
        """The walk between two firms."""
        return cls("pair", firm_a, other=firm_b)

    @classmethod
    def access(cls, facility_type: str, firm: str) -> ClientKey:
        """A firm's walk to the nearest facility of a type."""
        return cls("access", firm, facility_type=facility_type)

    @classmethod
    def social(cls, firm: str) -> ClientKey:
        """A firm's walk to the nearest social space."""
        return cls("social", firm)

    @property
    def subject(self) -> str:
        """Planner-facing name of the walk: ``"<a> to <b>"``, ``"<type>:<firm>"`` or ``"<firm>"``."""
        if self.kind == "pair":
            return f"{self.firm} to {self.other}"
        if self.kind == "access":
            return f"{self.facility_type}:{self.firm}"
        return self.firm

    def __str__(self) -> str:
        if self.kind == "pair":
            return f"pair:{self.firm}|{self.other}"
        if self.kind == "access":
            return f"access:{self.facility_type}:{self.firm}"
        return f"social:{self.firm}"


@dataclass(frozen=True)
class Decision:
    """A binary decision: build or open one thing.

    Attributes:
        key: "crossing:<id>", or the candidate site key ("facility:<type>:<k>", "social:<k>").
        kind: "crossing", "facility", "social" or "stop" (a transit stop).
        group: facility type, "social", "transit", or the crossing's barrier id.
        cost: capital cost if chosen, in the scenario's currency.
        label: a short human label ("footbridge parkway-fb-003").
    """

    key: str
    kind: str
    group: str
    cost: float
    label: str


@dataclass(frozen=True)
class Client:
    """One walking term of the objective: shortest over open options, else the base.

    Attributes:
        key: the client's identity; a :class:`ClientKey` in every built problem (its text is
            "pair:<a>|<b>", "access:<type>:<firm>" or "social:<firm>"). Hand-made problems
            (tests) may use a plain string label.
        kind: "pair", "access" or "social" (the same as ``key.kind`` in built problems).
        weight: integer objective coefficient per length unit.
        base: length (units) with nothing new open; ``None`` when some option must be open.
        levels: strictly increasing option lengths (units), all below ``base``.
        level_options: ids (into :attr:`Problem.options`) of the options at each level.
    """

    key: ClientKey | str
    kind: str
    weight: int
    base: int | None
    levels: tuple[int, ...]
    level_options: tuple[tuple[int, ...], ...]

    def length(self, open_options: set[int]) -> int | None:
        """Client length (units) given the set of open option ids."""
        for lev, opts in zip(self.levels, self.level_options):
            if any(o in open_options for o in opts):
                return lev
        return self.base


@dataclass(frozen=True)
class Constraint:
    """``lo <= sum(coef * option) <= hi`` over option ids, part of a named group.

    ``group`` names what the planner asked for (e.g. "budget", "coverage:factory_2050");
    infeasibility explanations are given in terms of groups and their ``description``.
    """

    key: str
    terms: tuple[tuple[int, int], ...]
    lo: int | None
    hi: int | None
    group: str


def option_arrays(options: Sequence[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``options`` (each a tuple of decision ids) as flat arrays: ``(lens, flat, owner)``, each
    option's number of decisions, their ids option after option, and the position in ``options``
    of each entry of ``flat``."""
    lens = np.fromiter(map(len, options), dtype=np.int64, count=len(options))
    flat = np.fromiter(chain.from_iterable(options), dtype=np.int64, count=int(lens.sum()))
    return lens, flat, np.repeat(np.arange(len(options), dtype=np.int64), lens)


@dataclass(frozen=True)
class Penalty:
    """Objective += ``weight`` unless at least one of ``options`` is open (soft coverage)."""

    key: str
    weight: int
    options: tuple[int, ...]


@dataclass
class Problem:
    """A backend-neutral, integer-scaled problem. See the module docstring.

    Attributes:
        decisions: the binary decisions; decision i is also option i.
        options: option id -> required decision ids (sorted); ids < len(decisions) are the
            decisions themselves.
        clients, constraints, penalties: the model's parts.
        groups: group name -> planner-facing description.
        length_scale_per_m: integer units per metre.
        weight_scale: {"all": integer weight units per unit of scenario weight}; the
            objective in weighted metres is ``objective / (weight_scale["all"] * scale)``.
        budget: the capital budget, in ``currency``.
        currency: ISO 4217 code of the budget and every decision's cost.
        info: sizes, pruning and timing facts for outputs.
    """

    decisions: list[Decision]
    options: list[tuple[int, ...]]
    clients: list[Client]
    constraints: list[Constraint]
    penalties: list[Penalty]
    groups: dict[str, str]
    length_scale_per_m: int
    weight_scale: dict[str, float]
    budget: float
    info: dict[str, Any] = field(default_factory=dict)
    currency: str = "GBP"
    _option_index: dict[tuple[int, ...], int] = field(default_factory=dict, repr=False)

    @property
    def units_per_weighted_m(self) -> float:
        """Objective units per weighted metre (``length_scale_per_m`` x ``weight_scale["all"]``):
        an objective over this is in weighted metres, as ``metrics.json`` reports it."""
        return self.length_scale_per_m * self.weight_scale["all"]

    @property
    def constant(self) -> int:
        """Objective constant: every client at its first level (or base)."""
        total = 0
        for c in self.clients:
            first = c.levels[0] if c.levels else (c.base or 0)
            total += c.weight * first
        return total

    @property
    def crossing_mask(self) -> np.ndarray:
        """Whether each decision is a candidate crossing (``bool``, one per decision, in order)."""
        return np.fromiter((d.kind == "crossing" for d in self.decisions), dtype=bool, count=len(self.decisions))

    def class_ids(self) -> np.ndarray:
        """Each decision's class of interchangeable decisions, as an integer id (one per decision):
        decisions of one kind, group and cost share a class. Building one decision of a class in
        place of another keeps the budget and every per-group count as they are."""
        ids: dict[tuple[str, str, float], int] = {}
        return np.array([ids.setdefault((d.kind, d.group, d.cost), len(ids)) for d in self.decisions], dtype=np.int64)

    def level_terms(self) -> Iterator[tuple[int, int, int, tuple[int, ...]]]:
        """The radius chain of every client, for backends: yields
        ``(client index, level index, step, option ids at that level)``.

        Each level gets a variable u in [0, 1] with ``u + sum(options) >= previous u`` (1 for
        the first level); the objective adds ``step * u`` where ``step`` is the client's
        weight times the gap to the next level. The objective's constant is
        :attr:`constant`.
        """
        for k, cl in enumerate(self.clients):
            if not cl.levels:
                continue
            nxt = list(cl.levels[1:]) + [cl.base if cl.base is not None else cl.levels[-1]]
            for lev, (d_lo, d_hi, opts) in enumerate(zip(cl.levels, nxt, cl.level_options)):
                yield k, lev, cl.weight * (d_hi - d_lo), opts

    def open_options(self, chosen: set[int]) -> set[int]:
        """Ids of the options open when exactly the decisions ``chosen`` are taken."""
        _, flat, owner = option_arrays(self.options)
        taken = np.zeros(len(self.decisions), dtype=bool)
        taken[[d for d in chosen if 0 <= d < len(self.decisions)]] = True
        missing = np.bincount(owner[~taken[flat]], minlength=len(self.options))  # needed decisions not taken
        return set(np.nonzero(missing == 0)[0].tolist())

    def objective_of(self, chosen: set[int]) -> int:
        """Exact integer objective of a set of chosen decision ids (for tests and checks)."""
        lengths, penalty = self.lengths_of(chosen)
        return sum(c.weight * length for c, length in zip(self.clients, lengths, strict=True)) + penalty

    def lengths_of(self, chosen: set[int]) -> tuple[list[int], int]:
        """Under a set of chosen decision ids: each client's length in integer units (its last
        level when no option serves it), and the weight of the penalties no open option lifts."""
        open_opts = self.open_options(chosen)
        lengths = []
        for c in self.clients:
            length = c.length(open_opts)
            lengths.append(length if length is not None else (c.levels[-1] if c.levels else 0))
        return lengths, sum(p.weight for p in self.unlifted(open_opts))

    def unlifted(self, open_opts: set[int]) -> list[Penalty]:
        """The penalties no option of ``open_opts`` (:meth:`open_options`) lifts."""
        return [p for p in self.penalties if not any(o in open_opts for o in p.options)]

    def is_feasible(self, chosen: set[int]) -> bool:
        """Whether a set of chosen decision ids meets every constraint and must-serve client."""
        open_opts = self.open_options(chosen)
        for con in self.constraints:
            s = sum(coef for o, coef in con.terms if o in open_opts)
            if (con.lo is not None and s < con.lo) or (con.hi is not None and s > con.hi):
                return False
        return all(c.base is not None or c.length(open_opts) is not None for c in self.clients)

    def option_id(self, req: tuple[int, ...], _index: dict[tuple[int, ...], int] | None = None) -> int:
        """Id of the option requiring exactly ``req`` (decision ids), created if new.

        ``_index`` is unused (kept for callers that pass it).
        """
        req = tuple(sorted(set(req)))
        if len(req) == 1:
            return req[0]
        idx = self._option_index
        if req not in idx:
            idx[req] = len(self.options)
            self.options.append(req)
        return idx[req]

    def sorted_option_ids(self, reqs: list[tuple[int, ...]]) -> list[int]:
        """:meth:`option_id` of each of ``reqs`` (created in turn if new), each already sorted,
        without repeats and of two or more decisions (one dictionary look-up each)."""
        idx, options = self._option_index, self.options
        out = []
        for req in reqs:
            j = idx.get(req)
            if j is None:
                j = idx[req] = len(options)
                options.append(req)
            out.append(j)
        return out

    def n_levels(self) -> int:
        """The radius levels of all clients (the model's size for the backends)."""
        return sum(len(c.levels) for c in self.clients)

    def sizes(self) -> dict[str, int]:
        """Model sizes: decisions, options, conjunctions, clients, levels, constraints, penalties."""
        return {
            "decisions": len(self.decisions),
            "options": len(self.options),
            "conjunctions": len(self.options) - len(self.decisions),
            "clients": len(self.clients),
            "levels": self.n_levels(),
            "constraints": len(self.constraints),
            "penalties": len(self.penalties),
        }


@dataclass
class ProblemContext:
    """What :func:`~optimiser.model.build.build_problem` used, kept for verification and outputs."""

    scenario: Scenario
    network: WalkNetwork
    facility_sites: list[CandidateSite]
    social_sites: list[CandidateSite]
    existing_facility_keys: dict[str, list[str]]
    existing_social_keys: list[str]
    firm_keys: list[str]
    pair_index: list[tuple[int, int]]
    pair_w: np.ndarray
    crossing_decision: dict[int, int]
    stop_sites: list[CandidateSite] = field(default_factory=list)
    existing_stop_keys: list[str] = field(default_factory=list)


def crossing_of_decision(ctx: ProblemContext) -> dict[int, Crossing]:
    """Decision id -> the candidate crossing it builds.

    Args:
        ctx: the context of a built problem.

    Returns:
        decision id -> the :class:`~optimiser.inputs.domain.Crossing` of ``ctx.network.candidates``.
    """
    return {d: ctx.network.candidates[c] for c, d in ctx.crossing_decision.items()}

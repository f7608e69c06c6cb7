"""The relaxation-first strategy for large models, one method per phase (:class:`RelaxFirst`).

Measured on ``benchmarks/joint`` (README there). The time limit is a *work budget* (``WORK_PER_LIMIT_S`` nominal
seconds per second of it with CP-SAT unless the relaxation is large): every phase is charged a deterministic estimate of its
work in nominal seconds (Lagrangian iterations, incidences evaluated, CP-SAT's deterministic time), and every choice of what to run
next and for how long reads that budget, never the clock, so the answer is the same on an idle and a loaded machine.
The wall clock (``WALL_CLOCK_SAFETY_FACTOR`` times the limit, or ``wall_limit_s``) is only a safety net; the result's
``stopped_by`` says "wall_clock" when it bound any phase, else "work_limit". A backend call is charged its set-up besides its
search (building the model, CP-SAT's LP: ``backend_setup_cost``, which CP-SAT's deterministic time leaves out), and a backend
phase whose budget does not cover its set-up and a minimum search is skipped.

1. An incumbent: the greedy layout (:func:`~optimiser.solve.heuristic.greedy_search`), its sites re-chosen exactly with its
   crossings fixed or by :func:`~optimiser.solve.site_interchange.improve_sites`, its crossings exchanged one for one or moved two
   at a time (:meth:`RelaxFirst.polish`), then moved with their sites (:mod:`~optimiser.solve.relax_first_sites`); exchanged
   again after the Lagrangian rounds (200 firms: 4,821.6M -> 4,809.3M; 500 firms: 26,259.5M -> 26,181.6M).
2. A bound: the Lagrangian bound of the relaxation (:mod:`optimiser.solve.lagrangian`), started from the
   incumbent's walking lengths. Its iterations (a work limit) are worth ``LAGRANGIAN_SHARE`` of the time limit
   when the relaxation is small enough for the backend (at most ``RELAX_MAX_LEVELS`` levels), else
   ``LAGRANGIAN_SHARE_LARGE``: then it is the bound. Its reduction tests close every decision that cannot be
   part of a better layout. It runs in two rounds: between them the incumbent's sites are re-chosen, and when
   crossings were closed the second round works on a tighter relaxation, whose access options over closed
   decisions are dropped instead of relaxed. From round 2 on the walks to facilities keep their exact routes
   (:mod:`optimiser.solve.access_routes`) and pay for their crossings through multipliers, a bound above the
   relaxation's own optimum (200 firms: 1.54 % -> 0.98 % in the same work). Split by count vector,
   ``VECTOR_TIGHTEN_SHARE`` of a round goes to each open vector's own tighter relaxation
   (:func:`~optimiser.solve.relax_first_vectors.tighten_vectors`). The layouts it meets are offered as
   incumbents. The later phases work on the problem with the closed decisions fixed at 0 (much smaller). After
   round 1 the polish also inserts crossings that do not fit, ejecting built ones (:meth:`RelaxFirst.insert`);
   when the relaxation is large only if round 1 leaves the incumbent at least ``INSERT_MIN_GAP`` above its
   bound. When the exact model cannot come first (5) and rounds 1-2 leave a gap below ``MORE_ROUNDS_MAX_GAP``,
   a third round gets the work left (:meth:`RelaxFirst.more_rounds_phase`, ``MORE_ROUNDS``), or ``MORE_ROUNDS_SHARE``
   of it when the rest covers the reduced exact model's set-up, which then gets the rest; none when that model fits
   only in all of it and the gap is below ``EXACT_INSTEAD_MAX_GAP`` (it gets it all); else ``MORE_ROUNDS_FIRST_PIECE``
   of it, then the exact model when it fits (3-4 first when their relaxation is small against it:
   ``RELAX_BEFORE_EXACT_MAX_RATIO``), else 3-4 when phase 4 looks able to run (else the round); at a wider gap 3-4
   get it all when phase 4 can run (their relaxation's bound is better).
3. Alternating exact re-optimisation from the incumbent, while it improves and time is left: the sites fixed,
   the crossings re-optimised by the backend; then the sites re-chosen by interchange. The reduction tests run
   again with the better incumbent.
4. The backend on the tightest relaxation at hand, reduced (when it has at most ``RELAX_MAX_LEVELS`` levels),
   for ``RELAX_SHARE`` of the time left (all of it when the exact model is too large to follow): its proven
   bound is a bound here too (see below), and its layout another candidate.
5. Any time left: the reduced exact model (at most ``EXACT_MAX_LEVELS`` levels), warm-started from the best
   layout, CP-SAT's LP lazy (``WHOLE_EXACT_LP_EAGER``; per vector eager: ``EXACT_LP_EAGER``), its clause inprocessing
   off (``WHOLE_EXACT_SAT_INPROCESSING``); not when the relaxation is large and an incumbent exists. When its search
   would get at least ``EXACT_FIRST_MIN_SEARCH_SHARE`` of the limit, it comes straight after the rounds with the whole
   budget left (3 and 4 skipped: neither can prove; :meth:`RelaxFirst.exact_first`). With CP-SAT and round 2's
   count vectors it runs instead once per vector still open, each with the decisions closed for that vector, unhinted
   and cut off below the incumbent (:mod:`optimiser.solve.relax_first_vectors`, ``EXACT_BY_VECTOR``), unless a vector
   keeps most of the whole reduced model (``EXACT_BY_VECTOR_MAX_SHARE``); with more than one worker, the vectors on
   that many lanes side by side (:mod:`optimiser.solve.vector_lanes`).

With a limit above ``PLAN_HORIZON_S`` (relaxation not large) phases 1-4 are planned as for that limit and the exact
model (5) gets all the work left: the rounds' bound levels off, it proves. 6. When no exact model ran and phase 4 proved
its optimum, the work left refines its relaxation where its layout walks too short (:mod:`~optimiser.solve.relax_first_refine`).

Reduced problems keep every layout better than the incumbent, so the optimum is either the incumbent or inside
them: the reported bound is the best proven one, at most the incumbent's objective (equal to it: proven optimal)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from optimiser import progress
from optimiser.inputs.domain import SolveOptions
from optimiser.model.problem import Problem
from optimiser.model.transforms import fix_decisions, relax_access_crossings
from optimiser.solve import interrupt
from optimiser.solve import relax_first_vectors as vectors
from optimiser.solve.access_routes import AccessRoutes, access_routes
from optimiser.solve.count_split import maximal_count_vectors
from optimiser.solve.cpsat_model import DETERMINISTIC_PER_SECOND, wall_clock_net_s
from optimiser.solve.deadline import Deadline
from optimiser.solve.heuristic import Evaluator, greedy_search
from optimiser.solve.lagrangian import LagrangianResult, lagrangian_bound
from optimiser.solve.lagrangian_split import VectorBound
from optimiser.solve.local_search import INSERT_CANDIDATES, REMOVALS_EVALUATIONS, insert_crossing, swap_crossings
from optimiser.solve.registry import Backend
from optimiser.solve.relax_first_reduced import ReducedProblems
from optimiser.solve.relax_first_refine import refine_phase
from optimiser.solve.relax_first_settings import (
    BACKEND_MIN_SEARCH_SHARE,
    BACKEND_UNITS_PER_S,
    EXACT_BY_VECTOR,
    EXACT_EAGER_UNITS_PER_S,
    EXACT_FIRST_MIN_SEARCH_SHARE,
    EXACT_MAX_LEVELS,
    FIRST_ROUND_SHARE,
    IMPROVE_INCIDENCES_PER_S,
    INSERT_MIN_GAP,
    LAGRANGIAN_MAX_ITERATIONS,
    LAGRANGIAN_MIN_SAFETY_SHARE,
    LAGRANGIAN_SHARE,
    LAGRANGIAN_SHARE_LARGE,
    LAGRANGIAN_UNITS_PER_S,
    LATE_PHASE_MIN_SHARE,
    MORE_ROUNDS,
    MORE_ROUNDS_MAX_GAP,
    MORE_ROUNDS_MIN_SHARE,
    OFFER_INCIDENCES_PER_S,
    PLAN_HORIZON_S,
    POLISH_MAX_SWAPS,
    POLISH_RESERVE_SHARE,
    RELAX_INCIDENCES_PER_S,
    RELAX_MAX_LEVELS,
    ROUTE_CAP_INCUMBENT,
    ROUTE_CAP_MULTIPLIER,
    ROUTES_ENABLED,
    ROUTES_INCIDENCES_PER_S,
    ROUTES_INITIAL_STEP,
    ROUTES_ROUND1_MIN_STEP,
    SETUP_INCIDENCES_PER_S,
    SPLIT_ENABLED,
    SWAP_SECONDS_PER_DECISION_PAIR,
    SWAP_SECONDS_PER_INCIDENCE,
    WHOLE_EXACT_LP_EAGER,
    WHOLE_EXACT_SAT_INPROCESSING,
    WORK_PER_LIMIT_S,
    backend_setup_cost,
    fix_cost,
    greedy_charge_s,
    insert_cost,
    unproven_message,
)
from optimiser.solve.relax_first_sites import PairMoves, crossing_pairs_moved, crossings_moved, sites_exact
from optimiser.solve.relax_first_vectors import exact_by_vector, exact_setup_cost, relax_budget, relax_skipped, split_round, third_round
from optimiser.solve.result import SolveResult, Status, interrupted_result, relative_gap
from optimiser.solve.site_interchange import improve_sites
from optimiser.solve.warmstart import GREEDY_MIN_SAFETY_NET_S

if TYPE_CHECKING:
    from optimiser.solve.vector_lanes import Lane

logger = logging.getLogger(__name__)

_R = TypeVar("_R")


def lagrangian_work(seconds: float) -> float:
    """The work limit of :func:`~optimiser.solve.lagrangian.lagrangian_bound` worth ``seconds`` nominal seconds."""
    return max(0.0, seconds) * LAGRANGIAN_UNITS_PER_S


class RelaxFirst:
    """The relaxation-first strategy on one problem (see the module docstring).

    Use :meth:`run`; each phase is a method and updates the incumbent (``best``,
    ``layout``), the proven bound and ``info`` (reported as ``stats["relaxation"]``).
    """

    def __init__(self, problem: Problem, relaxed: Problem, backend: Backend, options: SolveOptions,
                 deadline: Deadline, evaluator: Evaluator) -> None:
        self.problem, self.relaxed, self.backend, self.options = problem, relaxed, backend, options
        self.ev = evaluator
        self.large = relaxed.info["levels"] > RELAX_MAX_LEVELS
        # the work budget (WORK_PER_LIMIT_S: CP-SAT's); the phases before the exact model plan on at most PLAN_HORIZON_S (run)
        self.full_limit_s = options.time_limit_s * (1.0 if self.large or options.backend != "cpsat" else WORK_PER_LIMIT_S)
        self.limit_s = (self.full_limit_s if self.large or PLAN_HORIZON_S is None
                        else min(self.full_limit_s, PLAN_HORIZON_S))
        # the wall clock: a safety net only (the phases run on the work budget, ``work_s``)
        net = options.wall_limit_s if options.wall_limit_s is not None else wall_clock_net_s(options.time_limit_s)
        self.deadline = Deadline(net, start=deadline.start)
        self.work_s = 0.0  # nominal seconds of work charged so far (deterministic)
        self._work_by_phase: dict[str, float] = {}  # the same per phase, unrounded (info["work_s"] rounds)
        self.safety_net_bound = False  # whether the wall clock ended any phase
        self.best: int | None = None
        self.layout: tuple[int, ...] = ()
        self.bound: float | None = None
        self.bound_from: str | None = None
        self.stats: dict[str, Any] = {}
        self.info: dict[str, Any] = {"levels": relaxed.info["levels"], "plan_s": self.limit_s}
        self.exact_after_rounds = False  # the third round leaves the reduced exact model its share
        self.target = relaxed  # the tightest relaxation at hand
        self.fixed: set[int] = set()  # decisions proven closed in every better layout
        self._reduced = ReducedProblems(problem)
        self._levels: dict[frozenset[int], int] = {}  # reduced_levels by closed set (two products over the model each)
        self._seen: set[tuple[int, ...]] = set()
        self.pair_moves = PairMoves()  # crossing_pairs_moved's index and layouts searched
        self._offered: set[tuple[int, ...]] = set()  # layouts evaluated on the exact model
        self._offer_s = 0.0  # nominal seconds charged for evaluating them (a round's work counts its own)
        self._improved: set[tuple[int, ...]] = set()  # layouts whose sites were re-chosen
        self.is_crossing: list[bool] = problem.crossing_mask.tolist()
        self.routes: AccessRoutes | None = None  # exact access routes, from round 2 on
        # the budget's maximal count vectors: round 2 bounds each (small relaxations only)
        self.count_vectors = None if self.large or not SPLIT_ENABLED else maximal_count_vectors(problem)
        self.vector_bounds: list[VectorBound] = []  # what round 2 proved per count vector
        self.relaxed_optimum: tuple[Problem, tuple[int, ...]] | None = None  # phase 4's relaxation (unfixed), optimum
        # the first relaxation and the evaluator were built before the phases: their work counts
        self.charge(self.ev.size / SETUP_INCIDENCES_PER_S, "set-up")

    # ------------------------------------------------------------------ bookkeeping
    def offer(self, cand: Iterable[int], where: str) -> None:
        """Keep ``cand`` as the incumbent if it is feasible and better."""
        cand = tuple(sorted(int(i) for i in cand))
        if cand in self._offered:
            return  # evaluated before: the same answer
        self._offered.add(cand)
        self._offer_s += self.ev.size / OFFER_INCIDENCES_PER_S
        self.charge(self.ev.size / OFFER_INCIDENCES_PER_S, "layouts evaluated")
        x = self.ev.layout(cand)
        if self.ev.feasible(x):
            obj = int(self.ev.objective(x))
            if self.best is None or obj < self.best:
                self.best, self.layout, self.info["incumbent_from"] = obj, cand, where
                progress.incumbent(obj, None, f"relax-first: {where}")

    def prove(self, value: float | None, where: str) -> None:
        """Keep ``value`` as the bound if it is a better one."""
        if value is not None and math.isfinite(value) and (self.bound is None or value > self.bound):
            self.bound, self.bound_from = float(value), where
            progress.incumbent(None, self.bound)

    def remaining(self) -> float:
        """Nominal seconds left of the work budget (``full_limit_s``: the time limit times ``WORK_PER_LIMIT_S``
        or 1, less the work charged; before the exact phase, of the planned limit: ``PLAN_HORIZON_S``)."""
        return self.limit_s - self.work_s

    def charge(self, seconds: float, what: str) -> None:
        """Charge ``seconds`` of nominal work (``info["work_s"]`` keeps the account per phase, each
        total rounded to 1 ms when shown: charges below that add up instead of rounding away)."""
        self.work_s += max(0.0, float(seconds))
        self._work_by_phase[what] = self._work_by_phase.get(what, 0.0) + float(seconds)
        self.info.setdefault("work_s", {})[what] = round(self._work_by_phase[what], 3)

    def wall_left(self) -> float:
        """Seconds left of the wall-clock safety net (at least 0)."""
        return max(0.0, self.deadline.remaining_s())

    def note_net(self, stopped_by: str | None) -> None:
        """Record that a phase's wall-clock safety net ended it."""
        if stopped_by in ("safety net", "wall_clock"):
            self.safety_net_bound = True

    def backend_cost(self, levels: int) -> float:
        """Nominal seconds charged for a backend call's set-up on ``levels`` radius levels."""
        return backend_setup_cost(levels, self.options.backend)

    def affords(self, levels: int, budget_s: float) -> bool:
        """Whether a backend phase of ``budget_s`` nominal seconds on ``levels`` radius levels
        leaves its search at least ``BACKEND_MIN_SEARCH_SHARE`` of the time limit."""
        return budget_s - self.backend_cost(levels) >= BACKEND_MIN_SEARCH_SHARE * self.limit_s

    def forced_budget(self, problem: Problem) -> float:
        """The budget of a backend call that must run (no incumbent, or to explain why nothing
        is feasible): the work left, and at least its set-up and ``LATE_PHASE_MIN_SHARE`` of the limit."""
        return max(self.remaining(), self.backend_cost(problem.n_levels()) + LATE_PHASE_MIN_SHARE * self.limit_s)

    def fix(self, problem: Problem, values: dict[int, int], what: str, lane: Lane | None = None) -> Problem:
        """:func:`fix_decisions`, charged (``FIX_SECONDS_PER_LEVEL``) to ``what`` (on ``lane``'s account if given)."""
        (lane or self).charge(fix_cost(problem.n_levels()), what)
        return fix_decisions(problem, values)

    def backend_solve(self, problem: Problem, budget_s: float, what: str, eager_lp: bool = False,
                      shown: tuple[bool, bool] = (True, True), inprocessing: bool = True, **kw: Any) -> SolveResult:
        """A backend call worth ``budget_s`` nominal seconds: its set-up (:meth:`backend_cost`) first, the rest its
        search (CP-SAT: its deterministic limit), the wall-clock net left as its safety net; charged the set-up and
        its deterministic time (CP-SAT) or its whole search limit. Callers check :meth:`affords` first. With
        ``eager_lp`` and one worker, CP-SAT's "lp" settings become "lp-eager"; every call whose settings are
        "lp-eager" (switched so, or the run's own) counts its units at ``EXACT_EAGER_UNITS_PER_S``. ``shown``:
        whether the backend's incumbents and bounds are the run's (the heartbeat drops the others: :func:`progress.partial_model`).
        ``inprocessing`` off: CP-SAT without its clause inprocessing whatever the run's options (``WHOLE_EXACT_SAT_INPROCESSING``)."""
        def call(opts: SolveOptions) -> tuple[SolveResult, float | None, str | None]:
            with progress.partial_model(*shown):
                r = self.backend.solve(problem, opts if inprocessing else opts.replace(sat_inprocessing=False), **kw)
            return r, r.stats.get("deterministic_time"), r.stopped_by

        return self.charged_search(problem.n_levels(), budget_s, eager_lp, what, call)

    def charged_search(self, levels: int, budget_s: float, eager_lp: bool, what: str,
                       call: Callable[[SolveOptions], tuple[_R, float | None, str | None]],
                       lane: Lane | None = None) -> _R:
        """Run ``call`` (a search on a model of ``levels`` radius levels, given its options;
        returning its result, CP-SAT's deterministic units or ``None``, and its ``stopped_by``)
        worth ``budget_s`` nominal seconds: its set-up (:meth:`backend_cost`) first, the rest its
        search limit (:meth:`search_options`); charged to ``what`` the set-up and its units, or its
        whole search limit without them; on a ``lane`` (:mod:`~optimiser.solve.vector_lanes`), charged to it."""
        setup = self.backend_cost(levels)
        search = max(0.01, budget_s - setup)
        opts, rate = self.search_options(search, eager_lp)
        r, det, stopped_by = call(opts)
        (lane or self).charge(setup + (min(search, det / rate) if det is not None else search), what)
        self.note_net(stopped_by)
        return r

    def search_options(self, search_s: float, eager_lp: bool) -> tuple[SolveOptions, float]:
        """The options of a backend search worth ``search_s`` nominal seconds (the wall-clock net left as its
        safety net; one worker whatever the run's, which go to the exact phase's lanes), and CP-SAT's units per nominal s."""
        # one: CP-SAT's portfolio was slower and not reproducible (benchmarks/realsites, wave 20)
        workers = 1
        eager = eager_lp and self.options.cpsat_search == "lp"
        cpsat_search = "lp-eager" if eager else self.options.cpsat_search
        rate = EXACT_EAGER_UNITS_PER_S if cpsat_search == "lp-eager" else BACKEND_UNITS_PER_S
        # CP-SAT: ``rate`` units per second of the search (its limit: DETERMINISTIC_PER_SECOND per second given)
        limit = search_s * rate / DETERMINISTIC_PER_SECOND if self.options.backend == "cpsat" else search_s
        return self.options.replace(time_limit_s=limit, wall_limit_s=max(0.05, self.wall_left()),
                                    cpsat_search=cpsat_search, workers=workers), rate

    def elapsed(self) -> float:
        """Seconds since the start, rounded for the stats."""
        return round(self.deadline.elapsed_s(), 3)

    def tighten_cost(self) -> float:
        """Nominal seconds charged for building a tighter relaxation."""
        return self.ev.size / RELAX_INCIDENCES_PER_S

    def improve_cost(self) -> float:
        """Nominal seconds charged for one :meth:`improve`."""
        return self.ev.size / IMPROVE_INCIDENCES_PER_S

    def swap_cost(self) -> float:
        """Nominal seconds charged for one search of crossing exchanges from the incumbent."""
        built = sum(1 for i in self.layout if self.is_crossing[i])
        return max(1, built) * (self.ev.size * SWAP_SECONDS_PER_INCIDENCE + self.ev.n_d ** 2 * SWAP_SECONDS_PER_DECISION_PAIR)

    def polish(self, where: str, rechoose: bool = True, insert: bool = False, pairs: bool = False) -> None:
        """The incumbent's crossings exchanged one for one (:func:`swap_crossings`: the best
        confirmed improving exchange of a built crossing for one not built, evaluated exactly),
        and when none improves (``pairs``) moved two at a time (:func:`crossing_pairs_moved`), (``insert``) a crossing
        that does not fit inserted (:meth:`insert`), while one improves and the budget allows; then (``rechoose``) its
        sites re-chosen (:meth:`improve`) when that is affordable, and the moves again if that
        moved a site. 200 firms: the incumbent 4,821.6M -> 4,809.3M in two exchanges, 500 firms
        26,259.5M -> 26,181.6M in one (about 0.2-0.5 s of CPU per search)."""
        swaps = 0
        while self.layout and swaps < POLISH_MAX_SWAPS and not interrupt.requested():
            cost = self.swap_cost()
            if self.remaining() < cost:
                break
            step = swap_crossings(self.ev, self.ev.layout(self.layout), int(self.best or 0))
            self.charge(cost, "crossings exchanged")
            if step is not None:
                swaps += 1
                self.offer(np.nonzero(step[0])[0].tolist(), where)
                continue
            if (pairs and crossing_pairs_moved(self, where + ", crossings moved in pairs")) or (insert and self.insert(where)):
                swaps += 1
                continue
            if not rechoose or self.layout in self._improved or self.remaining() < self.improve_cost():
                break
            before = self.best
            self.improve(self.layout, where + ", sites re-chosen")
            if self.best == before:
                break
        self.info.setdefault("crossings_exchanged", []).append(swaps)

    def insert_cost(self, evaluations: int, gain_evaluations: int) -> float:
        """Nominal seconds charged for a search of insertions' evaluations (:func:`insert_cost`)."""
        return insert_cost(self.ev.size, evaluations, gain_evaluations)

    def insert(self, where: str) -> bool:
        """A crossing that does not fit inserted into the incumbent, built crossings ejected
        (:func:`insert_crossing`), when the budget covers a search of ``INSERT_CANDIDATES``
        insertions with about two ejections (``REMOVALS_EVALUATIONS`` each), two re-completions
        and six gain evaluations each; whether it improved
        the incumbent. Held-out realsites rs015 at a 10 s limit: 3,863.0M (the greedy's) ->
        3,567.9M by one insertion, then 3,518.2M by the polish's exchanges and site re-choice
        (``info["crossings_inserted"]``: 3 searches, 1 improving)."""
        if not self.layout or self.best is None:
            return False
        if self.remaining() < self.insert_cost(INSERT_CANDIDATES * (2 * REMOVALS_EVALUATIONS + 2), INSERT_CANDIDATES * 6):
            return False
        found = insert_crossing(self.ev, self.ev.layout(self.layout), int(self.best), candidates=INSERT_CANDIDATES)
        self.charge(self.insert_cost(found.evaluations, found.gain_evaluations), "crossings inserted")
        acc = self.info.setdefault("crossings_inserted", [0, 0])
        acc[0] += 1
        if found.layout is None:
            return False
        acc[1] += 1
        before = self.best
        self.offer(np.nonzero(found.layout)[0].tolist(), where + ", crossing inserted")
        return self.best < before

    def improve(self, layout: Iterable[int], where: str) -> None:
        """Offer ``layout`` with its sites re-chosen (:func:`improve_sites`: its moves are its
        work limit, the wall clock left its safety net)."""
        layout = tuple(sorted(int(i) for i in layout))
        if layout in self._improved:
            return  # re-chosen before: the same answer (200 firms: 5 s of CPU saved per call)
        better = tuple(improve_sites(self.problem, layout, evaluator=self.ev, safety_net_s=max(0.2, self.wall_left())))
        self._improved |= {layout, better}  # its result is a local optimum of the same moves
        self.offer(better, where)
        self.charge(self.improve_cost(), "sites re-chosen")

    def reduced(self) -> Problem:
        """The problem with the closed decisions fixed at 0 (built once per set of closed, from the last built)."""
        if (red := self._reduced.get(self.fixed)) is None:
            self.charge(self.reduce_cost(), "decisions fixed")
            red = self._reduced.build(self.fixed)
        return red

    def reduce_cost(self, rebuilt: bool = False) -> float:
        """Nominal seconds :meth:`reduced` will charge for fixing the closed decisions: 0 when
        none are closed or (unless ``rebuilt``: more will be closed by then) that problem is
        built already; else by the levels of the problem it fixes (:meth:`ReducedProblems.source`)."""
        if not self.fixed or (not rebuilt and self._reduced.get(self.fixed) is not None):
            return 0.0
        return fix_cost(self._reduced.source(self.fixed).n_levels())

    def reduced_levels(self, closed_ids: Iterable[int] | None = None) -> int:
        """The radius levels of :meth:`reduced` (or of the problem with ``closed_ids`` fixed at
        0) without building it: fixing decisions at 0 drops the options needing them and the
        levels left with no option."""
        key = frozenset(self.fixed if closed_ids is None else closed_ids)
        if key not in self._levels:
            closed = np.zeros(self.ev.n_d, dtype=np.int32)
            closed[sorted(key)] = 1
            self._levels[key] = int(((self.ev.M @ ((self.ev.A @ closed) == 0).astype(np.int32)) > 0).sum())
        return self._levels[key]

    def _log_phase(self, phase: str) -> None:
        logger.info("relax-first %s: incumbent %s, bound %s, gap %s, %.1f s", phase, self.best, self.bound,
                    None if self.best is None else relative_gap(float(self.best), self.bound), self.elapsed())

    # ------------------------------------------------------------------ phases
    def incumbent_phase(self) -> None:
        """1. The greedy layout, its sites re-chosen (exactly if affordable, not large), its crossings exchanged and moved."""
        greedy = greedy_search(self.problem, evaluator=self.ev, safety_net_s=max(GREEDY_MIN_SAFETY_NET_S, self.wall_left()))
        self.info["greedy_stopped_by"] = greedy.stopped_by
        self.note_net(greedy.stopped_by)
        self.charge(greedy_charge_s(greedy), "greedy")
        if greedy.layout is not None:
            self.offer(greedy.layout, "greedy")
            if self.large or not sites_exact(self, "greedy, sites exact"):
                self.improve(greedy.layout, "greedy, sites re-chosen")
            self.polish("greedy, crossings exchanged", rechoose=False, pairs=True)
            crossings_moved(self, "greedy, crossing moved with its sites")
        self.info["greedy_seconds"] = self.elapsed()
        self._log_phase("greedy")

    def _on_layout(self, cand: tuple[int, ...]) -> float | None:
        """A Lagrangian layout: offered as it is, and its crossings with the incumbent's sites (the knapsack ignores spacing
        and the like, so its own layout is often infeasible; 200 firms: 4,838M from the greedy's 4,972M, 4,822M so)."""
        if cand not in self._seen:
            self._seen.add(cand)
            self.offer(cand, "lagrangian")
            if self.layout:
                sites = [i for i in self.layout if not self.is_crossing[i]]
                self.offer([i for i in cand if self.is_crossing[i]] + sites, "lagrangian crossings, incumbent's sites")
        return self.best

    def _lagrangian(self, problem: Problem, upper_bound: float | None, seconds: float, safety_share: float,
                    **kw: Any) -> LagrangianResult:
        """One Lagrangian round worth ``seconds`` (its work limit: its iterations and the layouts
        it offers, each charged as such), the wall clock until ``safety_share`` of the safety
        net its safety net."""
        offered_before = self._offer_s
        res = lagrangian_bound(problem, upper_bound, max_iterations=LAGRANGIAN_MAX_ITERATIONS,
                               max_work=lagrangian_work(seconds), safety_net_s=self.deadline.share_left(safety_share),
                               outside_work=lambda: lagrangian_work(self._offer_s - offered_before), **kw)
        self.info.setdefault("lagrangian_stopped_by", []).append(res.stopped_by)
        self.note_net(res.stopped_by)
        self.charge(res.work / LAGRANGIAN_UNITS_PER_S, "lagrangian")
        return res

    def lagrangian_phase(self) -> LagrangianResult:
        """2. The Lagrangian bound and reduction tests on the relaxation, in two rounds, each
        offering its layouts as incumbents on the way (200 firms: a Lagrangian layout, 4,857M,
        beats the greedy's, 5,026M, and sharpens the steps and tests); between them the best
        layout's sites are re-chosen."""
        share = LAGRANGIAN_SHARE_LARGE if self.large else LAGRANGIAN_SHARE
        # a share of the work left after the incumbent phase, in two rounds
        budget = share * max(0.0, self.remaining())
        round_s = FIRST_ROUND_SHARE * budget
        # safety nets (the wall clock, on a slow machine): round 1 by the end of the share (at
        # least LAGRANGIAN_MIN_SAFETY_SHARE of the net), round 2 halfway between it and the end
        safety = max(share, LAGRANGIAN_MIN_SAFETY_SHARE)
        start = None
        if self.layout:
            start = self.ev.layout_lengths(self.layout)
        before = self.layout
        lag = self._lagrangian(self.relaxed, self.best, round_s, safety, start_lengths=start, on_layout=self._on_layout,
                               min_step=ROUTES_ROUND1_MIN_STEP if ROUTES_ENABLED else 1e-4)
        rounds = [lag.iterations]
        if math.isfinite(lag.bound):
            self.offer(lag.layout, "lagrangian")
            first_gap = None if self.best is None else relative_gap(float(self.best), lag.bound)
            self.info["first_round_gap"] = None if first_gap is None else round(first_gap, 5)
            if first_gap is not None and first_gap > 0.0 and (first_gap >= INSERT_MIN_GAP or not self.large):
                # the incumbent may miss a dear crossing (before the routes are collected and
                # round 2 tests against it); on a large relaxation only far from the bound
                self.polish("lagrangian round 1, crossings inserted", insert=True)
            self.collect_routes(lag)
            if self.layout and self.layout != before:
                # a Lagrangian layout (or its crossings with the incumbent's sites): its sites re-chosen (200
                # firms: 4,838M -> 4,822M); not the incumbent it started from (500 firms: nothing gained, 4.9 s)
                self.improve(self.layout, "lagrangian, sites re-chosen")
            if self.best is None or lag.bound < self.best:
                # round 2: the rest, less about three searches of crossing exchanges and the
                # layouts the round offers (charged besides its iterations) (small relaxations:
                # at most half the share; the backend phases come after them)
                left = self.remaining() - 3 * self.swap_cost() - POLISH_RESERVE_SHARE * self.limit_s
                lag = self._second_round(lag, left if self.large else min(round_s, left), 0.5 * (1.0 + safety), rounds)
            # the last phase when the relaxation is large: crossings exchanged, sites re-chosen,
            # then what they left to the bound (from the multipliers, against the better incumbent)
            self.polish("lagrangian, crossings exchanged")
            if self.large and (self.best is None or lag.bound < self.best):
                lag = self._second_round(lag, self.remaining(), 1.0, rounds)
        self.info["lagrangian_rounds"] = rounds
        return lag

    def collect_routes(self, lag: LagrangianResult) -> None:
        """The exact access routes below their caps (:data:`ROUTE_CAP_INCUMBENT`,
        :data:`ROUTE_CAP_MULTIPLIER`): from round 2 on, the bound makes walks to facilities pay
        for their crossings (:mod:`optimiser.solve.access_routes`), which the relaxation lets
        them use for free. 200 firms: no bound of the relaxation can exceed 4,746.1M (its
        optimum is at most that); with the routes the rounds reach 4,760M."""
        if not self.layout or not ROUTES_ENABLED:
            return
        start = self.ev.layout_lengths(self.layout)
        n_c = len(self.problem.clients)
        cap = np.maximum(ROUTE_CAP_INCUMBENT * self.ev.w * start, ROUTE_CAP_MULTIPLIER * lag.multipliers[0][:n_c])
        self.routes = access_routes(self.ev, cap)
        if self.routes is not None:
            self.charge(self.routes.size / ROUTES_INCIDENCES_PER_S, "access routes")
            self.info["access_routes"] = self.routes.size

    def _second_round(self, lag: LagrangianResult, round_s: float, safety: float, rounds: list[int]) -> LagrangianResult:
        """Round 2 on a tighter relaxation when crossings were closed: their access options
        are dropped instead of relaxed (500 firms: 48 of 102 crossings closed, the bound
        0.88% -> 0.68% below the incumbent in the same number of iterations)."""
        if round_s < 0.02 * self.limit_s:  # not worth a round
            return lag
        if (round_s - self.tighten_cost() >= 0.25 * round_s
                and any(self.is_crossing[i] for i in lag.fixed_zero)):
            round_s -= self.tighten_cost()
            tight = relax_access_crossings(self.problem, closed=lag.fixed_zero)
            self.charge(self.tighten_cost(), "tighter relaxation")
            if tight is not None:
                self.target = tight
                self.info["tightened_levels"] = tight.info["levels"]
        if self.target is self.relaxed and lag.step < 1e-4:
            return lag
        step = lag.step
        if self.routes is not None and lag.access_multipliers is None:
            step = max(step, ROUTES_INITIAL_STEP)  # the routes' multipliers start at 0: room to move
        kw: dict[str, Any] = {"multipliers": lag.multipliers, "initial_step": step, "on_layout": self._on_layout,
                              "closed": lag.fixed_zero, "routes": self.routes,
                              "access_multipliers": lag.access_multipliers}
        if self.count_vectors is not None and self.best is not None:
            more = split_round(self, round_s, safety, kw)  # split over the budget's count vectors
        else:
            more = self._lagrangian(self.target, self.best, round_s, safety, **kw)
        rounds.append(more.iterations)
        lag = replace(more, bound=max(lag.bound, more.bound), fixed_zero=lag.fixed_zero | more.fixed_zero)
        self.offer(lag.layout, "lagrangian")
        return lag

    def more_rounds_phase(self, lag: LagrangianResult) -> LagrangianResult:
        """2b. When the exact model cannot come first (:meth:`exact_first`), the relaxation is not
        large and rounds 1-2 leave a gap below ``MORE_ROUNDS_MAX_GAP``: a third round with the work
        left, less the polish reserve (as round 2 leaves it), from round 2's multipliers, when that
        is at least ``MORE_ROUNDS_MIN_SHARE`` of the limit; then the incumbent polished again.
        When the rest of ``MORE_ROUNDS_SHARE`` of it would cover the exact phase (:meth:`exact_fits`: its set-up at
        the reduced model's size now, which the round only shrinks), the round gets that share and :attr:`exact_after_rounds`
        says the exact model gets the rest (phases 3-4 skipped: ``info["exact_after_rounds"]``); near the optimum, when it
        fits only without the round, it gets everything instead (:func:`~optimiser.solve.relax_first_vectors.third_round_plan`);
        else the round runs in two pieces and ends after the first when the exact phase then fits in the rest
        (:func:`~optimiser.solve.relax_first_vectors.third_round`), or when phase 4 can run (phases 3-4 get the rest), else
        the round gets it. A skip is recorded in ``info["more_rounds_skipped"]``."""
        if not MORE_ROUNDS or self.large or self.best is None or (self.bound is not None and self.bound >= self.best):
            return lag
        gap = relative_gap(self.best, self.bound)
        if gap is None or (gap >= MORE_ROUNDS_MAX_GAP and vectors.relax_affordable(self)):
            self.info["more_rounds_skipped"] = "no bound after two rounds" if gap is None else "gap after two rounds too large"
            return lag
        plan = vectors.third_round_plan(self, gap)
        if plan is None:  # the exact model gets all the work left instead (EXACT_INSTEAD_MAX_GAP)
            self.exact_after_rounds = self.info["exact_after_rounds"] = True
            return lag
        left, after = plan
        if left < MORE_ROUNDS_MIN_SHARE * self.limit_s:
            self.info["more_rounds_skipped"] = "work left below its share"
            return lag
        rounds = list(self.info["lagrangian"]["iterations"])
        lag, after = third_round(self, lag, left, rounds, after)
        self.exact_after_rounds = after
        self.info["exact_after_rounds"] = after
        self.polish("lagrangian, crossings exchanged")
        self.prove(lag.bound, "lagrangian")
        self.fixed |= set(lag.fixed_zero)
        self.info["lagrangian"] = {**self.info["lagrangian"], "bound": self.bound, "iterations": rounds,
                                   "closed": len(self.fixed), "seconds": self.elapsed()}
        self._log_phase("lagrangian, more rounds")
        return lag

    def exact_fits(self, rest_s: float, levels: int) -> bool:
        """Whether ``rest_s`` nominal s of the planned limit and the work beyond it (``PLAN_HORIZON_S``) cover the exact
        phase on ``levels`` radius levels: its set-up (:func:`exact_setup_cost`), a minimum search and ``LATE_PHASE_MIN_SHARE``."""
        rest_s += self.full_limit_s - self.limit_s
        return (levels <= EXACT_MAX_LEVELS and rest_s >= LATE_PHASE_MIN_SHARE * self.limit_s
                and rest_s - exact_setup_cost(self, levels) >= BACKEND_MIN_SEARCH_SHARE * self.limit_s)

    def alternating_phase(self) -> None:
        """3. Alternating exact re-optimisation from the incumbent: crossings by the backend,
        then sites by interchange, while it improves."""
        others = [i for i, c in enumerate(self.is_crossing) if not c and i not in self.fixed]
        steps: list[dict[str, Any]] = []
        while self.best is not None and self.remaining() > 0.4 * self.limit_s and len(steps) < 6:
            before = self.best
            budget = 0.25 * self.remaining()
            # its size before building it (the sites fixed open add nothing, closed drop options)
            if not self.affords(self.reduced_levels(self.fixed | {i for i in others if i not in self.layout}), budget):
                self.info["alternating_skipped"] = "budget below its set-up"
                break
            fixed_sites = self.fix(self.reduced(), {i: int(i in self.layout) for i in others}, "alternating")
            r = self.backend_solve(fixed_sites, budget - fix_cost(self.reduced().n_levels()), "alternating",
                                   shown=(True, False), starts=(self.layout,))  # its bound: its sites' only
            if r.status.has_solution:
                self.offer(r.chosen, "alternating")
            self.improve(self.layout, "alternating")
            steps.append({"status": r.status, "objective": self.best, "seconds": self.elapsed()})
            if self.best >= before:
                break  # neither side improves the other any more
        self.info["alternating"] = steps
        self._log_phase("alternating")

    def retest_phase(self, lag: LagrangianResult, tested_against: int | None) -> None:
        """The reduction tests again, against a better incumbent (a few iterations from the multipliers)."""
        if self.best is None or tested_against is None or self.best >= tested_against:
            return
        if self.remaining() <= LATE_PHASE_MIN_SHARE * self.limit_s:
            return
        seconds = min(2.0, 0.05 * self.limit_s)
        lag2 = lagrangian_bound(self.target, self.best, max_iterations=50, max_work=lagrangian_work(seconds),
                                safety_net_s=max(2 * seconds, self.wall_left()), multipliers=lag.multipliers, closed=self.fixed,
                                routes=self.routes, access_multipliers=lag.access_multipliers)
        self.note_net(lag2.stopped_by)
        self.charge(lag2.work / LAGRANGIAN_UNITS_PER_S, "lagrangian")
        self.prove(lag2.bound, "lagrangian")
        self.fixed |= lag2.fixed_zero
        self.info["lagrangian"]["closed"] = len(self.fixed)

    def reduced_relaxation_phase(self) -> None:
        """4. The reduced relaxation: a proven bound and another layout (when small enough to
        help). The tightest relaxation at hand: access options over closed decisions dropped,
        and those decisions fixed at 0."""
        if self.large or self.remaining() <= LATE_PHASE_MIN_SHARE * self.limit_s:
            return
        if self.best is not None and self.bound is not None and self.bound >= self.best:
            return
        if relax_skipped(self):
            return
        rrel = unfixed = self.relaxed
        if self.fixed:
            unfixed = relax_access_crossings(self.problem, closed=self.fixed) or self.relaxed
            self.charge(self.tighten_cost(), "reduced relaxation")
            rrel = self.fix(unfixed, {i: 0 for i in self.fixed}, "reduced relaxation")
        info: dict[str, Any] = {"levels": rrel.n_levels()}
        self.info["reduced_relaxation"] = info
        if info["levels"] > RELAX_MAX_LEVELS:
            return
        budget = relax_budget(self, built=True)
        if not self.affords(info["levels"], budget):
            info["skipped"] = "budget below its set-up"
            return
        r1 = self.backend_solve(rrel, budget, "reduced relaxation", shown=(False, True), starts=(self.layout,) if self.layout else ())
        info.update({"status": r1.status, "objective": r1.objective, "bound": r1.bound, "seconds": self.elapsed()})
        if r1.status.has_solution:
            self.prove(r1.bound, "relaxation")
            self.offer(r1.chosen, "relaxation")
            self.improve(r1.chosen, "relaxation")
            self.stats = r1.stats
            self.relaxed_optimum = (unfixed, r1.chosen) if r1.status is Status.OPTIMAL else None
        self._log_phase("reduced relaxation")

    def exact_first(self) -> bool:
        """Whether the reduced exact model gets the whole budget left, skipping phases 3-4: when the relaxation is not
        large, an incumbent exists and the budget leaves the exact model's search at least ``EXACT_FIRST_MIN_SEARCH_SHARE``
        of the limit after its set-up. Measured on benchmarks/realsites (rs005 at a 120 s limit, 50 firms): the alternating
        phase found nothing (12 nominal s), the reduced relaxation's optimum is below the optimum (4,319,779,979 against
        4,327,035,331, 16 nominal s): neither can prove; the exact model proved the incumbent optimal (3.48 units). rs006
        the same (300 s: the greedy incumbent proven by the exact model). Recorded in ``info["exact_first"]``."""
        if self.large or self.best is None or (self.bound is not None and self.bound >= self.best):
            return False
        levels = self.reduced_levels()
        build = self.reduce_cost()
        search = self.remaining() - build - self.backend_cost(levels)
        first = levels <= EXACT_MAX_LEVELS and search >= EXACT_FIRST_MIN_SEARCH_SHARE * self.limit_s
        self.info["exact_first"] = first
        return first

    def exact_phase(self) -> SolveResult | None:
        """5. The reduced exact model with the time left, per count vector when :meth:`by_vector`
        (:func:`~optimiser.solve.relax_first_vectors.exact_by_vector`); its result when no
        incumbent exists and it finds none either (then it is the answer)."""
        if self.best is not None and (self.remaining() < LATE_PHASE_MIN_SHARE * self.limit_s or self.large
                                      or (self.bound is not None and self.bound >= self.best)):
            # large: the Lagrangian is the bound; the exact model, even reduced (500 firms:
            # 827k levels), takes longer to build than it has left and 4 GB, and moves nothing
            return None
        # its size first, from the evaluator's matrices (building it takes about 2 us per
        # incidence: 25 s at 200 firms, for a model then too large to use)
        self.info["reduced_levels"] = self.reduced_levels()
        if self.best is not None and self.info["reduced_levels"] > EXACT_MAX_LEVELS:
            self.info["exact_skipped"] = f"too large: {self.info['reduced_levels']:,} radius levels, over {EXACT_MAX_LEVELS:,}"
            self.info["exact_too_large"] = self.info["reduced_levels"]
            return None
        if self.by_vector() and not exact_by_vector(self, self.info["reduced_levels"]):
            return None
        # its set-up (building the model, CP-SAT's LP) is charged besides its search: with an incumbent it runs only when
        # the budget covers both (rs005 at a 10 s limit: 161k levels, 6 s of set-up, was run with 0.5 s of search and found nothing)
        build = self.reduce_cost()
        if self.best is not None and not self.affords(self.info["reduced_levels"], self.remaining() - build):
            self.info["exact_skipped"] = "budget below its set-up"
            return None
        red = self.reduced()
        budget = self.remaining() if self.best is not None else self.forced_budget(red)
        r3 = self.backend_solve(red, budget, "exact model", eager_lp=WHOLE_EXACT_LP_EAGER,
                                inprocessing=WHOLE_EXACT_SAT_INPROCESSING, starts=(self.layout,) if self.layout else ())
        if r3.status.has_solution:
            self.offer(r3.chosen, "exact model")
            self.prove(r3.bound, "exact model")
            self.stats = r3.stats
        elif self.best is None:
            return replace(r3, stats={**r3.stats, "relaxation": self.info})
        self._log_phase("exact model")
        return None

    def by_vector(self) -> bool:
        """Whether the exact phase runs per count vector (:mod:`optimiser.solve.relax_first_vectors`): with
        ``EXACT_BY_VECTOR``, CP-SAT, an incumbent and round 2's bound of each vector."""
        return (EXACT_BY_VECTOR and self.options.backend == "cpsat" and self.best is not None
                and self.count_vectors is not None and bool(self.vector_bounds))

    def finish(self, backend_name: str) -> SolveResult:
        """The result: the incumbent, the best proven bound (at most its objective) and the gap."""
        assert self.best is not None
        best = float(self.best)
        bound = min(self.bound, best) if self.bound is not None else None
        gap = relative_gap(best, bound)
        status = Status.OPTIMAL if gap == 0.0 else Status.FEASIBLE
        msg = "proven optimal" if status is Status.OPTIMAL else unproven_message(gap, self.info.get("exact_too_large"))
        stats = {**self.stats, "relaxation": self.info, "bound_from": self.bound_from, "incumbent": self.info.get("incumbent_from")}
        self.info["work_s"]["total"] = round(self.work_s, 3)
        # the phases run on the work budget: the answer is the machine's only when a safety net bound (said so)
        stopped_by = None if status is Status.OPTIMAL else ("wall_clock" if self.safety_net_bound else "work_limit")
        if stopped_by == "wall_clock":
            logger.info("relax-first: the wall-clock safety net (%.1f s) ended a phase: the answer may differ on a "
                        "faster or slower machine", self.deadline.limit_s)
        return SolveResult(status, best, bound, gap, self.deadline.elapsed_s(), backend_name, self.options.seed,
                           self.layout, (), msg, stats, stopped_by=stopped_by)

    # ------------------------------------------------------------------ all phases
    def interrupted(self) -> SolveResult:
        """The result after SIGINT / SIGTERM (:mod:`optimiser.solve.interrupt`): no layout."""
        return interrupted_result(self.options.backend, self.options.seed, self.deadline.elapsed_s(), self.bound,
                                  None if self.best is None else float(self.best), {"relaxation": self.info})

    def run(self) -> SolveResult:
        """Every phase in turn; the result (the backend's own when the relaxation proves
        that nothing meets the budget and counts, so that it explains why). After SIGINT /
        SIGTERM no further phase starts and the result is "interrupted"."""
        self.incumbent_phase()
        lag = self.lagrangian_phase()
        if interrupt.requested():
            return self.interrupted()
        if lag.bound == math.inf:
            # the budget and counts alone cannot be met: the exact model explains why
            self.limit_s = self.full_limit_s
            res = self.backend_solve(self.problem, self.forced_budget(self.problem), "exact model")
            return replace(res, stats={**res.stats, "relaxation": self.info})
        self.prove(lag.bound, "lagrangian")
        self.fixed = set(lag.fixed_zero)
        self.info["lagrangian"] = {"bound": lag.bound, "iterations": self.info.pop("lagrangian_rounds"),
                                   "closed": len(self.fixed), "seconds": self.elapsed()}
        self._log_phase("lagrangian")
        tested_against = self.best
        # the exact model first when it can run: phases 3-4 prove nothing it would not (see exact_first)
        phases: tuple[Any, ...] = ()
        levels = self.reduced_levels()
        if self.limit_s < self.full_limit_s and (levels > EXACT_MAX_LEVELS or not self.by_vector() and exact_setup_cost(
                self, levels) > self.full_limit_s - self.work_s):
            # the exact model too large to take the rest (or, no count vectors, its set-up over the work left): plan on all
            self.limit_s = self.full_limit_s
            self.info["plan_s"] = self.limit_s
        if not self.exact_first():
            lag = self.more_rounds_phase(lag)
            if interrupt.requested():
                return self.interrupted()
            if not self.exact_after_rounds:
                phases = (self.alternating_phase, lambda: self.retest_phase(lag, tested_against),
                          self.reduced_relaxation_phase)
        for phase in phases:
            phase()
            if interrupt.requested():
                return self.interrupted()
        self.limit_s = self.full_limit_s  # the exact model gets all the work left of the real limit (see PLAN_HORIZON_S)
        early = self.exact_phase()
        if interrupt.requested():
            return self.interrupted()
        if early is not None:
            return early
        refine_phase(self)  # 6. phase 4's relaxation refined with the work left when no exact model ran
        return self.interrupted() if interrupt.requested() else self.finish(self.options.backend)


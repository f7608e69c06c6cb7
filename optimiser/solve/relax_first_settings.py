"""The settings of the relaxation-first strategy (:mod:`optimiser.solve.relax_first`): the
shares of the time limit its phases get, the work rates its phases are charged at (nominal
seconds, measured in CPU seconds where each says) and the switches kept for measuring.

:mod:`optimiser.solve.relax_first` imports every name here as its own, so a test or a benchmark
changes a setting there (``monkeypatch.setattr(relax_first, "MORE_ROUNDS", False)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from optimiser.solve.heuristic import GreedyResult

WORK_PER_LIMIT_S = 1.6
"""Nominal seconds of work per second of the time limit: a run limited to L seconds has a work
budget of ``L * WORK_PER_LIMIT_S`` nominal seconds when its backend is CP-SAT and its relaxation is
not large (at most ``RELAX_MAX_LEVELS`` levels; a large one's budget is L, the rates it spends most on
having been measured there: benchmarks/joint's 200 and 500 firms). With CBC it is L: a CBC search is
charged its whole limit (``NODES_PER_SECOND`` nodes per nominal second, its root not bounded), not
CP-SAT's deterministic units at the rates this factor corrects, and its wall time grew with the factor
(realsites rs004, relax-first at a 6 s limit: 18.3 and 10.1 s of solve in two runs at 1.6, 6.5 and
6.25 s at 1, all optimal, load 3.8-3.9; wave 29's review). The rates below were fitted to CPU seconds
measured mostly under load (1-12), so a nominal second is less than a second of an idle run: on
benchmarks/realsites' relax-first rows at a 60 s limit, nominal seconds of work per second of
solve (wall, near idle, one run at a time) were 1.47-1.84 on this machine's slow state (a
10^7-addition Python loop 1.43 s; wave 29: rs016 14.85 / 10.09 s, rs012 11.46 / 7.07, rs028
13.27 / 7.82, rs005 10.57 / 6.16, rs006 14.29 / 8.01, rs018 11.37 / 6.18, rs013 10.60 / 5.89) and
2.0-2.3 on its fast state (loop 0.75 s; wave 28's limit60/: rs016 14.85 / 7.04, rs006 14.29 /
6.17, rs012 11.46 / 5.69, rs028 13.27 / 5.95). With one nominal second per second, a 10 s limit
stopped after 5-7 s on the fast state with five of the 28 generated rows open (rs006 0.643 %,
rs016 1.043 %, rs012 0.063 %, rs018 0.085 %, rs028 0.061 %: wave 28's limit10/). At 1.6 a 10 s
limit's 16 nominal s take at most about 10.9 s on the slow state (16 / 1.47) and 7-8 s on the fast
one, and it plans the phases before the exact model as every longer limit does
(``PLAN_HORIZON_S``, 14): all 28 rows proven at 10 s with the same optima and the same work as at
60 s (README there, wave 29). At 1.5 rs028 stayed open at 10 s (0.048 %: with 1 nominal s past
the plan its third round ran in one piece, and the exact model's 2.9 nominal s did not prove).
Limits of 60 s keep their plans and answers (every row proven by 15 nominal s)."""

RELAX_SHARE = 0.7
"""Share of the time left given to the reduced relaxation in the relaxation-first strategy..."""

RELAX_MAX_LEVELS = 500_000
"""...which runs only when it has at most this many radius levels: beyond that CP-SAT's bound on it
barely moves within a minute (measured on benchmarks/joint: 200 firms, 584k relaxed levels,
21% gap after 45 s), and the Lagrangian bound is the better one. A relaxation over it is *large*:
a budget of L nominal seconds for a limit of L s, the Lagrangian the bound, no site interchange,
crossing moves or exact model. 250k until wave 40: benchmarks/realsites' independent seed 33
(55 firms, a 373,659-level relaxation, the exact model 1.98M levels) was large, its two Lagrangian
rounds converged with nothing closed and its greedy layout stayed: 5.21 % at a 10 s limit, 2.99 % at
60 s with 17 of 60 nominal s unused. Not large: 1.18 % at 10 s (8.3 s of solve), 0.346 % at 60 s
(24.2 s), with the incumbent 2.3 % better. Of the 113 other realsites problems measured (generate.py's 28
and 12 unseen seeds, the independent generator's 34 and 39 more seeds), none has a relaxation
between 250k and 584k levels (the largest 208k, seed 115), so none changes."""

RELAX_BEFORE_EXACT_MAX_RATIO = 0.25
"""After the first piece of the third round, phases 3-4 come before the exact phase even when it fits in the
rest, when the tightest relaxation at hand has at most this share of the reduced exact model's radius levels
(:func:`~optimiser.solve.relax_first_vectors.relax_first_small`): a relaxation whose optimum is the incumbent's
proves it at a fraction of the exact model's cost, and the exact model still gets what phases 3-4 leave. Measured
at 10 s (benchmarks/realsites README, wave 41): unseen independent seed 201's 246k-level exact model got the rest
(7.3 nominal s) and proved nothing; its 26k-level relaxation first proves the incumbent optimal in 1.1. The same
answers on the other 101 rows. Running phase 4 before the exact model wherever it gets the rest (also near the
optimum, ``EXACT_INSTEAD_MAX_GAP``) cost independent seed 11 its proof: not done. Only when the exact model's work is at
most ``PLAN_HORIZON_S``: with more it proves or narrows the gap itself (independent seed 117 at 60 s: 0.046 %, and
0.233 % with phases 3-4 first)."""

LATE_PHASE_MIN_SHARE = 0.1
"""The least share of the time limit a late phase needs left to start (the reduction tests again,
the reduced relaxation, the exact model, and the exact model after the third round), and the
least search a backend call that must run gets besides its set-up."""

EXACT_MAX_LEVELS = 500_000
"""The reduced exact model gets the time left only up to this many radius levels (building a
larger CP-SAT model takes most of a minute by itself). 1M until wave 40: benchmarks/realsites'
independent seeds with larger reduced models ran CP-SAT far slower than its charge (seed 202's
602,308-level model: 0.036-0.078 deterministic units per CPU second against the 0.15 per nominal
second charged, a 572k-row LP), and none of them proved within 60 s. At the default 60 s limit:
seed 202 1.134 % in 177.2 s of solve -> 0.44 % in 22.5 s (the work goes to the Lagrangian rounds and
the reduced relaxation, whose layouts are better), seed 200 0.032 % in 90.5 s -> 0.035 % in 26.6 s,
seed 16 0.557 % in 69 s -> 0.688 % in 55.4 s (planned on the whole budget from the start)."""

LAGRANGIAN_SHARE = 0.25
"""Share of the time limit the Lagrangian rounds are worth (in iterations; they usually
converge sooner) when the relaxation is small enough for the backend..."""

LAGRANGIAN_SHARE_LARGE = 0.9
"""...and when it is not: then the Lagrangian bound is the bound, and it needs the time
(500 firms: 2,000 subgradient iterations, 32 s, to come within 0.9% of the incumbent)."""

LAGRANGIAN_UNITS_PER_S = 1.67e8
"""Work units of the Lagrangian (:attr:`~optimiser.solve.lagrangian.LagrangianResult.work`:
active incidences, clients, decisions and set-up per iteration) per nominal second: CPU
seconds of ``benchmarks/joint``'s relaxations measured at 100, 200 and 500 firms (1,000
iterations each; 6 ns per unit within 25 %). Turns the time shares above into a work limit,
so the bound is the same on an idle and a loaded machine. Re-measured in session 27 after the
knapsack's group tables and convolutions were made faster with the same iterates (the same
multipliers, bounds, layouts and closures, hashed per evaluation): CPU of the evaluations and
steps before / after, interleaved at load 7-12, was 1.07, 1.22, 1.20 and 1.27 times on realsites
rs005, rs016, rs018 and rs028 (10 s limit) and 1.15 (rs016) and 1.16 (rs006) at 60 s, but 1.01
and 0.97 on benchmarks/joint's 200 and 500 firms (30 s limit), whose iterations are passes over
0.4-1.5M active incidences that the change leaves as they were (their knapsack: 1.27 and 1.32
times). The smaller ratio, with a margin, is 1: the rate is unchanged."""

LAGRANGIAN_MIN_SAFETY_SHARE = 0.5
"""The first Lagrangian round's wall-clock safety net ends at least this share of the run's
net (3x the limit) after the start, the second halfway between it and the end. At
``LAGRANGIAN_SHARE`` (0.75x the limit) the net ended rs006's first round at load 3 (its
rounds cost 1.6x their charge in CPU there), and the answer then depended on the load; the
phases after the rounds are charged their set-up and need no more of the net than their
budget."""

LAGRANGIAN_MAX_ITERATIONS = 100_000
"""At most this many iterations per round, whatever the time limit."""


GREEDY_SECONDS_PER_PRODUCT_ENTRY = 1.75e-9
GREEDY_SECONDS_PER_GATHERED_ENTRY = 4.86e-9
GREEDY_SECONDS_PER_EVALUATION = 2.69e-4
"""Work charged for the greedy (:func:`~optimiser.solve.heuristic.greedy_search`), from what its
evaluations counted (:class:`~optimiser.solve.heuristic.GreedyResult`; deterministic): per
sparse-product entry (``work``), per entry gathered or sorted by index (``gathered``, with the
two-decision additions of :mod:`optimiser.solve.pair_moves`) and per evaluation (``calls``: Python
overhead). Fitted (non-negative least squares of the relative error) to the greedy's CPU seconds on
18 problems of benchmarks/realsites/independent.py, benchmarks/realsites' 28 generated rows and
benchmarks/joint's 200- and 500-firm districts (0.05-4.3 s, load 2-4, wave 31): charged 0.65-1.33
times the CPU. The former charge, per completion from the problem's size, decisions and layout, was
0.26-2.48 times it: 2.2-2.5 times on the independent generator's largest (seeds 115-117: 4.2-4.3
nominal s for 1.7-2.2 s), which left their exact model no budget."""


def greedy_charge_s(greedy: GreedyResult) -> float:
    """Nominal seconds charged for a :func:`~optimiser.solve.heuristic.greedy_search` (the rates
    above times its counts)."""
    return (GREEDY_SECONDS_PER_PRODUCT_ENTRY * greedy.work + GREEDY_SECONDS_PER_GATHERED_ENTRY * greedy.gathered
            + GREEDY_SECONDS_PER_EVALUATION * greedy.calls)


IMPROVE_INCIDENCES_PER_S = 2.0e6
"""Work charged for re-choosing a layout's sites (:func:`improve_sites`), incidences per
nominal second (CPU at load 4-6: 200 firms 4.1-4.7 s, 500 firms 4.2-5.2 s)."""

OFFER_INCIDENCES_PER_S = 3e8
"""Work charged for evaluating a layout on the exact model (feasibility and objective),
incidences per nominal second (CPU: 33 ms at 200 and 500 firms)."""

RELAX_INCIDENCES_PER_S = 2.4e6
"""Work charged for building a tighter relaxation (:func:`relax_access_crossings`),
incidences (of the exact model, ``Evaluator.size``) per nominal second (CPU: 200 firms 3.6 s,
500 firms 4.5 s). Kept though the relaxation now reads the problem's flat arrays
(:mod:`optimiser.model.flat`, filled by the first relaxation, before relax-first starts): CPU per
incidence on the seven benchmarks/realsites problems rs005-rs028 (208k-675k incidences, a
quarter and half of the decisions closed, 3 repetitions, load 5-8) median 0.148-0.178 us, at most
0.221 us (filling the arrays too: 0.29-0.35 us; before, 0.28-0.34 us); benchmarks/joint's
200-firm district (10.1M incidences, load 11-12) 0.084-0.151 us (before 0.143-0.230). Charged
at 4.5e6 (0.222 us), the cheaper relaxations bought more vector passes in round 2 and changed
the plans at a 10 s limit: rs005 lost its proof (the third round in two pieces, no exact model
after it: 0.068 %), rs028 0.061 -> 0.092 %, rs006 0.368 -> 0.317 %."""

SETUP_INCIDENCES_PER_S = 2.2e6
"""Work charged at the start for what was built before the phases (the first relaxation and
the :class:`Evaluator`), incidences per nominal second (CPU at load 5.5: 200 firms 3.9-4.4 s,
500 firms 4.2-4.7 s)."""

SWAP_SECONDS_PER_INCIDENCE = 4.85e-9
SWAP_SECONDS_PER_DECISION_PAIR = 9.7e-8
"""Work charged for one search of crossing exchanges (:func:`swap_crossings`), per built
crossing (one evaluation of every addition): per incidence of the exact model and per squared
decision count (the additions' constraint checks), nominal seconds. Solved from benchmarks/joint
(CPU at load 4-5 per built crossing: 200 firms, 10.1M incidences and 466 decisions, 0.07 s;
500 firms, 8.8M and 1,101, 0.16 s) and checked on benchmarks/realsites (rs005 4.6 ms charged,
4.8 ms measured; rs028 5.4 / 5.3 ms; rs019 1.7 / 1.3 ms): the former charge, per decision only
(1.5e-4 s), charged realsites' searches 3-12 times their CPU."""

POLISH_RESERVE_SHARE = 0.05
"""Share of the time limit the second Lagrangian round leaves besides three searches of
crossing exchanges: the layouts it offers are charged besides its iterations (200 firms:
about 1.5 s), and the exchanges after it come last (200 firms: 4,821.6M -> 4,809.3M)."""

POLISH_MAX_SWAPS = 20
"""At most this many crossing exchanges per polish (each must improve the incumbent)."""

INSERT_MIN_GAP = 0.05
"""When the relaxation is large (above ``RELAX_MAX_LEVELS``), crossings are inserted
(:meth:`RelaxFirst.insert`) only when the incumbent is at least this far above the first
Lagrangian round's bound (relative gap; ``info["first_round_gap"]``): there every evaluation
reads millions of incidences (joint benchmark, 200 firms, 10.1M: one search from the greedy
layout 3.2 s of CPU, charged 8.7 nominal s, of a 36 s budget). Otherwise they are searched at
any gap. Held-out rs015's greedy layout is 9.8 % above the best known (first-round gap 14.7 % at
10 s); on the 28 generated rows of benchmarks/realsites, at 0.3-3.6 %, two incumbents miss a dear
crossing: rs018's optimum trades five signals for one footbridge, rs028's seven (the exact model
found them at 60 s after 41.8 and 33.2 nominal s). Measured at 10 s (README there, wave 16),
insertions at every gap against this gap: the same 20 rows proven (rs013 with 8.6 nominal s of
work instead of 5.2), rs018 and rs028 end with their optima (0.132 -> 0.091 %, 0.085 -> 0.050 %),
rs006 / rs023 / rs021 wider (0.314 -> 0.345, 0.214 -> 0.255, 0.219 -> 0.227 %); at 60 s the 8
rows open at 10 s take 181.2 nominal s to their proofs instead of 193.1 (rs018 30.2, rs028 27.9;
the others 0.1-2.4 more). Before the ejections were priced in one pass
(:meth:`~optimiser.solve.heuristic.Evaluator.removals`), rs028's searches took 4.3 nominal s
instead of 2.8 (0.148 % at 10 s), and in wave 9 insertions at every gap lost rs017's proof at
10 s."""

INSERT_GAIN_SECONDS = 1.5e-3
INSERT_GAIN_SECONDS_PER_INCIDENCE = 4.05e-9
INSERT_EVALUATION_SECONDS = 3.0e-4
INSERT_EVALUATION_SECONDS_PER_INCIDENCE = 7.1e-10
"""Work charged for a search of crossing insertions (:func:`insert_crossing`, :func:`insert_cost`):
per evaluation of every addition's gain and per objective evaluation, a constant and a part per
incidence of the exact model, nominal seconds. Fitted (least squares of the relative error) to the
CPU of one call on seven problems of 208k-3.1M incidences (benchmarks/realsites rs012, rs016,
rs006, rs028; the independent generator's seeds 104, 116 and 16), load 2.5-2.9 (session 31):
gains 1.4-9.6 ms (0.99 ms + 2.7e-9 per incidence), objectives 0.3-1.7 ms (0.20 ms + 4.7e-10),
charged at 1.5 times the fit (a margin for load). Before,
1.6e-8 per incidence per gain evaluation and the objective evaluations at ``OFFER_INCIDENCES_PER_S``
(fitted on rs015, rs006 and rs005 in wave 16: 5.9-6.6 ms per gain): a search on the independent
seeds' 3M incidences was charged 3.0-5.9 nominal s for 0.4-1.0 s of CPU (seed 16 at a 10 s limit:
nothing left for round 2), rs028 / rs006 2.8 / 0.9 for 0.9 / 0.3 s. Measured at 10 s with wave 31's
greedy (session 32, benchmarks/realsites README): all 28 generated rows proven with the same optima;
the independent generator's 34 seeds 22 proven as before, seeds 116 / 115 / 16 at 8.04 / 5.02 /
1.52 % instead of 14.5 / 8.79 / 3.11 %, seed 11 at 1.65 % instead of 1.26 % (its 301k-level exact
model now affordable, charged 7.6 nominal s for about 11.6 s of CPU). A knife edge: at twice the fit
rs028 was open at 10 s (0.015 %: its third round got more work and its vector tightening less, and
the whole reduced model of 82k levels did not prove in 0.68 units where the per-vector models of
66k at most proved in 0.17), and at 1.25 times in session 31; at 1.5 times it is proven."""


def insert_cost(size: int, evaluations: int, gain_evaluations: int) -> float:
    """Nominal seconds charged for ``evaluations`` objective evaluations and ``gain_evaluations``
    evaluations of every addition's gain on an exact model of ``size`` incidences."""
    return (evaluations * (INSERT_EVALUATION_SECONDS + size * INSERT_EVALUATION_SECONDS_PER_INCIDENCE)
            + gain_evaluations * (INSERT_GAIN_SECONDS + size * INSERT_GAIN_SECONDS_PER_INCIDENCE))


BACKEND_SETUP_SECONDS_PER_LEVEL = 2e-5
"""Work charged for a CP-SAT call besides its search, nominal seconds per radius level of the
problem it gets: building the model and CP-SAT's loading, symmetry detection and LP
construction, none of which CP-SAT's deterministic time counts (:func:`backend_setup_cost`).
Re-measured in wave 27, after the model is written in bulk (:mod:`optimiser.solve.cpsat_rows`)
and only the conjunctions it reads are built (:func:`~optimiser.solve.cpsat_model.read_conjunctions`):
build + "lp-eager" load up to 0.02 units (those units at ``EXACT_EAGER_UNITS_PER_S`` taken off),
CPU at load 1.3, on the 31 exact models relax-first built at 60 s for rs005, rs006, rs016, rs018,
rs023 and rs028 (per count vector and whole reduced): 8.4 s for 1.47M levels, 1.2e-5 s per level
fitted, 0.7-1.4e-5 for every model over 5k levels (rs016's (1, 1, 2, 4, 0): 48k levels 0.71 s,
rs028's whole reduced model: 80k levels 1.11 s); the small vectors dearer per level (rs006's of
689 levels 0.028 s, 4.1e-5). 2e-5 is the fit with a margin for load (1.4-1.8x the CPU of the large
models). Before wave 27 the build cost 2.8-3.5e-5 s per level (rs005, 99k levels, 3.5 s with no
search) and the charge was 4e-5: 3-5x the CPU after the changes; at 10 s it kept rs016's last two
count vectors and rs005's exact model out of reach. Measured on all 28 generated rows at 10 s
(benchmarks/realsites README, wave 27): 23 proven instead of 22 (rs005 back), every optimum the same."""

CBC_SETUP_SECONDS_PER_LEVEL = 4e-5
"""The same for a CBC call (PuLP writes the model as a file CBC reads: not re-measured in wave 27,
the charge CP-SAT had before)."""


def backend_setup_cost(levels: int, backend: str) -> float:
    """Nominal seconds charged for a ``backend`` call's set-up on ``levels`` radius levels."""
    return levels * (BACKEND_SETUP_SECONDS_PER_LEVEL if backend == "cpsat" else CBC_SETUP_SECONDS_PER_LEVEL)


BACKEND_UNITS_PER_S = 0.15
"""CP-SAT's deterministic units per nominal second of a relax-first backend search (the direct
solve's ``DETERMINISTIC_PER_SECOND`` is 0.25): its search gets this many units per second of
its budget and is charged its units at this rate. Measured on benchmarks/realsites' reduced exact
models, CPU seconds of the search (after the set-up): rs005, 133k levels, 3.92 units in 20-25 s
(0.16-0.2 per s, load 3-4; the lead's idle run: 3.48 units in about 23 s, 0.15); rs006, 252k
levels, 9.9 units in about 70 s (0.14, load 4.5-6). At 0.25 a 60 s limit took 107 s of CPU."""

EXACT_LP_EAGER = True
"""Whether the reduced exact models per count vector (phase 5, :mod:`optimiser.solve.relax_first_vectors`;
the whole reduced model: ``WHOLE_EXACT_LP_EAGER``) get CP-SAT's "lp-eager" settings (every constraint
in the LP from the start, :func:`~optimiser.solve.cpsat_model.set_search_params`) when the run's
``cpsat_search`` is "lp" (the default), with its units at ``EXACT_EAGER_UNITS_PER_S``. Measured at
a 10 s limit on benchmarks/realsites (seed 0, one worker, the 28 generated rows of wave 9, two
rows at a time on the 2-core machine; its README, wave 10): rs022 proven (0.044 % before; the
exact call 1.92 units in 2.6 s of CPU, where the lazy LP's 0.83 units took 6.8 s), rs019 1.846 ->
0.243 %, rs017 and rs031 still proven (their exact calls 3.8 -> 3.3 s and 2.7 -> 4.3 s of CPU); no
other row reaches phase 5 at 10 s. Not for the other backend calls: the reduced relaxation with
the eager LP left rs026 at 7.96 % instead of 4.72 %. One worker only (``SolveOptions.workers``):
benchmarks/joint's 100-firm district at a 60 s limit, one worker, proven optimal in 13.7 s of solve
with the eager LP against 20.5 s without; with two workers (that benchmark's default) the eager LP's
exact call ran the solve to 128.8 s of wall clock (0.22 %, as without it in 54.1 s).
Since wave 28 it is the per-count-vector models' setting only (:mod:`optimiser.solve.relax_first_vectors`);
the whole reduced model has its own, ``WHOLE_EXACT_LP_EAGER``."""

WHOLE_EXACT_LP_EAGER = False
"""``EXACT_LP_EAGER`` for the whole reduced exact model (one model of every count vector, with the
decisions closed in all of them, warm-started from the incumbent: :meth:`RelaxFirst.exact`).
Re-measured in wave 28 on the models relax-first built at 60 s, each solved alone with its own
settings, eager then lazy (``benchmarks/realsites/lp_probe.py``, ``probes/lp_rs0*.json``; seed 0,
one worker; CPU seconds, load included; deterministic units; load 0.7-1): rs012's 72k levels
7.3 s / 4.94 units eager, 3.0 s / 0.85 lazily; rs018 3.5 s / 2.55 -> 1.8 s / 0.78; rs028 1.5 s /
0.93 -> 0.8 s / 0.09; rs005, rs013, rs019, rs031 (all under 0.4 s) the same or less; rs022 0.03 ->
0.05 s. The count vectors' models, proving that no layout better than the incumbent has their
counts (unhinted, cut off below it), go the other way (rs016's six over 15k variables: 0.10-2.1 s
eager, 0.75-5.4 s lazily; rs023's largest 2.1 -> 8.3 s), so they keep ``EXACT_LP_EAGER``.
A cut-off below the incumbent did not help the whole model (rs012: 7.6 s eager, 6.5 s lazily).
Wave 10's measurements were of whole models before the site chains, the bulk-written rows and
the unread conjunctions left out (waves 11-27)."""

WHOLE_EXACT_SAT_INPROCESSING = False
"""Whether CP-SAT simplifies its clauses between restarts (``use_sat_inprocessing``,
:attr:`~optimiser.inputs.domain.SolveOptions.sat_inprocessing`) in the whole reduced exact model;
every other call keeps it. On independent seed 215's captured exact model (171k levels, a 10 s run's
state), CP-SAT's log counts 81,819 clauses vivified (most of them the radius chains') with 167,607
decisions after its root LP; without inprocessing the model's proof takes 0.77 deterministic units
instead of 2.80 (seed 100's 2.12 -> 0.16; seeds 7, 11 and 22, proven in 0.09-0.32 units, the same).
Whole 10 s runs (benchmarks/realsites, wave 45): independent seed 100 proven (0.121 % before), no other answer
changed on the 34 + 40 + 28 rows. At 60 s, of the rows open at 10 s: 109 0.866 -> 0.674 % and 117 0.046 -> 0.028 %
(better layouts from their exact models of 160k and 459k levels), 110 1.116 -> 1.213 % (its 355k-level exact
model's bound after 11.9 units: 417.4M with inprocessing, 379.2M without, so the relaxation's 417.0M is reported),
the other seven the same. Elsewhere inprocessing pays: off in every "lp" search, seed 110's reduced relaxation
(105k levels) was no longer proven at 10 s (1.21 -> 8.81 %) and seed 19's direct solve not proven (optimal in
1.1 s -> 0.39 %)."""

EXACT_BY_VECTOR = True
"""Whether the reduced exact model (phase 5) runs once per count vector of the split Lagrangian,
each with the decisions closed for that vector (:func:`~optimiser.solve.relax_first_vectors.exact_by_vector`,
:mod:`optimiser.solve.vector_exact`), when the backend is CP-SAT and round 2 bounded the
vectors; else one model of the whole problem with the decisions closed in every vector."""

VECTOR_TIGHTEN_SHARE = 0.3
"""Share of a split Lagrangian round's budget kept for each open count vector's own tighter
relaxation and ascent after it (:func:`~optimiser.solve.relax_first_vectors.tighten_vectors`;
0: none). Measured on benchmarks/realsites' 8 rows not proven at 10 s (README, wave 15), nominal
seconds of work to the proof at a 60 s limit, in all: 238.5 without, 193.1 at 0.3, 208.5 at 0.15
(rs016 46.2 -> 25.6, rs028 44.9 -> 33.2, rs006 32.6 -> 25.3, rs005 17.3 -> 14.8, rs021 14.8 ->
11.5; rs023 17.2 -> 20.9). At 10 s the same 20 of 28 rows proven, four of them with less work
(rs013 8.0 -> 5.2 nominal s). Each vector continuing from its own multipliers and step instead
of the least one's: 193.9 (not kept). A pass before the exact phase as well, with a quarter of
the work left: 270.5 (not kept: ascents that prune nothing take their whole share)."""

VECTOR_TIGHTEN_PASSES = 3
"""At most this many tighter relaxations per count vector and round (each with the decisions
its previous ascent closed)."""

EXACT_BY_VECTOR_MAX_SHARE = 0.9
"""No split of the exact model by count vector (``EXACT_BY_VECTOR``) when, of two or more open
vectors, one's own reduced model keeps at least this share of the whole reduced model's radius levels: its closed decisions
add little to those closed in every vector, it costs about what the whole reduced model costs,
and that covers every vector at once. Measured at 60 s (benchmarks/realsites README, wave 14):
rs012 (a vector at 0.91) 23.2 nominal s whole, 31.6 split; rs018 (one at 1.0) 42.1 whole, 49.5
split, 47.9 with the small vectors split first and the rest whole. A lone open vector is always
split off (:func:`~optimiser.solve.relax_first_vectors.large_vector`, wave 37)."""

EXACT_EAGER_UNITS_PER_S = 0.5
"""CP-SAT's deterministic units per nominal second of a backend search with the eager LP
("lp-eager": ``EXACT_LP_EAGER``; ``BACKEND_UNITS_PER_S`` is the lazy LP's). Measured per CPU
second of CP-SAT's search (its ``wall_time`` at load 1-1.5; the model's build and set-up are
charged besides by ``BACKEND_SETUP_SECONDS_PER_LEVEL``, 1.2-1.6 times their CPU here): rs019 1.24
(2.47 units in 2.0 s), rs022 0.66, rs005 at least 0.62 (its 60 s proof: 15.73 units in a 25.5 s
call, build included), rs017 0.51, rs031 0.38 (wave
11, benchmarks/realsites README). 0.5 is below four of the five; 0.4 before (from whole calls,
build included) left rs019's 10 s run 0.3 units short of its proof."""

EXACT_FIRST_MIN_SEARCH_SHARE = 0.5
"""The reduced exact model comes first (phases 3-4 skipped, :meth:`RelaxFirst.exact_first`) only
when its search gets at least this share of the time limit after its set-up. rs005 at a 10 s
limit: its search would get 1.8 nominal s (0.27 units of the 2.8-3.9 its proof takes) and end at
0.191 %, where the reduced relaxation's bound gives 0.181 %; at 60 s it gets about 45 s and
proves the optimum."""

SITES_EXACT_SHARE = 0.2
"""The greedy layout's sites are re-chosen exactly (:func:`~optimiser.solve.relax_first_sites.sites_exact`:
the backend, eager LP, on the problem with the layout's crossings fixed) for at most this share of the
planned limit, set-up included, instead of by interchange (:func:`~optimiser.solve.site_interchange.improve_sites`),
when it affords a minimum search (``BACKEND_MIN_SEARCH_SHARE``); 0 turns it off. With the crossings fixed the
site model is small (0.9k-122k radius levels on benchmarks/realsites' rows) and its eager LP nearly integral:
CP-SAT proves its optimum in 0.004-0.46 deterministic units (wave 35). From the greedy layout the exact
sites gain 6.27 % on the independent generator's seed 116 (interchange: 0 %: the best layout swaps the
types of two parcels' facilities and moves two others), 2.52 % on 115 (interchange 1.68 %), 1.44 % on 100
(0 %), 2.00 % on 117 (the same as interchange) and nothing on generate.py's rows. Share 0.15: seed 115's
model (86k levels) did not fit."""

FIX_CROSSINGS_SECONDS_PER_LEVEL = 4e-7
"""Work charged for fixing every crossing of a layout (:func:`~optimiser.solve.relax_first_sites.sites_exact`),
nominal seconds per radius level of the problem fixed. Measured CPU (wave 35, the problem's flat arrays
filled, load about 1, the VM's slow state): 0.13-0.28 us per level on 16 of 18 problems of 115k-3.1M levels
(benchmarks/realsites rs005-rs028 and the independent generator's open rows), 0.37 and 0.68 us on seeds 7 and
16 (most options dropped, fewer levels cut). ``FIX_SECONDS_PER_LEVEL`` is for fixing closed decisions, whose
options mostly stay."""

MOVE_SHARE = 0.15
"""The incumbent's crossings are moved with their sites (:func:`~optimiser.solve.relax_first_sites.crossings_moved`:
:func:`~optimiser.solve.crossing_moves.move_crossings`) in phase 1 when the exact site re-choice moved the greedy's
sites (its crossings were chosen for other sites), the relaxation is not large and the search's charge
(``MOVE_*``, its moves and a bound on its cells counted before it runs) is at most this share of the planned
limit; 0 turns it off. Measured at 10 s (benchmarks/realsites README, wave 36): independent seed 11's incumbent
1,689.7M -> 1,679.0M (the optimum, then proven: 14.97 nominal s) in 112 moves screened and 2 confirmed (1.93
nominal s charged, 1.1 s of CPU); it ran on rs001, rs017 and independent seeds 10, 100 and 112 without a gain
(0.05-0.57 nominal s), every other row as before but seed 100, open before and after (0.015 -> 0.082 %:
the phases after it got less); at 0.15 it is over its share on seeds 115-117 (71-185 moves)."""

MOVE_SETUP_SECONDS_PER_INCIDENCE = 2e-7
"""Work charged for the moves' set-up (the single-site incidences sorted), nominal seconds per
incidence of the exact model (measured 0.13-0.18 s of CPU at 0.92M incidences, seed 11)."""

MOVE_SECONDS_PER_INCIDENCE = 1e-8
"""Work charged per built crossing moved (its lengths without it), nominal seconds per incidence."""

MOVE_SECONDS_PER_CELL = 1e-8
"""Work charged per clients x sites cell read by the moves' screen (each move reads the matrix once
per open site with candidates: 12.3M cells in 0.09 s of CPU, seed 11); each move is also charged two
evaluations of the exact model (``OFFER_INCIDENCES_PER_S``) and each confirmation one
:func:`~optimiser.solve.site_interchange.improve_sites` (``IMPROVE_INCIDENCES_PER_S``)."""

PAIR_MOVE_SHARE = 0.05
"""The incumbent's crossings are moved two at a time (:func:`~optimiser.solve.relax_first_sites.crossing_pairs_moved`:
:func:`~optimiser.solve.crossing_pairs.move_crossing_pairs`) in phase 1's polish when no exchange improves, the relaxation
is not large and the layout was not searched before; each search's evaluations are as many as this share of the planned
limit pays for (at most ``PAIR_MOVE_EVALUATIONS``); 0 turns it off. Measured at 10 s on the 74 generated rows
(benchmarks/realsites README, wave 39): independent seed 100's incumbent becomes its optimum (220,059,842 ->
219,900,012) and seed 117's improves (gap 2.16 -> 1.83 %); the same 66 rows proven. In every polish instead (after
the Lagrangian rounds too) no incumbent improved further and rs028 lost its proof (the rounds got less)."""

PAIR_MOVE_SECONDS_PER_INCIDENCE = 5.5e-10
PAIR_MOVE_SECONDS_PER_EVALUATION = 2.4e-4
PAIR_MOVE_SECONDS_PER_ENTRY = 8e-9
"""Work charged for a search of pair moves (:func:`~optimiser.solve.relax_first_sites.pair_move_charge`): per
layout evaluated, per incidence of the exact model and for the call itself; per entry the pair index and the
synergy gather. Fitted (non-negative least squares of the relative error) to the CPU of 12 searches on
independent seeds 2, 10, 16, 100 and 117 and rs028 (0.003-0.16 s; 0-197 evaluations of 0.23M-3.1M
incidences; load 0.5, wave 39): charged 0.91-1.11 times the CPU. An evaluation at relax-first's
``OFFER_INCIDENCES_PER_S`` was charged about 4 times it."""

BACKEND_MIN_SEARCH_SHARE = 0.05
"""A backend phase runs only when its budget leaves at least this share of the time limit to
the search after its set-up (``BACKEND_SETUP_SECONDS_PER_LEVEL``); else it is skipped."""

ROUTE_CAP_INCUMBENT = 1.25
ROUTE_CAP_MULTIPLIER = 1.5
"""The exact access routes (:mod:`optimiser.solve.access_routes`) used from the second
Lagrangian round on are those shorter than their client's cap: the larger of this many times
its walk in the incumbent and this many times its multiplier after round 1 (the multipliers
stay at most the cap; 200 firms: 250k routes of 7.9M; a cap of 2x gives the same bounds)."""

FIRST_ROUND_SHARE = 0.5
"""Share of the Lagrangian's budget that round 1 (the plain relaxation) gets."""

ROUTES_ENABLED = True
"""Whether the rounds after the first use the exact access routes (a switch for measuring)."""

ROUTES_ROUND1_MIN_STEP = 0.5
"""Round 1 (the plain relaxation) ends when its step factor falls below this (or its budget is
spent): its multipliers are then good enough to start the routes from, and the rest of the
budget goes to the rounds with the routes. 200 firms (36 s): round 1 given 30 / 40 / 50 % of the
budget ends at 0.98 / 0.96 / 1.07 % gap; 500 firms (30 s): 3.5 / 3.5 / 0.50 % (its round 1 needs
about 250 iterations before the routes help)."""

ROUTES_INITIAL_STEP = 0.5
"""The step factor of the first round with the routes (at least): 200 firms, from round 1's
0.125, 600 iterations reach 4,753.0M at 0.125 and 4,757.3M at 0.5."""

ROUTES_INCIDENCES_PER_S = 2.0e6
"""Work charged for collecting the access routes: incidences of the routes kept per nominal
second (200 firms, 250k routes: 0.15 s of CPU)."""

SPLIT_ENABLED = True
"""Whether round 2 on a relaxation small enough for the backend (not ``large``) bounds each of the
budget's maximal count vectors (:mod:`optimiser.solve.lagrangian_split`) instead of the one
knapsack. Measured from the same round 1, the same work: rs006 (10 s limit's round 2, 1 nominal s)
2.153 % -> 1.958 %, with 4 nominal s 2.049 % -> 1.525 %; rs005 (1 nominal s) 0.197 % -> 0.140 %,
8 of its 12 vectors pruned (every layout with one lab)."""

SPLIT_DEFLECTION = 0.6
"""The split's subgradient steps are deflected (each direction plus this share of the last:
Camerini, Fratta and Maffioli). From the same round 1, round-2 work of 1 / 2 / 4 nominal s: rs006
1.958 / 1.731 / 1.525 % -> 1.996 / 1.646 / 1.300 %; rs005 (1 / 2 s) 0.140 / 0.098 % -> 0.113 / 0.087 %.
(On the one knapsack it only helps early: rs006's relaxation, 1,500 iterations, 2,037.8M -> 2,041.0M.)"""

FIX_SECONDS_PER_LEVEL = 1e-6
"""Work charged for fixing decisions (:func:`fix_decisions`), nominal seconds per radius level
of the problem fixed (the last reduced one where relax-first fixes more:
:class:`~optimiser.solve.relax_first_reduced.ReducedProblems`). Measured since fixing reads the
problem's flat arrays (:mod:`optimiser.model.flat`): CPU per level on the seven
benchmarks/realsites problems rs005-rs028 (114k-432k levels, a quarter and half of the
decisions closed, 3 repetitions, load 5-8): the whole problem 0.27-0.40 us (median; at most
0.80), with its arrays to fill 0.49-0.67 us (at most 0.82); a reduced problem fixed further
0.34-0.50 us; in runs (rs005-rs028 at 10 s) 0.07-0.5 us. Before, 0.68-0.97 us (formerly
2e-6: rs005, 432k levels, 0.86 s). Per level it undercharges denser problems: benchmarks/joint's
200-firm district (1.83M levels, 5.5 incidences each; a large one, whose phases rarely fix) took
0.67-1.70 us per level (10-50 % closed, load 11-12; before, 1.19-2.25 us); a charge per
incidence would fit both (0.2-0.34 us each)."""


def fix_cost(levels: int) -> float:
    """Nominal seconds charged for fixing decisions in a problem of ``levels`` radius levels."""
    return levels * FIX_SECONDS_PER_LEVEL


PLAN_HORIZON_S: float | None = 14.0
"""Nominal seconds of the longest run relax-first plans for when its relaxation is not large: with
a longer time limit, every phase before the exact model (the Lagrangian rounds and their shares,
the third round, the choice of the exact model first, phases 3-4) runs as with a limit of this
many seconds, and the exact model (phase 5) then gets all the work left of the real limit
(``info["plan_s"]``); ``None``: the phases are planned on the whole limit. The rounds' bound
levels off and the exact model proves, so a long limit is better spent there. Measured at a 60 s
limit on benchmarks/realsites (README there, wave 19; near idle): the 15 relax-first rows' time
to their proof fell from 196.0 s to 143.3 s in all (rs005 12.5 -> 8.6 s, rs023 11.8 -> 9.3 s,
rs015 14.4 -> 3.7 s, rs018 26.8 -> 18.2 s), the same optima. Chosen from 10, 12, 14 and 17 on the
seven rows a 10 s run leaves open (122.9, 110.0, 107.7 and 108.4 s in all; 128.1 s without): 14
nominal s is about 10 s of CPU on this machine near idle. Below it (a 10 s limit) nothing
changes. With the horizon, the third round counts the work beyond the plan as the exact phase's
when it sizes its reserve (``MORE_ROUNDS_SHARE``), so with a longer limit it always leaves the
exact model the rest (rs006 / rs016 / rs028 at 60 s: 23.2 / 37.1 / 26.3 -> 25.0 / 28.3 / 24.7
nominal s to the proof); and when after rounds 1-2 the reduced exact model is above
``EXACT_MAX_LEVELS`` (it cannot take the rest) the later phases are planned on the whole limit.
Large relaxations (benchmarks/joint's 200 and 500 firms) plan on the whole limit: there the
Lagrangian is the bound. benchmarks/joint's 100-firm row is proven in 11.2 s instead of 7.5 s."""

MORE_ROUNDS = True
"""Whether the Lagrangian gets a third round with the work left when the exact model cannot come
first (:meth:`RelaxFirst.more_rounds_phase`) instead of leaving it to phases 3-4 (the alternating
re-optimisation and the reduced relaxation). Measured at a 10 s limit on benchmarks/realsites
(rounds worth 0.7 of the work instead of 0.25, phases 3-4 then skipped): gaps rs005 0.181 ->
0.105 %, rs006 1.916 -> 1.39 %, rs012 0.52 -> 0.41 %, rs013 0.15 -> 0.12 %, rs016 1.42 -> 1.14 %,
rs018 0.30 -> 0.24 %, rs023 0.80 -> 0.48 %: there phase 4's bound was below the Lagrangian's
(rs012: 0.2 % above it) and phase 3 found nothing. As landed (the work left less the polish
reserve, with H9's insertions; benchmarks/realsites/README.md, wave 9): rs005 0.181 -> 0.086 %,
rs006 1.916 -> 1.226 %, rs012 0.516 -> 0.365 %, rs013 0.146 -> 0.110 %, rs016 1.424 -> 1.126 %,
rs018 0.301 -> 0.226 %, rs023 0.800 -> 0.443 %, no row worse. Since wave 12 the round gets
``MORE_ROUNDS_SHARE`` of it when the reduced exact model can take the rest."""

MORE_ROUNDS_MAX_GAP = 0.04
"""...and only when the gap after rounds 1-2 is below this (relative): further from the bound the
Lagrangian's relaxation is the weak part and phase 4's bound (CP-SAT's LP with its cuts on the
reduced relaxation) is the better use of the work. Unseen realsites seed 26 (``generate.py 26``:
53 firms, 64 crossings, labs and a cafe hub; 7.96 % after two rounds): third round 6.38 %, phases
3-4 4.72 % (10 s limit); every row above is within 3.1 % after two rounds. 0.05 until wave 31:
independent.py's seed 107 (59 firms, 44,897 relaxed levels) is 4.77 % after two rounds with the
greedy's pairs; a third round left 3.32 % at a 10 s limit, phases 3-4 prove it (phase 4's
relaxation optimum is the incumbent's objective)."""

MORE_ROUNDS_SHARE = 0.5
"""Share of the work left (less the polish reserve) that the third round gets when the rest would
cover the reduced exact model's set-up (its size after rounds 1-2; the third round only closes
more): that model then gets the rest, phases 3-4 skipped (``info["exact_after_rounds"]``); else
the third round gets it all. With the star rows (:mod:`optimiser.solve.lagrangian`) the third
round's gaps are small and closes many decisions. Measured at a 10 s limit on benchmarks/realsites'
28 generated rows (README there, wave 12), against the whole work left: rs013 0.003 % -> proven
(the exact model 0.79 nominal s, 112 of 140 decisions closed), rs021 0.222 -> 0.267 %, the other 26
rows the same status and gap (5 of them run it: rs015, rs017, rs019, rs026 and rs031 still proven).
At 0.3 rs012 / rs018 / rs021 end wider (0.288 / 0.150 / 0.299 %); at 0.7 rs013 is open again.
Since wave 18 the set-up is the whole reduced model's even when the exact phase would run per
count vector (:func:`~optimiser.solve.relax_first_vectors.exact_setup_cost`): rs021 proven at 10 s
(was 0.227 %), the other 27 rows unchanged; at 0.3 with that sizing rs018 and rs012 end wider
(0.118 and 0.282 %, their exact models then get 4.1 and 4.6 nominal s without proving)."""

MORE_ROUNDS_FIRST_PIECE = 0.35
"""When the rest of ``MORE_ROUNDS_SHARE`` of the work left would not cover the reduced exact
model's set-up at its size after rounds 1-2, the third round gets this share of the work left
first; if the decisions it closed shrank the reduced model enough for the exact phase to fit in
the rest, the round ends there and the exact model gets the rest, else the round gets the rest
too (:func:`~optimiser.solve.relax_first_vectors.third_round`; 1.0: one piece, as before).
Measured at a 10 s limit on benchmarks/realsites' 28 generated rows (README, wave 22): rs005
proven (0.065 % before: its reduced model 134k levels after rounds 1-2, 28k after the first
piece), rs023 0.255 -> 0.028 %, rs018 0.091 -> 0.053 %, rs012 0.203 -> 0.150 %; wider where
the exact phase still does not fit or fits without proving (rs028 0.050 -> 0.067 %, rs006
0.345 -> 0.356 %, rs016 1.034 -> 1.047 %); the 21 rows proven before the same, in the same
CP-SAT units. A knife edge: at 0.3 rs023 is proven instead of rs005 (0.069 %), at 0.25 too
(rs005 0.088 %), at 0.45 neither; at 0.5 rs005's exact phase missed its set-up by 0.04 nominal s.
Since wave 33 the round ends after this piece when the exact phase still does not fit but phase 4
can run (:func:`~optimiser.solve.relax_first_vectors.relax_affordable`): phases 3-4 get the rest.
With the packing rows in the Lagrangian (:mod:`optimiser.solve.lagrangian`) independent seeds 107
and 100 (benchmarks/realsites/independent.py) are within ``MORE_ROUNDS_MAX_GAP`` after two rounds;
a round that took the rest left them at the greedy's incumbent (2.08 / 1.86 % at 10 s), while the
alternating phase finds 107's optimum, which phase 4 proves (proven; 100 0.94 %), and seed 104's
near-optimum (1.68 -> 0.04 %); generate.py's 28 rows the same (only rs006 and rs028 run a third
round, the exact phase after it)."""

EXACT_INSTEAD_MAX_GAP = 0.005
"""When the reduced exact model does not fit in the rest of ``MORE_ROUNDS_SHARE`` of the work left after
rounds 1-2 but fits in all of it, and the gap after rounds 1-2 is below this (relative), the exact model
gets all of it and no third round runs (:func:`~optimiser.solve.relax_first_vectors.third_round_plan`).
Near the optimum CP-SAT's LP with its cuts closes what the Lagrangian's converged ascent cannot, and its
search is short; further from it the third round's closed decisions and bound are worth more. Measured at a
10 s limit on benchmarks/realsites (README, wave 38: generate.py's 40 rows, the independent generator's 34),
three rows take this path: independent seed 7 at 0.136 % (proven: the exact model 6.1 nominal s, its search
0.08 CP-SAT units; with a third round the round converged at 0.110 % and the exact set-up no longer fitted),
104 at 1.909 % (the exact model's 10.2 nominal s end at 0.375 %; with the round, and phase 4, 0.039 %) and
107 at 3.363 % (proven either way, the round's way in half the work). Every other row takes the same path
as before."""

MORE_ROUNDS_MIN_SHARE = 0.05
"""The third round runs only with at least this share of the limit left for it."""

MORE_ROUNDS_SAFETY_SHARE = 0.9
"""The third round's wall-clock safety net ends at this share of the run's net."""


def unproven_message(gap: float | None, too_large_levels: int | None = None) -> str:
    """The message of a relax-first result that is not proven optimal: why it ended. When the
    reduced exact model was too large to run (``too_large_levels`` radius levels, over
    ``EXACT_MAX_LEVELS``) the Lagrangian and the relaxations were all there was to do, so a longer
    limit would not close the gap, and the message says so instead of "time limit reached" (an
    independent 56-firm site ended at 2.07 % after 9 of 60 s, then the same at 300 s)."""
    text = f"gap {100 * (gap or 0):.2f}%"
    if too_large_levels is not None:
        return (f"{text}, not proven: the exact model is too large: {too_large_levels:,} radius levels, over "
                f"{EXACT_MAX_LEVELS:,}; a longer time limit would not close the gap (fewer candidate sites or crossings would)")
    return f"time limit reached; {text}"

REFINE_MAX_STEPS = 8
"""At most this many refined relaxations after phase 4 (:mod:`optimiser.solve.relax_first_refine`); each also needs the
work left to cover its set-up and a minimum search. Independent seed 104 needs one (benchmarks/realsites README, wave 42)."""

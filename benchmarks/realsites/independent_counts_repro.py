"""optimiser.model.budget_cuts.feasible_counts on the count classes of two generated problems
(benchmarks/realsites/independent.py seeds 7 and 107, loose budgets): the enumeration checks the
whole-class count caps (unions) only at the leaves and counts only accepted vectors against its
limit, so a class of 100 candidate sites capped at 3 is tried at 0..100 and the search runs for
minutes. It has no clock check; a run calls it up to three times (relax_first.py:187,
cpsat.py:213 via maximal_count_vectors, limit 5,000; cpsat_model.py:517 budget_count_cuts,
limit 20,000)."""
import time

from optimiser.model.budget_cuts import CountClasses, feasible_counts

CASES = {  # (class sizes, class costs, budget, unions) as count_classes gives them
    7: ([65, 20, 100, 102, 55, 42, 60, 42], [696000, 701000, 847000, 2281000, 2828000, 3135000, 5549000, 14019000],
        115776000, [((4,), 1, None), ((4,), None, 3), ((2,), None, 1), ((3,), None, 3), ((6,), None, 1), ((0,), 1, None), ((0,), None, 3)]),
    107: ([84, 12, 37, 37, 51, 31, 44, 33], [385000, 678000, 828000, 1333000, 3033000, 4963000, 5550000, 13563000],
          109432000, [((6,), None, 3), ((3,), None, 2), ((5,), None, 1), ((0,), None, 3), ((2,), 1, None), ((2,), None, 1)]),
}
for seed, (sizes, costs, budget, unions) in CASES.items():
    members, nxt = [], 0
    for n in sizes:
        members.append(tuple(range(nxt, nxt + n)))
        nxt += n
    cc = CountClasses(tuple(members), tuple(costs), budget, tuple(unions))
    for limit in (5_000, 20_000):
        t = time.process_time()
        r = feasible_counts(cc, limit)
        print(f"seed {seed}, limit {limit}: {'None (too many)' if r is None else r.shape[0]} vectors, "
              f"{time.process_time() - t:.1f} s CPU", flush=True)

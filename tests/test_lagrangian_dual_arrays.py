"""_Dual reads its incidences from the problem's flat arrays (optimiser.model.flat) and its
conjunctions' members by chained iterators: the same arrays as the former generator expressions
(kept here as the oracle) on random problems, the zoo (penalties among them) and a district's
access relaxation."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.joint.generate import make_district
from optimiser.model.problem import Problem
from optimiser.model.transforms import relax_access_crossings
from optimiser.pipeline import prepare
from optimiser.solve.lagrangian import _Dual
from tests.random_problems import random_problem
from tests.zoo_cases import CASES


def _reference(problem: Problem) -> dict[str, np.ndarray]:
    """ic, io (before the conjunctions' renumbering), il and the listed conjunctions' members, as
    _Dual.__init__ built them before session 28."""
    cl, pens, n_d, n_o = problem.clients, problem.penalties, len(problem.decisions), len(problem.options)
    ic = np.fromiter((k for k, c in enumerate(cl) for opts in c.level_options for _ in opts), dtype=np.int64)
    io = np.fromiter((o for c in cl for opts in c.level_options for o in opts), dtype=np.int64)
    il = np.fromiter((lev for c in cl for lev, opts in zip(c.levels, c.level_options) for _ in opts), dtype=float)
    if pens:
        ic = np.concatenate([ic, np.fromiter((len(cl) + k for k, p in enumerate(pens) for _ in p.options), dtype=np.int64)])
        io = np.concatenate([io, np.fromiter((o for p in pens for o in p.options), dtype=np.int64)])
        il = np.concatenate([il, np.zeros(sum(len(p.options) for p in pens))])
    lens = np.fromiter((len(problem.options[o]) for o in range(n_d, n_o)), dtype=np.int64, count=n_o - n_d)
    listed = np.zeros(n_o - n_d, dtype=bool)
    listed[io[io >= n_d] - n_d] = True
    uc = np.nonzero(listed)[0]
    m_dec = np.fromiter((d for c in uc.tolist() for d in problem.options[n_d + c]), dtype=np.int64,
                        count=int(lens[uc].sum()))
    w = np.array([c.weight for c in cl] + [1] * len(pens), dtype=float)
    return {"ic": ic, "io": io, "inc_cost": w[ic] * il, "m_dec": m_dec}


def _check(problem: Problem) -> None:
    want = _reference(problem)
    d = _Dual(problem, ())
    n_d = len(problem.decisions)
    np.testing.assert_array_equal(d.ic, want["ic"])
    assert d.ic.dtype == want["ic"].dtype and d.io.dtype == want["io"].dtype
    # io is renumbered (the decisions, then the listed conjunctions): the same decisions and order
    np.testing.assert_array_equal(d.io < n_d, want["io"] < n_d)
    np.testing.assert_array_equal(d.io[d.io < n_d], want["io"][want["io"] < n_d])
    np.testing.assert_array_equal(d.inc_cost, want["inc_cost"])
    np.testing.assert_array_equal(d.m_dec, want["m_dec"])


@pytest.mark.parametrize("seed", range(20))
def test_dual_arrays_match_the_reference_on_random_problems(seed):
    _check(random_problem(seed))


@pytest.mark.parametrize("name", sorted(CASES))
def test_dual_arrays_match_the_reference_on_the_zoo(name):
    _check(prepare(CASES[name]()).problem)


def test_dual_arrays_match_the_reference_on_a_district_and_its_relaxation():
    p = prepare(make_district(30, 60, 12, 1, seed=2)).problem
    _check(p)
    q = relax_access_crossings(p)
    assert q is not None and len(q.options) > len(q.decisions)
    _check(q)

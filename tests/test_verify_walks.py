"""The verifier's walks from the firms, computed once per layout and read for every target set
(pairs, each facility type, social spaces, stops), and kept by the shared :class:`GraphBase` for
the attribution's re-verifications (``walk_memo``): the same verification as a graph and walks
built afresh for every call."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser import verify as verify_mod
from optimiser import verify_graph
from optimiser.pipeline import run_scenario
from optimiser.present.attribution import attribute_items
from optimiser.verify import verifier_base, verify
from optimiser.verify_graph import lengths_to_m, walk_lengths_m, walks_from_m
from tests.sitefiles import write_files


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny site solved with firm pairs and facility access: two crossings, a facility and a
    social space built."""
    _, scen = write_files(tmp_path_factory.mktemp("in"))
    return run_scenario(scen, None, render=False)


def _same(a, b) -> None:
    assert a.passed == b.passed and a.objective == b.objective
    np.testing.assert_array_equal(a.pair_lengths_m, b.pair_lengths_m)
    assert a.facility_walk_m.keys() == b.facility_walk_m.keys()
    for t in a.facility_walk_m:
        np.testing.assert_array_equal(a.facility_walk_m[t], b.facility_walk_m[t])
    np.testing.assert_array_equal(a.social_walk_m, b.social_walk_m)
    assert [(c.name, c.passed, c.detail) for c in a.checks] == [(c.name, c.passed, c.detail) for c in b.checks]


def test_walks_from_the_origins_give_every_target_set_the_walk_lengths(tiny_run) -> None:
    ctx, chosen = tiny_run.prepared.context, tiny_run.solve.chosen
    graph = verify_mod.layout_graph(ctx, chosen)
    walks = walks_from_m(graph, ctx.firm_keys)
    assert walks.shape == (len(ctx.firm_keys), graph.csr.shape[0])
    sites = [s.key for s in ctx.facility_sites] + [s.key for s in ctx.social_sites]
    for targets in (list(ctx.firm_keys), sites, sites[:1], []):
        np.testing.assert_array_equal(lengths_to_m(graph, walks, targets), walk_lengths_m(graph, ctx.firm_keys, targets))
    pairs = lengths_to_m(graph, walks, ctx.firm_keys)
    assert np.all(np.diag(pairs) == 0) and np.all(np.isfinite(pairs)) and pairs.max() > 100  # real walks, not zeros
    # an origin without access nodes walks nowhere; no origin at all: an empty table
    assert np.all(np.isinf(walks_from_m(graph, ["firm:nobody"])))
    assert walks_from_m(graph, []).shape == (0, graph.csr.shape[0])


def test_attribution_with_the_memo_is_attribution_with_every_walk_rebuilt(tiny_run, monkeypatch) -> None:
    prep, res = tiny_run.prepared, tiny_run.solve
    problem, ctx = prep.problem, prep.context
    kinds = [problem.decisions[i].kind for i in res.chosen]
    assert kinds.count("crossing") >= 2 and len(kinds) > kinds.count("crossing")  # both kinds of removal
    computed: list[int] = []
    real = verify_graph.walks_from_m
    monkeypatch.setattr(verify_graph, "walks_from_m", lambda g, o: computed.append(1) or real(g, o))
    base = verifier_base(ctx)
    again = verify(problem, ctx, res.chosen, res.objective, raise_on_failure=False, base=base)
    assert len(computed) == 1
    with_memo, _ = attribute_items(prep, res.chosen, again, base)
    # the items that leave the graph as it was read the layout's walks: one Dijkstra per crossing
    assert len(computed) == 1 + kinds.count("crossing")
    assert with_memo == tiny_run.metrics.attribution
    # every re-verification against a graph and walks built afresh (no shared base, no memo)
    chosen = tuple(sorted(set(res.chosen)))
    for i in chosen:
        rest = tuple(j for j in chosen if j != i)
        _same(verify(problem, ctx, rest, None, raise_on_failure=False, base=base),
              verify(problem, ctx, rest, None, raise_on_failure=False))
    crossing = next(a for a in with_memo if a.kind == "crossing")
    assert crossing.saving_m > 0  # a crossing's removal was not read from the layout's walks


def test_the_memo_keeps_a_few_layouts_within_its_bytes(tiny_run, monkeypatch) -> None:
    prep, res = tiny_run.prepared, tiny_run.solve
    problem, ctx = prep.problem, prep.context
    chosen = tuple(sorted(set(res.chosen)))
    layouts = [chosen[:k] for k in range(len(chosen) + 1)] + [chosen[1:], chosen[::2]]
    base = verifier_base(ctx)
    for lay in layouts:
        verify(problem, ctx, lay, None, raise_on_failure=False, base=base)
        assert len(base.walk_memo) <= verify_graph.WALK_MEMO_ENTRIES
    assert len(base.walk_memo) == verify_graph.WALK_MEMO_ENTRIES
    # kept by recency: the last layout's crossings are the newest key
    newest = next(reversed(base.walk_memo))
    built = tuple(c for c, d in ctx.crossing_decision.items() if d in set(layouts[-1]))
    assert newest[0] == built
    monkeypatch.setattr(verify_graph, "WALK_MEMO_MAX_BYTES", 0)
    small = verifier_base(ctx)
    for lay in layouts:
        _same(verify(problem, ctx, lay, None, raise_on_failure=False, base=small),
              verify(problem, ctx, lay, None, raise_on_failure=False, base=base))
    assert small.walk_memo == {}

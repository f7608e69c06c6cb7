"""clients' fast paths agree with the plain ones: option ids from the dense table of distinct
rows, and clients matched by their entries (also when every hash collides)."""

from __future__ import annotations

import numpy as np
import pytest

import optimiser.model.clients as clients
from optimiser.model.clients import _keyed_option_ids, option_ids, same_clients
from optimiser.model.problem import Decision, Problem


def _problem(n_dec: int) -> Problem:
    dec = [Decision(f"d{i}", "crossing", "g", 1.0, f"d{i}") for i in range(n_dec)]
    return Problem(dec, [(i,) for i in range(n_dec)], [], [], [], {}, 10, {"all": 1.0}, 10.0)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("width", [1, 2, 3])
def test_option_ids_match_the_keyed_path(seed, width):
    rng = np.random.default_rng(seed)
    n_dec = 12
    req = rng.integers(-1, n_dec, (400, width)).astype(np.int32)  # permutations, repeats, -1s
    p_fast, p_slow = _problem(n_dec), _problem(n_dec)
    p_fast.option_id((3, 7))  # an option made earlier is found, not made again
    p_slow.option_id((3, 7))
    a = option_ids(p_fast, req)
    b = _keyed_option_ids(p_slow, req)
    assert np.array_equal(a, b)
    assert p_fast.options == p_slow.options and p_fast._option_index == p_slow._option_index


def _brute_same(e_client, lev, opt, n_c):
    seg = {k: (lev[e_client == k].tolist(), opt[e_client == k].tolist()) for k in range(n_c)}
    return [next(j for j in range(k + 1) if seg[j] == seg[k]) for k in range(n_c)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("collide", [False, True])
def test_same_clients(seed, collide, monkeypatch):
    if collide:  # every hash 0: clients of one entry count all match, and the check must part them
        monkeypatch.setattr(clients, "_MIX", (np.uint64(0),) * 3)
    rng = np.random.default_rng(seed)
    n_c = 40
    shapes = [sorted({(int(rng.integers(0, 4)), int(rng.integers(0, 3))) for _ in range(int(rng.integers(0, 4)))})
              for _ in range(8)]
    rows = [(k, lv, op) for k in range(n_c) for lv, op in shapes[int(rng.integers(0, 8))]]
    arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
    e_client, lev, opt = arr[:, 0], arr[:, 1], arr[:, 2]
    got, want = same_clients(e_client, lev, opt, n_c).tolist(), _brute_same(e_client, lev, opt, n_c)
    if not collide:
        assert got == want
    # always: a client is matched only to an earlier first client with the same entries
    assert all(g == k or (g < k and want[g] == want[k] and got[g] == g) for k, g in enumerate(got))
    if collide:
        assert got != list(range(n_c))  # some were matched all the same


@pytest.mark.parametrize("seed", range(4))
def test_distinct_sorted_entries(seed):
    rng = np.random.default_rng(seed)
    e_client, lev, opt = rng.integers(0, 9, 800), rng.integers(0, 5, 800) * 10, rng.integers(0, 7, 800)
    want = sorted(set(zip(e_client.tolist(), lev.tolist(), opt.tolist())))
    for shift in (0, -1000):  # a negative level: the lexsort path
        got = clients.distinct_sorted_entries(e_client, lev + shift, opt)
        assert list(zip(got[0].tolist(), (got[1] - shift).tolist(), got[2].tolist())) == want


def _level_groups_by_slices(e_client, lev, opt, n_c):
    """:func:`clients.level_groups` one level at a time (the plain path its tuples were built by until wave 45)."""
    keep = np.ones(e_client.size, dtype=bool)
    keep[1:] = (e_client[1:] != e_client[:-1]) | (lev[1:] != lev[:-1]) | (opt[1:] != opt[:-1])
    e_client, lev, opt = e_client[keep], lev[keep], opt[keep]
    lengths, tuples, per = [], [], [0] * n_c
    for i in range(e_client.size):
        if i == 0 or e_client[i] != e_client[i - 1] or lev[i] != lev[i - 1]:
            lengths.append(int(lev[i]))
            tuples.append(())
            per[int(e_client[i])] += 1
        tuples[-1] += (int(opt[i]),)
    return lengths, tuples, np.concatenate([[0], np.cumsum(per)]).tolist()


@pytest.mark.parametrize("seed", range(8))
def test_level_groups_match_one_level_at_a_time(seed):
    """Levels of every size from 1 to 12 mixed (most of one option, as on real sites), repeated
    entries, clients without levels, and the same option id shared as one Python int."""
    rng = np.random.default_rng(seed)
    n_c = 30
    rows = []
    for c in range(n_c):
        if c % 7 == 3:
            continue  # a client without entries
        for level in sorted(rng.choice(500, size=rng.integers(1, 20), replace=False).tolist()):
            k = 1 if rng.random() < 0.6 else int(rng.integers(2, 13))
            for o in sorted((1000 + rng.choice(40, size=k, replace=False)).tolist()):  # above CPython's cached small ints
                rows.extend([(c, level, o)] * (2 if rng.random() < 0.1 else 1))
    e_client, lev, opt = (np.array(col, dtype=np.int64) for col in zip(*rows))
    got = clients.level_groups(e_client, lev, opt, n_c)
    assert got == _level_groups_by_slices(e_client, lev, opt, n_c)
    assert {len(t) for t in got[1]} >= {1, 2} and len(got[1]) == got[2][-1]
    ids = {}
    for t in got[1]:
        for o in t:
            assert ids.setdefault(o, o) is o  # one int object per option id


def test_level_groups_of_nothing():
    empty = np.zeros(0, dtype=np.int64)
    assert clients.level_groups(empty, empty, empty, 3) == ([], [], [0, 0, 0, 0])
    assert clients.level_tuples(empty, empty) == []

"""Variables and constraints written to a CP-SAT model in bulk, as the ``CpModel`` API writes them.

OR-Tools 9.15's ``CpModel`` keeps its proto in C++; every ``new_bool_var`` and ``add(...)`` is a
few calls across the Python/C++ boundary (a variable about 4 us, a chain row 10 us), and the
radius chains of relax-first's exact models have tens of thousands of each. :class:`RowWriter`
collects them as protobuf text and merges them into the proto in one ``merge_text_format`` call
(:meth:`RowWriter.flush`), in the order the API would have added them, with the API's own
normal form: a linear row's terms sorted by variable index, repeated variables merged, zero
coefficients dropped, ``>= lo`` as the domain ``[lo, INT_MAX]``. The model is the same proto
(``tests/test_cpsat_rows.py`` compares them); measured on benchmarks/realsites' per-vector exact
models, see :mod:`optimiser.solve.cpsat_model`.

Variables are proto indices (``int``) until flushed; :meth:`RowWriter.var` gives the API's
``IntVar`` of an index afterwards. Whoever also adds through the API flushes first.
"""

from __future__ import annotations

from collections.abc import Sequence

from optimiser.solve.cpsat_api import cp_model

INT_MAX = 9223372036854775807
"""CP-SAT's largest integer (``cp_model.INT_MAX``): the open end of a ``>=`` row's domain."""


def _escape(name: str) -> str:
    """``name`` as a protobuf text-format string body (UTF-8 bytes, quote, backslash and
    non-printable bytes as octal escapes)."""
    if name.isascii() and name.isprintable() and '"' not in name and "\\" not in name:
        return name
    return "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03o}" for b in name.encode("utf-8"))


def _ints(values: Sequence[int]) -> str:
    return ",".join(map(str, values))


def _ones(n: int) -> str:
    return ",".join(["1"] * n)


_CHAIN = "constraints{linear{vars:[%s] coeffs:[%s] domain:[0," + str(INT_MAX) + "]}}"
"""A chain row's text: its variables and coefficients, comma-separated."""

_CHAIN_3 = "constraints{linear{vars:[%d,%d,%d] coeffs:[%s] domain:[0," + str(INT_MAX) + "]}}"
"""A chain row of three variables (ascending) and its coefficients."""

_VAR_OPEN, _VAR_CLOSE = 'variables{name:"', '" domain:[0,1]}'


def _variables(names: list[str]) -> str:
    """The text of Boolean variables named ``names``, in order: joined in one call when no name
    needs escaping (checked once on all of them), else escaped one by one."""
    if not names:
        return ""
    whole = "".join(names)
    if whole.isascii() and whole.isprintable() and '"' not in whole and "\\" not in whole:
        return _VAR_OPEN + (_VAR_CLOSE + _VAR_OPEN).join(names) + _VAR_CLOSE
    return "".join([_VAR_OPEN + _escape(n) + _VAR_CLOSE for n in names])


class RowWriter:
    """Boolean variables and constraints for a ``CpModel``, written in one call (module docstring).

    Attributes:
        model: the ``CpModel``.
        next_index: the proto index the next variable gets.
    """

    def __init__(self, model: cp_model.CpModel) -> None:
        self.model = model
        self.next_index = len(model.proto.variables)
        self._names: list[str] = []
        self._cons: list[str] = []

    def bool_var(self, name: str) -> int:
        """A new Boolean variable's index (``CpModel.new_bool_var(name)``)."""
        self._names.append(name)
        self.next_index += 1
        return self.next_index - 1

    def bool_vars(self, names: Sequence[str]) -> int:
        """New Boolean variables, one per name, in order; the first one's index."""
        self._names.extend(names)
        self.next_index += len(names)
        return self.next_index - len(names)

    def at_least(self, vars_: Sequence[int], coefs: Sequence[int], lo: int) -> None:
        """``sum(coefs * vars) >= lo`` (``CpModel.add(LinearExpr.weighted_sum(...) >= lo)``, variables only)."""
        if len(set(vars_)) == len(vars_):
            terms = sorted((v, c) for v, c in zip(vars_, coefs) if c != 0)
        else:
            merged: dict[int, int] = {}
            for v, c in zip(vars_, coefs):
                merged[v] = merged.get(v, 0) + c
            terms = sorted((v, c) for v, c in merged.items() if c != 0)
        self._cons.append(f"constraints{{linear{{vars:[{_ints([v for v, _ in terms])}] "
                          f"coeffs:[{_ints([c for _, c in terms])}] domain:[{lo},{INT_MAX}]}}}}")

    def at_least_one_sum(self, vars_: Sequence[int], lo: int = 1) -> None:
        """``sum(vars) >= lo`` (all coefficients 1)."""
        if len(set(vars_)) != len(vars_):
            self.at_least(vars_, [1] * len(vars_), lo)
            return
        self._cons.append(f"constraints{{linear{{vars:[{_ints(sorted(vars_))}] "
                          f"coeffs:[{_ones(len(vars_))}] domain:[{lo},{INT_MAX}]}}}}")

    def chain(self, u: int, prev: int, lits: Sequence[int]) -> None:
        """``u - prev + sum(lits) >= 0`` (a radius chain's row)."""
        if len(lits) == 1:  # most rows: three distinct variables, written without a sort
            lit = lits[0]
            if prev < u and lit != prev and lit != u:
                if lit < prev:
                    self._cons.append(_CHAIN_3 % (lit, prev, u, "1,-1,1"))
                elif lit < u:
                    self._cons.append(_CHAIN_3 % (prev, lit, u, "-1,1,1"))
                else:
                    self._cons.append(_CHAIN_3 % (prev, u, lit, "-1,1,1"))
                return
        vars_ = [u, prev, *lits]
        n = len(vars_)
        if len(set(vars_)) != n:
            self.at_least(vars_, [1, -1] + [1] * len(lits), 0)
            return
        vars_.sort()
        i = vars_.index(prev)
        self._cons.append(_CHAIN % (",".join(map(str, vars_)), "1," * i + "-1" + ",1" * (n - i - 1)))

    def bool_and(self, literals: Sequence[int], enforce: int) -> None:
        """``CpModel.add_bool_and(literals).only_enforce_if(enforce)``."""
        self._cons.append(f"constraints{{enforcement_literal:{enforce} bool_and{{literals:[{_ints(literals)}]}}}}")

    def bool_or(self, literals: Sequence[int]) -> None:
        """``CpModel.add_bool_or(literals)``."""
        self._cons.append(f"constraints{{bool_or{{literals:[{_ints(literals)}]}}}}")

    def implication(self, a: int, b: int) -> None:
        """``CpModel.add_implication(a, b)``."""
        self.bool_and([b], a)

    def exactly_one(self, literals: Sequence[int]) -> None:
        """``CpModel.add_exactly_one(literals)``."""
        self._cons.append(f"constraints{{exactly_one{{literals:[{_ints(literals)}]}}}}")

    def flush(self) -> None:
        """Merge what was written into the model's proto (before any API call adds to it)."""
        if self._names or self._cons:
            self.model.proto.merge_text_format(_variables(self._names) + "".join(self._cons))
            self._names.clear()
            self._cons.clear()

    def var(self, index: int) -> cp_model.IntVar:
        """The ``IntVar`` of a flushed variable."""
        return cp_model.IntVar(self.model.proto, index)

"""Dotted-key overrides of a scenario mapping: they live in :mod:`optimiser.inputs.overrides`
(a scenario's ``futures:`` use them too); re-exported here for the batch modules."""

from __future__ import annotations

from optimiser.inputs.overrides import BRACKET, INDEX, apply_overrides, check_key, split_key

__all__ = ["BRACKET", "INDEX", "apply_overrides", "check_key", "split_key"]

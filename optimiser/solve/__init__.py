"""Solving: backends, heuristics, bounds and the strategy that combines them."""

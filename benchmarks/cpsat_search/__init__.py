"""Side-by-side comparison of CP-SAT's search settings (issue 17): ``python -m benchmarks.cpsat_search``."""

"""The embedded sites and scenarios, as package data of an installed wheel.

The repository keeps its data in the top-level folders ``sites/`` and ``constraints/`` (no code
there). Building a wheel copies them here, as ``optimiser/_embedded/sites/`` and
``optimiser/_embedded/constraints/`` (``setup.py``'s ``build_py`` step), so an installed package
runs its embedded sites and scenarios from any directory. In a source checkout (and an editable
install) this folder holds only this file and the data is read from the checkout itself;
:func:`optimiser.inputs.locate.data_roots` looks in both places, with :mod:`importlib.resources`.
"""

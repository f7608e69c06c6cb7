"""``python -m optimiser`` is ``siteopt``."""

from optimiser.cli import main

main()

"""``python -m optimiser.cli`` is ``siteopt``."""

from optimiser.cli import main

if __name__ == "__main__":
    main()

"""``python -m optimiser`` is ``siteopt``."""

from optimiser.entry import main

if __name__ == "__main__":
    main()

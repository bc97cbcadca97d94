"""`python -m reference_methods ...`: the Django-free command line (see `reference_methods.cli`)."""

import sys

from reference_methods.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""`python -m benchdata ...`: see benchdata.cli."""

import sys

from benchdata.cli import main

sys.exit(main())

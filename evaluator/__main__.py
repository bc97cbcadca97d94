"""`python -m evaluator …`: the evaluator's command line (see evaluator/cli.py)."""

from evaluator.cli import main

raise SystemExit(main())

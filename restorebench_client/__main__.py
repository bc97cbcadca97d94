import sys

from restorebench_client.cli import main

sys.exit(main())

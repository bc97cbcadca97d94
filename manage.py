#!/usr/bin/env python
"""Django's command-line entry point for the RestoreBench site.

`platform/` is a source root, not a package (a package named `platform` would shadow the standard
library), so it is put on sys.path here before Django loads `restorebench.settings`.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main() -> None:
    for source_root in (ROOT, ROOT / "platform"):
        if str(source_root) not in sys.path:
            sys.path.insert(0, str(source_root))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "restorebench.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

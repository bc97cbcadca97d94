"""The participants' client installs with the project but runs without the site: no Django import."""

import subprocess
import sys


def test_importing_the_client_loads_no_django_and_no_torch():
    code = (
        "import sys, restorebench_client.cli, restorebench_client.http, restorebench_client.config;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'torch', 'restorebench')];"
        "assert not bad, bad"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

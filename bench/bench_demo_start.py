"""How soon `make demo` answers in the browser: seconds from starting `manage.py demo` on a fresh state
folder (migrate, starter data, demo bundle, accounts, worker) to the first 200 of the home page, and
whether the baselines banner shows while they fill. Stops the demo and its worker afterwards.

    python bench/bench_demo_start.py [--port 8765] [--timeout 300]
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rb-demo-bench-") as var:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RESTOREBENCH_", "PYTEST_"))}
        env.update(RESTOREBENCH_VAR_DIR=var, RESTOREBENCH_WEIGHTS_DIR=str(ROOT / "var" / "weights"))
        log = open(Path(var) / "demo.log", "w")
        start = time.monotonic()
        demo = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--addrport", f"127.0.0.1:{args.port}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        first, banner = None, False
        try:
            while time.monotonic() - start < args.timeout and demo.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{args.port}/", timeout=5) as page:
                        html = page.read().decode()
                    first = time.monotonic() - start
                    banner = 'id="demo-banner"' in html
                    break
                except OSError:
                    time.sleep(0.25)
        finally:
            os.killpg(demo.pid, signal.SIGTERM)
            try:
                demo.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(demo.pid, signal.SIGKILL)
            log.close()
        if first is None:
            print((Path(var) / "demo.log").read_text()[-3000:])
            raise SystemExit(f"the demo did not answer within {args.timeout:.0f} s")
        print(f"first answer {first:.1f} s after manage.py demo started (fresh state); banner: {banner}")


if __name__ == "__main__":
    main()

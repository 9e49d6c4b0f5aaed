"""Run every benchmark in this folder, one after another, and print their reports.

python benchmarks/run_all.py
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    print(f"evbt benchmarks, {dt.date.today():%Y-%m-%d}, python {sys.version.split()[0]}")
    rc = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n== {script.name}", flush=True)
        rc |= subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False).returncode
    return rc


if __name__ == "__main__":
    sys.exit(main())

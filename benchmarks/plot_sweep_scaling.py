"""Plot sweep time against the number of combinations and against history length.

python benchmarks/plot_sweep_scaling.py [--out docs/sweep_scaling.png]

Two measurements of the sweep kernel (``evbt.backtest.sweep.run_chunk_arrays``, warm, median
of 3 runs), on the SYNTHETIC data of ``bench_sweep.py``:

- combinations: 10 tickers x 3,900 sessions x 120 events; 1,000 to 16,000 combinations drawn
  at random (seed 0) from the S2 grid. Cost should grow in proportion.
- history length: 10 tickers, 25 events in the first 900 sessions, the 1,760 combinations
  of the S1 grid; 1,000 to 7,000 sessions. The kernel visits only sessions inside event windows, so the
  cost should stay flat while the history grows.

Writes a PNG with matplotlib (an HTML plot with plotly when matplotlib is missing) and
prints the figures. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_sweep as B  # noqa: E402


def _time(fn, repeats: int = 3) -> float:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return float(np.median(out))


def measure(folder: Path) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    from evbt import api
    from evbt.backtest import sweep as S
    from evbt.strategies.config import load_config

    data = B.make_data(folder / "s1")
    cfg = load_config(B.write_config(folder / "s1", data, "s2", B.S2_GRID))
    inp = api.sweep_inputs(cfg)
    S.run_chunk_arrays(inp, inp.combos.iloc[:2])  # load the compiled kernel
    by_combos = []
    for n in (1000, 2000, 4000, 8000, 16000):
        sub = inp.combos.sample(n, random_state=0).sort_values("combo_id")
        secs = _time(lambda sub=sub: S.run_chunk_arrays(inp, sub))
        by_combos.append((n, secs))
        print(f"combinations {n:>6,}: {secs * 1e3:8.1f} ms", flush=True)
    by_length = []
    for n_sessions in (1000, 2000, 3000, 5000, 7000):
        sub = folder / f"h{n_sessions}"
        sub.mkdir()
        d = B.make_data(sub, n_sessions=n_sessions, n_events=25, start="2000-01-03")
        c = load_config(B.write_config(sub, d, "h", B.S1_GRID))
        inp_h = api.sweep_inputs(c)
        combos = inp_h.combos
        secs = _time(lambda inp_h=inp_h, combos=combos: S.run_chunk_arrays(inp_h, combos))
        by_length.append((len(inp_h.index), secs))
        print(f"sessions {len(inp_h.index):>6,}: {secs * 1e3:8.1f} ms", flush=True)
    return by_combos, by_length


def plot(by_combos, by_length, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from plotly.subplots import make_subplots

        fig = make_subplots(rows=1, cols=2, subplot_titles=("combinations", "history length"))
        fig.add_scatter(x=[a for a, _ in by_combos], y=[b for _, b in by_combos], row=1, col=1)
        fig.add_scatter(x=[a for a, _ in by_length], y=[b for _, b in by_length], row=1, col=2)
        html = out.with_suffix(".html")
        fig.write_html(html, include_plotlyjs="cdn")
        return html
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    x, y = zip(*by_combos, strict=True)
    a1.plot(x, y, "o-")
    a1.set_xscale("log")
    a1.set_yscale("log")
    a1.set_xlabel("combinations (x 10 tickers, 120 events, 3,900 sessions; S2 grid)")
    a1.set_ylabel("sweep kernel time (s)")
    a1.set_title("time against combinations")
    x, y = zip(*by_length, strict=True)
    a2.plot(x, y, "o-")
    a2.set_ylim(0, max(y) * 1.5)
    a2.set_xlabel("sessions of price history (25 events, 1,760 combinations)")
    a2.set_ylabel("sweep kernel time (s)")
    a2.set_title("time against history length")
    fig.suptitle("evbt sweep kernel scaling (SYNTHETIC data, 2 cores)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(HERE.parent / "docs" / "sweep_scaling.png"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="evbt-sweep-scaling-") as d:
        by_combos, by_length = measure(Path(d))
    path = plot(by_combos, by_length, Path(a.out))
    print(f"plot: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

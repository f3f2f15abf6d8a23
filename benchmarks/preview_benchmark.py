"""Preview cost: bare capture of every stack of a size vs. the full preview (capture + policy pack).

Run: `python3 -m uv run python benchmarks/preview_benchmark.py [--size large] [--repeat 3]`.

Each measurement is a fresh process, as a user or CI runs `mlops-platform preview`: imports, capture and
(for the full preview) the policy pack's own process, which boots while the stacks are captured. Reported
as medians and as the ratio full/capture; the goals are a ratio of at most 1.5 and a large preview well
under 15 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUN_ONCE = """
import json, sys
from pathlib import Path
from mlops_platform.offline.preview import run_preview
from mlops_platform.offline.stack_config import load_project_config
preview = run_preview(load_project_config(Path(sys.argv[1]), sys.argv[2]), evaluate_policies=sys.argv[3] == "full")
print(json.dumps({s.name: len(s.captured.resources) for s in preview.stacks}))
"""


def run_once(size: str, mode: str) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN_ONCE, str(ROOT), size, mode],
                          check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    counts: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="large")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run_once(args.size, "full")  # warm the file-system cache; not counted
    capture = [run_once(args.size, "capture")[0] for _ in range(args.repeat)]
    full_runs = [run_once(args.size, "full") for _ in range(args.repeat)]
    full = [elapsed for elapsed, _ in full_runs]
    counts = full_runs[-1][1]
    capture_s, full_s = statistics.median(capture), statistics.median(full)
    print(f"size {args.size}: {len(counts)} stacks, {sum(counts.values())} resources")
    for name, count in counts.items():
        print(f"  {name:<9} {count:>4} resources")
    print(f"bare capture, fresh process (median of {args.repeat}): {capture_s:.2f} s")
    print(f"full preview incl. policy pack, fresh process (median of {args.repeat}): {full_s:.2f} s")
    print(f"ratio full/capture: {full_s / capture_s:.2f}  (goal <= 1.5; full preview goal well under 15 s)")


if __name__ == "__main__":
    main()

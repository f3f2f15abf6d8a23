"""Preview cost: a bare capture of every stack vs. the full preview (capture, policy pack, proofs, access matrix),
across sizes and growing numbers of use cases and data scientists.

Run: `python3 -m uv run python benchmarks/preview_benchmark.py [--repeat 3] [--quick] [--json]`.

Each measurement is a fresh process, as a user or CI runs `mlops-platform preview`. Capture-only and full runs
alternate, pair after pair, so that a change of machine load hits both alike; each workload is warmed once first
(file-system cache, the pipeline-definition cache), and that run is not counted. Reported per workload: wall and
CPU seconds (user + system of the process and every process it waited for: the policy pack, the IAM engine),
medians, the full/capture ratio and the peak resident memory of the largest process; then the ratios the goals
are stated in (README, Benchmarks).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUN_ONCE = """
import json, sys
from pathlib import Path
from mlops_platform.offline.preview import run_preview
from mlops_platform.offline.size_capture import capture_size
from mlops_platform.offline.stack_config import load_project_config
root, size, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
override = Path(sys.argv[4]) if len(sys.argv) > 4 else None
project = load_project_config(root, size, override)
if mode == "full":
    stacks = [stack.captured for stack in run_preview(project).stacks]
else:
    stacks = list(capture_size(project).stacks)
print(json.dumps(sum(len(stack.resources) for stack in stacks)))
"""


@dataclass(frozen=True)
class Workload:
    label: str
    size: str
    use_cases: int | None = None
    """None: the size's samples as shipped."""
    data_scientists: int | None = None


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    peak_rss_mb: float
    resources: int


@dataclass(frozen=True)
class Measured:
    workload: Workload
    capture: list[Run]
    full: list[Run]

    def median(self, runs: list[Run], field: str) -> float:
        return float(statistics.median(float(getattr(run, field)) for run in runs))

    def document(self) -> dict[str, object]:
        return {"workload": self.workload.label, "size": self.workload.size,
                "resources": self.full[-1].resources,
                "captureWall": self.median(self.capture, "wall"), "captureCpu": self.median(self.capture, "cpu"),
                "fullWall": self.median(self.full, "wall"), "fullCpu": self.median(self.full, "cpu"),
                "ratioCpu": self.median(self.full, "cpu") / self.median(self.capture, "cpu"),
                "ratioWall": self.median(self.full, "wall") / self.median(self.capture, "wall"),
                "peakRssMb": max(run.peak_rss_mb for run in self.full)}


def override_file(workload: Workload, folder: Path) -> Path | None:
    """A --config file listing `use_cases` use cases and `data_scientists` Studio users, or None (as shipped)."""
    if workload.use_cases is None and workload.data_scientists is None:
        return None
    lines = ["config:"]
    if workload.use_cases is not None:
        # The first is the shipped churn (its fairness, data lake tables and feature group refer to it), the rest
        # plain use cases.
        lines.append("  mlops-platform:useCases:")
        lines.append("    - {name: churn, minInstances: 2, maxInstances: 4, trainingTables: [customers.churn_history], "
                     "fairness: {facet: gender, limits: {statistical_parity_difference: 0.1}}}")
        lines += [f"    - {{name: uc{index:03d}, minInstances: 2, maxInstances: 4}}"
                  for index in range(1, workload.use_cases)]
    if workload.data_scientists is not None:
        lines.append("  mlops-platform:dataScientists:")
        lines += [f"    - ds{index:04d}" for index in range(workload.data_scientists)]
    path = folder / f"Pulumi.{workload.label}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_once(workload: Workload, mode: str, override: Path | None) -> Run:
    """One preview process; its own resource usage (and that of the processes it waited for), read by wait4 so
    that neither CPU nor peak memory mixes with earlier runs."""
    command = [sys.executable, "-c", RUN_ONCE, str(ROOT), workload.size, mode]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen([*command, str(override)] if override else command, stdout=subprocess.PIPE,
                                   stderr=errors)
        stdout = process.stdout.read()  # type: ignore[union-attr]
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{workload.label} ({mode}) failed:\n{errors.read().decode(errors='replace')[-2000:]}")
    return Run(wall=wall, cpu=usage.ru_utime + usage.ru_stime, peak_rss_mb=usage.ru_maxrss / 1024,
               resources=int(json.loads(stdout.decode().strip().splitlines()[-1])))


def measure(workload: Workload, repeat: int, folder: Path) -> Measured:
    override = override_file(workload, folder)
    if workload in SCALE:
        run = run_once(workload, "full", override)  # one full run: they must finish; its figures are recorded
        return Measured(workload, [run], [run])
    run_once(workload, "full", override)  # warm-up, not counted
    capture: list[Run] = []
    full: list[Run] = []
    for _ in range(repeat):
        capture.append(run_once(workload, "capture", override))
        full.append(run_once(workload, "full", override))
    return Measured(workload, capture, full)


WORKLOADS = (
    Workload("small", "small"), Workload("medium", "medium"), Workload("large", "large"),
    Workload("large-1uc", "large", use_cases=1), Workload("large-5uc", "large", use_cases=5),
    Workload("large-20uc", "large", use_cases=20), Workload("large-50uc", "large", use_cases=50),
    Workload("large-2ds", "large", data_scientists=2), Workload("large-20ds", "large", data_scientists=20),
    Workload("large-100ds", "large", data_scientists=100),
)
QUICK = ("small", "large", "large-1uc", "large-5uc")
SCALE = (Workload("large-2000ds", "large", data_scientists=2000), Workload("large-500uc", "large", use_cases=500))
"""Opt-in (`--scale`): the sizes that must finish, one full preview each, as it comes (a first run of 500 use
cases builds 500 pipeline definitions); its capture columns repeat the full run's figures."""


def goal_ratios(results: dict[str, dict[str, object]]) -> dict[str, float]:
    def cpu(label: str) -> float:
        return float(results[label]["fullCpu"])  # type: ignore[arg-type]

    ratios = {"small/large": cpu("small") / cpu("large")} if {"small", "large"} <= results.keys() else {}
    for many in ("large-20uc", "large-50uc"):
        if many in results and "large-1uc" in results:
            ratios[f"{many.removeprefix('large-')}/1uc"] = cpu(many) / cpu("large-1uc")
    return ratios


def precompile() -> None:
    """The project's modules compiled once, as Python caches them on a user's machine: this one sets
    PYTHONDONTWRITEBYTECODE, and every run would otherwise compile them again (the venv is precompiled by uv)."""
    for package in ("mlops_platform", "policies"):
        compileall.compile_dir(ROOT / package, quiet=1, workers=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--scale", action="store_true", help=f"only {', '.join(w.label for w in SCALE)}")
    parser.add_argument("--only", nargs="+", metavar="WORKLOAD", help="only these workloads")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    workloads = list(SCALE) if args.scale else [w for w in WORKLOADS if not args.quick or w.label in QUICK]
    if args.only:
        workloads = [w for w in (*WORKLOADS, *SCALE) if w.label in args.only]
    precompile()
    with tempfile.TemporaryDirectory() as folder:
        results = {w.label: measure(w, args.repeat, Path(folder)).document() for w in workloads}
    ratios = goal_ratios(results)
    if args.json:
        print(json.dumps({"results": results, "ratios": ratios}, indent=2))
        return
    print(f"{'workload':<12} {'resources':>9} {'capture cpu':>11} {'full cpu':>9} {'ratio':>6} {'full wall':>9} "
          f"{'peak MB':>8}")
    for label, row in results.items():
        print(f"{label:<12} {row['resources']:>9} {row['captureCpu']:>11.2f} {row['fullCpu']:>9.2f} "
              f"{row['ratioCpu']:>6.2f} {row['fullWall']:>9.2f} {row['peakRssMb']:>8.0f}")
    for name, value in ratios.items():
        print(f"ratio {name} (full preview CPU): {value:.2f}")


if __name__ == "__main__":
    main()

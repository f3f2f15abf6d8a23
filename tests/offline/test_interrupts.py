"""Ctrl-C and SIGTERM in the middle of a preview: one line, exit 130 or 143, and no policy pack left running."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-c", "from mlops_platform.entry import main; main()"]


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found.update(int(child) for child in task.read_text().split())
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may leave an orphan's zombie unreaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for_the_policy_pack(process: subprocess.Popen[bytes], deadline: float) -> set[int]:
    """Read progress until the stacks are being captured and the pack process runs beside them."""
    assert process.stderr is not None
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 0.2)
        if ready:
            seen += os.read(process.stderr.fileno(), 4096)
        pack = children(process.pid)
        if b"capturing stack" in seen and pack:
            return pack
    pytest.fail(f"the preview never reached its capture: {seen!r}")


@pytest.mark.parametrize(("signum", "status", "message"), [
    (signal.SIGINT, 130, "error: interrupted (Ctrl-C); the policy pack and IAM engine were stopped"),
    (signal.SIGTERM, 143, "error: terminated (SIGTERM); the policy pack and IAM engine were stopped"),
])
def test_a_signal_mid_preview_ends_the_pack_and_says_so_in_one_line(signum: int, status: int, message: str) -> None:
    process = subprocess.Popen([*COMMAND, "preview", "--size", "small", "--project-dir", str(ROOT)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        pack = wait_for_the_policy_pack(process, time.monotonic() + 120)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == status
    assert stderr.decode().strip().splitlines()[-1] == message
    assert b"Traceback" not in stderr + stdout and stdout == b""
    deadline = time.monotonic() + 5
    while any(running(pid) for pid in pack) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pack if running(pid)], "the policy pack outlived the preview"


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_the_cli_still_imports_is_one_line(signum: int, status: int) -> None:
    process = subprocess.Popen([*COMMAND, "preview", "--size", "small", "--project-dir", str(ROOT)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    time.sleep(0.5)  # the CLI's imports (pulumi, pulumi-aws, sagemaker) take seconds
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == status
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and b"Traceback" not in stderr
    assert stdout == b""


TRACKED_CHILD = """
import subprocess, sys, time
from mlops_platform.entry import install_signal_handlers
from mlops_platform.offline import child_processes
install_signal_handlers()
child = subprocess.Popen(["sleep", "120"])
with child_processes.tracked(child):
    print(child.pid, flush=True)
    child.wait()
"""


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_any_tracked_child_is_ended_by_the_signal_handler(signum: int, status: int) -> None:
    """As the IAM engine is (iam_simulate runs it as a tracked child): the parent waiting on it is interrupted."""
    process = subprocess.Popen([sys.executable, "-c", TRACKED_CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    child = int(process.stdout.readline())
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == status
    assert stderr.decode().strip().endswith("the policy pack and IAM engine were stopped")
    assert not running(child)


def test_the_iam_engine_runs_as_a_tracked_child(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mlops_platform import disk_cache
    from mlops_platform.offline import child_processes, iam_simulate

    monkeypatch.setenv(disk_cache.CACHE_DIR_VARIABLE, str(tmp_path))  # a cached decision would start no engine

    seen: list[int] = []
    real_track = child_processes.track

    def noting_track(process: subprocess.Popen[bytes]) -> None:
        seen.append(process.pid)
        real_track(process)

    monkeypatch.setattr(child_processes, "track", noting_track)
    simulation = iam_simulate.Simulation(
        principal="arn:aws:iam::111111111111:role/r", action="s3:GetObject", resource="arn:aws:s3:::b/k",
        resource_account="111111111111", identity_policies=(("allow", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}),))
    before = set(child_processes.running_pids())  # other tests of this worker may keep a pack running
    assert iam_simulate.simulate([simulation])[0].allowed
    assert len(seen) == 1 and set(child_processes.running_pids()) == before and seen[0] not in before

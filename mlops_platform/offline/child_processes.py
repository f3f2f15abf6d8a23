"""The child processes a preview runs (the policy pack, the IAM engine), so that an interrupt can end them all.

`end_all` runs inside a signal handler, which may interrupt the main thread anywhere, even inside a
`Popen.wait` holding its lock: it therefore uses only `os.kill` and non-blocking `os.waitpid`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

GRACE_SECONDS = 5.0
_running: dict[int, subprocess.Popen[Any]] = {}


def track(process: subprocess.Popen[Any]) -> None:
    _running[process.pid] = process


def untrack(process: subprocess.Popen[Any]) -> None:
    _running.pop(process.pid, None)


@contextmanager
def tracked(process: subprocess.Popen[Any]) -> Iterator[subprocess.Popen[Any]]:
    """The process, tracked while the block runs and killed if the block leaves it running."""
    track(process)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        untrack(process)


def running_pids() -> list[int]:
    return list(_running)


def end_all(grace_seconds: float = GRACE_SECONDS) -> None:
    """SIGTERM every tracked process, SIGKILL those still running after `grace_seconds`."""
    pids = list(_running)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    remaining = [pid for pid in pids if not _reaped(pid)]
    while remaining and time.monotonic() < deadline:
        time.sleep(0.05)
        remaining = [pid for pid in remaining if not _reaped(pid)]
    for pid in remaining:
        _signal(pid, signal.SIGKILL)
        _reaped(pid)
    _running.clear()


def _signal(pid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signum)


def _reaped(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True  # already reaped (by Popen)
    return done == pid

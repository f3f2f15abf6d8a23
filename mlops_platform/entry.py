"""The `mlops-platform` console script: signal handling first, then the CLI's imports (pulumi, pulumi-aws and the
sagemaker SDK take seconds), so that Ctrl-C or SIGTERM at any moment ends in one line, never a traceback.

An interrupt is handled in the signal handler itself: it ends the child processes (the policy pack, the IAM
engine) and exits. Raising KeyboardInterrupt instead would leave the outcome to whatever code it lands in, and
the Pulumi runtime's event loop and worker threads can swallow it or keep the interpreter from exiting.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

from mlops_platform.offline import child_processes

EXIT_INTERRUPTED = 130
"""128 + SIGINT, as a shell reports Ctrl-C."""
EXIT_TERMINATED = 143
"""128 + SIGTERM."""

_ON_SIGNAL = {
    signal.SIGINT: (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
    signal.SIGTERM: (EXIT_TERMINATED, "terminated (SIGTERM)"),
}


def _end_and_exit(signum: int, frame: FrameType | None) -> None:
    for handled in _ON_SIGNAL:
        signal.signal(handled, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the cleanup
    status, what = _ON_SIGNAL[signal.Signals(signum)]
    had_children = bool(child_processes.running_pids())
    child_processes.end_all()
    stopped = "; the policy pack and IAM engine were stopped" if had_children else ""
    os.write(2, f"error: {what}{stopped}\n".encode())
    os._exit(status)  # the interpreter's shutdown would wait for the Pulumi runtime's worker threads


def install_signal_handlers() -> None:
    for signum in _ON_SIGNAL:
        signal.signal(signum, _end_and_exit)


def main() -> None:
    install_signal_handlers()
    from mlops_platform.cli import app

    app()

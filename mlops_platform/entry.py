"""The `mlops-platform` console script: signal handling first, then the CLI's imports (pulumi, pulumi-aws and the
sagemaker SDK take seconds), so that Ctrl-C or SIGTERM at any moment ends in one line, never a traceback."""

from __future__ import annotations

import signal
import sys
from types import FrameType

EXIT_INTERRUPTED = 130
"""128 + SIGINT, as a shell reports Ctrl-C."""
EXIT_TERMINATED = 143
"""128 + SIGTERM."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is so that every `finally` runs and ends the child processes."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def main() -> None:
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        from mlops_platform.cli import app

        app()
    except Terminated:
        _exit("terminated (SIGTERM)", EXIT_TERMINATED)
    except KeyboardInterrupt:
        _exit("interrupted (Ctrl-C)", EXIT_INTERRUPTED)


def _exit(message: str, status: int) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(status)

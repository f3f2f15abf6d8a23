"""The platform's on-disk cache: files named by the hash of everything that decides their content, so that a hit
is exactly what computing again would give, and any change of input is a miss.

It holds the retraining pipelines' definitions (`pipelines/definitions.py`) and the IAM engine's decisions
(`offline/iam_simulate.py`). It lives in `MLOPS_PLATFORM_CACHE_DIR`, else `$XDG_CACHE_HOME/mlops-platform`, else
`~/.cache/mlops-platform`; deleting it only costs time, and a cache that cannot be read or written only costs
time too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CACHE_DIR_VARIABLE = "MLOPS_PLATFORM_CACHE_DIR"


def cache_dir() -> Path:
    explicit = os.environ.get(CACHE_DIR_VARIABLE)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlops-platform"


def read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def store(path: Path, text: str) -> None:
    """Written whole or not at all (a concurrent reader never sees half a file)."""
    temporary: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False,
                                         suffix=".tmp") as handle:
            temporary = Path(handle.name)
            handle.write(text)
        os.replace(temporary, path)
    except OSError:
        if temporary is not None:
            temporary.unlink(missing_ok=True)

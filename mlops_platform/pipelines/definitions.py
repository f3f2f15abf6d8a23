"""The retraining pipeline's JSON definition, built once per distinct input and kept on disk.

Building a definition needs the sagemaker SDK (about a second and a half to import, half a second a build). The
definition depends on nothing but the pipeline's arguments, the SDK's version and its code (this package's, and
the monitoring image's interface: its drift baseline step's arguments and container paths), so it is cached under
a key made of exactly those three: a hit returns the stored definition without importing the SDK, and
any change to the arguments, the SDK or the code is a miss. The cache is the platform's (`disk_cache`): a cache that
cannot be written only costs time.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
from pathlib import Path

from mlops_platform.disk_cache import CACHE_DIR_VARIABLE, cache_dir, read, store
from mlops_platform.pipelines.spec import RetrainingPipelineArgs

__all__ = ["CACHE_DIR_VARIABLE", "cache_dir", "cache_key", "retraining_definition"]
PACKAGE_DIR = Path(__file__).resolve().parent
MONITORING_INTERFACE_FILES = (
    PACKAGE_DIR.parent / "monitoring_image.py",
    PACKAGE_DIR.parent.parent / "images" / "monitoring" / "mlops_monitoring" / "interface.py",
)
"""Code outside this package that the definition is built from: the drift baseline and bias steps' arguments, container
paths and report file names (the bias limits and facet are in the args, `RetrainingPipelineArgs.bias_arguments`)."""


@functools.cache
def _code_digest() -> str:
    """The pipelines package's code (step scripts included) and the monitoring interface: a change of any file is a
    new key."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    for path in MONITORING_INTERFACE_FILES:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(args: RetrainingPipelineArgs) -> str:
    inputs = {"args": dataclasses.asdict(args), "sagemaker": importlib.metadata.version("sagemaker"),
              "code": _code_digest()}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def retraining_definition(args: RetrainingPipelineArgs) -> str:
    """The definition `retraining.build_definition(args)` returns, from the cache when it holds it."""
    path = cache_dir() / "pipeline-definitions" / f"{cache_key(args)}.json"
    cached = read(path)
    if cached is not None:
        return cached
    from mlops_platform.pipelines.retraining import build_definition  # the SDK, only on a miss

    definition = build_definition(args)
    store(path, definition)
    return definition

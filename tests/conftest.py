"""Shared fixtures: the project's own config files, captured and judged once per size per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlops_platform.offline.preview import Preview, run_preview
from mlops_platform.offline.size_capture import CapturedSize, capture_size
from mlops_platform.offline.stack_config import load_project_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shipped_preview() -> Callable[..., Preview]:
    """The preview (capture + policy verdicts) of a size's shipped configuration, computed once per size: as a new
    account deploys it (no model yet) or, with `serving=True`, once version 1 of each use case is approved."""
    cache: dict[tuple[str, bool], Preview] = {}

    def get(size: str, serving: bool = False) -> Preview:
        if (size, serving) not in cache:
            cache[size, serving] = run_preview(load_project_config(ROOT, size), serving=serving)
        return cache[size, serving]

    return get


@pytest.fixture(scope="session")
def shipped_capture() -> Callable[[str], CapturedSize]:
    """Every stack of a size's shipped configuration captured (no policy pack, no proofs), once per size."""
    cache: dict[str, CapturedSize] = {}

    def get(size: str) -> CapturedSize:
        if size not in cache:
            cache[size] = capture_size(load_project_config(ROOT, size), serving=True)
        return cache[size]

    return get

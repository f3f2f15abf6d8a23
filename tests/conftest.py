"""Shared fixtures: the project's own config files, captured and judged once per size per session — once for all
pytest-xdist workers, which share each result through a pickle in the session's common temporary folder."""

from __future__ import annotations

import fcntl
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import botocore.loaders
import botocore.session
import pytest

from mlops_platform.offline.preview import Preview, run_preview
from mlops_platform.offline.size_capture import CapturedSize, capture_size
from mlops_platform.offline.stack_config import load_project_config

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@pytest.fixture(scope="session", autouse=True)
def one_botocore_loader() -> Iterator[None]:
    """Every botocore session of the run reads botocore's service models through one loader. moto starts each
    mock with a new default boto3 session, whose own loader would parse the same JSON models again for every
    test (half of the deploy-on-approval tests' time); the models are data, the same for every session."""
    create_loader = botocore.session.create_loader
    loaders: dict[str | None, botocore.loaders.Loader] = {}

    def shared(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loaders[search_path_string] = create_loader(search_path_string)
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", shared)
        yield


@pytest.fixture(scope="session")
def session_folder(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A folder every worker of this session sees: the parent of the workers' own temporary folders under xdist."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


def computed_once(folder: Path, key: str, compute: Callable[[], T]) -> T:
    """`compute()`'s result, computed by the first worker that asks and read by the others: the lock makes a
    second worker wait for the first one's result instead of computing it again."""
    path = folder / f"{key}.pickle"
    with open(folder / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            result: T = pickle.loads(path.read_bytes())
            return result
        result = compute()
        path.write_bytes(pickle.dumps(result))
        return result


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shipped_preview(session_folder: Path) -> Callable[..., Preview]:
    """The preview (capture + policy verdicts) of a size's shipped configuration, computed once per size: as a new
    account deploys it (no model yet) or, with `serving=True`, once version 1 of each use case is approved."""
    cache: dict[tuple[str, bool], Preview] = {}

    def get(size: str, serving: bool = False) -> Preview:
        if (size, serving) not in cache:
            cache[size, serving] = computed_once(
                session_folder, f"preview-{size}-{'serving' if serving else 'new'}",
                lambda: run_preview(load_project_config(ROOT, size), serving=serving))
        return cache[size, serving]

    return get


@pytest.fixture(scope="session")
def shipped_capture(session_folder: Path) -> Callable[[str], CapturedSize]:
    """Every stack of a size's shipped configuration captured (no policy pack, no proofs), once per size."""
    cache: dict[str, CapturedSize] = {}

    def get(size: str) -> CapturedSize:
        if size not in cache:
            cache[size] = computed_once(session_folder, f"capture-{size}",
                                        lambda: capture_size(load_project_config(ROOT, size), serving=True))
        return cache[size]

    return get

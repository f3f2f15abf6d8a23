"""The retraining definition cache: a hit is the fresh build, skips the SDK, and any input change is a miss."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_platform.pipelines import definitions
from mlops_platform.pipelines.definitions import cache_key, retraining_definition
from mlops_platform.pipelines.retraining import build_definition
from tests.pipelines.test_pipeline_definition import ARGS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(definitions.CACHE_DIR_VARIABLE, str(tmp_path))
    return tmp_path


def test_a_hit_returns_what_a_fresh_build_returns(cache: Path) -> None:
    first = retraining_definition(ARGS)
    stored = list((cache / "pipeline-definitions").glob("*.json"))
    again = retraining_definition(ARGS)

    assert len(stored) == 1
    assert first == again == build_definition(ARGS)


def test_any_change_of_the_arguments_is_another_key() -> None:
    assert cache_key(ARGS) == cache_key(dataclasses.replace(ARGS))
    for change in ({"metric_threshold": 0.8}, {"region": "us-east-1"}, {"drift_baseline": "sagemaker"},
                   {"subnet_ids": ("subnet-0aaa",)}, {"monitoring_image_uri": "1.dkr.ecr.eu-west-1.amazonaws.com/m:x"}):
        assert cache_key(dataclasses.replace(ARGS, **change)) != cache_key(ARGS), change


def test_a_hit_never_imports_the_sagemaker_sdk(cache: Path) -> None:
    expected = retraining_definition(ARGS)
    script = ("import sys\n"
              "from mlops_platform.pipelines.definitions import retraining_definition\n"
              "from mlops_platform.pipelines.spec import RetrainingPipelineArgs\n"
              f"args = RetrainingPipelineArgs(**{dataclasses.asdict(ARGS)!r})\n"
              "args = RetrainingPipelineArgs(**{k: tuple(v) if isinstance(v, list) else v\n"
              "                                 for k, v in vars(args).items()})\n"
              "sys.stdout.write(retraining_definition(args))\n"
              "assert 'sagemaker' not in sys.modules, 'the SDK was imported'\n")
    env = {"PATH": "/usr/bin:/bin", definitions.CACHE_DIR_VARIABLE: str(cache), "HOME": str(cache)}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout == expected


def test_an_unwritable_cache_still_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(definitions.CACHE_DIR_VARIABLE, str(blocker))

    assert retraining_definition(ARGS) == build_definition(ARGS)

"""The monitoring image's interface: its content-hash tag, its ECR URI and the container arguments."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_platform import contract, monitoring_image
from mlops_platform.config import UseCase
from mlops_platform.placement import Placement


def test_the_tag_is_a_content_hash_of_the_build_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "monitoring"
    shutil.copytree(monitoring_image.IMAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(monitoring_image, "IMAGE_DIR", copy)
    tag = monitoring_image.image_tag()
    assert tag.startswith("sha256-") and len(tag) == len("sha256-") + monitoring_image.TAG_LENGTH
    (copy / "__pycache__").mkdir()
    (copy / "__pycache__" / "x.pyc").write_bytes(b"cache")
    assert monitoring_image.image_tag() == tag, "a local run's bytecode cache is not content"
    (copy / "Dockerfile").write_text((copy / "Dockerfile").read_text() + "\n# changed\n")
    assert monitoring_image.image_tag() != tag


def test_the_buildspec_command_prints_the_programs_tag() -> None:
    printed = subprocess.run([sys.executable, "-m", "mlops_platform.monitoring_image", "tag"], check=True,
                             capture_output=True, text=True).stdout.strip()
    assert printed == monitoring_image.image_tag()


@pytest.mark.parametrize(("region", "host"), [("eu-west-1", "111111111111.dkr.ecr.eu-west-1.amazonaws.com"),
                                              ("cn-north-1", "111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn")])
def test_the_image_uri_is_in_the_artifact_accounts_registry(region: str, host: str) -> None:
    uri = monitoring_image.image_uri(region, "111111111111")
    assert uri == f"{host}/{contract.MONITORING_IMAGE_REPOSITORY}:{monitoring_image.image_tag()}"


def test_check_arguments_name_the_use_cases_pipeline_threshold_and_cross_account_group() -> None:
    use_case = UseCase(name="churn", drift_threshold=0.25, retraining_cooldown_hours=12)
    arguments = monitoring_image.check_arguments(use_case, Placement("ops", "222222222222", "eu-west-1"),
                                                 "333333333333", "s3://bucket/report")
    flags = dict(zip(arguments[1::2], arguments[2::2], strict=True))
    assert arguments[0] == "check"
    assert flags["--retraining-pipeline"] == contract.pipeline_name("churn")
    assert flags["--model-package-group"] == contract.model_package_group_arn("eu-west-1", "333333333333", "churn")
    assert (flags["--drift-threshold"], flags["--cooldown-hours"]) == ("0.25", "12")
    assert flags["--report-uri"] == "s3://bucket/report"
    same_account = monitoring_image.check_arguments(use_case, Placement("ops", "222222222222", "eu-west-1"),
                                                    "222222222222", "s3://bucket/report")
    assert same_account[same_account.index("--model-package-group") + 1] == "churn"

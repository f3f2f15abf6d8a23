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


def _locked_versions() -> dict[str, str]:
    import tomllib

    lock = tomllib.loads(Path("uv.lock").read_text())
    return {package["name"]: package["version"] for package in lock["package"]}


def _requirements() -> dict[str, str]:
    lines = (monitoring_image.IMAGE_DIR / "requirements.txt").read_text().splitlines()
    pins = [line.split("#", 1)[0].strip() for line in lines]
    return dict(pin.split("==", 1) for pin in pins if pin)


def test_the_images_requirements_are_exact_pins_equal_to_the_lock() -> None:
    requirements, locked = _requirements(), _locked_versions()
    assert {"numpy", "pandas", "scipy", "boto3"} <= requirements.keys()
    assert {name: version for name, version in requirements.items()} == {
        name: locked[name] for name in requirements}


def test_the_requirements_hold_every_dependency_the_no_deps_install_needs() -> None:
    """The image installs with --no-deps: every dependency a pinned package has on Linux, Python 3.11, without
    extras, must be pinned too."""
    import importlib.metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    image = {"sys_platform": "linux", "platform_system": "Linux", "python_version": "3.11",
             "platform_python_implementation": "CPython", "implementation_name": "cpython", "extra": ""}
    requirements = {canonicalize_name(name) for name in _requirements()}
    for name in requirements:
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(image):
                assert canonicalize_name(requirement.name) in requirements, (
                    f"{name} needs {requirement.name}, which the image would not install")


def test_the_dockerfile_pins_its_base_runs_as_non_root_and_installs_only_at_build_time() -> None:
    lines = [line.strip() for line in (monitoring_image.IMAGE_DIR / "Dockerfile").read_text().splitlines()]
    base = next(line for line in lines if line.startswith("FROM "))
    image = base.removeprefix("FROM ").split()[0]
    assert "@sha256:" in image or (image.startswith("python:3.11.") and image.count(".") >= 2)
    user = [line for line in lines if line.startswith("USER ")]
    assert user and user[-1].split()[1].split(":")[0] not in ("root", "0")
    installs = [line for line in lines if "pip install" in line]
    assert installs and all("--no-deps" in line and "--requirement" in line for line in installs)
    assert lines[-1] == 'ENTRYPOINT ["python", "-m", "mlops_monitoring"]'

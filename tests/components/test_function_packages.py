"""Each Lambda's deployment package, as captured, unpacked alone: its handler imports from the archive only."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

import pytest

from mlops_platform.components.function import archive_files
from mlops_platform.offline.capture import CapturedResource
from mlops_platform.offline.size_capture import CapturedSize

LAMBDA_RUNTIME_PACKAGES = {"boto3", "botocore", "certifi", "dateutil", "jmespath", "s3transfer", "six", "urllib3"}
"""What the Lambda Python runtime provides besides the standard library: boto3 and what it loads."""
INTERPRETER_MODULES = {"__main__", "__mp_main__", "_distutils_hack"}
"""Loaded by the interpreter (and setuptools' .pth hook) before the check runs."""

IMPORT_CHECK = """
import importlib, json, sys
module_name, _, attribute = sys.argv[1].rpartition(".")
handler = getattr(importlib.import_module(module_name), attribute)
print(json.dumps({
    "callable": callable(handler),
    "platform_modules": {name: module.__file__ for name, module in sys.modules.items()
                         if name.split(".")[0] == "mlops_platform"},
    "third_party": sorted({name.split(".")[0] for name in sys.modules} - set(sys.stdlib_module_names)),
}))
"""


class LoadedHandler(TypedDict):
    """What IMPORT_CHECK prints."""

    callable: bool
    platform_modules: dict[str, str | None]
    third_party: list[str]


def functions(capture: CapturedSize) -> list[CapturedResource]:
    return [resource for stack in capture.stacks for resource in stack.resources
            if resource.type == "aws:lambda/function:Function"]


def unpack(function: CapturedResource, into: Path) -> Path:
    """Zip the archive's assets as Pulumi uploads them, then unpack the zip alone into `into`."""
    into.mkdir(parents=True)
    archive = into / "package.zip"
    with zipfile.ZipFile(archive, "w") as package:
        for path, asset in function.inputs["code"]["assets"].items():
            package.write(asset["path"], path)
    unpacked = into / "package"
    with zipfile.ZipFile(archive) as package:
        package.extractall(unpacked)
    return unpacked


def import_from(package: Path, entry_point: str) -> LoadedHandler:
    result = subprocess.run([sys.executable, "-c", IMPORT_CHECK, entry_point], cwd=package, check=True,
                            capture_output=True, text=True, env={"PYTHONPATH": str(package), "PATH": ""})
    loaded: LoadedHandler = json.loads(result.stdout)
    return loaded


@pytest.mark.parametrize("size", ["small", "medium"])
def test_every_function_imports_its_handler_from_its_own_archive(
        size: str, shipped_capture: Callable[[str], CapturedSize], tmp_path: Path) -> None:
    captured = functions(shipped_capture(size))
    assert captured, f"the {size} size deploys no Lambda function"
    for index, function in enumerate(captured):
        package = unpack(function, tmp_path / str(index))
        loaded = import_from(package, function.inputs["handler"])
        assert loaded["callable"] is True
        third_party = set(loaded["third_party"]) - INTERPRETER_MODULES - {"mlops_platform"}
        assert third_party <= LAMBDA_RUNTIME_PACKAGES, f"{function.name} imports {sorted(third_party)}"
        modules = loaded["platform_modules"]
        assert isinstance(modules, dict) and "mlops_platform.functions.environment" in modules
        assert all(str(path).startswith(str(package)) for path in modules.values()), modules


def test_each_archive_holds_the_package_path_the_shared_module_and_its_handler_only() -> None:
    assert sorted(archive_files("inference")) == [
        "mlops_platform/__init__.py", "mlops_platform/functions/__init__.py",
        "mlops_platform/functions/environment.py", "mlops_platform/functions/inference.py"]

"""Switching sizes: `mlops-platform init` writes a size's stack files, and the preview previews the stack files
the user has, each at its own size."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlops_platform import topology
from mlops_platform.cli import app
from mlops_platform.offline.pulumi_yaml import ConfigFileError
from mlops_platform.offline.size_capture import validate_stacks
from mlops_platform.offline.stack_config import load_project_config
from mlops_platform.offline.stack_init import PLACEHOLDER_MARK
from mlops_platform.topology import Size

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def project_copy(folder: Path) -> Path:
    """The project as a user checks it out: Pulumi.yaml, the large size's stack files, examples/, the pack."""
    shutil.copy(ROOT / "Pulumi.yaml", folder)
    for path in ROOT.glob("Pulumi.*.yaml"):
        shutil.copy(path, folder)
    shutil.copytree(ROOT / "examples", folder / "examples")
    (folder / "policies").symlink_to(ROOT / "policies")
    return folder


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def stack_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("Pulumi.*.yaml"))


def walkthrough_commands() -> list[list[str]]:
    """The `mlops-platform ...` commands of the README's "Switching sizes" walkthrough, in order."""
    section = README.split("**Switching sizes**", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("mlops-platform ", 1)[1].split("#", 1)[0].split()
            for line in block.splitlines() if re.search(r"\bmlops-platform (init|preview)\b", line)]


def test_the_readme_switch_with_init_previews_small_then_medium_from_the_users_files(tmp_path: Path) -> None:
    folder = project_copy(tmp_path)
    commands = walkthrough_commands()
    assert [command[0] for command in commands] == ["init", "preview", "init", "preview"]
    previewed: list[list[str]] = []
    for command in commands:
        result = invoke(*command, "--project-dir", str(folder), *(["--json"] if command[0] == "preview" else []))
        assert result.exit_code == 0, result.output
        if command[0] == "preview":
            document = json.loads(result.stdout)
            previewed.append([stack["name"] for stack in document["stacks"]])
            assert document["mandatoryViolations"] == 0
    assert previewed == [["dev", "prod"], ["org", "dev", "staging", "prod"]]
    assert stack_files(folder) == ["Pulumi.dev.yaml", "Pulumi.org.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"]
    assert "--size" not in " ".join(" ".join(c) for c in commands if c[0] == "preview"), \
        "the preview reads the size from the files"


def test_copying_the_samples_as_the_readme_once_said_now_fails_clearly(tmp_path: Path) -> None:
    folder = project_copy(tmp_path)
    for path in (folder / "examples" / "small").glob("Pulumi.*.yaml"):
        shutil.copy(path, folder)
    result = invoke("preview", "--project-dir", str(folder))
    assert result.exit_code == 2
    assert "the stack files disagree on mlops-platform:size" in result.stderr
    assert "Pulumi.dev.yaml small" in result.stderr and "Pulumi.org.yaml large (from Pulumi.yaml)" in result.stderr


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    folder = project_copy(tmp_path)
    before = (folder / "Pulumi.dev.yaml").read_text()
    result = invoke("init", "--size", "small", "--project-dir", str(folder))
    assert result.exit_code == 2
    line, = result.stderr.strip().splitlines()
    assert "would overwrite Pulumi.dev.yaml, Pulumi.prod.yaml" in line and "pass --force" in line
    assert "would leave Pulumi.artifact.yaml" in line
    assert (folder / "Pulumi.dev.yaml").read_text() == before
    assert len(stack_files(folder)) == 8


def test_init_with_force_writes_the_size_and_removes_the_other_stacks(tmp_path: Path) -> None:
    folder = project_copy(tmp_path)
    result = invoke("init", "--size", "small", "--force", "--project-dir", str(folder))
    assert result.exit_code == 0, result.output
    assert stack_files(folder) == ["Pulumi.dev.yaml", "Pulumi.prod.yaml"]
    assert "removed" in result.stdout and "Pulumi.org.yaml" in result.stdout
    assert "replace the placeholder ids of accounts workload" in result.stdout


def test_init_into_an_empty_project_needs_no_force(tmp_path: Path) -> None:
    folder = project_copy(tmp_path)
    for path in folder.glob("Pulumi.*.yaml"):
        path.unlink()
    assert invoke("init", "--size", "medium", "--project-dir", str(folder)).exit_code == 0
    assert stack_files(folder) == ["Pulumi.dev.yaml", "Pulumi.org.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"]


@pytest.mark.parametrize("size", list(Size))
def test_written_files_mark_every_placeholder_and_validate(tmp_path: Path, size: Size) -> None:
    folder = project_copy(tmp_path)
    assert invoke("init", "--size", size.value, "--force", "--project-dir", str(folder)).exit_code == 0
    project = load_project_config(folder)
    assert project.size == size and project.stack_dir == folder
    assert [config.stack.name for config in validate_stacks(project)] == list(topology.stack_names(size))
    for stack in topology.stack_names(size):
        text = (folder / f"Pulumi.{stack}.yaml").read_text()
        assert f"mlops-platform:size: {size.value}" in text
        for account in topology.accounts(size):
            assert re.search(rf'^    {account}: "[0-9]{{12}}"  # {PLACEHOLDER_MARK} {account} account', text, re.M)


def test_given_accounts_and_region_are_written_and_read_back(tmp_path: Path) -> None:
    folder = project_copy(tmp_path)
    result = invoke("init", "--size", "medium", "--force", "--accounts",
                    "management=012345678901,prod=999999999999", "--region", "eu-central-1",
                    "--project-dir", str(folder))
    assert result.exit_code == 0, result.output
    assert "replace the placeholder ids of accounts dev, staging" in result.stdout
    project = load_project_config(folder)
    for stack in topology.stack_names(Size.MEDIUM):
        values = project.platform_values(stack)
        assert values["region"] == "eu-central-1"
        assert values["accounts"]["management"] == "012345678901", "written quoted: an id, not a number"
        assert values["accounts"]["prod"] == "999999999999"
    text = (folder / "Pulumi.dev.yaml").read_text()
    assert 'prod: "999999999999"\n' in text and "prod: \"999999999999\"  #" not in text


@pytest.mark.parametrize(("args", "fragment"), [
    (("--size", "small", "--accounts", "dev=123456789012"),
     "--accounts dev=123456789012: size 'small' has no account 'dev'; its accounts are: workload"),
    (("--size", "medium", "--accounts", "prod=1234"), "--accounts prod=1234: an AWS account id is exactly 12 digits"),
    (("--size", "medium", "--accounts", "prod"), "--accounts prod: each entry is key=id"),
    (("--size", "small", "--accounts", "workload=123456789012,workload=123456789013"), "given twice"),
    (("--size", "small", "--region", "mars-north-1"), "--region mars-north-1: not an AWS region name"),
    (("--size", "tiny"), "--size tiny: allowed sizes are: small, medium, large"),
    ((), "init: --size is required: small, medium or large"),
])
def test_init_refuses_bad_flags_in_one_line(tmp_path: Path, args: tuple[str, ...], fragment: str) -> None:
    folder = project_copy(tmp_path)
    result = invoke("init", *args, "--force", "--project-dir", str(folder))
    assert result.exit_code == 2
    line, = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and fragment in line
    assert len(stack_files(folder)) == 8, "nothing written"


def test_size_flag_previews_the_samples_unless_the_files_are_of_that_size(tmp_path: Path) -> None:
    folder = project_copy(tmp_path)
    assert load_project_config(folder, "large").stack_dir == folder
    assert load_project_config(folder, "small").stack_dir == folder / "examples" / "small"
    assert invoke("init", "--size", "small", "--force", "--project-dir", str(folder)).exit_code == 0
    assert load_project_config(folder, "small").stack_dir == folder
    assert load_project_config(folder, "large").stack_dir == folder / "examples" / "large"
    assert load_project_config(folder).size == Size.SMALL


def test_a_stack_file_missing_for_the_size_is_named(tmp_path: Path) -> None:
    folder = project_copy(tmp_path)
    (folder / "Pulumi.staging.yaml").unlink()
    with pytest.raises(ConfigFileError, match=r"Pulumi.staging.yaml: missing: size 'large' needs a stack file"):
        load_project_config(folder)


def test_the_shipped_stack_files_are_the_large_samples() -> None:
    shipped = {path.name: path.read_text() for path in ROOT.glob("Pulumi.*.yaml")}
    samples = {path.name: path.read_text() for path in (ROOT / "examples" / "large").glob("Pulumi.*.yaml")}
    assert shipped == samples

"""`mlops-platform preview`: what a user and CI see — stacks per size, exit codes, the --json contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from typer.testing import CliRunner

from mlops_platform import cli, tiers
from mlops_platform.cli import app
from mlops_platform.offline.preview import Preview, run_preview
from mlops_platform.tiers.context import TierContext

ROOT = Path(__file__).resolve().parent.parent
RESOURCE_FIELDS = {"urn", "id", "type", "name", "parent", "provider", "protect", "ignoreChanges", "dependencies",
                   "propertyDependencies", "inputs", "outputs"}


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["preview", "--project-dir", str(ROOT), *args])


def document(*args: str) -> dict[str, Any]:
    result = run("--json", *args)
    parsed: dict[str, Any] = json.loads(result.stdout)
    parsed["_exit_code"] = result.exit_code
    return parsed


@pytest.fixture
def one_preview(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's first preview run computes the preview; its later runs (the same size in text and in --json)
    render that one instead of computing it again."""
    previews: list[tuple[Any, Preview]] = []

    def once(project: Any, **options: Any) -> Preview:
        if not previews:
            previews.append((project.size, run_preview(project, **options)))
        assert project.size == previews[0][0], "a later run asked for another size"
        return previews[0][1]

    monkeypatch.setattr(cli, "run_preview", once)


@pytest.mark.parametrize(("size", "stacks"), [
    (None, ["org", "data", "artifact", "cicd", "ops", "dev", "staging", "prod"]),
    ("small", ["dev", "prod"]),
    ("medium", ["org", "dev", "staging", "prod"]),
])
def test_preview_shows_every_stack_of_the_size_and_passes(size: str | None, stacks: list[str],
                                                          one_preview: None) -> None:
    result = run(*(["--size", size] if size else []))
    assert result.exit_code == 0, result.output
    for name in stacks:
        assert f"─ {name}  tiers:" in result.stdout or f" {name}  tiers:" in result.stdout
    assert "no mandatory violations" in result.stdout
    assert "capturing stack" in result.stderr, "progress goes to stderr"
    parsed = document(*(["--size", size] if size else []))
    assert [stack["name"] for stack in parsed["stacks"]] == stacks
    assert parsed["_exit_code"] == 0


@pytest.fixture(scope="module")
def small_json() -> str:
    """`preview --size small --json` as this process prints it, computed once for the module's tests."""
    result = run("--json", "--size", "small")
    assert result.exit_code == 0, result.output
    printed: str = result.stdout
    return printed


def test_json_document_keeps_its_documented_fields(small_json: str) -> None:
    parsed = json.loads(small_json)
    assert {"schemaVersion", "size", "mandatoryViolations", "reachability", "policies", "stacks"} <= set(parsed)
    assert parsed["reachability"] == {"passed": True, "findings": [], "layers": {
        "identity": "not-applicable", "trust": "holds", "guardrails": "not-applicable", "own-rights": "holds"}}
    assert parsed["schemaVersion"] == 1 and parsed["size"] == "small" and parsed["mandatoryViolations"] == 0
    network = parsed["networkPaths"]
    assert network["passed"] is True and network["findings"] == []
    assert {"workload", "kind", "stack", "destination", "protocol", "port", "expected", "reachable",
            "reason"} <= set(network["paths"][0])
    assert any(p["destination"] == "s3" and p["reachable"] for p in network["paths"])
    assert all(p["reachable"] is False for p in network["paths"] if p["expected"] == "unreachable")
    access = parsed["accessMatrix"]
    assert access["passed"] is True and access["flows"]
    assert {"name", "principal", "action", "resource", "expected", "decision", "holds", "errors"} <= set(
        access["flows"][0])
    assert {flow["expected"] for flow in access["flows"]} == {"allow", "deny"}
    dev = parsed["stacks"][0]
    assert {"name", "tiers", "account", "region", "resources", "stackReferences", "outputs", "violations"} <= set(dev)
    assert dev["tiers"] == ["data", "artifact", "cicd", "ops", "dev"] and dev["account"] == "111111111111"
    for resource in dev["resources"]:
        assert set(resource) >= RESOURCE_FIELDS
    bucket = next(r for r in dev["resources"] if r["name"] == "artifact-model-artifacts"
                  and r["type"] == "aws:s3/bucket:Bucket")
    assert bucket["protect"] is True and bucket["inputs"] == {"forceDestroy": False}
    assert bucket["outputs"]["arn"].startswith("arn:aws:s3:::artifact-model-artifacts-")
    sse = next(r for r in dev["resources"] if r["name"] == "artifact-model-artifacts"
               and r["type"].endswith(":BucketServerSideEncryptionConfiguration"))
    assert sse["propertyDependencies"]["bucket"] == [bucket["urn"]]
    assert "applyServerSideEncryptionByDefault" in sse["inputs"]["rules"][0], "inputs are camelCase, as sent"
    assert {p["name"] for p in parsed["policies"]} >= {"s3-bucket-kms-encryption", "kms-key-rotation"}


def test_json_document_is_the_same_bytes_whatever_the_hash_seed(small_json: str) -> None:
    """The engine registers resources in an order the event loop decides, which set iteration (so the process's
    hash seed) sways: another process, seeded otherwise, prints the very same document."""
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    other = subprocess.run([str(Path(sys.executable).with_name("mlops-platform")), "preview", "--project-dir",
                            str(ROOT), "--size", "small", "--json"], capture_output=True, text=True, check=False,
                           env={**os.environ, "PYTHONHASHSEED": seed})
    assert other.returncode == 0, other.stderr
    assert other.stdout == small_json


def test_a_noncompliant_bucket_makes_preview_exit_1(monkeypatch: pytest.MonkeyPatch, one_preview: None) -> None:
    shipped = tiers.BUILDERS["artifact"]

    def artifact_with_a_bare_bucket(ctx: TierContext) -> None:
        shipped(ctx)
        aws.s3.Bucket("unversioned", opts=pulumi.ResourceOptions(parent=ctx.component, protect=True))

    monkeypatch.setitem(tiers.BUILDERS, "artifact", artifact_with_a_bare_bucket)
    parsed = document("--size", "small")
    assert parsed["_exit_code"] == 1
    violations = parsed["stacks"][0]["violations"]
    assert parsed["mandatoryViolations"] == len(violations) > 0
    assert {v["level"] for v in violations} == {"mandatory"}
    assert {v["urn"].rsplit("::", 1)[-1] for v in violations} == {"unversioned"}
    assert "s3-bucket-versioning" in {v["policy"] for v in violations}
    text = run("--size", "small")
    assert text.exit_code == 1 and "mandatory violation" in text.stdout


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "Pulumi.override.yaml"
    path.write_text(body)
    return path


@pytest.mark.parametrize(("body", "expected"), [
    ("config:\n  mlops-platform:region: mars-north-1\n",
     "override.yaml:2 (stack org): mlops-platform:region = mars-north-1: not an AWS"),
    ("config:\n  mlops-platform:size: huge\n", "override.yaml:2 (stack org): mlops-platform:size = huge: allowed"),
    ("config:\n  mlops-platform:features:\n    gpu: true\n", "mlops-platform:features.gpu"),
    ("config:\n  mlops-platform:accounts:\n    management: 111111111111\n", "mlops-platform:accounts.management"),
    ("config: [1, 2\n", "Pulumi.override.yaml:2: not valid YAML"),
    ("config:\n  mlops-platform:useCases:\n    - name: churn\n"
     "      modelPackageArn: arn:aws:sagemaker:eu-west-1:111111111111:model-package/churn/1\n",
     "override.yaml:4 (stack org): mlops-platform:useCases[0].modelPackageArn = "
     "arn:aws:sagemaker:eu-west-1:111111111111:model-package/churn/1: was removed"),
])
def test_invalid_config_exits_2_with_one_clear_error(tmp_path: Path, body: str, expected: str) -> None:
    result = run("--config", str(write(tmp_path, body)))
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


@pytest.mark.parametrize(("args", "expected"), [
    (("--size", "tiny"), "--size tiny: allowed sizes are: small, medium, large"),
    (("--size", "small", "--stack", "ops"), "size 'small' has stacks: dev, prod"),
    (("--config", "/nonexistent/Pulumi.x.yaml"), "not found"),
])
def test_bad_flags_exit_2(args: tuple[str, ...], expected: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert expected in result.stderr


def test_config_file_overrides_reach_every_stack(tmp_path: Path) -> None:
    override = write(tmp_path, "config:\n  mlops-platform:region: us-east-2\n  mlops-platform:owner: ml-team\n"
                               "  mlops-platform:useCases: [churn]\n"
                               "  mlops-platform:organization: {allowedRegions: [us-east-2]}\n")
    parsed = document("--size", "small", "--config", str(override))
    assert parsed["_exit_code"] == 0
    assert {stack["region"] for stack in parsed["stacks"]} == {"us-east-2"}
    provider = next(r for r in parsed["stacks"][1]["resources"] if r["type"] == "pulumi:providers:aws")
    assert not [r for r in parsed["stacks"][1]["resources"] if r["type"] == "aws:sagemaker/endpoint:Endpoint"], \
        "a new account has no approved model: no endpoint yet"
    assert json.loads(provider["inputs"]["defaultTags"])["tags"]["mlops:owner"] == "ml-team"


def test_single_stack_preview_still_wires_references() -> None:
    parsed = document("--stack", "dev")
    assert [stack["name"] for stack in parsed["stacks"]] == ["dev"]
    assert sorted(parsed["stacks"][0]["stackReferences"]) == ["organization/mlops-platform/artifact",
                                                              "organization/mlops-platform/data"]


def test_help_documents_every_exit_status() -> None:
    from mlops_platform.cli import EXIT_STATUS_HELP

    for command in ([], ["preview"], ["init"]):
        result = CliRunner().invoke(app, [*command, "--help"], terminal_width=400)
        assert result.exit_code == 0
        assert " ".join(EXIT_STATUS_HELP.split()) in " ".join(result.stdout.replace("│", " ").split())
    for status in ("0 every check passed", "1 a mandatory policy violation", "2 invalid input", "3 the tool itself",
                   "130 interrupted (Ctrl-C)", "143 terminated (SIGTERM)"):
        assert status in EXIT_STATUS_HELP
    readme = (ROOT / "README.md").read_text()
    assert "**130** interrupted (Ctrl-C), **143** terminated (SIGTERM)" in readme

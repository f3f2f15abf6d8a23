"""Every ARN comes from `mlops_platform.naming`, in the partition of the platform's region (issue 10 item 5, issue 11
item 1): no hand-built ARN elsewhere, a China or GovCloud preview with no `arn:aws:` left, and configured regions
of another partition refused."""

from __future__ import annotations

import ast
import json
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.mocks import MockCallArgs
from typer.testing import CliRunner

from mlops_platform import contract, naming
from mlops_platform.cli import app
from mlops_platform.config import UseCase
from mlops_platform.offline.aws_outputs import synthesize_outputs
from mlops_platform.offline.capture import PlatformMocks
from mlops_platform.offline.preview import Preview
from mlops_platform.offline.report import preview_document
from mlops_platform.tiers.serving import ServingStateError, check_served_versions

ROOT = Path(__file__).resolve().parent.parent
SCANNED = (ROOT / "mlops_platform", ROOT / "policies" / "guardrails")
NAMING_MODULE = ROOT / "mlops_platform" / "naming.py"
IDENTITY_GROUPS = ("{DataScientist: a1b2c3d4e5-11111111-2222-3333-4444-555555555501, "
                   "MLEngineer: a1b2c3d4e5-11111111-2222-3333-4444-555555555502, "
                   "ModelApprover: a1b2c3d4e5-11111111-2222-3333-4444-555555555503, "
                   "PlatformEngineer: a1b2c3d4e5-11111111-2222-3333-4444-555555555504, "
                   "ReadOnly: a1b2c3d4e5-11111111-2222-3333-4444-555555555505, "
                   "BreakGlassProd: a1b2c3d4e5-11111111-2222-3333-4444-555555555506}")


@pytest.mark.parametrize(("region", "partition", "suffix"), [
    ("eu-west-1", "aws", "amazonaws.com"),
    ("us-east-1", "aws", "amazonaws.com"),
    ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
    ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
    ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
])
def test_partition_and_dns_suffix_come_from_the_region(region: str, partition: str, suffix: str) -> None:
    assert naming.partition_of(region) == partition
    assert naming.dns_suffix(region) == suffix
    assert naming.role_arn(partition, "111111111111", "r") == f"arn:{partition}:iam::111111111111:role/r"
    assert naming.sagemaker_arn(region, "111111111111", "pipeline/p") == \
        f"arn:{partition}:sagemaker:{region}:111111111111:pipeline/p"
    assert naming.regional_hostname("sqs", region) == f"sqs.{region}.{suffix}"


def test_a_region_of_no_partition_is_refused() -> None:
    with pytest.raises(naming.NamingError, match="'mars-north-1' is in no AWS partition"):
        naming.partition_of("mars-north-1")


def test_arns_are_read_back_in_any_partition() -> None:
    assert naming.partition_in("arn:aws-cn:iam::111111111111:root") == "aws-cn"
    assert naming.service_in("arn:aws-us-gov:s3:::bucket/key") == "s3"
    assert naming.bucket_in("arn:aws-cn:s3:::bucket/a/b") == "bucket"
    assert naming.service_in("not-an-arn") == ""
    with pytest.raises(naming.NamingError):
        naming.partition_in("arn:")


def _strings_outside_docstrings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Every string literal (f-string parts included) that is not a docstring."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    skipped = docstrings | {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                            for part in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped:
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            yield node.lineno, "".join(str(part.value) if isinstance(part, ast.Constant) else "{}"
                                       for part in node.values)


def _hand_built_arn(text: str) -> bool:
    """An ARN spelt out: a literal partition (`arn:aws:`, `arn:aws-cn:`) or an f-string starting an ARN. Patterns
    that match any partition (`arn:aws[a-z-]*:`) are not ARNs the platform builds."""
    return "arn:aws:" in text or "arn:aws-" in text or text.startswith("arn:{}")


def _parsed(paths: list[Path]) -> list[ast.Module]:
    """The files parsed in a child process: CPython 3.11's AST constructor keeps its recursion depth in state the
    threads of a process share (gh-106905, "AST constructor recursion depth mismatch"), and this worker's other
    tests leave threads running captures."""
    script = ("import ast, pickle, sys\n"
              "trees = [ast.parse(open(p, encoding='utf-8').read()) for p in sys.argv[1:]]\n"
              "sys.stdout.buffer.write(pickle.dumps(trees))")
    result = subprocess.run([sys.executable, "-c", script, *map(str, paths)], capture_output=True, check=True)
    trees: list[ast.Module] = pickle.loads(result.stdout)
    return trees


def test_no_arn_is_built_outside_the_naming_module() -> None:
    paths = [path for folder in SCANNED for path in sorted(folder.rglob("*.py")) if path != NAMING_MODULE]
    found = [f"{path.relative_to(ROOT)}:{line}: {text!r}"
             for path, tree in zip(paths, _parsed(paths), strict=True)
             for line, text in _strings_outside_docstrings(tree)
             if _hand_built_arn(text)]
    assert not found, "ARNs built by hand (use mlops_platform.naming):\n" + "\n".join(found)


def test_the_scan_finds_a_hand_built_arn() -> None:
    tree = ast.parse('"""arn:aws:iam::1:root in a docstring"""\nA = f"arn:aws:iam::{x}:root"\n'
                     'B = r"arn:aws[a-z-]*:iam::"\n')
    hand_built = [text for _, text in _strings_outside_docstrings(tree) if _hand_built_arn(text)]
    assert hand_built == ["arn:aws:iam::{}:root"]


def _preview(tmp_path: Path, size: str, region: str, groups: bool) -> dict[str, Any]:
    organization = f"{{allowedRegions: [{region}]" + (f", identityGroups: {IDENTITY_GROUPS}}}" if groups else "}")
    config = tmp_path / "Pulumi.partition.yaml"
    config.write_text(f"config:\n  mlops-platform:region: {region}\n  mlops-platform:organization: {organization}\n")
    result = CliRunner().invoke(app, ["preview", "--project-dir", str(ROOT), "--size", size, "--serving", "--json",
                                      "--config", str(config)])
    assert result.exit_code == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.mark.parametrize(("size", "region", "partition"), [
    ("small", "cn-north-1", "aws-cn"),
    ("large", "cn-north-1", "aws-cn"),
    ("small", "us-gov-west-1", "aws-us-gov"),
])
def test_a_preview_in_another_partition_has_no_commercial_arn(
        tmp_path: Path, size: str, region: str, partition: str, shipped_preview: Callable[..., Preview]) -> None:
    document = _preview(tmp_path, size, region, groups=size != "small")
    resources = [resource for stack in document["stacks"] for resource in stack["resources"]]
    everything = json.dumps(document)
    assert "arn:aws:" not in everything
    assert all("arn:aws:" not in json.dumps(resource["inputs"]) for resource in resources)
    assert f"arn:{partition}:iam::" in everything and f"arn:{partition}:sagemaker:{region}:" in everything
    commercial = preview_document(shipped_preview(size, serving=True))
    assert len(resources) == sum(len(stack["resources"]) for stack in commercial["stacks"])
    assert document["accessMatrix"]["passed"] and document["networkPaths"]["passed"]
    assert document["reachability"]["passed"] and document["mandatoryViolations"] == 0
    assert len(document["accessMatrix"]["flows"]) == len(commercial["accessMatrix"]["flows"]), \
        "the IAM engine judges every designed flow in the partition"


@pytest.mark.parametrize(("region", "partition", "suffix"), [
    ("cn-north-1", "aws-cn", "amazonaws.com.cn"), ("eu-west-1", "aws", "amazonaws.com")])
def test_the_mock_engine_answers_in_the_regions_partition(region: str, partition: str, suffix: str) -> None:
    engine = PlatformMocks({}, region)
    answer, _ = engine.call(MockCallArgs("aws:index/getPartition:getPartition", {}, ""))
    assert (answer["partition"], answer["dnsSuffix"]) == (partition, suffix)
    identity, _ = engine.call(MockCallArgs("aws:index/getCallerIdentity:getCallerIdentity", {}, ""))
    assert identity["arn"].startswith(f"arn:{partition}:sts::")
    _, bucket = synthesize_outputs("aws:s3/bucket:Bucket", "b", {"bucket": "b"}, "111111111111", region)
    assert bucket["arn"] == f"arn:{partition}:s3:::b"
    assert bucket["bucketRegionalDomainName"] == f"b.s3.{region}.{suffix}"


def test_mock_endpoints_carry_the_partitions_dns_suffix(tmp_path: Path) -> None:
    document = _preview(tmp_path, "small", "cn-north-1", groups=False)
    urls = [url for stack in document["stacks"] for url in stack["outputs"].get("prodInferenceUrls", {}).values()]
    assert urls and all(".execute-api.cn-north-1.amazonaws.com.cn/" in url for url in urls)


@pytest.mark.parametrize(("organization", "expected"), [
    ("{allowedRegions: [cn-north-1, eu-west-1]}",
     "mlops-platform:organization.allowedRegions[1] = eu-west-1: in partition aws, not in the platform's "
     "(aws-cn, region cn-north-1)"),
    ("{allowedRegions: [cn-north-1], identityCenterRegion: us-east-1}",
     "mlops-platform:organization.identityCenterRegion = us-east-1: in partition aws, not in the platform's "
     "(aws-cn, region cn-north-1)"),
])
def test_regions_of_another_partition_are_refused(tmp_path: Path, organization: str, expected: str) -> None:
    config = tmp_path / "Pulumi.partition.yaml"
    config.write_text(f"config:\n  mlops-platform:region: cn-north-1\n  mlops-platform:organization: {organization}\n")
    result = CliRunner().invoke(app, ["preview", "--project-dir", str(ROOT), "--size", "medium",
                                      "--config", str(config)])
    assert result.exit_code == 2
    assert expected in result.stderr and "Pulumi.partition.yaml:3" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(("config", "partition"), [
    ({"mlops-platform:region": "cn-north-1"}, "aws-cn"),
    ({"aws:region": "us-gov-west-1"}, "aws-us-gov"),
    ({"mlops-platform:region": "eu-west-1"}, "aws"),
    ({}, "aws"),
    ({"mlops-platform:region": "mars-north-1"}, "aws"),
])
def test_the_pack_names_the_deploy_path_in_the_configured_partition(config: dict[str, str], partition: str) -> None:
    from guardrails.platform import parse_platform

    accounts = {"management": "111111111111", "data": "222222222222", "artifact": "333333333333",
                "cicd": "444444444444", "ops": "555555555555", "dev": "666666666666", "staging": "777777777777",
                "prod": "888888888888"}
    known = parse_platform({**config, "mlops-platform:accounts": json.dumps(accounts)})
    assert known.partition == partition
    assert known.deploy_path_roles() == {f"arn:{partition}:iam::444444444444:role/mlops-cicd-deploy-pipeline",
                                         f"arn:{partition}:iam::111111111111:role/mlops-org-bootstrap"}


@pytest.mark.parametrize("value", [
    "arn:aws:sagemaker:cn-north-1:333333333333:model-package/churn/4",
    "arn:aws-cn:sagemaker:cn-northwest-1:333333333333:model-package/churn/4",
])
def test_a_recorded_served_version_in_another_partition_or_region_is_refused(value: str) -> None:
    name = f"{contract.served_models_path('prod')}churn"
    with pytest.raises(ServingStateError, match="arn:aws-cn:sagemaker:cn-north-1:333333333333:model-package/churn/"):
        check_served_versions({name: value}, "prod", [UseCase("churn")], "cn-north-1", "333333333333")
    good = "arn:aws-cn:sagemaker:cn-north-1:333333333333:model-package/churn/4"
    assert check_served_versions({name: good}, "prod", [UseCase("churn")], "cn-north-1", "333333333333") == \
        {"churn": good}

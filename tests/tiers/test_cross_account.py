"""Every role of another account that reads or writes a tier's data is granted on the resource side too,
by exact role ARN, in a form IAM accepts before that role exists."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from mlops_platform.offline.capture import CapturedResource
from mlops_platform.offline.preview import Preview, StackPreview

LARGE = {"data": "222222222222", "artifact": "333333333333", "ops": "555555555555", "dev": "666666666666",
         "staging": "777777777777", "prod": "888888888888"}


def stack_of(preview: Preview, name: str) -> StackPreview:
    return next(stack for stack in preview.stacks if stack.name == name)


def statements(resource: CapturedResource, key: str = "policy") -> dict[str, dict[str, Any]]:
    return {s.get("Sid", ""): s for s in json.loads(resource.inputs[key])["Statement"]}


def named(stack: StackPreview, type_token: str, part: str) -> CapturedResource:
    return next(r for r in stack.captured.resources if r.type == type_token and part in r.name)


def role(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def test_model_artifacts_are_granted_to_exactly_the_foreign_readers_and_writers(
        shipped_preview: Callable[..., Preview]) -> None:
    artifact = stack_of(shipped_preview("large"), "artifact")
    bucket = statements(named(artifact, "aws:s3/bucketPolicy:BucketPolicy", "model-artifacts"))
    readers = {role(LARGE["dev"], "mlops-dev-data-scientist"), role(LARGE["staging"], "mlops-staging-churn-model"),
               role(LARGE["prod"], "mlops-prod-churn-model"), role(LARGE["ops"], "mlops-ops-churn-pipeline"),
               role(LARGE["ops"], "mlops-ops-churn-drift")}
    read = bucket["OtherAccountsRead"]
    assert set(read["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == readers
    assert set(read["Principal"]["AWS"]) == {f"arn:aws:iam::{LARGE[t]}:root" for t in ("dev", "staging", "prod", "ops")}
    write = bucket["OtherAccountsWrite"]
    assert write["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [role(LARGE["ops"], "mlops-ops-churn-pipeline")]
    key = statements(named(artifact, "aws:kms/key:Key", "artifact-key"))
    assert set(key["OtherAccountsDecrypt"]["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == readers - {
        role(LARGE["ops"], "mlops-ops-churn-pipeline")}, "the drift check decrypts the baselines it reads"
    assert "kms:GenerateDataKey" in key["OtherAccountsEncrypt"]["Action"]


def test_the_named_roles_are_the_roles_the_other_tiers_create(shipped_preview: Callable[..., Preview]) -> None:
    """A grant naming a role the reader tier does not create would open nothing: the names must agree."""
    preview = shipped_preview("large")
    created = {r.outputs["arn"] for stack in preview.stacks for r in stack.captured.resources
               if r.type == "aws:iam/role:Role"}
    artifact = stack_of(preview, "artifact")
    for policy in (named(artifact, "aws:s3/bucketPolicy:BucketPolicy", "model-artifacts"),
                   named(stack_of(preview, "data"), "aws:s3/bucketPolicy:BucketPolicy", "datasets")):
        for statement in statements(policy).values():
            for arn in statement.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn", []):
                assert arn in created, f"{arn} is granted but no stack creates it"


def test_datasets_are_granted_to_the_data_scientists_and_the_key_to_every_foreign_pipeline(
        shipped_preview: Callable[..., Preview]) -> None:
    """Large's churn trains on data lake tables: its pipeline reads no dataset around Lake Formation, yet decrypts
    the catalog the data key encrypts."""
    data = stack_of(shipped_preview("large"), "data")
    read = statements(named(data, "aws:s3/bucketPolicy:BucketPolicy", "datasets"))["OtherAccountsRead"]
    assert set(read["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == {role(LARGE["dev"], "mlops-dev-data-scientist")}
    assert "OtherAccountsWrite" not in statements(named(data, "aws:s3/bucketPolicy:BucketPolicy", "datasets"))
    key_readers = {arn for statement in json.loads(named(data, "aws:kms/key:Key", "data-key").inputs["policy"])[
        "Statement"] for arn in statement.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn", [])}
    assert role(LARGE["ops"], "mlops-ops-churn-pipeline") in key_readers


def test_the_registry_admits_foreign_pipelines_and_deploy_roles(shipped_preview: Callable[..., Preview]) -> None:
    artifact = stack_of(shipped_preview("large"), "artifact")
    policy = statements(named(artifact, "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy", "churn"),
                        "resourcePolicy")
    assert policy["OtherAccountsRegister"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [
        role(LARGE["ops"], "mlops-ops-churn-pipeline")]
    assert policy["OtherAccountsDeploy"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [
        role(LARGE["staging"], "mlops-platform-deploy"), role(LARGE["prod"], "mlops-platform-deploy")]
    pull = statements(named(artifact, "aws:ecr/repositoryPolicy:RepositoryPolicy", "churn"))["OtherAccountsPull"]
    assert "Resource" not in pull and "ecr:BatchGetImage" in pull["Action"]


@pytest.mark.parametrize("size", ["small"])
def test_one_account_needs_no_resource_side_grants(size: str, shipped_preview: Callable[..., Preview]) -> None:
    dev = stack_of(shipped_preview(size), "dev")
    for resource in dev.captured.resources:
        if resource.type in ("aws:s3/bucketPolicy:BucketPolicy", "aws:kms/key:Key"):
            assert not [sid for sid in statements(resource) if sid.startswith("OtherAccounts")], resource.urn
    assert not [r for r in dev.captured.resources if r.type in (
        "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy", "aws:ecr/repositoryPolicy:RepositoryPolicy")]


def _registration_groups(stack: StackPreview) -> set[str]:
    pipeline = next(r for r in stack.captured.resources
                    if r.type == "aws:sagemaker/pipeline:Pipeline" and r.name == "ops-churn-retraining")
    steps = json.loads(pipeline.inputs["pipelineDefinition"])["Steps"]
    found: set[str] = set()

    def visit(step: dict[str, Any]) -> None:
        for nested in step.get("Arguments", {}).get("IfSteps", []) + step.get("Arguments", {}).get("ElseSteps", []):
            visit(nested)
        arguments = step.get("Arguments", {})
        if "ModelPackageGroupName" in arguments:
            found.add(arguments["ModelPackageGroupName"])
        if "ModelPackageGroupName" in step:
            found.add(step["ModelPackageGroupName"])

    for step in steps:
        visit(step)
    return found


def test_the_large_pipeline_registers_into_the_artifact_accounts_group_by_arn(
        shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("large")
    artifact = stack_of(preview, "artifact").config.account_id
    region = stack_of(preview, "ops").config.region
    groups = _registration_groups(stack_of(preview, "ops"))
    assert groups == {f"arn:aws:sagemaker:{region}:{artifact}:model-package-group/churn"}, \
        "a bare group name would resolve in the ops account, where no group exists"


def test_where_the_registry_shares_the_pipelines_account_the_group_is_named(
        shipped_preview: Callable[..., Preview]) -> None:
    assert _registration_groups(stack_of(shipped_preview("small"), "dev")) == {"churn"}

"""The mock-engine capture of the shipped stacks: URNs, parents, providers, protect, component properties."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from guardrails.rules.data_safety import STATEFUL_TYPES

from mlops_platform import contract, topology
from mlops_platform.offline.capture import AWS_PROVIDER_TYPE, CapturedResource, CaptureError, capture_stack
from mlops_platform.offline.preview import Preview, StackPreview
from mlops_platform.program import build_stack

SIZES = ("small", "medium", "large")


def stack_of(preview: Preview, name: str) -> StackPreview:
    return next(stack for stack in preview.stacks if stack.name == name)


def tier_of(resource: CapturedResource) -> str | None:
    for token in resource.urn.split("::")[2].split("$"):
        tier = contract.tier_from_component_type(token)
        if tier:
            return tier
    return None


def of_type(stack: StackPreview, type_token: str) -> list[CapturedResource]:
    return [r for r in stack.captured.resources if r.type == type_token]


def companion(stack: StackPreview, bucket: CapturedResource, type_token: str) -> CapturedResource:
    matches = [r for r in of_type(stack, type_token) if r.inputs.get("bucket") == bucket.outputs["bucket"]]
    assert len(matches) == 1, f"{bucket.name} has {len(matches)} {type_token}"
    return matches[0]


def test_urns_are_built_as_the_engine_builds_them(shipped_preview: Callable[..., Preview]) -> None:
    stack = stack_of(shipped_preview("large"), "artifact")
    urns = {r.urn for r in stack.captured.resources}
    assert "urn:pulumi:artifact::mlops-platform::pulumi:providers:aws::artifact" in urns
    assert "urn:pulumi:artifact::mlops-platform::mlops:tier:Artifact::artifact" in urns
    assert ("urn:pulumi:artifact::mlops-platform::mlops:tier:Artifact$mlops:storage:SecureBucket"
            "$aws:s3/bucket:Bucket::artifact-model-artifacts") in urns
    assert not any("pulumi:pulumi:Stack$" in urn for urn in urns), "children of the root stack carry no Stack type"
    assert len(urns) == len(stack.captured.resources), "URNs are unique"


@pytest.mark.parametrize("size", SIZES)
def test_every_parent_is_a_captured_resource_or_the_root_stack(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    for stack in shipped_preview(size).stacks:
        urns = {r.urn for r in stack.captured.resources}
        root = f"urn:pulumi:{stack.name}::mlops-platform::pulumi:pulumi:Stack::mlops-platform-{stack.name}"
        for resource in stack.captured.resources:
            assert resource.parent in urns | {root}, resource.urn
            qualified = resource.urn.split("::")[2]
            if resource.parent != root:
                assert qualified.startswith(resource.parent.split("::")[2] + "$"), "URN type chain follows parents"


@pytest.mark.parametrize("size", SIZES)
def test_every_aws_resource_deploys_through_its_own_tiers_provider(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    for stack in shipped_preview(size).stacks:
        for resource in stack.captured.resources:
            if not resource.custom or resource.type == AWS_PROVIDER_TYPE:
                continue
            tier = tier_of(resource)
            assert tier in stack.config.stack.tiers, resource.urn
            expected = f"urn:pulumi:{stack.name}::mlops-platform::pulumi:providers:aws::{tier}::{tier}-provider-id"
            member_account = "::mlops-platform::mlops:tier:Org$mlops:org:DeployPath$pulumi:providers:aws::"
            if tier == "org" and member_account in resource.provider:
                continue  # the org tier reaches member accounts through their access role (tested in test_org)
            assert resource.provider == expected, resource.urn


def _provider_inputs(stack: StackPreview, tier: str) -> dict[str, Any]:
    provider = next(r for r in of_type(stack, AWS_PROVIDER_TYPE) if r.name == tier)
    return {key: json.loads(value) if key in ("assumeRoles", "allowedAccountIds", "defaultTags") else value
            for key, value in provider.inputs.items()}


@pytest.mark.parametrize("size", SIZES)
def test_workload_providers_assume_the_deploy_role_of_exactly_their_account(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    for stack in preview.stacks:
        for tier in stack.config.stack.tiers:
            inputs = _provider_inputs(stack, tier)
            account = stack.config.account_of_tier(tier)
            assert inputs["allowedAccountIds"] == [account]
            assert inputs["region"] == stack.config.region
            tags = inputs["defaultTags"]["tags"]
            assert set(contract.REQUIRED_TAGS) <= set(tags)
            assert tags[contract.TAG_TIER] == tier and tags[contract.TAG_SIZE] == size
            if tier == "org":
                assert "assumeRoles" not in inputs, "the org stack runs on the management account's credentials"
            else:
                assert inputs["assumeRoles"] == [{
                    "roleArn": f"arn:aws:iam::{account}:role/mlops-platform-deploy",
                    "sessionName": f"mlops-platform-{stack.name}",
                }]


@pytest.mark.parametrize("size", SIZES)
def test_stateful_resources_are_protected_in_every_tier_but_dev(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    stateful = STATEFUL_TYPES
    seen_tiers = set()
    for stack in shipped_preview(size).stacks:
        for resource in stack.captured.resources:
            if resource.type in stateful:
                tier = tier_of(resource)
                seen_tiers.add(tier)
                assert resource.protect == (tier != "dev"), resource.urn
            elif resource.custom:
                assert not resource.protect, f"only stateful resources are protected: {resource.urn}"
    assert {"artifact", "dev"} <= seen_tiers


def test_secure_bucket_is_versioned_kms_encrypted_private_tls_only_and_logged(
        shipped_preview: Callable[..., Preview]) -> None:
    stack = stack_of(shipped_preview("large"), "artifact")
    bucket = next(r for r in of_type(stack, "aws:s3/bucket:Bucket") if r.name == "artifact-model-artifacts")
    logs = next(r for r in of_type(stack, "aws:s3/bucket:Bucket") if r.name == "artifact-access-logs")
    key = next(r for r in of_type(stack, "aws:kms/key:Key") if r.name == "artifact-key")
    assert bucket.inputs["forceDestroy"] is False

    versioning = companion(stack, bucket, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    encryption = companion(stack, bucket, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                          "BucketServerSideEncryptionConfiguration")
    assert encryption.inputs["rules"] == [{
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key.outputs["arn"]},
        "bucketKeyEnabled": True,
    }]
    block = companion(stack, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[flag] is True for flag in
               ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    ownership = companion(stack, bucket, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    policy = companion(stack, bucket, "aws:s3/bucketPolicy:BucketPolicy")
    statements = json.loads(policy.inputs["policy"])["Statement"][:1]
    assert statements == [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [bucket.outputs["arn"], bucket.outputs["arn"] + "/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]
    assert block.urn in policy.dependencies, "the policy waits for the public access block"
    logging = companion(stack, bucket, "aws:s3/bucketLogging:BucketLogging")
    assert logging.inputs["targetBucket"] == logs.outputs["bucket"]


def test_access_log_bucket_uses_sse_s3_and_admits_only_log_delivery_from_its_account(
        shipped_preview: Callable[..., Preview]) -> None:
    stack = stack_of(shipped_preview("large"), "artifact")
    logs = next(r for r in of_type(stack, "aws:s3/bucket:Bucket") if r.name == "artifact-access-logs")
    encryption = companion(stack, logs, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                        "BucketServerSideEncryptionConfiguration")
    assert encryption.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    statements = json.loads(companion(stack, logs, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"]
    delivery = next(s for s in statements if s["Sid"] == "AllowS3ServerAccessLogDelivery")
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": "333333333333"}}
    assert not [r for r in of_type(stack, "aws:s3/bucketLogging:BucketLogging") if r.inputs["bucket"] ==
                logs.outputs["bucket"]], "the log bucket does not log to itself"


def test_kms_key_rotates_and_its_policy_names_every_action(shipped_preview: Callable[..., Preview]) -> None:
    stack = stack_of(shipped_preview("large"), "artifact")
    key = next(r for r in of_type(stack, "aws:kms/key:Key") if r.name == "artifact-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    statement = json.loads(key.inputs["policy"])["Statement"][0]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::333333333333:root"}
    assert all("*" not in action for action in statement["Action"])
    assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:Decrypt"} <= set(statement["Action"])
    aliases = {alias.inputs["name"]: alias.inputs["targetKeyId"] for alias in of_type(stack, "aws:kms/alias:Alias")}
    assert aliases["alias/mlops-platform/artifact"] == key.outputs["keyId"]


@pytest.mark.parametrize("size", SIZES)
def test_each_stack_exports_exactly_the_contract_of_its_tiers(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    for stack in shipped_preview(size).stacks:
        expected = {contract.export_key(tier, name)
                    for tier in stack.config.stack.tiers for name in contract.TIER_EXPORTS[tier]}
        assert set(stack.captured.outputs) == expected, stack.name


def _model_read_policy(stack: StackPreview) -> dict[str, Any]:
    policy = next(r for r in of_type(stack, "aws:iam/policy:Policy") if r.name == "dev-model-artifact-read")
    document: dict[str, Any] = json.loads(policy.inputs["policy"])
    return document


@pytest.mark.parametrize("size", ("small", "medium"))
def test_dev_reads_the_artifact_tier_in_stack_where_they_share_one(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    dev = stack_of(shipped_preview(size), "dev")
    assert dev.captured.stack_references == []
    bucket_arn = dev.captured.outputs["artifactModelBucketArn"]
    resources = {s["Sid"]: s["Resource"] for s in _model_read_policy(dev)["Statement"]}
    assert resources["List"] == bucket_arn
    assert resources["Decrypt"] == dev.captured.outputs["artifactKeyArn"]


def test_dev_reads_the_artifact_tier_through_a_stack_reference_in_large(
        shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("large")
    dev, artifact = stack_of(preview, "dev"), stack_of(preview, "artifact")
    assert sorted(dev.captured.stack_references) == ["organization/mlops-platform/artifact",
                                                     "organization/mlops-platform/data"]
    resources = {s["Sid"]: s["Resource"] for s in _model_read_policy(dev)["Statement"]}
    assert resources["List"] == artifact.captured.outputs["artifactModelBucketArn"]
    assert resources["Read"] == artifact.captured.outputs["artifactModelBucketArn"] + "/*"
    assert resources["Decrypt"] == artifact.captured.outputs["artifactKeyArn"]
    assert ":333333333333:" in resources["Decrypt"], "the key lives in the artifact account"


def test_invalid_config_declares_no_resource() -> None:
    config = {"mlops-platform:size": "small", "mlops-platform:region": "eu-west-1",
              "mlops-platform:accounts": json.dumps({"workload": "12345"})}
    with pytest.raises(CaptureError) as raised:
        capture_stack(build_stack, stack="dev", config=config, stack_outputs={}, default_region="eu-west-1")
    assert "mlops-platform:accounts.workload" in str(raised.value)
    assert raised.value.captured is not None and raised.value.captured.resources == []


def test_reading_a_stack_that_was_not_captured_first_fails_clearly() -> None:
    accounts = {name: str(index) * 12 for index, name in enumerate(topology.accounts(topology.Size.LARGE), 1)}
    config = {"mlops-platform:size": "large", "mlops-platform:region": "eu-west-1",
              "mlops-platform:accounts": json.dumps(accounts)}
    with pytest.raises(CaptureError, match=r"stack '(artifact|data)' has not been captured"):
        capture_stack(build_stack, stack="dev", config=config, stack_outputs={}, default_region="eu-west-1")

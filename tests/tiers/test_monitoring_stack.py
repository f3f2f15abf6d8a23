"""The monitoring image's place in the captured stacks: its ECR repository in the artifact tier, who may pull and
push it, and the retraining pipeline's drift baseline step that runs it (drift monitoring on by default in
medium and large, off in small)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mlops_platform import contract, monitoring_image
from mlops_platform.offline.capture import CapturedResource, CapturedStack
from mlops_platform.offline.size_capture import CapturedSize

REPOSITORY = contract.MONITORING_IMAGE_REPOSITORY
LARGE = {"artifact": "333333333333", "ops": "555555555555", "cicd": "444444444444"}


def of_type(stack: CapturedStack, type_token: str) -> list[CapturedResource]:
    return [r for r in stack.resources if r.type == type_token]


def stack_named(captured: CapturedSize, name: str) -> CapturedStack:
    return next(stack for stack in captured.stacks if stack.name == name)


def monitoring_repository(stack: CapturedStack) -> CapturedResource | None:
    return next((r for r in of_type(stack, "aws:ecr/repository:Repository") if r.inputs["name"] == REPOSITORY), None)


def pipeline_definition(stack: CapturedStack) -> dict[str, Any]:
    [pipeline] = [p for p in of_type(stack, "aws:sagemaker/pipeline:Pipeline")
                  if p.inputs["pipelineName"] == contract.pipeline_name("churn")]
    definition: dict[str, Any] = json.loads(pipeline.inputs["pipelineDefinition"])
    return definition


def steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found, pending = {}, list(definition["Steps"])
    while pending:
        step = pending.pop(0)
        found[step["Name"]] = step
        pending += step.get("Arguments", {}).get("IfSteps", []) + step.get("Arguments", {}).get("ElseSteps", [])
    return found


def test_medium_builds_the_monitoring_repository_immutable_scanned_encrypted_with_a_lifecycle(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    dev = stack_named(shipped_capture("medium"), "dev")
    repository = monitoring_repository(dev)
    assert repository is not None
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS"
    lifecycles = [r for r in of_type(dev, "aws:ecr/lifecyclePolicy:LifecyclePolicy")
                  if r.parent == repository.parent]
    assert lifecycles, "the monitoring repository keeps a lifecycle policy"
    (policy,) = [r for r in of_type(dev, "aws:ecr/repositoryPolicy:RepositoryPolicy") if r.parent == repository.parent]
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert (statement["Sid"], statement["Effect"]) == ("OnlyTheImageBuildPushes", "Deny"), \
        "in medium every puller and the pusher are in the dev account: no grant, only the deny of other pushers"


def test_medium_retraining_runs_the_open_baseline_in_the_monitoring_image(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    captured = shipped_capture("medium")
    dev = stack_named(captured, "dev")
    cfg = captured.config_of("dev")
    baseline = steps(pipeline_definition(dev))["drift-baseline"]
    image = baseline["Arguments"]["AppSpecification"]["ImageUri"]
    assert image == monitoring_image.image_uri(cfg.region, cfg.account_of_tier("artifact"))
    assert image.endswith(f"/{REPOSITORY}:{monitoring_image.image_tag()}")
    assert "QualityCheck" not in {step["Type"] for step in steps(pipeline_definition(dev)).values()}


def test_the_retraining_role_may_pull_the_monitoring_image(shipped_capture: Callable[[str], CapturedSize]) -> None:
    captured = shipped_capture("large")
    ops = stack_named(captured, "ops")
    policies = [json.loads(r.inputs["policy"]) for r in of_type(ops, "aws:iam/rolePolicy:RolePolicy")
                if r.inputs["role"] == contract.retraining_role_name("churn")]
    pulls = [s for policy in policies for s in policy["Statement"] if s.get("Sid") == "PullUseCaseImages"]
    assert pulls
    repository = f"arn:aws:ecr:eu-west-1:{LARGE['artifact']}:repository/{REPOSITORY}"
    assert repository in pulls[0]["Resource"]


def test_large_grants_pull_to_the_ops_roles_and_push_to_the_image_build_role_only(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    artifact = stack_named(shipped_capture("large"), "artifact")
    repository = monitoring_repository(artifact)
    assert repository is not None
    [policy] = [r for r in of_type(artifact, "aws:ecr/repositoryPolicy:RepositoryPolicy")
                if r.parent == repository.parent]
    by_sid = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    pull, push = by_sid["OtherAccountsPull"], by_sid["ImageBuildPushes"]
    assert pull["Principal"] == {"AWS": [f"arn:aws:iam::{LARGE['ops']}:root"]}
    assert set(pull["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == {
        f"arn:aws:iam::{LARGE['ops']}:role/{contract.retraining_role_name('churn')}",
        f"arn:aws:iam::{LARGE['ops']}:role/{contract.drift_check_role_name('churn')}"}
    assert "ecr:PutImage" not in pull["Action"]
    assert push["Principal"] == {"AWS": [f"arn:aws:iam::{LARGE['cicd']}:root"]}
    assert push["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [
        f"arn:aws:iam::{LARGE['cicd']}:role/{contract.monitoring_image_build_role_name()}"]
    assert "ecr:PutImage" in push["Action"] and "Resource" not in push


def test_small_has_no_drift_monitoring_by_default(shipped_capture: Callable[[str], CapturedSize]) -> None:
    captured = shipped_capture("small")
    for stack in captured.stacks:
        assert monitoring_repository(stack) is None
    dev = stack_named(captured, "dev")
    names = set(steps(pipeline_definition(dev)))
    assert not names & {"drift-baseline", "data-quality-baseline"}


def test_the_ops_network_adds_eventbridge_for_the_drift_check_and_only_it(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    dev = stack_named(shipped_capture("medium"), "dev")
    endpoints = [r for r in of_type(dev, "aws:ec2/vpcEndpoint:VpcEndpoint")
                 if r.inputs.get("vpcEndpointType") == "Interface"]

    def services(network: str) -> set[str]:
        return {r.inputs["serviceName"].split("eu-west-1.", 1)[1] for r in endpoints
                if r.name.startswith(f"{network}-network-")}

    assert set(monitoring_image.CHECK_INTERFACE_ENDPOINTS) <= services("ops")
    assert "events" in services("ops") and "events" not in services("dev")

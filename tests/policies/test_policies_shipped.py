"""The shipped stacks, broken one way at a time: a property removed, a principal widened, a resource removed or
an input unknown. Each break must be caught by the rule that guards it, with the pack configured as the offline
preview configures it (the size's shared configuration). The stacks are captured as after the first approval, so
that the endpoints exist."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from mlops_platform.offline.analyzer import PolicyAnalyzer
from mlops_platform.offline.capture import CapturedResource, CapturedStack
from mlops_platform.offline.preview import Preview, shared_policy_config
from mlops_platform.offline.stack_config import load_project_config
from tests.policies.policy_harness import LARGE, ROOT, trust

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's sentinel for a value not known during a preview."""
REMOVE = object()

Break = Callable[[CapturedStack], CapturedStack]


@pytest.fixture(scope="module")
def analyzers() -> Iterator[dict[str, PolicyAnalyzer]]:
    running = {size: PolicyAnalyzer(ROOT / "policies", config=shared_policy_config(load_project_config(ROOT, size)))
               for size in ("small", "large")}
    for analyzer in running.values():
        analyzer.start()
    yield running
    for analyzer in running.values():
        analyzer.close()


def one(stack: CapturedStack, type_token: str, name: str) -> CapturedResource:
    matches = [r for r in stack.resources if r.type == type_token and r.name == name]
    assert len(matches) == 1, f"{stack.name} has {len(matches)} {type_token} named {name}"
    return matches[0]


def changed(stack: CapturedStack, resource: CapturedResource, **changes: Any) -> CapturedStack:
    """The stack with `resource`'s inputs and outputs changed (REMOVE drops a key)."""
    def apply(values: Mapping[str, Any]) -> dict[str, Any]:
        updated = {**values, **changes}
        return {key: value for key, value in updated.items() if value is not REMOVE}

    replacement = dataclasses.replace(resource, inputs=apply(resource.inputs), outputs=apply(resource.outputs))
    return dataclasses.replace(stack, resources=[replacement if r is resource else r for r in stack.resources])


def without(stack: CapturedStack, resource: CapturedResource) -> CapturedStack:
    return dataclasses.replace(stack, resources=[r for r in stack.resources if r is not resource])


def edit(type_token: str, name: str, **changes: Any) -> Break:
    return lambda stack: changed(stack, one(stack, type_token, name), **changes)


def drop(type_token: str, name: str) -> Break:
    return lambda stack: without(stack, one(stack, type_token, name))


def unprotect(type_token: str, name: str) -> Break:
    def apply(stack: CapturedStack) -> CapturedStack:
        resource = one(stack, type_token, name)
        replacement = dataclasses.replace(resource, protect=False)
        return dataclasses.replace(stack, resources=[replacement if r is resource else r for r in stack.resources])
    return apply


def key_policy_granting(principal: str) -> Break:
    def apply(stack: CapturedStack) -> CapturedStack:
        key = one(stack, "aws:kms/key:Key", "prod-key")
        policy = json.loads(key.inputs["policy"])
        policy["Statement"].append({"Sid": "Widened", "Effect": "Allow", "Principal": {"AWS": principal},
                                    "Action": ["kms:Decrypt"], "Resource": "*"})
        return changed(stack, key, policy=json.dumps(policy))
    return apply


def unguarded_pipeline(stack: CapturedStack) -> CapturedStack:
    policy = one(stack, "aws:iam/rolePolicy:RolePolicy", "ops-churn-retraining-execution")
    document = json.loads(policy.inputs["policy"])
    for statement in document["Statement"]:
        if statement.get("Sid") == "RegisterOnlyPendingApproval":
            statement.pop("Condition", None)
    return changed(stack, policy, policy=json.dumps(document))


def untagged_provider(stack: CapturedStack) -> CapturedStack:
    provider = one(stack, "pulumi:providers:aws", "prod")
    return changed(stack, provider, defaultTags=json.dumps({"tags": {"mlops:tier": "prod"}}))


ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ROLE = "aws:iam/role:Role"

BREAKS: list[tuple[str, str, Break, str]] = [
    ("large", "prod", edit("aws:kms/key:Key", "prod-key", enableKeyRotation=REMOVE), "kms-key-rotation"),
    ("large", "prod", edit(ENDPOINT_CONFIG, "prod-churn", dataCaptureConfig=REMOVE),
     "sagemaker-endpoint-data-capture"),
    ("large", "staging", edit(ENDPOINT_CONFIG, "staging-churn", dataCaptureConfig=REMOVE),
     "sagemaker-endpoint-data-capture"),
    ("large", "prod", edit(ENDPOINT_CONFIG, "prod-churn", kmsKeyArn=REMOVE), "sagemaker-endpoint-config-kms"),
    ("large", "prod", edit("aws:sagemaker/model:Model", "prod-churn", enableNetworkIsolation=REMOVE),
     "sagemaker-model-network-isolation"),
    ("large", "prod", edit("aws:sagemaker/endpoint:Endpoint", "prod-churn", deploymentConfig=REMOVE),
     "sagemaker-prod-endpoint-safe-deployment"),
    ("large", "prod", drop("aws:appautoscaling/target:Target", "prod-churn"), "sagemaker-prod-endpoint-autoscaling"),
    ("large", "prod", edit(ROLE, "prod-churn-model", assumeRolePolicy=trust("*")), "separation-role-trust"),
    ("large", "prod", edit(ROLE, "prod-churn-model", assumeRolePolicy=trust("*")), "resource-policies-not-public"),
    ("large", "prod", edit(ROLE, "prod-churn-model",
                           assumeRolePolicy=trust({"AWS": f"arn:aws:iam::{LARGE['dev']}:root"})),
     "separation-role-trust"),
    ("large", "prod", key_policy_granting(f"arn:aws:iam::{LARGE['dev']}:role/mlops-dev-data-scientist"),
     "separation-resource-policies"),
    ("large", "prod", edit("aws:apigatewayv2/route:Route", "prod-churn-api", authorizationType=REMOVE),
     "apigateway-routes-authorized"),
    ("large", "prod", edit("aws:apigatewayv2/stage:Stage", "prod-churn-api", accessLogSettings=REMOVE),
     "apigateway-access-logging"),
    ("large", "prod", edit("aws:lambda/function:Function", "prod-churn-api", runtime="python3.8"),
     "lambda-supported-runtime"),
    ("large", "prod", edit("aws:lambda/permission:Permission", "prod-churn-api", principal="*"),
     "lambda-no-public-invoke"),
    ("large", "prod", untagged_provider, "required-tags"),
    ("large", "artifact", edit("aws:ecr/repository:Repository", "artifact-churn-images",
                               imageTagMutability="MUTABLE"), "ecr-immutable-tags"),
    ("large", "artifact", edit("aws:ecr/repository:Repository", "artifact-churn-images",
                               imageScanningConfiguration=REMOVE), "ecr-scan-on-push"),
    ("large", "artifact", unprotect("aws:sagemaker/modelPackageGroup:ModelPackageGroup",
                                    "artifact-model-registry-churn"), "stateful-resources-protected"),
    ("large", "artifact", drop("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "artifact-model-artifacts"),
     "s3-bucket-public-access-blocked"),
    ("large", "artifact", drop("aws:s3/bucketPolicy:BucketPolicy", "artifact-model-artifacts"), "s3-bucket-tls-only"),
    ("large", "ops", unguarded_pipeline, "sagemaker-pipeline-pending-approval"),
    ("large", "org", edit("aws:ssoadmin/accountAssignment:AccountAssignment", "org-identity-DataScientist-dev",
                          targetId=LARGE["prod"]), "separation-data-scientist-assignment"),
    ("large", "org", drop("aws:organizations/policyAttachment:PolicyAttachment",
                          "org-production-separation-ml-prod-1"), "separation-scps-attached"),
    ("large", "org", edit(ROLE, "org-deploy-path-deploy-prod", assumeRolePolicy=trust(
        {"AWS": [f"arn:aws:iam::{LARGE['cicd']}:role/mlops-cicd-deploy-pipeline",
                 f"arn:aws:iam::{LARGE['dev']}:root"]})), "separation-role-trust"),
    ("small", "prod", edit(ROLE, "prod-churn-model", assumeRolePolicy=trust(
        {"AWS": "arn:aws:iam::111111111111:role/mlops-dev-data-scientist"})), "separation-role-trust"),
    ("small", "dev", drop("aws:s3/bucketVersioning:BucketVersioning", "data-datasets"), "s3-bucket-versioning"),
]


@pytest.mark.parametrize("size, stack_name, breaks, rule", BREAKS,
                         ids=[f"{size}-{stack}-{rule}-{index}" for index, (size, stack, _, rule) in enumerate(BREAKS)])
def test_each_break_of_a_shipped_stack_is_blocked(size: str, stack_name: str, breaks: Break, rule: str,
                                                  analyzers: dict[str, PolicyAnalyzer],
                                                  shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size, serving=True)
    stack = next(s for s in preview.stacks if s.name == stack_name).captured
    assert rule not in {v.policy for v in analyzers[size].analyze(stack)}, "the shipped stack passes"
    violations = analyzers[size].analyze(breaks(stack))
    assert rule in {v.policy for v in violations if v.level == "mandatory"}, violations


@pytest.mark.parametrize("type_token, name, key, rule", [
    (ROLE, "prod-churn-model", "assumeRolePolicy", "separation-role-trust"),
    (ENDPOINT_CONFIG, "prod-churn", "dataCaptureConfig", "sagemaker-endpoint-data-capture"),
    ("aws:kms/key:Key", "prod-key", "policy", "separation-resource-policies"),
    ("aws:appautoscaling/target:Target", "prod-churn", "minCapacity", "sagemaker-prod-endpoint-autoscaling"),
])
def test_an_input_unknown_during_preview_is_reported_not_passed(type_token: str, name: str, key: str, rule: str,
                                                                analyzers: dict[str, PolicyAnalyzer],
                                                                shipped_preview: Callable[..., Preview]) -> None:
    stack = next(s for s in shipped_preview("large", serving=True).stacks if s.name == "prod").captured
    violations = analyzers["large"].analyze(changed(stack, one(stack, type_token, name), **{key: UNKNOWN}))
    undecided = [v for v in violations if v.policy == rule and v.level == "advisory"]
    assert undecided and "can't run policy" in undecided[0].message

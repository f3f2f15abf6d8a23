"""The permissions boundary every platform role carries, as pure data.

A boundary grants nothing; it is the most a role may ever do, whatever its own policies say. The deploy role
may create and change only `mlops-*` roles that carry this boundary, so nothing it deploys (nor the deploy role
itself) can step outside it: no IAM beyond the platform's own roles, no Organizations or account settings, and
the boundary itself cannot be edited, detached or bypassed by a role that carries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_platform import contract, iam_policy, naming
from mlops_platform.iam_policy import allow, deny

BOUNDARY_SERVICES: tuple[str, ...] = (
    "apigateway", "application-autoscaling", "athena", "cloudwatch", "codebuild", "codeconnections",
    "codepipeline", "codestar-connections", "ec2", "ecr", "events", "execute-api", "glue", "lakeformation",
    "lambda", "logs", "ram", "s3", "sagemaker", "scheduler", "sns", "sqs", "sts", "xray",
)
"""Services the platform's tiers deploy and its roles use (the data lake's Glue, Lake Formation and Athena
included; RAM shares the feature groups). A new kind of resource in a workload tier needs its service here
(tests/org/test_org_boundary.py checks every captured resource type)."""

ROLE_MANAGEMENT_ACTIONS: tuple[str, ...] = (
    "iam:DeleteRole", "iam:PassRole", "iam:TagRole", "iam:UntagRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
)
BOUNDED_ROLE_ACTIONS: tuple[str, ...] = (
    "iam:AttachRolePolicy", "iam:CreateRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy",
)
"""Allowed only with this boundary (`iam:PermissionsBoundary`: the boundary a new role is created with, or the
one the changed role carries), so a role's permissions change only inside it (IAM User Guide, "Delegating
responsibility to others by using permissions boundaries")."""
POLICY_MANAGEMENT_ACTIONS: tuple[str, ...] = (
    "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:TagPolicy",
    "iam:UntagPolicy",
)
BOUNDARY_TAMPERING: tuple[str, ...] = (
    "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy", "iam:UntagPolicy",
)
IAM_READ_ACTIONS: tuple[str, ...] = (
    "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole", "iam:ListPolicyVersions", "iam:ListRolePolicies", "iam:ListRoles",
)


def platform_roles(partition: str, account_id: str) -> str:
    return naming.roles_arn(partition, account_id, f"{contract.PLATFORM_ROLE_NAME_PREFIX}*")


def managed_policies(partition: str, account_id: str) -> str:
    return naming.policy_arn(partition, account_id, "*")


def service_linked_roles(partition: str, account_id: str) -> str:
    return naming.roles_arn(partition, account_id, "aws-service-role/*")


def requires_boundary(partition: str, account_id: str) -> dict[str, Any]:
    return {"StringEquals": {"iam:PermissionsBoundary": contract.permissions_boundary_arn(partition, account_id)}}


def boundary_document(partition: str, account_id: str, platform_account_ids: Sequence[str]) -> str:
    """The boundary of `account_id`'s platform roles; keys of every platform account stay usable (the
    artifact account's model key, say, is read from ops, staging and prod)."""
    accounts = sorted(set(platform_account_ids) | {account_id})
    boundary = contract.permissions_boundary_arn(partition, account_id)
    return iam_policy.document_json([
        allow([f"{service}:*" for service in BOUNDARY_SERVICES], "*", sid="PlatformServices"),
        allow(["kms:CreateKey", "kms:ListAliases", "kms:ListKeys"], "*", sid="CreateAndListKeys"),
        allow(["kms:*"], [naming.kms_arn(partition, naming.ANY, account, f"{kind}/*")
                          for account in accounts for kind in ("key", "alias")], sid="UseThePlatformsKeys"),
        allow(["ssm:GetParametersByPath", "ssm:GetParameter", "ssm:GetParameters"],
              naming.arn(partition, "ssm", naming.ANY, account_id, f"parameter{contract.SERVING_STATE_PREFIX}*"),
              sid="ReadServedVersions"),
        allow(["ssm:PutParameter"],
              naming.arn(partition, "ssm", naming.ANY, account_id, f"parameter{contract.SERVING_STATE_PREFIX}/*"),
              sid="RecordServedVersions"),
        allow(["ssm:GetParameter", "ssm:PutParameter"],
              naming.arn(partition, "ssm", naming.ANY, account_id, f"parameter{contract.IMAGE_RECORD_PREFIX}/*"),
              sid="RecordBuiltImages"),
        allow(["secretsmanager:CreateSecret", "secretsmanager:DeleteResourcePolicy", "secretsmanager:DeleteSecret",
               "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:GetSecretValue",
               "secretsmanager:PutResourcePolicy", "secretsmanager:TagResource", "secretsmanager:UntagResource",
               "secretsmanager:UpdateSecret"],
              naming.arn(partition, "secretsmanager", naming.ANY, account_id,
                         f"secret:{contract.PULUMI_ACCESS_TOKEN_SECRET}-*"), sid="PipelineAccessToken"),
        allow(IAM_READ_ACTIONS, "*", sid="ReadIam"),
        allow(ROLE_MANAGEMENT_ACTIONS, platform_roles(partition, account_id), sid="ManagePlatformRoles"),
        allow(BOUNDED_ROLE_ACTIONS, platform_roles(partition, account_id), requires_boundary(partition, account_id),
              sid="CreateBoundedPlatformRoles"),
        allow(POLICY_MANAGEMENT_ACTIONS, managed_policies(partition, account_id), sid="ManagePlatformPolicies"),
        allow(["iam:CreateServiceLinkedRole"], service_linked_roles(partition, account_id),
              sid="CreateServiceLinkedRoles"),
        deny(BOUNDARY_TAMPERING, boundary, sid="TheBoundaryCannotBeChanged"),
        deny(["iam:DeleteRolePermissionsBoundary"], "*", sid="TheBoundaryCannotBeRemoved"),
    ])

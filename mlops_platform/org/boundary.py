"""The permissions boundary every platform role carries, as pure data.

A boundary grants nothing; it is the most a role may ever do, whatever its own policies say. The deploy role
may create and change only `mlops-*` roles that carry this boundary, so nothing it deploys (nor the deploy role
itself) can step outside it: no IAM beyond the platform's own roles, no Organizations or account settings, and
the boundary itself cannot be edited, detached or bypassed by a role that carries it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mlops_platform import contract, naming

BOUNDARY_SERVICES: tuple[str, ...] = (
    "apigateway", "application-autoscaling", "athena", "cloudwatch", "codebuild", "codeconnections",
    "codepipeline", "codestar-connections", "ec2", "ecr", "events", "execute-api", "glue", "lakeformation",
    "lambda", "logs", "s3", "sagemaker", "scheduler", "sns", "sqs", "sts", "xray",
)
"""Services the platform's tiers deploy and its roles use (the data lake's Glue, Lake Formation and Athena
included). A new kind of resource in a workload tier needs its service here (tests/test_org_boundary.py checks
every captured resource type)."""

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
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "PlatformServices", "Effect": "Allow", "Action": [f"{service}:*" for service in BOUNDARY_SERVICES],
         "Resource": "*"},
        {"Sid": "CreateAndListKeys", "Effect": "Allow",
         "Action": ["kms:CreateKey", "kms:ListAliases", "kms:ListKeys"], "Resource": "*"},
        {"Sid": "UseThePlatformsKeys", "Effect": "Allow", "Action": "kms:*",
         "Resource": [naming.kms_arn(partition, naming.ANY, account, f"{kind}/*")
                      for account in accounts for kind in ("key", "alias")]},
        {"Sid": "ReadServedVersions", "Effect": "Allow", "Action": ["ssm:GetParametersByPath", "ssm:GetParameter",
                                                                    "ssm:GetParameters"],
         "Resource": naming.arn(partition, "ssm", naming.ANY, account_id,
                                f"parameter{contract.SERVING_STATE_PREFIX}*")},
        {"Sid": "RecordServedVersions", "Effect": "Allow", "Action": ["ssm:PutParameter"],
         "Resource": naming.arn(partition, "ssm", naming.ANY, account_id,
                                f"parameter{contract.SERVING_STATE_PREFIX}/*")},
        {"Sid": "PipelineAccessToken", "Effect": "Allow",
         "Action": ["secretsmanager:CreateSecret", "secretsmanager:DeleteResourcePolicy",
                    "secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret",
                    "secretsmanager:GetResourcePolicy", "secretsmanager:GetSecretValue",
                    "secretsmanager:PutResourcePolicy", "secretsmanager:TagResource", "secretsmanager:UntagResource",
                    "secretsmanager:UpdateSecret"],
         "Resource": naming.arn(partition, "secretsmanager", naming.ANY, account_id,
                                f"secret:{contract.PULUMI_ACCESS_TOKEN_SECRET}-*")},
        {"Sid": "ReadIam", "Effect": "Allow", "Action": list(IAM_READ_ACTIONS), "Resource": "*"},
        {"Sid": "ManagePlatformRoles", "Effect": "Allow", "Action": list(ROLE_MANAGEMENT_ACTIONS),
         "Resource": platform_roles(partition, account_id)},
        {"Sid": "CreateBoundedPlatformRoles", "Effect": "Allow", "Action": list(BOUNDED_ROLE_ACTIONS),
         "Resource": platform_roles(partition, account_id), "Condition": requires_boundary(partition, account_id)},
        {"Sid": "ManagePlatformPolicies", "Effect": "Allow", "Action": list(POLICY_MANAGEMENT_ACTIONS),
         "Resource": managed_policies(partition, account_id)},
        {"Sid": "CreateServiceLinkedRoles", "Effect": "Allow", "Action": ["iam:CreateServiceLinkedRole"],
         "Resource": service_linked_roles(partition, account_id)},
        {"Sid": "TheBoundaryCannotBeChanged", "Effect": "Deny", "Action": list(BOUNDARY_TAMPERING),
         "Resource": boundary},
        {"Sid": "TheBoundaryCannotBeRemoved", "Effect": "Deny", "Action": ["iam:DeleteRolePermissionsBoundary"],
         "Resource": "*"},
    ]})

"""The only way into a workload account: its deploy role, assumable by exactly two roles —
the CI/CD pipeline role (in the account hosting the cicd tier) and the management account's bootstrap role
(for a stack's first deploy). Both are created before any deploy role, so no trust policy ever names a
principal that does not exist yet (IAM would reject it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform import contract
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, allow, trust

DEPLOY_ROLE_IAM_ACTIONS: tuple[str, ...] = (
    "iam:AttachRolePolicy", "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:CreateRole",
    "iam:CreateServiceLinkedRole", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:DeleteRole",
    "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole",
    "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListPolicyVersions",
    "iam:ListRolePolicies", "iam:PassRole", "iam:PutRolePolicy", "iam:TagPolicy", "iam:TagRole", "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription",
)
"""What Pulumi needs of IAM to build a tier (roles and policies), beside PowerUserAccess for everything else."""


@dataclass(frozen=True)
class DeployPathArgs:
    management_account_id: str
    cicd_account_id: str
    workload_accounts: Mapping[str, str]
    """Logical account name → id of every account a workload stack deploys into."""
    deploy_role_name: str
    region: str
    member_access_role_name: str
    tags: Mapping[str, str]
    """Default tags of the member-account providers (the org tier's)."""


class DeployPath(pulumi.ComponentResource):
    deploy_role_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: DeployPathArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:org:DeployPath", name, None, opts)
        self._member_providers: dict[str, aws.Provider] = {}
        deploy_role_arns = [contract.deploy_role_arn(account, args.deploy_role_name)
                            for account in args.workload_accounts.values()]
        bootstrap = PlatformRole(f"{name}-bootstrap", PlatformRoleArgs(
            role_name=contract.BOOTSTRAP_ROLE_NAME,
            description="First deploys: platform engineers assume it to reach the workload deploy roles",
            trust_policy=_trust({"AWS": f"arn:aws:iam::{args.management_account_id}:root"}),
            statements=[allow(["sts:AssumeRole", "sts:TagSession"], deploy_role_arns, sid="AssumeDeployRoles")]),
            pulumi.ResourceOptions(parent=self))
        pipeline = PlatformRole(f"{name}-pipeline", PlatformRoleArgs(
            role_name=contract.DEPLOY_PIPELINE_ROLE_NAME,
            description="CI/CD: CodePipeline and CodeBuild deploy the tiers through the deploy roles",
            trust_policy=_trust({"Service": ["codepipeline.amazonaws.com", "codebuild.amazonaws.com"]}),
            statements=[allow(["sts:AssumeRole", "sts:TagSession"], deploy_role_arns, sid="AssumeDeployRoles")]),
            pulumi.ResourceOptions(parent=self, provider=self._member_provider(name, args.cicd_account_id, args)))
        trusted = [contract.deploy_pipeline_role_arn(args.cicd_account_id),
                   contract.bootstrap_role_arn(args.management_account_id)]
        self.deploy_role_arns = {}
        for account_name, account_id in args.workload_accounts.items():
            role = PlatformRole(f"{name}-deploy-{account_name}", PlatformRoleArgs(
                role_name=args.deploy_role_name,
                description="The only role that deploys this account's tiers",
                trust_policy=_trust({"AWS": trusted}),
                statements=[allow(DEPLOY_ROLE_IAM_ACTIONS, "*", sid="ManagePlatformRoles")],
                managed_policy_arns=["arn:aws:iam::aws:policy/PowerUserAccess"]),
                pulumi.ResourceOptions(parent=self, depends_on=[bootstrap, pipeline],
                                       provider=self._member_provider(name, account_id, args)))
            self.deploy_role_arns[account_name] = role.arn
        self.register_outputs({})

    def _member_provider(self, name: str, account_id: str, args: DeployPathArgs) -> aws.Provider:
        """Reaches a member account from the management account through the organization's access role."""
        if account_id not in self._member_providers:
            self._member_providers[account_id] = aws.Provider(
                f"{name}-{account_id}", region=args.region, allowed_account_ids=[account_id],
                assume_roles=[aws.ProviderAssumeRoleArgs(
                    role_arn=f"arn:aws:iam::{account_id}:role/{args.member_access_role_name}",
                    session_name=f"{contract.PROJECT}-org")],
                default_tags=aws.ProviderDefaultTagsArgs(tags=dict(args.tags)),
                opts=pulumi.ResourceOptions(parent=self))
        return self._member_providers[account_id]


def _trust(principal: dict[str, Any]) -> str:
    return trust(principal, ["sts:AssumeRole", "sts:TagSession"])

"""The only way into a workload account: its deploy role, assumable by exactly two roles —
the CI/CD pipeline role (in the account hosting the cicd tier) and the management account's bootstrap role
(for a stack's first deploy). Both are created before any deploy role, so no trust policy ever names a
principal that does not exist yet (IAM would reject it).

Each account first gets the platform's permissions boundary (`mlops_platform.org.boundary`); the deploy role may
create and change only `mlops-*` roles, only with that boundary, and never the deploy path's own roles. The
pipeline role trusts CodePipeline and CodeBuild only on behalf of the cicd account's own pipelines and projects
(`aws:SourceAccount` / `aws:SourceArn`, which both services send when they assume a service role).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform import ci, contract, iam_policy, naming
from mlops_platform.components.ci_identity import CiAccount, CiAccountArgs
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, Statement, allow, deny, trust
from mlops_platform.iam_policy import trusting
from mlops_platform.org import boundary


def deploy_role_statements(partition: str, account_id: str, deploy_role_name: str) -> list[Statement]:
    """What Pulumi needs of IAM to build a tier (the platform's roles and policies), beside PowerUserAccess for
    everything else: never another role, never a role without the boundary, never the deploy path itself."""
    own_roles = (deploy_role_name, contract.DEPLOY_PIPELINE_ROLE_NAME, contract.BOOTSTRAP_ROLE_NAME,
                 *ci.CI_ROLE_NAMES)
    deploy_path_roles = [contract.deploy_role_arn(partition, account_id, name) for name in own_roles]
    return [
        allow(boundary.IAM_READ_ACTIONS, "*", sid="ReadIam"),
        allow(boundary.ROLE_MANAGEMENT_ACTIONS, boundary.platform_roles(partition, account_id),
              sid="ManagePlatformRoles"),
        allow(boundary.BOUNDED_ROLE_ACTIONS, boundary.platform_roles(partition, account_id),
              boundary.requires_boundary(partition, account_id), sid="CreatePlatformRolesWithTheBoundary"),
        allow(boundary.POLICY_MANAGEMENT_ACTIONS, boundary.managed_policies(partition, account_id),
              sid="ManagePlatformPolicies"),
        allow(["iam:CreateServiceLinkedRole"], boundary.service_linked_roles(partition, account_id),
              sid="ServiceLinkedRoles"),
        deny([*boundary.ROLE_MANAGEMENT_ACTIONS, *boundary.BOUNDED_ROLE_ACTIONS], deploy_path_roles,
             sid="NeverTheDeployPathsRoles"),
        deny(boundary.BOUNDARY_TAMPERING, contract.permissions_boundary_arn(partition, account_id),
             sid="NeverTheBoundary"),
    ]


def pipeline_trust(cicd_account_id: str, region: str) -> str:
    """CodePipeline and CodeBuild may assume the pipeline role only for the cicd account's own pipelines and
    build projects (cross-service confused-deputy protection)."""
    sources = {"codepipeline.amazonaws.com": naming.codepipeline_arn(region, cicd_account_id, "*"),
               "codebuild.amazonaws.com": naming.codebuild_arn(region, cicd_account_id, "project/*")}
    return iam_policy.document_json([
        trusting({"Service": service}, condition={"StringEquals": {"aws:SourceAccount": cicd_account_id},
                                                  "ArnLike": {"aws:SourceArn": source}})
        for service, source in sources.items()])


PIPELINE_BUILD_LOG_GROUPS = "/aws/codebuild/mlops-*"
"""The cicd tier's CodeBuild projects that run as the pipeline role log here (`components/promotion_pipeline.py`)."""


def pipeline_statements(partition: str, region: str, cicd_account_id: str,
                        deploy_role_arns: list[str]) -> list[Statement]:
    """The pipeline role assumes the deploy roles and writes its builds' logs; everything else it touches (the
    pipeline artifacts, the state bucket and keys) is the cicd tier's and admits it on the resource side."""
    logs = naming.log_group_arn(region, cicd_account_id, PIPELINE_BUILD_LOG_GROUPS)
    return [allow(["sts:AssumeRole", "sts:TagSession"], deploy_role_arns, sid="AssumeDeployRoles"),
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{logs}:*"], sid="WriteBuildLogs")]


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
    ci_repository: str | None = None
    """`ci.github.repository`: with it, CI's OIDC identities in every account (`mlops_platform.ci`)."""
    environment_accounts: Mapping[str, list[str]] = field(default_factory=dict)
    """GitHub Environment → the accounts its deploy role reaches (`ci.environment_accounts`)."""


class DeployPath(pulumi.ComponentResource):
    deploy_role_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: DeployPathArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:org:DeployPath", name, None, opts)
        self._member_providers: dict[str, aws.Provider] = {}
        platform_accounts = sorted({args.management_account_id, *args.workload_accounts.values()})
        boundaries = {account: self._boundary(name, account, platform_accounts, args) for account in platform_accounts}
        partition = naming.partition_of(args.region)
        deploy_role_arns = [contract.deploy_role_arn(partition, account, args.deploy_role_name)
                            for account in args.workload_accounts.values()]
        bootstrap = PlatformRole(f"{name}-bootstrap", PlatformRoleArgs(
            role_name=contract.BOOTSTRAP_ROLE_NAME,
            description="First deploys: platform engineers assume it to reach the workload deploy roles",
            trust_policy=_trust({"AWS": naming.account_root_arn(partition, args.management_account_id)}),
            statements=[allow(["sts:AssumeRole", "sts:TagSession"], deploy_role_arns, sid="AssumeDeployRoles")],
            permissions_boundary=boundaries[args.management_account_id].arn),
            pulumi.ResourceOptions(parent=self, depends_on=[boundaries[args.management_account_id]]))
        pipeline = PlatformRole(f"{name}-pipeline", PlatformRoleArgs(
            role_name=contract.DEPLOY_PIPELINE_ROLE_NAME,
            description="CI/CD: CodePipeline and CodeBuild deploy the tiers through the deploy roles",
            trust_policy=pipeline_trust(args.cicd_account_id, args.region),
            statements=pipeline_statements(partition, args.region, args.cicd_account_id, deploy_role_arns),
            permissions_boundary=boundaries[args.cicd_account_id].arn),
            pulumi.ResourceOptions(parent=self, provider=self._member_provider(name, args.cicd_account_id, args),
                                   depends_on=[boundaries[args.cicd_account_id]]))
        trusted = [contract.deploy_pipeline_role_arn(partition, args.cicd_account_id),
                   contract.bootstrap_role_arn(partition, args.management_account_id)]
        ci_roles = self._ci_accounts(name, args, platform_accounts, boundaries)
        self.deploy_role_arns = {}
        for account_name, account_id in args.workload_accounts.items():
            environment = _environment_of(account_id, args.environment_accounts) if ci_roles else None
            principals = ([*trusted, ci.deploy_role_arn(partition, args.cicd_account_id, environment)]
                          if environment else trusted)
            role = PlatformRole(f"{name}-deploy-{account_name}", PlatformRoleArgs(
                role_name=args.deploy_role_name,
                description="The only role that deploys this account's tiers",
                trust_policy=_trust({"AWS": principals}),
                statements=deploy_role_statements(partition, account_id, args.deploy_role_name),
                managed_policy_arns=[naming.aws_managed_policy_arn(partition, "PowerUserAccess")],
                permissions_boundary=boundaries[account_id].arn),
                pulumi.ResourceOptions(parent=self, depends_on=[bootstrap, pipeline, boundaries[account_id], *ci_roles],
                                       provider=self._member_provider(name, account_id, args)))
            self.deploy_role_arns[account_name] = role.arn
        self.register_outputs({})

    def _ci_accounts(self, name: str, args: DeployPathArgs, platform_accounts: list[str],
                     boundaries: Mapping[str, aws.iam.Policy]) -> list[pulumi.Resource]:
        """CI's OIDC provider and preview role in every platform account, and the environment deploy roles in the
        cicd account: created before the deploy roles whose trust names them."""
        if args.ci_repository is None:
            return []
        created: list[pulumi.Resource] = []
        members = [account for account in platform_accounts if account != args.management_account_id]
        for account in platform_accounts:
            in_management = account == args.management_account_id
            provider = None if in_management else self._member_provider(name, account, args)
            ci_account = CiAccount(f"{name}-ci-{account}", CiAccountArgs(
                repository=args.ci_repository, account_id=account, region=args.region,
                deploy_role_name=args.deploy_role_name, management_account_id=args.management_account_id,
                member_account_ids=members if in_management else (),
                environment_accounts=args.environment_accounts if account == args.cicd_account_id else {},
                permissions_boundary=boundaries[account].arn),
                pulumi.ResourceOptions(parent=self, provider=provider), depends_on=[boundaries[account]])
            created += ci_account.environment_roles.values()
        return created

    def _boundary(self, name: str, account_id: str, platform_accounts: list[str],
                  args: DeployPathArgs) -> aws.iam.Policy:
        """The permissions boundary of `account_id`, created before any role there."""
        provider = None if account_id == args.management_account_id else self._member_provider(name, account_id, args)
        return aws.iam.Policy(
            f"{name}-boundary-{account_id}", name=contract.permissions_boundary_name(),
            description="mlops-platform: the most any platform role may do",
            policy=boundary.boundary_document(naming.partition_of(args.region), account_id, platform_accounts),
            opts=pulumi.ResourceOptions(parent=self, provider=provider))

    def _member_provider(self, name: str, account_id: str, args: DeployPathArgs) -> aws.Provider:
        """Reaches a member account from the management account through the organization's access role."""
        if account_id not in self._member_providers:
            # A pull request's preview holds the management account's preview role: it reads each member account
            # through that account's preview role, never through the organization's access role.
            partition = naming.partition_of(args.region)
            role_arn = (ci.preview_role_arn(partition, account_id) if ci.uses_preview_credentials()
                        else naming.role_arn(partition, account_id, args.member_access_role_name))
            self._member_providers[account_id] = aws.Provider(
                f"{name}-{account_id}", region=args.region, allowed_account_ids=[account_id],
                assume_roles=[aws.ProviderAssumeRoleArgs(
                    role_arn=role_arn,
                    session_name=f"{contract.PROJECT}-org")],
                default_tags=aws.ProviderDefaultTagsArgs(tags=dict(args.tags)),
                opts=pulumi.ResourceOptions(parent=self))
        return self._member_providers[account_id]


def _environment_of(account_id: str, environment_accounts: Mapping[str, list[str]]) -> str | None:
    return next((env for env, accounts in environment_accounts.items() if account_id in accounts), None)


def _trust(principal: dict[str, Any]) -> str:
    return trust(principal, ["sts:AssumeRole", "sts:TagSession"])

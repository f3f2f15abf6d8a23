"""CI's identities in one account (`mlops_platform.ci` holds the documents): GitHub's OIDC provider, the preview
role and, in the account hosting the cicd tier, one deploy role per GitHub Environment.

The preview role carries no platform boundary: the boundary admits none of the reads a preview makes (SSM, the
organization, Identity Center), widening it would widen every platform role, and the preview role's own policy
already names reads only and refuses every deploy role explicitly (proven by the access matrix)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from mlops_platform import ci, naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs


@dataclass(frozen=True)
class CiAccountArgs:
    repository: str
    account_id: str
    region: str
    deploy_role_name: str
    management_account_id: str | None = None
    """With an organization: the management account, whose preview role previews the member accounts."""
    member_account_ids: Sequence[str] = ()
    """In the management account: the member accounts its preview role reads through their preview roles."""
    environment_accounts: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """In the account hosting the cicd tier: environment → accounts whose deploy role it may assume."""
    permissions_boundary: pulumi.Input[str] | None = None
    """The boundary of the environment deploy roles (they need only sts, which it admits)."""


class CiAccount(pulumi.ComponentResource):
    environment_roles: dict[str, PlatformRole]

    def __init__(self, name: str, args: CiAccountArgs, opts: pulumi.ResourceOptions | None = None,
                 depends_on: Sequence[pulumi.Resource] = ()) -> None:
        super().__init__("mlops:ci:CiAccount", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        partition = naming.partition_of(args.region)
        oidc = aws.iam.OpenIdConnectProvider(name, url=ci.GITHUB_OIDC_URL,
                                             client_id_lists=[ci.GITHUB_OIDC_AUDIENCE], opts=child)
        after_oidc = pulumi.ResourceOptions(parent=self, depends_on=[oidc, *depends_on])
        PlatformRole(f"{name}-preview", PlatformRoleArgs(
            role_name=ci.PREVIEW_ROLE_NAME,
            description=f"CI: pull requests of {args.repository} preview the stacks (read only, no deploy role)",
            trust_policy=ci.preview_trust(partition, args.account_id, args.repository, args.management_account_id),
            statements=ci.preview_statements(args.account_id, args.region, args.deploy_role_name,
                                             args.member_account_ids)), after_oidc)
        self.environment_roles = {}
        for environment, accounts in args.environment_accounts.items():
            self.environment_roles[environment] = PlatformRole(f"{name}-deploy-{environment}", PlatformRoleArgs(
                role_name=ci.deploy_role_name(environment),
                description=f"CI: the {environment} environment of {args.repository} deploys its stacks",
                trust_policy=ci.github_trust(partition, args.account_id,
                                             ci.environment_subject(args.repository, environment)),
                statements=ci.environment_deploy_statements(partition, args.deploy_role_name, accounts),
                permissions_boundary=args.permissions_boundary), after_oidc)
        self.register_outputs({})

"""CI's identities in AWS, as pure data: GitHub's OIDC provider, the preview roles and the environment deploy roles.

With `ci.github.repository` set the platform creates, in every account CI previews, GitHub's OIDC provider and a
**preview role** trusted only for the repository's pull requests; it reads what `pulumi preview` reads and may
assume no deploy role. Deploys go through one **environment deploy role** per GitHub Environment (`platform` for
the non-serving tiers, `staging`, `prod`), in the account hosting the cicd tier, trusted only for the repository's
jobs in that environment; each may assume only the deploy roles of its environment's accounts. Every trust is
`StringEquals` on both `sub` and `aud`: no wildcard repository, branch or environment.

The org stack creates them where it creates the deploy path (medium, large); the small size has no org stack, so
its cicd tier (in the dev stack) creates them in its one account.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from mlops_platform import contract, iam_policy, naming, topology
from mlops_platform.iam_policy import Statement, allow, deny, trusting
from mlops_platform.topology import Size

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
"""The audience aws-actions/configure-aws-credentials requests by default."""
SUBJECT_KEY = f"{GITHUB_OIDC_HOST}:sub"
AUDIENCE_KEY = f"{GITHUB_OIDC_HOST}:aud"
WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"

PREVIEW_ROLE_NAME = "mlops-ci-preview"
PLATFORM_ENVIRONMENT = "platform"
ENVIRONMENTS: tuple[str, ...] = (PLATFORM_ENVIRONMENT, "staging", "prod")
"""GitHub Environments the deploy workflow runs in, in deploy order; prod is the one with required reviewers."""

CREDENTIALS_VARIABLE = "MLOPS_PLATFORM_CREDENTIALS"
PREVIEW_CREDENTIALS = "preview"
"""Set by the pull-request workflow: the job holds the stack account's preview role (assumed through OIDC), so the
program's providers use it instead of assuming the deploy role, which the preview role cannot."""


def oidc_provider_arn(partition: str, account_id: str) -> str:
    return naming.arn(partition, "iam", "", account_id, f"oidc-provider/{GITHUB_OIDC_HOST}")


def preview_role_arn(partition: str, account_id: str) -> str:
    return contract.role_arn(partition, account_id, PREVIEW_ROLE_NAME)


def deploy_role_name(environment: str) -> str:
    return f"mlops-ci-deploy-{environment}"


def deploy_role_arn(partition: str, cicd_account_id: str, environment: str) -> str:
    return contract.role_arn(partition, cicd_account_id, deploy_role_name(environment))


CI_ROLE_NAMES: tuple[str, ...] = (PREVIEW_ROLE_NAME, *(deploy_role_name(env) for env in ENVIRONMENTS))
"""Roles no deploy role may create or change: rewriting one's trust would hand CI's reach to someone else."""


def pull_request_subject(repository: str) -> str:
    return f"repo:{repository}:pull_request"


def environment_subject(repository: str, environment: str) -> str:
    return f"repo:{repository}:environment:{environment}"


def environment_of_tier(tier: str) -> str:
    return tier if tier in topology.SERVING_TIERS else PLATFORM_ENVIRONMENT


def environment_of_stack(size: Size, stack_name: str) -> str:
    return environment_of_tier(topology.stack(size, stack_name).tiers[-1])


def deployed_stacks(size: Size) -> tuple[str, ...]:
    """The stacks the deploy workflow applies, in deploy order: every stack but org, which writes the SCPs and
    the deploy path itself and is applied by a platform engineer (README: the deploy path)."""
    return tuple(name for name in topology.stack_names(size) if name != "org")


def environments(size: Size) -> tuple[str, ...]:
    used = {environment_of_stack(size, name) for name in deployed_stacks(size)}
    return tuple(env for env in ENVIRONMENTS if env in used)


def environment_accounts(size: Size, accounts: Mapping[str, str]) -> dict[str, list[str]]:
    """Environment → the accounts whose deploy role its deploy role may assume."""
    reached: dict[str, list[str]] = {env: [] for env in environments(size)}
    for name in deployed_stacks(size):
        account = accounts[topology.stack(size, name).account]
        accounts_of_env = reached[environment_of_stack(size, name)]
        if account not in accounts_of_env:
            accounts_of_env.append(account)
    return reached


def github_trust(partition: str, account_id: str, subject: str) -> str:
    """Only GitHub's OIDC tokens for exactly `subject`, issued for STS, may assume the role."""
    return iam_policy.document_json([_github_statement(partition, account_id, subject)])


def _github_statement(partition: str, account_id: str, subject: str) -> Statement:
    return trusting({"Federated": oidc_provider_arn(partition, account_id)}, WEB_IDENTITY_ACTION,
                    {"StringEquals": {SUBJECT_KEY: subject, AUDIENCE_KEY: GITHUB_OIDC_AUDIENCE}}, sid="GitHubActions")


def preview_trust(partition: str, account_id: str, repository: str, management_account_id: str | None) -> str:
    """Pull requests of the repository; in a member account also the management account's preview role, through
    which the org stack's preview reads each member account (its providers assume this role there)."""
    statements = [_github_statement(partition, account_id, pull_request_subject(repository))]
    if management_account_id is not None and management_account_id != account_id:
        statements.append(trusting({"AWS": preview_role_arn(partition, management_account_id)},
                                   sid="OrgStackPreview"))
    return iam_policy.document_json(statements)


PREVIEW_READS: tuple[str, ...] = (
    "ec2:DescribeAvailabilityZones",  # the Studio network spreads its subnets over the region's zones
    "organizations:DescribeOrganization",  # the org tier adopts the existing organization
    "sso:ListInstances",  # the org tier finds the Identity Center instance
)
"""What the program reads from AWS while it runs (its invokes), besides the served versions. These actions take
no resource-level permissions."""
PREVIEW_PARAMETER_READS: tuple[str, ...] = ("ssm:GetParametersByPath",)


def preview_statements(account_id: str, region: str, deploy_role_name_: str,
                       member_account_ids: Sequence[str] = ()) -> list[Statement]:
    """Reads only, and an explicit refusal of every role that deploys: previews run without `--refresh`, so the
    program's own reads are all it needs (state is in Pulumi Cloud, reached with PULUMI_ACCESS_TOKEN)."""
    partition = naming.partition_of(region)
    parameters = naming.ssm_parameter_arn(region, account_id, f"{contract.SERVING_STATE_PREFIX}/*")
    statements = [
        allow(PREVIEW_READS, "*", sid="ReadWhatTheProgramReads"),
        allow(PREVIEW_PARAMETER_READS, parameters, sid="ReadServedVersions"),
    ]
    if member_account_ids:
        statements.append(allow(["sts:AssumeRole"], sorted(preview_role_arn(partition, member)
                                                           for member in member_account_ids),
                                sid="PreviewMemberAccounts"))
    statements.append(deny(["sts:AssumeRole", "sts:TagSession"],
                           never_assumed_by_previews(partition, deploy_role_name_), sid="NeverADeployRole"))
    return statements


def never_assumed_by_previews(partition: str, deploy_role_name_: str) -> list[str]:
    names = (deploy_role_name_, contract.DEPLOY_PIPELINE_ROLE_NAME, contract.BOOTSTRAP_ROLE_NAME,
             *(deploy_role_name(env) for env in ENVIRONMENTS))
    return [contract.role_arn(partition, "*", name) for name in names]


def environment_deploy_statements(partition: str, deploy_role_name_: str,
                                  accounts: Sequence[str]) -> list[Statement]:
    return [allow(["sts:AssumeRole", "sts:TagSession"],
                  sorted(contract.deploy_role_arn(partition, account, deploy_role_name_) for account in accounts),
                  sid="AssumeThisEnvironmentsDeployRoles")]


def uses_preview_credentials(environ: Mapping[str, str] | None = None) -> bool:
    return (os.environ if environ is None else environ).get(CREDENTIALS_VARIABLE) == PREVIEW_CREDENTIALS

"""The explicit AWS provider each tier deploys through: never ambient credentials, never the wrong account (a pull
request's preview alone runs on the preview role CI assumed, read only)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops_platform import ci, contract
from mlops_platform.config import ConfigError, PlatformConfig


def default_tags(cfg: PlatformConfig, tier: str) -> dict[str, str]:
    return {
        contract.TAG_TIER: tier,
        contract.TAG_SIZE: cfg.size.value,
        contract.TAG_STACK: cfg.stack.name,
        contract.TAG_OWNER: cfg.owner,
        contract.TAG_MANAGED_BY: contract.MANAGED_BY,
    }


def tier_provider(cfg: PlatformConfig, tier: str) -> aws.Provider:
    """Workload tiers assume the deploy role in their account; the org tier runs on the management account's
    own credentials. Either way `allowed_account_ids` refuses to touch any other account."""
    account_id = cfg.account_of_tier(tier)
    assume_roles: list[aws.ProviderAssumeRoleArgs] = []
    if tier != "org" and not _previews_with_ci_credentials():
        assume_roles.append(aws.ProviderAssumeRoleArgs(
            role_arn=contract.deploy_role_arn(cfg.partition, account_id, cfg.deploy_role_name),
            session_name=f"{contract.PROJECT}-{cfg.stack.name}",
        ))
    return aws.Provider(
        tier,
        region=cfg.region,
        allowed_account_ids=[account_id],
        assume_roles=assume_roles or None,
        default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(cfg, tier)),
    )


def _previews_with_ci_credentials() -> bool:
    """A pull request's preview holds the account's preview role already (OIDC) and may assume no deploy role;
    the same credentials can never apply a change: `up` with them is refused before anything is declared."""
    if not ci.uses_preview_credentials():
        return False
    if not pulumi.runtime.is_dry_run():
        raise ConfigError("stack", ci.CREDENTIALS_VARIABLE,
                          f"{ci.CREDENTIALS_VARIABLE}={ci.PREVIEW_CREDENTIALS} is for `pulumi preview` only: CI's "
                          "preview role cannot deploy; unset it to deploy through the deploy role")
    return True

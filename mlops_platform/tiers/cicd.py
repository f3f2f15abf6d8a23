"""The cicd tier: where the ML code is versioned (and, in the larger sizes, built and deployed from)."""

from __future__ import annotations

from mlops_platform import ci, topology
from mlops_platform.components.ci_identity import CiAccount, CiAccountArgs
from mlops_platform.components.code_repository import CodeRepository, CodeRepositoryArgs
from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    code = ctx.cfg.code_repository
    key = ctx.key("code repository") if code.is_codecommit else None
    repository = CodeRepository(ctx.name("code"), CodeRepositoryArgs(
        config=code, kms_key_arn=key.arn if key else None, protect=ctx.protects_state), ctx.child())
    ctx.refs.publish("cicd", {"codeSourceLocation": repository.source_location})
    _small_size_ci_identities(ctx)


def _small_size_ci_identities(ctx: TierContext) -> None:
    """The small size has no org stack to create CI's identities: its cicd tier creates them in its one account.
    Its deploy role is created by hand (bootstrap) and must trust the environment deploy roles (README)."""
    cfg = ctx.cfg
    if cfg.ci.github_repository is None or topology.has_organization(cfg.size):
        return
    CiAccount(ctx.name("ci"), CiAccountArgs(
        repository=cfg.ci.github_repository, account_id=ctx.account_id, region=cfg.region,
        deploy_role_name=cfg.deploy_role_name, environment_accounts=ci.environment_accounts(cfg.size, cfg.accounts)),
        ctx.child())

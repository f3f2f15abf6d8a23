"""The cicd tier: where the ML code is versioned (and, in the larger sizes, built and deployed from)."""

from __future__ import annotations

from mlops_platform.components.code_repository import CodeRepository, CodeRepositoryArgs
from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    code = ctx.cfg.code_repository
    key = ctx.key("code repository") if code.is_codecommit else None
    repository = CodeRepository(ctx.name("code"), CodeRepositoryArgs(
        config=code, kms_key_arn=key.arn if key else None, protect=ctx.protects_state), ctx.child())
    ctx.refs.publish("cicd", {"codeSourceLocation": repository.source_location})

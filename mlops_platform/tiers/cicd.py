"""The cicd tier: where the ML code is versioned (and, in the larger sizes, built and deployed from)."""

from __future__ import annotations

from mlops_platform.components.code_repository import CodeRepository, CodeRepositoryArgs
from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    key = ctx.key("code repository and build artifacts")
    repository = CodeRepository(ctx.name("code"), CodeRepositoryArgs(
        config=ctx.cfg.code_repository, kms_key_arn=key.arn, protect=ctx.protects_state), ctx.child())
    ctx.refs.publish("cicd", {"codeSourceLocation": repository.source_location})

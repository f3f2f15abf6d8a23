"""The artifact tier: where trained models live (model-artifact bucket and the key that encrypts it)."""

from __future__ import annotations

from mlops_platform.components.kms_key import PlatformKey, PlatformKeyArgs
from mlops_platform.components.secure_bucket import SecureBucket, SecureBucketArgs
from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    key = PlatformKey(
        ctx.name("key"),
        PlatformKeyArgs(description="mlops-platform artifact tier: model artifacts, registry, images",
                        account_id=ctx.account_id, alias="mlops-platform/artifact", protect=ctx.protects_state),
        ctx.child(),
    )
    models = SecureBucket(
        ctx.name("model-artifacts"),
        SecureBucketArgs(account_id=ctx.account_id, protect=ctx.protects_state, kms_key_arn=key.arn,
                         access_log_bucket=ctx.access_log_bucket()),
        ctx.child(),
    )
    ctx.refs.publish("artifact", {
        "keyArn": key.arn,
        "modelBucketName": models.bucket,
        "modelBucketArn": models.arn,
    })

"""The artifact tier: where trained models live (model-artifact bucket and the key that encrypts it)."""

from __future__ import annotations

from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    key = ctx.key("model artifacts, registry, images")
    models = ctx.bucket("model-artifacts", key)
    ctx.refs.publish("artifact", {
        "keyArn": key.arn,
        "modelBucketName": models.bucket,
        "modelBucketArn": models.arn,
    })

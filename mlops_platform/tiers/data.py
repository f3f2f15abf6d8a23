"""The data tier: the governed training data (datasets bucket and its key)."""

from __future__ import annotations

from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    key = ctx.key("governed datasets")
    datasets = ctx.bucket("datasets", key)
    ctx.refs.publish("data", {
        "keyArn": key.arn,
        "datasetBucketName": datasets.bucket,
        "datasetBucketArn": datasets.arn,
    })

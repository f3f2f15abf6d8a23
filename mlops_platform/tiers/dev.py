"""The dev tier: the data scientists' workspace, reading model artifacts from the artifact tier."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    key = ctx.key("data scientists' workspace")
    workspace = ctx.bucket("workspace", key)
    model_bucket_arn = ctx.refs.get("artifact", "modelBucketArn")
    artifact_key_arn = ctx.refs.get("artifact", "keyArn")
    read_models = aws.iam.Policy(
        ctx.name("model-artifact-read"),
        description="Read trained model artifacts from the artifact tier",
        policy=pulumi.Output.all(model_bucket_arn, artifact_key_arn).apply(
            lambda arns: model_artifact_read_policy(arns[0], arns[1])),
        opts=ctx.child(),
    )
    ctx.refs.publish("dev", {"workspaceBucketName": workspace.bucket, "modelArtifactReadPolicyArn": read_models.arn})


def model_artifact_read_policy(model_bucket_arn: str, artifact_key_arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListModelArtifacts", "Effect": "Allow", "Action": ["s3:ListBucket"],
             "Resource": model_bucket_arn},
            {"Sid": "ReadModelArtifacts", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
             "Resource": f"{model_bucket_arn}/*"},
            {"Sid": "DecryptModelArtifacts", "Effect": "Allow", "Action": ["kms:Decrypt"],
             "Resource": artifact_key_arn,
             "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}},
        ],
    })

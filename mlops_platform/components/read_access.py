"""Identity-side read access to another tier's bucket: a managed policy for the reader's account."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops_platform import iam_policy
from mlops_platform.iam_policy import allow


class BucketReadPolicy(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, description: str, bucket_arn: pulumi.Input[str], key_arn: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:security:BucketReadPolicy", name, None, opts)
        policy = aws.iam.Policy(
            name, description=description,
            policy=pulumi.Output.all(bucket_arn, key_arn).apply(lambda arns: read_policy(arns[0], arns[1])),
            opts=pulumi.ResourceOptions(parent=self))
        self.arn = policy.arn
        self.register_outputs({"arn": policy.arn})


def read_policy(bucket_arn: str, key_arn: str) -> str:
    return iam_policy.document_json([
        allow(["s3:ListBucket"], bucket_arn, sid="List"),
        allow(["s3:GetObject", "s3:GetObjectVersion"], f"{bucket_arn}/*", sid="Read"),
        allow(["kms:Decrypt"], key_arn, {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}, sid="Decrypt"),
    ])

"""Identity-side read access to another tier's bucket: a managed policy for the reader's account."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws


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
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "List", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arn},
            {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
             "Resource": f"{bucket_arn}/*"},
            {"Sid": "Decrypt", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key_arn,
             "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}},
        ],
    })

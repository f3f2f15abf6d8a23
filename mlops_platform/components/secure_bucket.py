"""An S3 bucket that keeps what it holds: versioned, encrypted, private, TLS-only, access-logged.

Data buckets use SSE-KMS with a bucket key. The access-log bucket (the target of S3 server access
logging) must use SSE-S3, because S3's log delivery cannot write to SSE-KMS buckets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform import iam_policy
from mlops_platform.iam_policy import Statement, grant
from mlops_platform.placement import Placement


@dataclass(frozen=True)
class SecureBucketArgs:
    placement: Placement
    protect: bool
    kms_key_arn: pulumi.Input[str] | None = None
    """None only for an access-log bucket: it is encrypted with SSE-S3."""
    access_log_bucket: pulumi.Input[str] | None = None
    """Where server access logs go; None only for the access-log bucket itself."""
    grants: Callable[[str], list[Statement]] | None = None
    """Extra bucket-policy statements (e.g. for a service that writes here), given the bucket's ARN."""


class SecureBucket(pulumi.ComponentResource):
    bucket: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:storage:SecureBucket", name, None, opts)
        is_log_target = args.kms_key_arn is None
        if not is_log_target and args.access_log_bucket is None:
            raise ValueError(f"bucket {name!r} must log its access to an access-log bucket")
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(name, force_destroy=False,
                               opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
        aws.s3.BucketVersioning(name, bucket=bucket.id,
                                versioning_configuration={"status": "Enabled"}, opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            name, bucket=bucket.id, rules=[_encryption_rule(args.kms_key_arn)], opts=child)
        public_access = aws.s3.BucketPublicAccessBlock(
            name, bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls(name, bucket=bucket.id,
                                       rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
        policy: pulumi.Output[str] = bucket.arn.apply(lambda arn: self._policy(arn, args, is_log_target))
        aws.s3.BucketPolicy(
            name, bucket=bucket.id, policy=policy,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]))
        if args.access_log_bucket is not None:
            aws.s3.BucketLogging(name, bucket=bucket.id, target_bucket=args.access_log_bucket,
                                 target_prefix=f"{name}/", opts=child)
        self.bucket = bucket.bucket
        self.arn = bucket.arn
        self.register_outputs({"bucket": bucket.bucket, "arn": bucket.arn})


    @staticmethod
    def _policy(bucket_arn: str, args: SecureBucketArgs, is_log_target: bool) -> pulumi.Output[str]:
        grants = args.grants(bucket_arn) if args.grants else []
        return pulumi.Output.json_dumps(bucket_policy(bucket_arn, args.placement.account_id, is_log_target, grants))


def _encryption_rule(
    kms_key_arn: pulumi.Input[str] | None,
) -> aws.s3.BucketServerSideEncryptionConfigurationRuleArgsDict:
    if kms_key_arn is None:
        return {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}
    return {
        "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn},
        "bucket_key_enabled": True,
    }


def bucket_policy(bucket_arn: str, account_id: str, accepts_access_logs: bool,
                  grants: list[Statement] | None = None) -> dict[str, Any]:
    """The bucket policy; `grants` may hold Outputs (the document is rendered with `Output.json_dumps`)."""
    statements = [grant("DenyInsecureTransport", {"*": "*"}, "s3:*", [bucket_arn, f"{bucket_arn}/*"],
                        {"Bool": {"aws:SecureTransport": "false"}}, effect=iam_policy.DENY)]
    if accepts_access_logs:
        statements.append(grant("AllowS3ServerAccessLogDelivery", {"Service": "logging.s3.amazonaws.com"},
                                "s3:PutObject", f"{bucket_arn}/*", {"StringEquals": {"aws:SourceAccount": account_id}}))
    statements.extend(grants or [])
    return iam_policy.document(statements)

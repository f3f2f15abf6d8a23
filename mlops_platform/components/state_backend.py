"""Where the promotion pipelines' `pulumi up` keeps stack state and encrypts stack secrets (`stateBackend`).

`s3` (default): a state bucket of the cicd tier (versioned, KMS-encrypted, private, access-logged, protected) and
a KMS key behind the stacks' `awskms://alias/mlops-platform/state` secrets provider. `pulumi-cloud`: Pulumi
Cloud keeps state and secrets; its access token waits in a Secrets Manager secret (encrypted with the tier's key)
whose value an administrator puts once. Either way the deploy path's pipeline role (in this account, created by
the org stack before this tier) is admitted on the resource side, by its exact ARN, to exactly these resources:
its own policies are the org stack's, and may not be widened here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, iam_policy, naming
from mlops_platform.components.kms_key import PlatformKey, PlatformKeyArgs
from mlops_platform.components.secure_bucket import SecureBucket, SecureBucketArgs
from mlops_platform.config import StateBackend as StateBackendConfig
from mlops_platform.iam_policy import Statement, grant
from mlops_platform.placement import Placement

STATE_OBJECT_ACTIONS = ("s3:DeleteObject", "s3:GetObject", "s3:PutObject")
STATE_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket")
SECRETS_KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class StateBackendArgs:
    config: StateBackendConfig
    placement: Placement
    protect: bool
    tier_key_arn: pulumi.Input[str]
    """Encrypts the Pulumi Cloud token's secret."""
    access_log_bucket: pulumi.Input[str]


def pipeline_role_arn(placement: Placement) -> str:
    return contract.deploy_pipeline_role_arn(placement.partition, placement.account_id)


def state_bucket_grants(placement: Placement) -> Callable[[str], list[Statement]]:
    """The pipeline role lists, reads, writes and deletes the stacks' state (and its locks), and nothing else."""
    def grants(bucket_arn: str) -> list[Statement]:
        principal = {"AWS": pipeline_role_arn(placement)}
        return [
            grant("PipelineListsState", principal, list(STATE_BUCKET_ACTIONS), bucket_arn),
            grant("PipelineKeepsState", principal, list(STATE_OBJECT_ACTIONS), f"{bucket_arn}/*"),
        ]
    return grants


def secrets_key_grant(placement: Placement) -> Statement:
    return grant("PipelineEncryptsStackSecrets", {"AWS": pipeline_role_arn(placement)}, list(SECRETS_KEY_ACTIONS),
                 "*")


class StateBackend(pulumi.ComponentResource):
    backend_url: pulumi.Output[str]
    """What `pulumi login` takes: `s3://<bucket>?region=<region>` or Pulumi Cloud's URL."""
    secrets_provider: str | None
    """The `--secrets-provider` of every stack with the S3 backend; None with Pulumi Cloud (its own)."""
    token_secret_arn: pulumi.Output[str] | None
    """The Pulumi Cloud access token's secret; None with the S3 backend."""
    bucket_arn: pulumi.Output[str] | None
    key_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:cicd:StateBackend", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        placement = args.placement
        self.bucket_arn = self.key_arn = self.token_secret_arn = None
        self.secrets_provider = None
        if args.config.is_s3:
            key = PlatformKey(f"{name}-key", PlatformKeyArgs(
                description="mlops-platform: the stacks' secrets (awskms:// secrets provider) and state",
                placement=placement, alias=contract.STATE_SECRETS_KEY_ALIAS,
                protect=args.protect, grants=(secrets_key_grant(placement),)), child)
            bucket = SecureBucket(name, SecureBucketArgs(
                placement=placement, protect=args.protect, kms_key_arn=key.arn,
                access_log_bucket=args.access_log_bucket,
                grants=state_bucket_grants(placement)), child)
            self.bucket_arn, self.key_arn = bucket.arn, key.arn
            self.backend_url = pulumi.Output.concat("s3://", bucket.bucket, f"?region={placement.region}")
            self.secrets_provider = secrets_provider_url(placement.region)
        else:
            secret = aws.secretsmanager.Secret(
                name, name=contract.PULUMI_ACCESS_TOKEN_SECRET, kms_key_id=args.tier_key_arn,
                description="The promotion pipelines' Pulumi Cloud access token (put its value once, by hand)",
                recovery_window_in_days=30, opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
            aws.secretsmanager.SecretPolicy(name, secret_arn=secret.arn, block_public_policy=True, policy=(
                secret.arn.apply(lambda arn: _token_policy(placement, arn))), opts=child)
            self.token_secret_arn = secret.arn
            self.backend_url = pulumi.Output.from_input(PULUMI_CLOUD_URL)
        self.register_outputs({"backendUrl": self.backend_url})


PULUMI_CLOUD_URL = "https://api.pulumi.com"


def secrets_provider_url(region: str) -> str:
    return f"awskms://alias/{contract.STATE_SECRETS_KEY_ALIAS}?region={region}"


def _token_policy(placement: Placement, secret_arn: str) -> str:
    return iam_policy.document_json([grant("PipelineReadsTheToken", {"AWS": pipeline_role_arn(placement)},
                                           "secretsmanager:GetSecretValue", secret_arn)])


def token_secret_pattern(placement: Placement) -> str:
    return naming.secret_arn(placement.region, placement.account_id, f"{contract.PULUMI_ACCESS_TOKEN_SECRET}-*")

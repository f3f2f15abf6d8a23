"""A customer-managed KMS key with rotation on and an explicit, wildcard-free key policy."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import iam_policy, naming
from mlops_platform.iam_policy import Statement, grant
from mlops_platform.placement import Placement

KEY_ADMIN_AND_USE_ACTIONS: tuple[str, ...] = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt", "kms:DeleteAlias",
    "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation",
    "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:RetireGrant",
    "kms:RevokeGrant", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
"""What the owning account's IAM may do with the key: everything it needs, so the key can never be orphaned,
named action by action instead of `kms:*`."""


@dataclass(frozen=True)
class PlatformKeyArgs:
    description: str
    placement: Placement
    """Where the key lives; its partition names the owning account in the key policy."""
    alias: str
    protect: bool
    grants: tuple[Statement, ...] = ()
    """Extra key-policy statements, e.g. for a service principal that encrypts with the key."""


LOGS_KEY_ACTIONS: tuple[str, ...] = (
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey",
)


def cloudwatch_logs_grant(account_id: str, region: str) -> Statement:
    """CloudWatch Logs encrypts the account's log groups with the key, and nothing else: AWS's documented
    statement, limited by the `kms:EncryptionContext:aws:logs:arn` of this account's log groups."""
    return grant("CloudWatchLogsEncryptsThisAccountsLogGroups", {"Service": f"logs.{region}.amazonaws.com"},
                 list(LOGS_KEY_ACTIONS), "*",
                 {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": naming.log_group_arn(region, account_id, "*")}})


def cloudwatch_alarms_grant(account_id: str) -> Statement:
    """CloudWatch alarms of this account publish to topics encrypted with the key."""
    return grant("CloudWatchAlarmsPublishToEncryptedTopics", {"Service": "cloudwatch.amazonaws.com"},
                 ["kms:Decrypt", "kms:GenerateDataKey"], "*", {"StringEquals": {"aws:SourceAccount": account_id}})


def key_policy(partition: str, account_id: str, grants: tuple[Statement, ...] = ()) -> str:
    return iam_policy.document_json([
        grant("OwningAccountAdministersThroughIam", {"AWS": naming.account_root_arn(partition, account_id)},
              list(KEY_ADMIN_AND_USE_ACTIONS), "*"),
        *grants])


class PlatformKey(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: PlatformKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:security:PlatformKey", name, None, opts)
        key = aws.kms.Key(
            name,
            description=args.description,
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy(args.placement.partition, args.placement.account_id, args.grants),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.kms.Alias(name, name=f"alias/{args.alias}", target_key_id=key.key_id,
                      opts=pulumi.ResourceOptions(parent=self))
        self.arn = key.arn
        self.register_outputs({"arn": key.arn})

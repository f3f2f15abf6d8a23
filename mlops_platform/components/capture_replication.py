"""A serving tier's captured traffic, replicated into the ops tier's capture bucket where the drift check reads it.

The endpoints of the tier capture under `contract.replicated_capture_prefix(use case, tier)` in the tier's own
data-capture bucket; S3 replication keeps keys, so that prefix is where each use case's traffic of this tier lands
in the ops bucket too. Only SSE-KMS objects are replicated (the tier's bucket holds nothing else) and they are
re-encrypted with the ops tier's key; across accounts the replicas are handed to the ops account. Delete markers
are not replicated: what was captured stays for the check, whatever the source's lifecycle does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, Statement, allow, service_trust
from mlops_platform.config import UseCase
from mlops_platform.placement import Placement

REPLICATION_TIME_MINUTES = 15
"""S3 Replication Time Control's only documented threshold."""


@dataclass(frozen=True)
class CaptureReplicationArgs:
    placement: Placement
    """The serving tier whose capture bucket is the source."""
    use_cases: Sequence[UseCase]
    """The use cases this tier serves: one replication rule, over its capture prefix, each."""
    source_bucket_name: pulumi.Input[str]
    source_bucket_arn: pulumi.Input[str]
    source_key_arn: pulumi.Input[str]
    destination_bucket_arn: pulumi.Input[str]
    destination_key_arn: pulumi.Input[str]
    destination_account_id: str
    replication_time_control: bool = False
    """S3 RTC: replicate 99.99% of objects within 15 minutes (metrics on, at a per-GB charge)."""


class CaptureReplication(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CaptureReplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:monitoring:CaptureReplication", name, None, opts)
        if not args.use_cases:
            raise ValueError("capture replication needs at least one served use case")
        role = PlatformRole(f"{name}-role", PlatformRoleArgs(
            role_name=contract.capture_replication_role_name(args.placement.tier),
            description=f"S3 replicates the {args.placement.tier} tier's captured traffic into the ops tier",
            trust_policy=service_trust("s3.amazonaws.com", args.placement.account_id),
            statements=replication_statements(args)), pulumi.ResourceOptions(parent=self))
        # S3 refuses a replication configuration before the source bucket's versioning is on: the configuration
        # itself waits for what the component was told to wait for (the source bucket).
        aws.s3.BucketReplicationConfig(
            name, bucket=args.source_bucket_name, role=role.arn,
            rules=[replication_rule(args, use_case) for use_case in args.use_cases],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, *_resources(opts)]))
        self.role_arn = role.arn
        self.register_outputs({"roleArn": role.arn})


def _resources(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    depends_on = opts.depends_on if opts else None
    if isinstance(depends_on, pulumi.Resource):
        return [depends_on]
    return [d for d in depends_on or [] if isinstance(d, pulumi.Resource)] if isinstance(depends_on, list) else []


def _prefixes(args: CaptureReplicationArgs) -> list[str]:
    return [contract.replicated_capture_prefix(use_case.name, args.placement.tier) for use_case in args.use_cases]


def _cross_account(args: CaptureReplicationArgs) -> bool:
    return args.destination_account_id != args.placement.account_id


def replication_rule(args: CaptureReplicationArgs,
                     use_case: UseCase) -> aws.s3.BucketReplicationConfigRuleArgsDict:
    prefix = contract.replicated_capture_prefix(use_case.name, args.placement.tier)
    destination: aws.s3.BucketReplicationConfigRuleDestinationArgsDict = {
        "bucket": args.destination_bucket_arn,
        "encryption_configuration": {"replica_kms_key_id": args.destination_key_arn},
        "storage_class": "STANDARD",
    }
    if _cross_account(args):
        destination["account"] = args.destination_account_id
        destination["access_control_translation"] = {"owner": "Destination"}
    if args.replication_time_control:
        destination["replication_time"] = {"status": "Enabled", "time": {"minutes": REPLICATION_TIME_MINUTES}}
        destination["metrics"] = {"status": "Enabled", "event_threshold": {"minutes": REPLICATION_TIME_MINUTES}}
    return {
        "id": f"{use_case.name}-capture",
        "priority": args.use_cases.index(use_case),
        "status": "Enabled",
        "filter": {"prefix": prefix},
        "delete_marker_replication": {"status": "Disabled"},
        "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
        "destination": destination,
    }


def replication_statements(args: CaptureReplicationArgs) -> list[Statement]:
    """AWS's documented replication permissions, narrowed to the capture prefixes of this tier: read the source's
    versions, replicate them (and hand them over) into the same prefixes, decrypt with the source key and encrypt
    with the destination key only through S3. The keys are not narrowed further by `kms:EncryptionContext:aws:s3:arn`:
    the access matrix's IAM engine cannot evaluate a context key holding colons, and a grant it cannot prove is not
    shipped; the S3 statements already confine the role to the capture prefixes."""
    region = args.placement.region
    via_s3 = {"kms:ViaService": naming.regional_hostname("s3", region)}
    prefixes = _prefixes(args)
    source_objects = [pulumi.Output.concat(args.source_bucket_arn, "/", prefix, "*") for prefix in prefixes]
    destination_objects = [pulumi.Output.concat(args.destination_bucket_arn, "/", prefix, "*") for prefix in prefixes]
    replicate = ["s3:ReplicateObject", "s3:ReplicateTags"]
    if _cross_account(args):
        replicate.append("s3:ObjectOwnerOverrideToBucketOwner")
    return [
        allow(["s3:GetReplicationConfiguration", "s3:ListBucket"], [args.source_bucket_arn],
              sid="ReadReplicationConfiguration"),
        allow(["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
              source_objects, sid="ReadCapturedVersions"),
        allow(replicate, destination_objects, sid="ReplicateIntoOwnPrefixes"),
        allow(["kms:Decrypt"], [args.source_key_arn], {"StringEquals": via_s3}, sid="DecryptCapturedObjects"),
        allow(["kms:Encrypt", "kms:GenerateDataKey"], [args.destination_key_arn], {"StringEquals": via_s3},
              sid="EncryptReplicas"),
    ]

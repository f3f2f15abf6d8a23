"""Data safety: stateful resources outside dev are `protect`ed, so no `pulumi up` or destroy deletes them.
The analyzer protocol carries `protect`, not retain-on-delete, so `protect` is what is checked."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from guardrails.framework import DevMode, Rule, Subject

STATEFUL_TYPES = frozenset({
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:s3/directoryBucket:DirectoryBucket",
    "aws:kms/key:Key",
    "aws:kms/replicaKey:ReplicaKey",
    "aws:ecr/repository:Repository",
    "aws:codecommit/repository:Repository",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    "aws:sagemaker/featureGroup:FeatureGroup",
    "aws:sagemaker/domain:Domain",
    "aws:dynamodb/table:Table",
    "aws:efs/fileSystem:FileSystem",
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:secretsmanager/secret:Secret",
    "aws:backup/vault:Vault",
    "aws:glue/catalogDatabase:CatalogDatabase",
    "aws:cloudtrail/trail:Trail",
    "aws:organizations/account:Account",
    "aws:organizations/organization:Organization",
    "aws:organizations/organizationalUnit:OrganizationalUnit",
})


def check_protected(subject: Subject) -> Iterator[str]:
    if not subject.protect:
        yield f"{subject.type} holds state that must survive a mistaken change: set protect=True"


RULES: tuple[Rule, ...] = (
    Rule("stateful-resources-protected", "Stateful resources are protected from deletion outside dev",
         Severity.HIGH, "Pass opts=ResourceOptions(protect=True) (the tier context's protects_state).",
         resource_types=STATEFUL_TYPES, check=check_protected, dev=DevMode.NOT_CHECKED),
)

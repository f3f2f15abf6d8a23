"""Data safety: stateful resources outside dev are `protect`ed, so no `pulumi up` or destroy deletes them.
The analyzer protocol carries `protect`, not retain-on-delete, so `protect` is what is checked."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from guardrails.framework import Rule, Subject

STATEFUL_TYPES = frozenset({
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:kms/key:Key",
    "aws:ecr/repository:Repository",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    "aws:sagemaker/featureGroup:FeatureGroup",
    "aws:sagemaker/domain:Domain",
    "aws:dynamodb/table:Table",
    "aws:efs/fileSystem:FileSystem",
    "aws:cloudtrail/trail:Trail",
    "aws:organizations/account:Account",
    "aws:organizations/organization:Organization",
})


def check_protected(subject: Subject) -> Iterator[str]:
    if not subject.protect:
        yield f"{subject.type} holds state that must survive a mistaken change: set protect=True"


RULES: tuple[Rule, ...] = (
    Rule("stateful-resources-protected", "Stateful resources are protected from deletion outside dev",
         Severity.HIGH, "Pass opts=ResourceOptions(protect=True) (the tier context's protects_state).",
         resource_types=STATEFUL_TYPES, resource_check=check_protected, advises_dev=False),
)

"""S3 guardrails. A bucket is judged with its companion resources (versioning, encryption, public access
block, ownership controls, policy, logging), found by the property dependency of their `bucket` input on
the bucket or by bucket name; the deprecated inline forms on the bucket itself count too."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, Severity

from guardrails.framework import Rule, of_type

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
ENCRYPTION = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
              "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
OWNERSHIP = ("aws:s3/bucketOwnershipControls:BucketOwnershipControls",)
POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")

Violations = Iterator[tuple[PolicyResource, str]]


def buckets(resources: Iterable[PolicyResource]) -> Iterator[PolicyResource]:
    for type_token in (BUCKET, BUCKET_V2):
        yield from of_type(resources, type_token)


def companions(resources: list[PolicyResource], bucket: PolicyResource,
               types: tuple[str, ...]) -> list[PolicyResource]:
    """Resources of `types` that configure `bucket`."""
    name = bucket.props.get("bucket")
    found = []
    for resource in resources:
        if resource.resource_type not in types:
            continue
        depends = any(dep.urn == bucket.urn for dep in resource.property_dependencies.get("bucket", []))
        if depends or (name is not None and resource.props.get("bucket") == name):
            found.append(resource)
    return found


def access_log_targets(resources: list[PolicyResource]) -> set[str]:
    """Names of buckets that receive S3 server access logs."""
    targets = {str(r.props.get("targetBucket")) for r in resources if r.resource_type in LOGGING}
    for bucket in buckets(resources):
        inline = bucket.props.get("logging")
        if isinstance(inline, Mapping) and inline.get("targetBucket"):
            targets.add(str(inline["targetBucket"]))
    return targets


def _encryption_defaults(resources: list[PolicyResource], bucket: PolicyResource) -> list[Mapping[str, Any]]:
    defaults: list[Mapping[str, Any]] = []
    for config in companions(resources, bucket, ENCRYPTION):
        for rule in config.props.get("rules") or []:
            defaults.append(rule.get("applyServerSideEncryptionByDefault") or {})
    inline = bucket.props.get("serverSideEncryptionConfiguration")
    if isinstance(inline, Mapping):
        rule = inline.get("rule") or {}
        defaults.append(rule.get("applyServerSideEncryptionByDefault") or {})
    return defaults


def check_kms_encryption(resources: list[PolicyResource]) -> Violations:
    log_targets = access_log_targets(resources)
    for bucket in buckets(resources):
        defaults = _encryption_defaults(resources, bucket)
        if bucket.props.get("bucket") in log_targets:
            if not defaults or any(d.get("sseAlgorithm") != "AES256" for d in defaults):
                yield bucket, ("this bucket receives S3 server access logs, which S3 can deliver only to "
                               "SSE-S3 (AES256) buckets; configure AES256")
            continue
        if not defaults:
            yield bucket, "no server-side encryption configuration: add one with sseAlgorithm aws:kms and a key"
            continue
        for default in defaults:
            if default.get("sseAlgorithm") not in ("aws:kms", "aws:kms:dsse"):
                yield bucket, f"encrypted with {default.get('sseAlgorithm')!r}; use aws:kms with a customer key"
            elif not default.get("kmsMasterKeyId"):
                yield bucket, "aws:kms without kmsMasterKeyId uses the AWS-managed key; name a customer-managed key"


def check_public_access_block(resources: list[PolicyResource]) -> Violations:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for bucket in buckets(resources):
        blocks = companions(resources, bucket, PUBLIC_ACCESS_BLOCK)
        if not blocks:
            yield bucket, "no BucketPublicAccessBlock: add one with all four settings true"
            continue
        for block in blocks:
            off = [flag for flag in flags if block.props.get(flag) is not True]
            if off:
                yield bucket, f"public access block leaves {', '.join(off)} off"


def check_versioning(resources: list[PolicyResource]) -> Violations:
    for bucket in buckets(resources):
        statuses = [str((v.props.get("versioningConfiguration") or {}).get("status"))
                    for v in companions(resources, bucket, VERSIONING)]
        inline = bucket.props.get("versioning")
        if isinstance(inline, Mapping) and inline.get("enabled") is True:
            statuses.append("Enabled")
        if "Enabled" not in statuses:
            yield bucket, "versioning is not enabled: overwritten or deleted objects could not be recovered"


def check_ownership_enforced(resources: list[PolicyResource]) -> Violations:
    for bucket in buckets(resources):
        rules = [(c.props.get("rule") or {}).get("objectOwnership")
                 for c in companions(resources, bucket, OWNERSHIP)]
        if "BucketOwnerEnforced" not in rules:
            yield bucket, "object ownership is not BucketOwnerEnforced: ACLs stay active"


def check_tls_only(resources: list[PolicyResource]) -> Violations:
    for bucket in buckets(resources):
        documents = [p.props.get("policy") for p in companions(resources, bucket, POLICY)]
        documents.append(bucket.props.get("policy"))
        if not any(denies_insecure_transport(document) for document in documents if document):
            yield bucket, "no bucket policy denies requests with aws:SecureTransport false"


def denies_insecure_transport(document: Any) -> bool:
    try:
        parsed = json.loads(document) if isinstance(document, str) else document
    except json.JSONDecodeError:
        return False
    statements = parsed.get("Statement", []) if isinstance(parsed, Mapping) else []
    if isinstance(statements, Mapping):
        statements = [statements]
    for statement in statements:
        actions = statement.get("Action")
        actions = [actions] if isinstance(actions, str) else actions or []
        secure = ((statement.get("Condition") or {}).get("Bool") or {}).get("aws:SecureTransport")
        if (statement.get("Effect") == "Deny" and statement.get("Principal") in ("*", {"AWS": "*"})
                and ("s3:*" in actions or "*" in actions) and str(secure).lower() == "false"):
            return True
    return False


def check_access_logging(resources: list[PolicyResource]) -> Violations:
    log_targets = access_log_targets(resources)
    for bucket in buckets(resources):
        if bucket.props.get("bucket") in log_targets:
            continue
        inline = bucket.props.get("logging")
        if not companions(resources, bucket, LOGGING) and not (isinstance(inline, Mapping) and inline):
            yield bucket, "server access logging is off: send it to the tier's access-log bucket"


RULES: tuple[Rule, ...] = (
    Rule("s3-bucket-kms-encryption", "S3 buckets are encrypted with a customer-managed KMS key",
         Severity.HIGH, "Add a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms, the tier's key "
         "and bucketKeyEnabled (SecureBucket does this).", "S3.17", stack_check=check_kms_encryption),
    Rule("s3-bucket-public-access-blocked", "S3 buckets block all public access",
         Severity.CRITICAL, "Add a BucketPublicAccessBlock with all four settings true.", "S3.8",
         stack_check=check_public_access_block),
    Rule("s3-bucket-versioning", "S3 buckets keep every version of their objects",
         Severity.HIGH, "Add a BucketVersioning with status Enabled.", "S3.14", stack_check=check_versioning),
    Rule("s3-bucket-ownership-enforced", "S3 buckets disable ACLs (object ownership BucketOwnerEnforced)",
         Severity.MEDIUM, "Add BucketOwnershipControls with objectOwnership BucketOwnerEnforced.", "S3.12",
         stack_check=check_ownership_enforced),
    Rule("s3-bucket-tls-only", "S3 buckets refuse requests that do not use TLS",
         Severity.HIGH, "Attach a bucket policy that denies s3:* when aws:SecureTransport is false.", "S3.5",
         stack_check=check_tls_only),
    Rule("s3-bucket-access-logging", "S3 buckets log server access (except the access-log bucket itself)",
         Severity.MEDIUM, "Add a BucketLogging that targets the tier's access-log bucket.", "S3.9",
         stack_check=check_access_logging),
)

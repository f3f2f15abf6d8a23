"""S3 guardrails. A bucket is judged with its companion resources (versioning, encryption, public access
block, ownership controls, policy, logging), found by the property dependency of their `bucket` input on
the bucket or by bucket name; the deprecated inline forms on the bucket itself count too."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, Severity

from guardrails.framework import Rule, StackView, Subject, identities, known
from mlops_platform.iam_policy import DocumentError, Statement, parse, strings

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKETS = frozenset({BUCKET, BUCKET_V2})
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
ENCRYPTION = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
              "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
OWNERSHIP = ("aws:s3/bucketOwnershipControls:BucketOwnershipControls",)
POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")

Messages = Iterator[str]


def companions(stack: StackView, bucket: PolicyResource, types: tuple[str, ...]) -> list[PolicyResource]:
    """Resources of `types` that configure `bucket`."""
    return stack.referrers(types, "bucket", bucket, identities(bucket, "bucket", "id"))


def is_log_target(stack: StackView, bucket: PolicyResource) -> bool:
    """Whether `bucket` receives S3 server access logs (of a BucketLogging or a bucket's inline logging)."""
    names = identities(bucket, "bucket", "id")
    for logging in stack.of_type(*LOGGING):
        if any(dep.urn == bucket.urn for dep in logging.property_dependencies.get("targetBucket", [])):
            return True
        if known(logging.props, "targetBucket") in names:
            return True
    for other in stack.of_type(*BUCKETS):
        inline = known(other.props, "logging")
        if isinstance(inline, Mapping) and known(inline, "targetBucket") in names:
            return True
    return False


def _encryption_defaults(stack: StackView, bucket: PolicyResource) -> list[Mapping[str, Any]]:
    defaults: list[Mapping[str, Any]] = []
    for config in companions(stack, bucket, ENCRYPTION):
        for rule in config.props.get("rules") or []:
            defaults.append(rule.get("applyServerSideEncryptionByDefault") or {})
    inline = bucket.props.get("serverSideEncryptionConfiguration")
    if isinstance(inline, Mapping):
        rule = inline.get("rule") or {}
        defaults.append(rule.get("applyServerSideEncryptionByDefault") or {})
    return defaults


def check_kms_encryption(stack: StackView, bucket: PolicyResource) -> Messages:
    defaults = _encryption_defaults(stack, bucket)
    if is_log_target(stack, bucket):
        if not defaults or any(d.get("sseAlgorithm") != "AES256" for d in defaults):
            yield ("this bucket receives S3 server access logs, which S3 can deliver only to SSE-S3 (AES256) "
                   "buckets; configure AES256")
        return
    if not defaults:
        yield "no server-side encryption configuration: add one with sseAlgorithm aws:kms and a key"
    for default in defaults:
        if default.get("sseAlgorithm") not in ("aws:kms", "aws:kms:dsse"):
            yield f"encrypted with {default.get('sseAlgorithm')!r}; use aws:kms with a customer key"
        elif not default.get("kmsMasterKeyId"):
            yield "aws:kms without kmsMasterKeyId uses the AWS-managed key; name a customer-managed key"


def check_public_access_block(stack: StackView, bucket: PolicyResource) -> Messages:
    blocks = companions(stack, bucket, PUBLIC_ACCESS_BLOCK)
    if not blocks:
        yield "no BucketPublicAccessBlock: add one with all four settings true"
    for block in blocks:
        off = [flag for flag in PUBLIC_ACCESS_FLAGS if block.props.get(flag) is not True]
        if off:
            yield f"public access block leaves {', '.join(off)} off"


def check_versioning(stack: StackView, bucket: PolicyResource) -> Messages:
    statuses = [str((v.props.get("versioningConfiguration") or {}).get("status"))
                for v in companions(stack, bucket, VERSIONING)]
    inline = bucket.props.get("versioning")
    if isinstance(inline, Mapping) and "enabled" in inline:
        statuses.append("Enabled" if inline.get("enabled") is True else "Suspended")
    if not statuses or any(status != "Enabled" for status in statuses):
        yield "versioning is not enabled: overwritten or deleted objects could not be recovered"


def check_ownership_enforced(stack: StackView, bucket: PolicyResource) -> Messages:
    rules = [(c.props.get("rule") or {}).get("objectOwnership") for c in companions(stack, bucket, OWNERSHIP)]
    if not rules or any(rule != "BucketOwnerEnforced" for rule in rules):
        yield "object ownership is not BucketOwnerEnforced: ACLs stay active"


def check_tls_only(stack: StackView, bucket: PolicyResource) -> Messages:
    documents = [p.props.get("policy") for p in companions(stack, bucket, POLICY)]
    documents.append(bucket.props.get("policy"))
    arn = known(bucket.props, "arn")
    if not any(denies_insecure_transport(document, arn if isinstance(arn, str) else None)
               for document in documents if document):
        yield ("no bucket policy denies every request (s3:* on the bucket and its objects, any principal) "
               "with aws:SecureTransport false")


def denies_insecure_transport(document: Any, bucket_arn: str | None = None) -> bool:
    try:
        statements = parse(document)
    except DocumentError:
        return False
    return any(_denies_plain_http(statement, bucket_arn) for statement in statements)


def _denies_plain_http(statement: Statement, bucket_arn: str | None) -> bool:
    if statement.effect != "Deny" or not statement.is_anyone or not statement.grants("s3:GetObject"):
        return False
    if statement.not_actions is None and not any(a.lower() in ("s3:*", "*") for a in statement.actions):
        return False
    secure = [value for operator in ("Bool", "BoolIfExists")
              for value in strings((statement.conditions.get(operator) or {}).get("aws:SecureTransport"))]
    if "false" not in [value.lower() for value in secure]:
        return False
    if bucket_arn is None or statement.not_resources is not None:
        return statement.not_resources is None
    return all(any(fnmatch.fnmatchcase(target, pattern) for pattern in statement.resources)
               for target in (bucket_arn, f"{bucket_arn}/*"))


def check_access_logging(stack: StackView, bucket: PolicyResource) -> Messages:
    if is_log_target(stack, bucket):
        return
    inline = bucket.props.get("logging")
    if not companions(stack, bucket, LOGGING) and not (isinstance(inline, Mapping) and inline.get("targetBucket")):
        yield "server access logging is off: send it to the tier's access-log bucket"


def check_replication_encrypted(subject: Subject) -> Messages:
    """Every enabled rule replicates SSE-KMS objects only and re-encrypts them with a KMS key of the destination;
    a rule whose destination is another account hands the replicas to that account."""
    for index, rule in enumerate(subject.props.get("rules") or []):
        if rule.get("status") != "Enabled":
            continue
        label = f"replication rule {rule.get('id') or index}"
        criteria = (rule.get("sourceSelectionCriteria") or {}).get("sseKmsEncryptedObjects") or {}
        if criteria.get("status") != "Enabled":
            yield (f"{label} does not select SSE-KMS objects (sourceSelectionCriteria.sseKmsEncryptedObjects "
                   "status Enabled): KMS-encrypted objects are skipped, or unencrypted ones replicated")
        destination = rule.get("destination") or {}
        if not (destination.get("encryptionConfiguration") or {}).get("replicaKmsKeyId"):
            yield f"{label} does not re-encrypt replicas with a KMS key of the destination (replicaKmsKeyId)"
        account = destination.get("account")
        if account and account != subject.placement.account:
            owner = (destination.get("accessControlTranslation") or {}).get("owner")
            if owner != "Destination":
                yield (f"{label} replicates into account {account} but keeps the replicas owned by the source "
                       "account: set accessControlTranslation owner Destination")


RULES: tuple[Rule, ...] = (
    Rule("s3-bucket-kms-encryption", "S3 buckets are encrypted with a customer-managed KMS key",
         Severity.HIGH, "Add a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms, the tier's key "
         "and bucketKeyEnabled (SecureBucket does this).", "S3.17", BUCKETS, stack_check=check_kms_encryption),
    Rule("s3-bucket-public-access-blocked", "S3 buckets block all public access",
         Severity.CRITICAL, "Add a BucketPublicAccessBlock with all four settings true.", "S3.8", BUCKETS,
         stack_check=check_public_access_block),
    Rule("s3-bucket-versioning", "S3 buckets keep every version of their objects",
         Severity.HIGH, "Add a BucketVersioning with status Enabled.", "S3.14", BUCKETS,
         stack_check=check_versioning),
    Rule("s3-bucket-ownership-enforced", "S3 buckets disable ACLs (object ownership BucketOwnerEnforced)",
         Severity.MEDIUM, "Add BucketOwnershipControls with objectOwnership BucketOwnerEnforced.", "S3.12", BUCKETS,
         stack_check=check_ownership_enforced),
    Rule("s3-bucket-tls-only", "S3 buckets refuse requests that do not use TLS",
         Severity.HIGH, "Attach a bucket policy that denies s3:* on the bucket and its objects to every principal "
         "when aws:SecureTransport is false.", "S3.5", BUCKETS, stack_check=check_tls_only),
    Rule("s3-bucket-access-logging", "S3 buckets log server access (except the access-log bucket itself)",
         Severity.MEDIUM, "Add a BucketLogging that targets the tier's access-log bucket.", "S3.9", BUCKETS,
         stack_check=check_access_logging),
    Rule("s3-replication-encrypted", "S3 replication copies only SSE-KMS objects, re-encrypts them with a KMS key "
         "and hands them to the destination account", Severity.HIGH,
         "In each rule: sourceSelectionCriteria.sseKmsEncryptedObjects Enabled, destination.encryptionConfiguration."
         "replicaKmsKeyId the destination's key, and across accounts destination.account with "
         "accessControlTranslation owner Destination (CaptureReplication does this).",
         resource_types=frozenset({REPLICATION}), check=check_replication_encrypted),
)

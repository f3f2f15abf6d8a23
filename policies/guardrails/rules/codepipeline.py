"""CodePipeline guardrails: every artifact store is encrypted with a customer-managed KMS key (the pipeline's
source and build outputs pass through it)."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from guardrails.framework import Rule, Subject

PIPELINE = frozenset({"aws:codepipeline/pipeline:Pipeline"})


def check_artifact_store_encrypted(subject: Subject) -> Iterator[str]:
    stores = subject.props.get("artifactStores") or []
    if not stores:
        yield "no artifact store"
    for store in stores:
        key = store.get("encryptionKey") or {}
        if not key.get("id") or key.get("type") != "KMS":
            yield (f"artifact store {store.get('location')!r} has no KMS encryption key: CodePipeline falls back to "
                   "the AWS-managed S3 key; name a customer-managed key (encryption_key {id, type: KMS})")


RULES: tuple[Rule, ...] = (
    Rule("codepipeline-artifacts-encrypted", "CodePipeline artifact stores are encrypted with a customer-managed "
         "KMS key", Severity.HIGH, "Give every artifact store an encryption_key {id: <key ARN>, type: KMS}.",
         None, PIPELINE, check=check_artifact_store_encrypted),
)

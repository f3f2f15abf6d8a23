"""SNS guardrails: topics are encrypted at rest with a customer-managed KMS key (the platform's notices and the
promotion pipelines' approval gates carry model versions and failure reasons)."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from guardrails.framework import Rule, Subject

TOPIC = frozenset({"aws:sns/topic:Topic"})
AWS_MANAGED_KEY = "alias/aws/sns"


def check_topic_encrypted(subject: Subject) -> Iterator[str]:
    key = subject.props.get("kmsMasterKeyId")
    if not key:
        yield "no kmsMasterKeyId: the topic's messages are stored unencrypted; name a customer-managed KMS key"
    elif key == AWS_MANAGED_KEY:
        yield ("alias/aws/sns is AWS-managed: CloudWatch alarms and other services cannot be granted it; name a "
               "customer-managed KMS key")


RULES: tuple[Rule, ...] = (
    Rule("sns-topic-kms-encryption", "SNS topics are encrypted with a customer-managed KMS key", Severity.MEDIUM,
         "Set kms_master_key_id to a customer-managed KMS key whose policy admits the topic's publishers.",
         "SNS.1", TOPIC, check=check_topic_encrypted),
)

"""KMS guardrails."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from guardrails.framework import Rule, Subject

KEY = "aws:kms/key:Key"


def check_rotation(subject: Subject) -> Iterator[str]:
    """Automatic rotation exists for symmetric encryption keys only; those keys must use it."""
    spec = subject.props.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    usage = subject.props.get("keyUsage") or "ENCRYPT_DECRYPT"
    rotates = subject.props.get("enableKeyRotation") is True
    if spec == "SYMMETRIC_DEFAULT" and usage == "ENCRYPT_DECRYPT" and not rotates:
        yield "automatic key rotation is off: set enableKeyRotation true"


RULES: tuple[Rule, ...] = (
    Rule("kms-key-rotation", "Customer-managed symmetric KMS keys rotate automatically",
         severity=Severity.MEDIUM, remediation="Set enable_key_rotation=True.",
         security_hub="KMS.4", resource_types=frozenset({KEY}), check=check_rotation),
)

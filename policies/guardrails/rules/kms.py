"""KMS guardrails."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from guardrails.framework import Rule, Subject

KEY = "aws:kms/key:Key"


def check_rotation(subject: Subject) -> Iterator[str]:
    spec = subject.props.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and subject.props.get("enableKeyRotation") is not True:
        yield "automatic key rotation is off: set enableKeyRotation true"


RULES: tuple[Rule, ...] = (
    Rule("kms-key-rotation", "Customer-managed symmetric KMS keys rotate automatically",
         severity=Severity.MEDIUM, remediation="Set enable_key_rotation=True.",
         security_hub="KMS.4", resource_types=frozenset({KEY}), resource_check=check_rotation),
)

"""ECR guardrails: container images are scanned on push, their tags never move, and they are encrypted with a
customer-managed key."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from guardrails.framework import Rule, Subject

REPOSITORY = frozenset({"aws:ecr/repository:Repository"})


def check_scan_on_push(subject: Subject) -> Iterator[str]:
    scanning = subject.props.get("imageScanningConfiguration") or {}
    if scanning.get("scanOnPush") is not True:
        yield "images are not scanned on push: set imageScanningConfiguration.scanOnPush true"


def check_immutable_tags(subject: Subject) -> Iterator[str]:
    mutability = subject.props.get("imageTagMutability") or "MUTABLE"
    if mutability != "IMMUTABLE":
        yield f"image tags are {mutability}: a pushed tag could be moved to another image; use IMMUTABLE"


def check_kms(subject: Subject) -> Iterator[str]:
    configurations = subject.props.get("encryptionConfigurations") or []
    if not configurations:
        yield "no encryption configuration: images are encrypted with an AWS-owned key; use KMS with a customer key"
    for configuration in configurations:
        if configuration.get("encryptionType") != "KMS":
            yield f"encryption type {configuration.get('encryptionType')!r}; use KMS with a customer-managed key"
        elif not configuration.get("kmsKey"):
            yield "KMS without kmsKey uses the AWS-managed aws/ecr key; name a customer-managed key"


RULES: tuple[Rule, ...] = (
    Rule("ecr-scan-on-push", "ECR repositories scan every image on push", Severity.HIGH,
         "Set image_scanning_configuration={'scan_on_push': True}.", "ECR.1", REPOSITORY, check=check_scan_on_push),
    Rule("ecr-immutable-tags", "ECR repositories keep image tags immutable", Severity.MEDIUM,
         "Set image_tag_mutability='IMMUTABLE'.", "ECR.2", REPOSITORY, check=check_immutable_tags),
    Rule("ecr-kms-encryption", "ECR repositories are encrypted with a customer-managed KMS key", Severity.MEDIUM,
         "Set encryption_configurations=[{'encryption_type': 'KMS', 'kms_key': <the tier's key ARN>}].", "ECR.5",
         REPOSITORY, check=check_kms),
)

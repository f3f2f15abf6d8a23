"""`s3-replication-encrypted`: S3 replication copies only SSE-KMS objects, re-encrypts them with a KMS key and,
across accounts, hands the replicas to the destination account — judged through the analyzer protocol."""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws
import pytest

from tests.policies.policy_harness import LARGE, At, judge

RULE = "s3-replication-encrypted"
OPS_KEY = f"arn:aws:kms:eu-west-1:{LARGE['ops']}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OPS_BUCKET = "arn:aws:s3:::ops-data-capture"


def rule(**changes: Any) -> aws.s3.BucketReplicationConfigRuleArgsDict:
    """A rule as CaptureReplication writes it (prod into the ops account); `changes` replace or (None) drop keys
    of the rule or, under `destination`, of its destination."""
    destination: dict[str, Any] = {"bucket": OPS_BUCKET, "encryption_configuration": {"replica_kms_key_id": OPS_KEY},
                                   "account": LARGE["ops"], "access_control_translation": {"owner": "Destination"}}
    for key, value in changes.pop("destination", {}).items():
        destination.pop(key) if value is None else destination.__setitem__(key, value)
    body: dict[str, Any] = {
        "id": "churn-capture", "priority": 0, "status": "Enabled", "filter": {"prefix": "churn/prod/"},
        "delete_marker_replication": {"status": "Disabled"},
        "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
        "destination": destination}
    for key, value in changes.items():
        body.pop(key) if value is None else body.__setitem__(key, value)
    typed: aws.s3.BucketReplicationConfigRuleArgsDict = body  # type: ignore[assignment]  # built loosely to drop keys
    return typed


def replication(*rules: aws.s3.BucketReplicationConfigRuleArgsDict, tier: str = "prod") -> Any:
    def program(at: At) -> None:
        aws.s3.BucketReplicationConfig("capture", bucket="prod-data-capture",
                                       role=f"arn:aws:iam::{LARGE['prod']}:role/mlops-prod-capture-replication",
                                       rules=list(rules), opts=at(tier))
    return program


def test_replication_as_capture_replication_writes_it_passes() -> None:
    verdicts = judge(replication(rule()), stack="prod")
    assert RULE not in verdicts.mandatory | verdicts.undecided


def test_same_account_replication_needs_no_ownership_handover() -> None:
    same_account = rule(destination={"account": None, "access_control_translation": None})
    assert RULE not in judge(replication(same_account), stack="prod").mandatory


@pytest.mark.parametrize(("broken", "message"), [
    (rule(source_selection_criteria=None), "does not select SSE-KMS objects"),
    (rule(source_selection_criteria={"sse_kms_encrypted_objects": {"status": "Disabled"}}),
     "does not select SSE-KMS objects"),
    (rule(destination={"encryption_configuration": None}), "does not re-encrypt replicas"),
    (rule(destination={"access_control_translation": None}), "keeps the replicas owned by the source account"),
])
def test_each_missing_protection_is_a_violation(broken: aws.s3.BucketReplicationConfigRuleArgsDict,
                                                message: str) -> None:
    verdicts = judge(replication(rule(id="fine", priority=1, filter={"prefix": "churn/staging/"}), broken),
                     stack="prod")
    assert RULE in verdicts.mandatory
    messages = verdicts.messages(RULE)
    assert len(messages) == 1 and message in messages[0] and "churn-capture" in messages[0], messages


def test_a_disabled_rule_replicates_nothing_and_is_not_judged() -> None:
    assert RULE not in judge(replication(rule(status="Disabled", source_selection_criteria=None)),
                             stack="prod").mandatory


def test_in_dev_the_rule_advises() -> None:
    verdicts = judge(replication(rule(destination={"encryption_configuration": None}), tier="dev"), stack="dev")
    assert RULE not in verdicts.mandatory and RULE in verdicts.advisory

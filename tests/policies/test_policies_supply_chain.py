"""The supply chain to production: other accounts' roots only with aws:PrincipalArn, and the artifact and cicd
tiers admitting other accounts only as named roles — judged by the pack over the analyzer protocol."""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws
import pytest

from tests.policies.policy_harness import LARGE, At, doc, judge, trust

ROOTS = "foreign-roots-pinned"
NAMED = "supply-chain-named-roles"
OPS_PIPELINE = f"arn:aws:iam::{LARGE['ops']}:role/mlops-ops-churn-pipeline"
OPS_ROOT = f"arn:aws:iam::{LARGE['ops']}:root"


def grant(principal: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": "Grant", "Effect": "Allow", "Principal": principal,
                                 "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::models/*"}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def pinned(*arns: str) -> dict[str, Any]:
    return {"ArnEquals": {"aws:PrincipalArn": list(arns)}}


def bucket_policy(tier: str, *statements: dict[str, Any]) -> Any:
    def program(at: At) -> None:
        aws.s3.BucketPolicy("models", bucket="models", policy=doc(*statements), opts=at(tier))
    return program


def role_trusting(tier: str, principal: Any, condition: dict[str, Any] | None = None) -> Any:
    def program(at: At) -> None:
        document = trust(principal) if condition is None else doc(
            {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", "Condition": condition})
        aws.iam.Role("role", assume_role_policy=document, opts=at(tier))
    return program


@pytest.mark.parametrize("program, stack", [
    (bucket_policy("artifact", grant({"AWS": OPS_ROOT}, pinned(OPS_PIPELINE))), "artifact"),
    (bucket_policy("artifact", grant({"AWS": OPS_PIPELINE})), "artifact"),
    (bucket_policy("artifact", grant({"AWS": f"arn:aws:iam::{LARGE['artifact']}:root"})), "artifact"),
    (bucket_policy("artifact", grant({"Service": "sagemaker.amazonaws.com"})), "artifact"),
    (role_trusting("ops", {"AWS": f"arn:aws:iam::{LARGE['dev']}:root"},
                   pinned(f"arn:aws:iam::{LARGE['dev']}:role/mlops-dev-data-scientist")), "ops"),
    (bucket_policy("data", grant({"AWS": f"arn:aws:iam::{LARGE['ops']}:user/alice"})), "data"),
], ids=["pinned-root", "named-role", "own-root", "service", "ops-operator-trust", "user-outside-supply-chain"])
def test_named_and_pinned_grants_pass(program: Any, stack: str) -> None:
    verdicts = judge(program, stack=stack)
    assert not {ROOTS, NAMED} & (verdicts.mandatory | verdicts.undecided)


@pytest.mark.parametrize("program, stack, expected", [
    (bucket_policy("artifact", grant({"AWS": OPS_ROOT})), "artifact", "without an aws:PrincipalArn condition"),
    (bucket_policy("data", grant({"AWS": LARGE["ops"]})), "data", f"the root of {LARGE['ops']}"),
    (bucket_policy("artifact", grant({"AWS": OPS_ROOT}, {"ArnLike": {"aws:PrincipalArn": OPS_PIPELINE}})),
     "artifact", "without an aws:PrincipalArn condition"),
    (bucket_policy("artifact", grant({"AWS": OPS_ROOT}, pinned(f"arn:aws:iam::{LARGE['ops']}:role/*"))),
     "artifact", "without an aws:PrincipalArn condition"),
    (role_trusting("dev", {"AWS": f"arn:aws:iam::{LARGE['prod']}:root"}), "dev", "every identity of that account"),
], ids=["bare-root", "bare-account-id", "arnlike-is-not-exact", "wildcard-pin", "trust-in-dev"])
def test_an_unpinned_foreign_root_is_blocked_in_every_tier(program: Any, stack: str, expected: str) -> None:
    verdicts = judge(program, stack=stack)
    assert ROOTS in verdicts.mandatory
    assert any(expected in message for message in verdicts.messages(ROOTS))


@pytest.mark.parametrize("program, stack, expected", [
    (bucket_policy("artifact", grant({"AWS": f"arn:aws:iam::{LARGE['ops']}:user/alice"})), "artifact",
     f"arn:aws:iam::{LARGE['ops']}:user/alice"),
    (bucket_policy("cicd", grant({"AWS": f"arn:aws:sts::{LARGE['dev']}:assumed-role/x/session"})), "cicd",
     "assumed-role"),
    (bucket_policy("artifact", grant({"AWS": OPS_ROOT}, pinned(f"arn:aws:iam::{LARGE['ops']}:user/bob"))),
     "artifact", "user/bob"),
], ids=["foreign-user", "assumed-role-session", "root-pinned-to-a-user"])
def test_the_artifact_and_cicd_tiers_admit_only_named_roles(program: Any, stack: str, expected: str) -> None:
    verdicts = judge(program, stack=stack)
    assert NAMED in verdicts.mandatory
    assert any(expected in message and "only as named roles" in message for message in verdicts.messages(NAMED))

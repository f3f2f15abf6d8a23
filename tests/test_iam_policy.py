"""The typed IAM documents: built, rendered, read back and matched as IAM reads them."""

from __future__ import annotations

import json

import pytest

from mlops_platform import iam_policy
from mlops_platform.iam_policy import Statement, allow, canonical, grant, parse, trusting


def test_a_built_statement_reads_back_as_built() -> None:
    built = allow(["s3:PutObject", "s3:GetObject"], ["arn:aws:s3:::b/*"],
                  condition={"Bool": {"aws:SecureTransport": "true"}}, sid="Write")
    (read,) = parse(iam_policy.document_json([built]))
    assert read.actions == ("s3:GetObject", "s3:PutObject")
    assert read.resources == ("arn:aws:s3:::b/*",)
    assert read.condition_values("aws:securetransport") == ("true",)
    assert read.sid == "Write" and read.allows


def test_render_keeps_how_a_value_was_written() -> None:
    rendered = trusting({"Service": "lambda.amazonaws.com"}).render()
    assert rendered == {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole"}
    assert allow(["kms:Decrypt"], "*").render()["Resource"] == "*"
    assert allow(["kms:Decrypt"], ["*"]).render()["Resource"] == ["*"]
    assert grant("Anyone", {"AWS": ["arn:aws:iam::111111111111:root"]}, "s3:GetObject", "arn:aws:s3:::b/*").render()[
        "Principal"] == {"AWS": ["arn:aws:iam::111111111111:root"]}


@pytest.mark.parametrize("pattern", ["sts:AssumeRole", "sts:Assume*", "sts:*", "*", "STS:assumerole", "sts:AssumeRol?"])
def test_actions_match_with_iam_wildcards_in_any_case(pattern: str) -> None:
    assert Statement(effect="Allow", actions=(pattern,)).grants("sts:AssumeRole")


def test_not_action_grants_everything_else() -> None:
    statement = Statement(effect="Deny", not_actions=("iam:*",))
    assert statement.grants("s3:GetObject") and not statement.grants("iam:PassRole")


def test_canonical_forms_are_equal_for_documents_iam_reads_alike() -> None:
    one = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject",
                                                              "Resource": "arn:aws:s3:::b/*", "Principal": "*"}})
    other = json.dumps({"Statement": [{"Resource": ["arn:aws:s3:::b/*"], "Principal": "*",
                                       "Action": ["s3:GetObject"], "Effect": "Allow"}], "Version": "2012-10-17"})
    assert canonical(one) == canonical(other)
    assert canonical(one) != canonical(one.replace("GetObject", "PutObject"))


@pytest.mark.parametrize(("principal", "account", "root", "role"), [
    ("111111111111", "111111111111", True, None),
    ("arn:aws:iam::111111111111:root", "111111111111", True, None),
    ("arn:aws-cn:iam::111111111111:role/path/mlops-dev-x", "111111111111", False, "mlops-dev-x"),
    ("arn:aws:sts::111111111111:assumed-role/r/s", "111111111111", False, None),
    ("lambda.amazonaws.com", None, False, None),
])
def test_principals_are_read_apart(principal: str, account: str | None, root: bool, role: str | None) -> None:
    assert iam_policy.account_of(principal) == account
    assert iam_policy.is_account_root(principal) is root
    assert iam_policy.role_name_of(principal) == role


@pytest.mark.parametrize("document", ["not json", "[]", '{"Statement": "x"}', '{"Statement": [1]}',
                                      '{"Statement": [{"Principal": 3}]}'])
def test_what_is_not_a_document_is_one_clear_error(document: str) -> None:
    with pytest.raises(iam_policy.DocumentError):
        parse(document)

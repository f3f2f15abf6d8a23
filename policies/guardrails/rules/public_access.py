"""Nothing is public: no resource policy or role trust policy allows every principal (`*`) unless a condition
pins who may use it (an account, an organization, a source ARN or VPC endpoint). Judged in every tier; the
separation rules hold staging/prod to more than this."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import Severity

from guardrails.framework import POLICY_INPUTS, Rule, Subject
from mlops_platform.iam_policy import DocumentError, Statement, parse, strings

EVENT_PERMISSION = "aws:cloudwatch/eventPermission:EventPermission"
PINNING_CONDITION_KEYS = frozenset({
    "aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:sourceorgid", "aws:sourceorgpaths",
    "aws:principalaccount", "aws:principalarn", "aws:principalorgid", "aws:principalorgpaths",
    "aws:sourcevpce", "aws:sourcevpc", "aws:sourceip", "aws:userid", "aws:username", "kms:calleraccount",
})
"""Condition keys that pin an otherwise wildcard principal to known callers (AWS's notion of "not public")."""


ANY_ACCOUNT_PRINCIPAL = re.compile(r"arn:aws[a-z-]*:iam::\*:")
"""`arn:<partition>:iam::*:...`: a principal in every account, in any partition."""


def is_public(statement: Statement) -> bool:
    if not statement.allows:
        return False
    anyone = statement.not_principal or statement.is_anyone or any(
        ANY_ACCOUNT_PRINCIPAL.match(principal) for principal in statement.principal_values("AWS"))
    if not anyone:
        return False
    pinned = [values for operands in statement.conditions.values() for key, values in operands.items()
              if key.lower() in PINNING_CONDITION_KEYS and values and "*" not in values]
    return not pinned


def check_not_public(subject: Subject) -> Iterator[str]:
    if subject.type == EVENT_PERMISSION:
        if subject.props.get("principal") == "*" and not subject.props.get("condition"):
            yield "every AWS account may put events on this bus: name the account or add an organization condition"
        return
    key = POLICY_INPUTS[subject.type]
    document = subject.props.get(key)
    if not document:
        return
    try:
        statements = parse(document)
    except DocumentError as err:
        yield f"the {key} is {err}"
        return
    for statement in statements:
        if is_public(statement):
            actions = ", ".join(strings(statement.actions) or ("(NotAction)",))
            yield (f"statement {statement.sid or '(no Sid)'} allows everyone ({actions}): name the principals, or pin "
                   "them with a condition (aws:PrincipalAccount, aws:PrincipalOrgID, aws:SourceArn, ...)")


RULES: tuple[Rule, ...] = (
    Rule("resource-policies-not-public", "No resource or trust policy allows everyone ('*') unconditionally",
         Severity.CRITICAL, "Name the principals, or keep '*' only with a condition that pins the callers "
         "(aws:PrincipalAccount, aws:PrincipalOrgID, aws:SourceArn, aws:SourceVpce).", "KMS.5, SQS.3",
         frozenset({*POLICY_INPUTS, EVENT_PERMISSION}), check=check_not_public),
)

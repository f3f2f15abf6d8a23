"""IAM guardrails on identity policies: no `*:*`, no policies of a user's own, no decrypting with every key.

Identity policies are those an IAM principal carries: managed policies, role/user/group inline policies, a
role's `inlinePolicies`, and Identity Center permission set inline policies. Resource policies (a KMS key
policy's `"Resource": "*"` means that one key) are not identity policies.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from guardrails.framework import Rule, Subject
from mlops_platform import contract
from mlops_platform.iam_policy import DocumentError, Statement, parse

MANAGED_POLICY = "aws:iam/policy:Policy"
DOCUMENT_KEYS: dict[str, str] = {
    MANAGED_POLICY: "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
    "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy": "inlinePolicy",
}
ROLE = "aws:iam/role:Role"
IDENTITY_POLICY_TYPES = frozenset({*DOCUMENT_KEYS, ROLE})
USER_INLINE_POLICY = frozenset({"aws:iam/userPolicy:UserPolicy"})
DECRYPT_ACTIONS = ("kms:Decrypt", "kms:ReEncryptFrom")


def identity_documents(subject: Subject) -> Iterator[tuple[str, Any]]:
    """(where, document) for every identity policy document a resource carries."""
    key = DOCUMENT_KEYS.get(subject.type)
    if key is not None and subject.props.get(key):
        yield "the policy", subject.props.get(key)
    if subject.type == ROLE:
        for inline in subject.props.get("inlinePolicies") or []:
            if isinstance(inline, Mapping) and inline.get("policy"):
                yield f"inline policy {inline.get('name')!r}", inline.get("policy")


def allow_statements(subject: Subject) -> Iterator[tuple[str, Statement | str]]:
    """(where, statement) for every Allow statement; (where, error) for a document that does not parse."""
    for where, document in identity_documents(subject):
        try:
            statements = parse(document)
        except DocumentError as err:
            yield where, f"{where} is {err}"
            continue
        for statement in statements:
            if statement.allows:
                yield where, statement


def check_no_admin(subject: Subject) -> Iterator[str]:
    for where, statement in allow_statements(subject):
        if isinstance(statement, str):
            yield statement
        elif statement.not_actions is not None and "*" in statement.resources:
            yield (f"{where} allows every action but {', '.join(statement.not_actions)} on every resource "
                   "(Allow with NotAction): name the actions")
        elif any(action.strip() in ("*", "*:*") for action in statement.actions):
            yield f"{where} allows every action ('*'){_on(statement)}: name the actions"


def check_no_user_inline_policy(subject: Subject) -> Iterator[str]:
    yield ("an inline policy on an IAM user: users get their permissions through groups or roles "
           f"({subject.props.get('user')!r})")


def is_permissions_boundary(subject: Subject) -> bool:
    """The platform's permissions boundary: a ceiling that grants nothing, so it must let platform roles use every
    platform account's keys (those keys do not exist yet when the boundary is created)."""
    return subject.type == MANAGED_POLICY and subject.props.get("name") == contract.permissions_boundary_name()


def check_no_wildcard_decrypt(subject: Subject) -> Iterator[str]:
    if is_permissions_boundary(subject):
        return
    for where, statement in allow_statements(subject):
        if isinstance(statement, str):
            yield statement
            continue
        actions = [action for action in DECRYPT_ACTIONS if statement.grants(action)]
        if actions and _any_key(statement):
            yield (f"{where} allows {', '.join(actions)} on every KMS key{_on(statement)}: name the keys' ARNs")


def _any_key(statement: Statement) -> bool:
    """Whether the statement's resources reach keys it does not name: `*`, a NotResource, or a wildcard in a
    KMS ARN (`arn:aws:kms:*:*:key/*`)."""
    if statement.not_resources is not None:
        return True
    return any(resource == "*" or (":kms:" in resource and "*" in resource) for resource in statement.resources)


def _on(statement: Statement) -> str:
    resources = statement.resources or ("(NotResource)",)
    return f" on {', '.join(resources)}"


RULES: tuple[Rule, ...] = (
    Rule("iam-no-admin-wildcard", "IAM policies never allow every action ('*' / '*:*')", Severity.CRITICAL,
         "Name the actions a principal needs (least privilege); never Action '*' nor Allow with NotAction.",
         "IAM.1", IDENTITY_POLICY_TYPES, check=check_no_admin),
    Rule("iam-no-user-inline-policies", "IAM users carry no inline policies", Severity.MEDIUM,
         "Grant through a group or a role the user assumes, not an aws.iam.UserPolicy.", "IAM.2",
         USER_INLINE_POLICY, check=check_no_user_inline_policy),
    Rule("iam-no-wildcard-kms-decrypt", "IAM policies never allow kms:Decrypt on every key", Severity.HIGH,
         "Allow kms:Decrypt/kms:ReEncryptFrom only on the ARNs of the keys the principal needs.", "KMS.1, KMS.2",
         IDENTITY_POLICY_TYPES, check=check_no_wildcard_decrypt),
)

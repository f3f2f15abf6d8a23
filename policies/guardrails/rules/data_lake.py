"""Data lake guardrails: the Glue Data Catalog is encrypted at rest and returns connection passwords encrypted,
Athena workgroups encrypt their results with KMS and enforce that on every query, and Lake Formation is
administered by named principals with no `IAMAllowedPrincipals` defaults or grants (which would hand every table
back to plain IAM and make Lake Formation's grants moot)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, Severity

from guardrails.framework import Rule, StackView, Subject, known

CATALOG_ENCRYPTION = "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings"
CATALOG_DATABASE = "aws:glue/catalogDatabase:CatalogDatabase"
WORKGROUP = frozenset({"aws:athena/workgroup:Workgroup"})
LAKE_SETTINGS = frozenset({"aws:lakeformation/dataLakeSettings:DataLakeSettings"})
LAKE_PERMISSIONS = frozenset({"aws:lakeformation/permissions:Permissions"})
KMS_CATALOG_MODES = ("SSE-KMS", "SSE-KMS-WITH-SERVICE-ROLE")
KMS_RESULT_OPTIONS = ("SSE_KMS", "CSE_KMS")
IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"
"""How the API names the `IAMAllowedPrincipals` group (every IAM principal whose IAM policy allows the action)."""
EVERYTHING = ("ALL", "SUPER")
"""Lake Formation's every-permission grants (`SUPER` is the console's name for `ALL`)."""


def _settings(view: StackView) -> list[PolicyResource]:
    return view.of_type(CATALOG_ENCRYPTION)


def check_catalog_encrypted(view: StackView) -> Iterator[tuple[PolicyResource, str]]:
    """A stack that creates Glue databases of its own (resource links hold no metadata) encrypts its catalog with
    KMS; every catalog encryption setting names a KMS key."""
    settings = _settings(view)
    if not settings:
        for database in view.of_type(CATALOG_DATABASE):
            if not known(database.props, "targetDatabase"):
                yield database, ("the stack creates a Glue database but not the catalog's encryption settings: add "
                                 "aws.glue.DataCatalogEncryptionSettings with encryption at rest (SSE-KMS)")
    for resource in settings:
        yield from view.guard(resource, lambda resource=resource: _at_rest(resource))  # type: ignore[misc]


def _at_rest(resource: PolicyResource) -> Iterator[str]:
    at_rest = _block(known(resource.props, "dataCatalogEncryptionSettings"), "encryptionAtRest")
    mode = at_rest.get("catalogEncryptionMode")
    if mode not in KMS_CATALOG_MODES:
        yield f"catalog encryption mode {mode!r}: the catalog's metadata is stored unencrypted; use SSE-KMS"
    elif not at_rest.get("sseAwsKmsKeyId"):
        yield "SSE-KMS without sseAwsKmsKeyId uses the AWS-managed aws/glue key; name the tier's customer key"


def check_connection_passwords_encrypted(subject: Subject) -> Iterator[str]:
    passwords = _block(subject.props.get("dataCatalogEncryptionSettings"), "connectionPasswordEncryption")
    if passwords.get("returnConnectionPasswordEncrypted") is not True:
        yield ("connection passwords are returned in clear text by GetConnection: set "
               "returnConnectionPasswordEncrypted true")
    elif not passwords.get("awsKmsKeyId"):
        yield "connection passwords are encrypted without a named KMS key: set awsKmsKeyId to the tier's key"


def _block(value: Any, key: str) -> Mapping[str, Any]:
    block = value.get(key) if isinstance(value, Mapping) else None
    return block if isinstance(block, Mapping) else {}


def _workgroup_configuration(subject: Subject) -> Mapping[str, Any]:
    configuration = subject.props.get("configuration")
    return configuration if isinstance(configuration, Mapping) else {}


def check_results_encrypted(subject: Subject) -> Iterator[str]:
    encryption = _block(_workgroup_configuration(subject).get("resultConfiguration") or {},
                        "encryptionConfiguration")
    option = encryption.get("encryptionOption")
    if option not in KMS_RESULT_OPTIONS:
        yield (f"query results are encrypted with {option!r}" if option else "query results are not encrypted") + \
            ": set resultConfiguration.encryptionConfiguration to SSE_KMS with a customer-managed key"
    elif not encryption.get("kmsKeyArn"):
        yield f"{option} without kmsKeyArn: name the tier's customer-managed key"


def check_configuration_enforced(subject: Subject) -> Iterator[str]:
    if _workgroup_configuration(subject).get("enforceWorkgroupConfiguration") is not True:
        yield ("the workgroup's settings are not enforced: a query could send its results elsewhere, unencrypted; "
               "set enforceWorkgroupConfiguration true")


def check_named_admins(subject: Subject) -> Iterator[str]:
    admins = subject.props.get("admins") or []
    if not admins:
        yield "no Lake Formation admin: name the roles that administer the data lake (the tier's deploy role)"
    for admin in admins:
        if admin == "*" or "*" in str(admin) or admin == IAM_ALLOWED_PRINCIPALS:
            yield f"Lake Formation admin {admin!r} is not one named principal: name each admin role by its ARN"


def check_no_iam_allowed_defaults(subject: Subject) -> Iterator[str]:
    for key in ("createDatabaseDefaultPermissions", "createTableDefaultPermissions"):
        for entry in subject.props.get(key) or []:
            if isinstance(entry, Mapping) and entry.get("principal") == IAM_ALLOWED_PRINCIPALS:
                yield (f"{key} grants IAMAllowedPrincipals: new databases and tables would be governed by IAM "
                       f"alone; set {key} to []")


def check_named_grants(subject: Subject) -> Iterator[str]:
    principal = subject.props.get("principal")
    if principal == IAM_ALLOWED_PRINCIPALS or principal == "*":
        yield f"granted to {principal!r}: Lake Formation grants name one principal (a role or an account)"
    for key in ("permissions", "permissionsWithGrantOptions"):
        granted = [permission for permission in subject.props.get(key) or [] if permission in EVERYTHING]
        if granted:
            yield f"{key} holds {', '.join(granted)}: grant the permissions the principal needs (SELECT, DESCRIBE)"


RULES: tuple[Rule, ...] = (
    Rule("glue-catalog-encrypted", "The Glue Data Catalog is encrypted at rest with a customer-managed KMS key",
         Severity.HIGH, "Add aws.glue.DataCatalogEncryptionSettings with encryption_at_rest "
         "{'catalog_encryption_mode': 'SSE-KMS', 'sse_aws_kms_key_id': <the tier's key ARN>}.", None,
         frozenset({CATALOG_ENCRYPTION, CATALOG_DATABASE}), stack_wide=check_catalog_encrypted),
    Rule("glue-connection-passwords-encrypted", "The Glue Data Catalog returns connection passwords encrypted",
         Severity.MEDIUM, "Set connection_password_encryption {'return_connection_password_encrypted': True, "
         "'aws_kms_key_id': <the tier's key ARN>}.", None, frozenset({CATALOG_ENCRYPTION}),
         check=check_connection_passwords_encrypted),
    Rule("athena-workgroup-results-encrypted", "Athena workgroups encrypt query results with a customer-managed key",
         Severity.HIGH, "Set configuration.result_configuration.encryption_configuration {'encryption_option': "
         "'SSE_KMS', 'kms_key_arn': <the tier's key ARN>}.", "Athena.1", WORKGROUP, check=check_results_encrypted),
    Rule("athena-workgroup-configuration-enforced", "Athena workgroups enforce their configuration on every query",
         Severity.MEDIUM, "Set configuration.enforce_workgroup_configuration=True.", None, WORKGROUP,
         check=check_configuration_enforced),
    Rule("lakeformation-named-admins", "Lake Formation is administered by named principals, never `*`",
         Severity.HIGH, "Set admins to the ARNs of the roles that administer the data lake (the deploy role).", None,
         LAKE_SETTINGS, check=check_named_admins),
    Rule("lakeformation-no-iam-allowed-defaults",
         "Lake Formation gives new databases and tables no IAMAllowedPrincipals defaults", Severity.HIGH,
         "Set create_database_default_permissions=[] and create_table_default_permissions=[].", None, LAKE_SETTINGS,
         check=check_no_iam_allowed_defaults),
    Rule("lakeformation-named-grants", "Lake Formation grants name one principal and never grant ALL",
         Severity.HIGH, "Grant SELECT/DESCRIBE to a role or account; never to IAM_ALLOWED_PRINCIPALS, never ALL.",
         None, LAKE_PERMISSIONS, check=check_named_grants),
)

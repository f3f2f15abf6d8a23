"""The data lake's rules through the analyzer: the Glue Data Catalog encrypted at rest (and its connection passwords),
Athena workgroups' results encrypted with KMS and their configuration enforced, Lake Formation administered by named
roles with no IAMAllowedPrincipals defaults, and its grants named and never ALL."""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws
import pytest

from tests.policies.policy_harness import LARGE, At, judge

KEY = f"arn:aws:kms:eu-west-1:{LARGE['data']}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ADMIN = f"arn:aws:iam::{LARGE['data']}:role/mlops-platform-deploy"
CATALOG_RULES = {"glue-catalog-encrypted", "glue-connection-passwords-encrypted"}
ATHENA_RULES = {"athena-workgroup-results-encrypted", "athena-workgroup-configuration-enforced"}
LAKE_RULES = {"lakeformation-named-admins", "lakeformation-no-iam-allowed-defaults", "lakeformation-named-grants"}


def catalog(at_rest: dict[str, Any] | None = None, passwords: dict[str, Any] | None = None,
            settings: bool = True) -> Any:
    def program(at: At) -> None:
        aws.glue.CatalogDatabase("customers", name="customers", opts=at("data", protect=True))
        if settings:
            body: dict[str, Any] = {
                "encryption_at_rest": at_rest or {"catalog_encryption_mode": "SSE-KMS", "sse_aws_kms_key_id": KEY},
                "connection_password_encryption": passwords or {"return_connection_password_encrypted": True,
                                                                "aws_kms_key_id": KEY}}
            encryption: aws.glue.DataCatalogEncryptionSettingsDataCatalogEncryptionSettingsArgsDict = body  # type: ignore[assignment]  # built loosely to break one field
            aws.glue.DataCatalogEncryptionSettings("catalog", data_catalog_encryption_settings=encryption,
                                                   opts=at("data"))
    return program


def test_the_catalog_as_the_data_lake_encrypts_it_passes() -> None:
    verdicts = judge(catalog(), stack="data")
    assert not CATALOG_RULES & (verdicts.mandatory | verdicts.undecided)


@pytest.mark.parametrize(("program", "rule", "message"), [
    (catalog(at_rest={"catalog_encryption_mode": "DISABLED"}), "glue-catalog-encrypted", "stored unencrypted"),
    (catalog(at_rest={"catalog_encryption_mode": "SSE-KMS"}), "glue-catalog-encrypted", "aws/glue"),
    (catalog(settings=False), "glue-catalog-encrypted", "not the catalog's encryption settings"),
    (catalog(passwords={"return_connection_password_encrypted": False}), "glue-connection-passwords-encrypted",
     "clear text"),
    (catalog(passwords={"return_connection_password_encrypted": True}), "glue-connection-passwords-encrypted",
     "without a named KMS key"),
])
def test_an_unencrypted_catalog_is_refused(program: Any, rule: str, message: str) -> None:
    verdicts = judge(program, stack="data")
    assert rule in verdicts.mandatory
    assert any(message in text for text in verdicts.messages(rule))
    assert not (CATALOG_RULES - {rule}) & verdicts.mandatory


def test_a_resource_link_alone_needs_no_catalog_settings_of_its_stack() -> None:
    def program(at: At) -> None:
        aws.glue.CatalogDatabase("link", name="customers_shared", target_database={
            "catalog_id": LARGE["data"], "database_name": "customers"}, opts=at("ops", protect=True))
    assert "glue-catalog-encrypted" not in judge(program, stack="ops").mandatory


def workgroup(tier: str = "ops", **configuration: Any) -> Any:
    def program(at: At) -> None:
        body: dict[str, Any] = {
            "enforce_workgroup_configuration": True,
            "result_configuration": {"output_location": "s3://results/queries/", "encryption_configuration": {
                "encryption_option": "SSE_KMS", "kms_key_arn": KEY}}, **configuration}
        typed: aws.athena.WorkgroupConfigurationArgsDict = body  # type: ignore[assignment]  # built loosely to break one field
        aws.athena.Workgroup("queries", name=f"mlops-{tier}-data-lake", configuration=typed, opts=at(tier))
    return program


def test_an_enforced_kms_workgroup_passes() -> None:
    verdicts = judge(workgroup(), stack="ops")
    assert not ATHENA_RULES & (verdicts.mandatory | verdicts.undecided)


@pytest.mark.parametrize(("configuration", "rule", "message"), [
    ({"enforce_workgroup_configuration": False}, "athena-workgroup-configuration-enforced", "not enforced"),
    ({"result_configuration": {"output_location": "s3://results/"}}, "athena-workgroup-results-encrypted",
     "not encrypted"),
    ({"result_configuration": {"encryption_configuration": {"encryption_option": "SSE_S3"}}},
     "athena-workgroup-results-encrypted", "'SSE_S3'"),
    ({"result_configuration": {"encryption_configuration": {"encryption_option": "SSE_KMS"}}},
     "athena-workgroup-results-encrypted", "without kmsKeyArn"),
])
def test_a_workgroup_that_lets_results_go_unencrypted_is_refused(configuration: dict[str, Any], rule: str,
                                                                  message: str) -> None:
    verdicts = judge(workgroup(**configuration), stack="ops")
    assert rule in verdicts.mandatory
    assert any(message in text for text in verdicts.messages(rule))
    assert not (ATHENA_RULES - {rule}) & verdicts.mandatory


def test_in_dev_a_workgroup_is_advised_not_blocked() -> None:
    verdicts = judge(workgroup("dev", enforce_workgroup_configuration=False), stack="dev")
    assert "athena-workgroup-configuration-enforced" in verdicts.advisory - verdicts.mandatory


def settings(**overrides: Any) -> Any:
    def program(at: At) -> None:
        arguments: dict[str, Any] = {"admins": [ADMIN], "create_database_default_permissions": [],
                                     "create_table_default_permissions": [], **overrides}
        aws.lakeformation.DataLakeSettings("lake", opts=at("data"), **arguments)
    return program


def test_settings_as_the_data_lake_writes_them_pass() -> None:
    verdicts = judge(settings(parameters={"CROSS_ACCOUNT_VERSION": "4"}), stack="data")
    assert not LAKE_RULES & (verdicts.mandatory | verdicts.undecided)


@pytest.mark.parametrize(("overrides", "rule", "message"), [
    ({"admins": []}, "lakeformation-named-admins", "no Lake Formation admin"),
    ({"admins": ["*"]}, "lakeformation-named-admins", "not one named principal"),
    ({"admins": [f"arn:aws:iam::{LARGE['data']}:role/*"]}, "lakeformation-named-admins", "not one named principal"),
    ({"create_database_default_permissions": [{"permissions": ["ALL"], "principal": "IAM_ALLOWED_PRINCIPALS"}]},
     "lakeformation-no-iam-allowed-defaults", "createDatabaseDefaultPermissions grants IAMAllowedPrincipals"),
    ({"create_table_default_permissions": [{"permissions": ["ALL"], "principal": "IAM_ALLOWED_PRINCIPALS"}]},
     "lakeformation-no-iam-allowed-defaults", "createTableDefaultPermissions grants IAMAllowedPrincipals"),
])
def test_unnamed_admins_and_iam_defaults_are_refused(overrides: dict[str, Any], rule: str, message: str) -> None:
    verdicts = judge(settings(**overrides), stack="data")
    assert rule in verdicts.mandatory
    assert any(message in text for text in verdicts.messages(rule))


def permission(principal: str = LARGE["ops"], permissions: list[str] | None = None,
               grantable: list[str] | None = None) -> Any:
    def program(at: At) -> None:
        aws.lakeformation.Permissions("share", principal=principal, permissions=permissions or ["SELECT"],
                                      permissions_with_grant_options=grantable or ["SELECT"],
                                      table={"database_name": "customers", "name": "churn_history"},
                                      opts=at("data"))
    return program


def test_a_named_select_grant_passes() -> None:
    assert "lakeformation-named-grants" not in judge(permission(), stack="data").mandatory


@pytest.mark.parametrize(("program", "message"), [
    (permission(principal="IAM_ALLOWED_PRINCIPALS"), "granted to 'IAM_ALLOWED_PRINCIPALS'"),
    (permission(permissions=["ALL"]), "permissions holds ALL"),
    (permission(grantable=["SELECT", "ALL"]), "permissionsWithGrantOptions holds ALL"),
])
def test_grants_to_everyone_or_of_everything_are_refused(program: Any, message: str) -> None:
    verdicts = judge(program, stack="data")
    assert "lakeformation-named-grants" in verdicts.mandatory
    assert any(message in text for text in verdicts.messages("lakeformation-named-grants"))

"""The promotion pipeline's deploy step, before `pulumi up`: record the approved version as the serving tier's
desired state, in that tier's account, through its deploy role.

`pulumi up` of a serving stack builds exactly the version its SSM parameter names
(`contract.served_model_parameter`), so writing the parameter first is what makes the deploy carry the version
the pipeline promotes, and a later `pulumi up` from a laptop builds the same one (never a rollback).
Before prod, it checks that staging serves this very version (`--passed-in`): with the pipeline's QUEUED
executions nothing else can have changed staging in between, and if something did, prod is refused.

Inputs (environment variables the pipeline's action sets): MODEL_PACKAGE_ARN, SERVED_MODEL_PARAMETER,
DEPLOY_ROLE_ARN, MODEL_PACKAGE_GROUP_NAME, REGISTRY_ACCOUNT; for prod also PASSED_PARAMETER and PASSED_ROLE_ARN.
Every bad value ends the build with one line naming it (exit status 2).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3  # type: ignore[import-untyped]

SESSION_NAME = "mlops-platform-promotion"
_PACKAGE = re.compile(r"arn:[a-z-]+:sagemaker:[a-z0-9-]+:(?P<account>[0-9]{12}):model-package/(?P<group>[^/]+)/"
                      r"(?P<version>[0-9]+)")


class PromotionError(ValueError):
    """A value the deploy step cannot act on; the message names it."""


@dataclass(frozen=True)
class Promotion:
    model_package_arn: str
    parameter: str
    deploy_role_arn: str
    passed_parameter: str | None = None
    passed_role_arn: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Promotion:
        env = os.environ if environ is None else environ

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise PromotionError(f"{name} is not set")
            return value

        arn = required("MODEL_PACKAGE_ARN")
        require_package(arn, required("MODEL_PACKAGE_GROUP_NAME"), required("REGISTRY_ACCOUNT"))
        passed = env.get("PASSED_PARAMETER", "").strip() or None
        return cls(model_package_arn=arn, parameter=required("SERVED_MODEL_PARAMETER"),
                   deploy_role_arn=required("DEPLOY_ROLE_ARN"), passed_parameter=passed,
                   passed_role_arn=required("PASSED_ROLE_ARN") if passed else None)


def require_package(arn: str, group: str, registry_account: str) -> None:
    """A versioned package of the use case's group in the platform's registry; anything else (the pipeline started
    by hand without the variable, another group) is refused before any deploy."""
    match = _PACKAGE.fullmatch(arn)
    if match is None:
        raise PromotionError(f"MODEL_PACKAGE_ARN {arn!r} is not a versioned model package ARN: the pipeline promotes "
                             "the package an approval started it with")
    if match.group("group") != group or match.group("account") != registry_account:
        raise PromotionError(f"MODEL_PACKAGE_ARN {arn!r} is not a version of the {group!r} group in the registry "
                             f"account {registry_account}")


def ssm_through(role_arn: str, sts: Any = None) -> Any:
    """An SSM client acting as `role_arn` (a serving account's deploy role)."""
    credentials = (sts or boto3.client("sts")).assume_role(
        RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
    return boto3.client("ssm", aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])


def record(promotion: Promotion, sts: Any = None) -> str:
    """Writes the desired version (after checking staging serves it, for prod); returns what was recorded."""
    if promotion.passed_parameter and promotion.passed_role_arn:
        passed = _recorded(ssm_through(promotion.passed_role_arn, sts), promotion.passed_parameter)
        if passed != promotion.model_package_arn:
            raise PromotionError(f"{promotion.passed_parameter} records {passed!r}, not "
                                 f"{promotion.model_package_arn!r}: only the version that passed staging is promoted")
    ssm_through(promotion.deploy_role_arn, sts).put_parameter(
        Name=promotion.parameter, Value=promotion.model_package_arn, Type="String", Overwrite=True,
        Description="The model version this tier serves; written by the promotion pipeline")
    return promotion.model_package_arn


def _recorded(ssm: Any, name: str) -> str | None:
    try:
        return str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return None


def main(argv: list[str] | None = None) -> int:
    del argv
    try:
        recorded = record(Promotion.from_env())
    except PromotionError as problem:
        print(f"promotion refused: {problem}", file=sys.stderr)
        return 2
    print(f"recorded {recorded} as the desired version")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

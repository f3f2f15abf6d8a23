"""What every Lambda handler of the platform reads from its environment, and how it checks it: one module,
packaged beside each handler (`components/function.py` puts `mlops_platform/functions/{__init__,environment,
<handler>}.py` in every archive), standard library only.

A missing or malformed variable is one `ConfigurationError` naming the variable and the rule it breaks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
"""SageMaker endpoint, model, config and group names: letters, digits, hyphens, at most 63."""
SAGEMAKER_NAME_RULE = "letters, digits, hyphens; at most 63"
UNSIGNED = re.compile(r"[0-9]+")
MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")
KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[a-zA-Z0-9/_-]+")
TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_-]{1,256}")
QUEUE_URL = re.compile(r"https://sqs\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[0-9]{12}/[a-zA-Z0-9_-]{1,80}")
S3_URI = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?")
PARAMETER_NAME = re.compile(r"/[a-zA-Z0-9_.\-/]{1,1010}")
STACK_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,100}")
INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9-]+\.[a-z0-9]+")


class ConfigurationError(ValueError):
    """An environment variable is missing or invalid; the message names it."""


def invalid(name: str, value: str, rule: str) -> ConfigurationError:
    return ConfigurationError(f"invalid environment variable {name}={value!r}: {rule}")


def given(env: Mapping[str, str], name: str) -> str:
    """The variable's value without surrounding blanks; empty when it is not set."""
    return env.get(name, "").strip()


def required(env: Mapping[str, str], name: str) -> str:
    value = given(env, name)
    if not value:
        raise ConfigurationError(f"missing environment variable {name}")
    return value


def matching(env: Mapping[str, str], name: str, pattern: re.Pattern[str], what: str) -> str:
    value = required(env, name)
    if not pattern.fullmatch(value):
        raise invalid(name, value, f"must be {what}")
    return value


def optional_matching(env: Mapping[str, str], name: str, pattern: re.Pattern[str], what: str) -> str | None:
    return matching(env, name, pattern, what) if given(env, name) else None


def sagemaker_name(env: Mapping[str, str], name: str, kind: str) -> str:
    return matching(env, name, SAGEMAKER_NAME, f"a SageMaker {kind} name ({SAGEMAKER_NAME_RULE})")


def integer(env: Mapping[str, str], name: str, low: int, high: int | None, default: int | None = None) -> int:
    """A whole number from `low` to `high` (no upper bound when None); `default` when unset, if one is given."""
    value = given(env, name)
    if not value and default is not None:
        return default
    value = required(env, name)
    rule = f"must be a whole number from {low} to {high}" if high is not None else f"must be a whole number >= {low}"
    if not UNSIGNED.fullmatch(value) or int(value) < low or (high is not None and int(value) > high):
        raise invalid(name, value, rule)
    return int(value)

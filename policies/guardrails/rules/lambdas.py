"""Lambda guardrails: nobody outside may invoke a function, functions run on supported runtimes, and a
function invoked asynchronously parks what it cannot process (a dead-letter queue or an on-failure
destination) instead of dropping it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, Severity

from guardrails.framework import Rule, StackView, Subject, identities, known

FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
EVENT_INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"

SUPPORTED_RUNTIMES = frozenset({
    "python3.11", "python3.12", "python3.13", "python3.14",
    "nodejs22.x", "nodejs24.x",
    "java17", "java21", "java25",
    "dotnet10",
    "ruby3.3", "ruby3.4",
    "provided.al2023",
})
"""Runtimes AWS Lambda supports and has not scheduled for deprecation (reviewed November 2026 against the
Lambda runtimes page; botocore still lists retired ones). Update when AWS deprecates or adds a runtime."""

ASYNC_SERVICES = frozenset({
    "events.amazonaws.com", "s3.amazonaws.com", "sns.amazonaws.com", "ses.amazonaws.com", "logs.amazonaws.com",
    "iot.amazonaws.com", "iotevents.amazonaws.com", "codecommit.amazonaws.com", "codepipeline.amazonaws.com",
    "config.amazonaws.com", "cloudformation.amazonaws.com", "scheduler.amazonaws.com",
})
"""Services that invoke Lambda asynchronously (the Lambda developer guide's list)."""
ASYNC_INVOKERS: dict[str, tuple[str, ...]] = {
    "aws:cloudwatch/eventTarget:EventTarget": ("arn",),
    "aws:scheduler/schedule:Schedule": ("target", "arn"),
    "aws:sns/topicSubscription:TopicSubscription": ("endpoint",),
    "aws:s3/bucketNotification:BucketNotification": ("lambdaFunctions", "lambdaFunctionArn"),
}
"""Resources that make a service invoke a function asynchronously: the input (and nested field) naming it."""

Messages = Iterator[str]


# --- public invoke (Lambda.1) ----------------------------------------------------------------------------


def check_no_public_invoke(subject: Subject) -> Messages:
    if subject.type == FUNCTION_URL:
        if subject.props.get("authorizationType") != "AWS_IAM":
            yield "the function URL needs no authentication (authorizationType NONE): use AWS_IAM"
        return
    principal = str(subject.props.get("principal") or "")
    scoped = subject.props.get("sourceArn") or subject.props.get("sourceAccount")
    if principal == "*" and not subject.props.get("principalOrgId"):
        yield "anyone may invoke the function (principal '*'): name the invoking principal or its organization"
    elif principal.endswith(".amazonaws.com") and not scoped:
        yield (f"{principal} may invoke the function on behalf of any account: set sourceArn (or sourceAccount) "
               "to the resource that invokes it")
    if subject.props.get("functionUrlAuthType") == "NONE":
        yield "the permission opens the function URL to unauthenticated callers (functionUrlAuthType NONE)"


# --- runtimes (Lambda.2) ---------------------------------------------------------------------------------


def check_supported_runtime(subject: Subject) -> Messages:
    if subject.props.get("packageType") == "Image":
        return
    runtime = subject.props.get("runtime")
    if runtime not in SUPPORTED_RUNTIMES:
        yield (f"runtime {runtime!r} is deprecated or unknown: use a supported one "
               f"({', '.join(sorted(SUPPORTED_RUNTIMES))})")


# --- asynchronous invocation -----------------------------------------------------------------------------


def _names(function: PolicyResource) -> tuple[set[str], str | None]:
    arn = known(function.props, "arn")
    return identities(function, "name", "arn", "qualifiedArn", "id"), arn if isinstance(arn, str) else None


def _names_function(value: Any, names: set[str], arn: str | None) -> bool:
    return isinstance(value, str) and (value in names or (arn is not None and value.startswith(arn + ":")))


def _refers(resource: PolicyResource, path: tuple[str, ...], function: PolicyResource) -> bool:
    """Whether `resource` names `function` in the input at `path` (a nested field, or a list of objects):
    by property dependency on the function, or by its name or ARN."""
    if any(dep.urn == function.urn for dep in resource.property_dependencies.get(path[0], [])):
        return True
    names, arn = _names(function)
    values: list[Any] = [known(resource.props, path[0])]
    for field in path[1:]:
        nested: list[Any] = []
        for value in values:
            for item in value if isinstance(value, Sequence) and not isinstance(value, str) else [value]:
                if isinstance(item, Mapping):
                    nested.append(known(item, field))
        values = nested
    return any(_names_function(value, names, arn) for value in values)


def async_invokers(stack: StackView, function: PolicyResource) -> list[str]:
    """What invokes the function asynchronously, as descriptions."""
    found = [f"{known(p.props, 'principal')} (permission {p.name})" for p in stack.of_type(PERMISSION)
             if known(p.props, "principal") in ASYNC_SERVICES and _refers(p, ("function",), function)]
    for type_token, path in ASYNC_INVOKERS.items():
        found += [f"{type_token.rsplit(':', 1)[-1]} {r.name}" for r in stack.of_type(type_token)
                  if _refers(r, path, function)]
    found += [f"event invoke config {c.name}" for c in stack.of_type(EVENT_INVOKE_CONFIG)
              if _refers(c, ("functionName",), function)]
    return found


def check_async_failures_kept(stack: StackView, function: PolicyResource) -> Messages:
    invokers = async_invokers(stack, function)
    if not invokers:
        return
    if (function.props.get("deadLetterConfig") or {}).get("targetArn"):
        return
    for config in stack.of_type(EVENT_INVOKE_CONFIG):
        if _refers(config, ("functionName",), function):
            failure = ((config.props.get("destinationConfig") or {}).get("onFailure") or {}).get("destination")
            if failure:
                return
    yield (f"invoked asynchronously by {', '.join(invokers)}, but failed events are dropped: set a "
           "deadLetterConfig or a FunctionEventInvokeConfig on-failure destination")


RULES: tuple[Rule, ...] = (
    Rule("lambda-no-public-invoke", "Lambda functions cannot be invoked by the public or by any account",
         Severity.CRITICAL, "Name the invoking principal; scope service principals with source_arn or "
         "source_account; use AWS_IAM function URLs.", "Lambda.1", frozenset({PERMISSION, FUNCTION_URL}),
         check=check_no_public_invoke),
    Rule("lambda-supported-runtime", "Lambda functions use a supported runtime", Severity.MEDIUM,
         "Move the function to a supported runtime (the platform's functions use python3.12).", "Lambda.2",
         frozenset({FUNCTION}), check=check_supported_runtime),
    Rule("lambda-async-dead-letter", "Asynchronously invoked Lambda functions keep failed events", Severity.MEDIUM,
         "Add a FunctionEventInvokeConfig with destination_config.on_failure (an SQS queue that alarms), or a "
         "dead_letter_config.", resource_types=frozenset({FUNCTION}), stack_check=check_async_failures_kept),
)

"""Start one use case's promotion pipeline when a version of its model package group is approved.

CodePipeline takes pipeline variables only from StartPipelineExecution, not from an EventBridge target, so the
rule matching the approval (`events.model_package_approved_pattern`) invokes this function, which starts the
pipeline with the approved package's versioned ARN as its variable.

1. Validates the event: not an object, not SageMaker's model package state change, the wrong group, or no
   versioned package ARN → one logged error and ``{"status": "rejected", ...}``, no AWS call and no retry (the
   same event would fail the same way). Any status but Approved → ``ignored``.
2. Starts the pipeline with the variable; the event's id is the client request token, so a retried or
   duplicated delivery of one approval starts one execution → ``started``.
Failures of the call (throttling, a missing pipeline, access denied) are raised: Lambda retries the
asynchronous invocation and then parks the event in the function's dead-letter queue, where a redrive starts
it once the cause is fixed.

Configuration from environment variables, read on every call (`functions/environment.py`): PIPELINE_NAME,
MODEL_PACKAGE_GROUP_NAME, PIPELINE_VARIABLE. Logs: one JSON object per line. Standard library and boto3 only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3  # type: ignore[import-untyped]

from mlops_platform.functions import environment

EVENT_SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Model Package State Change"
APPROVED = "Approved"
_PACKAGE_ARN = re.compile(r"arn:[a-z-]+:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/(?P<group>[^/]+)/[0-9]+")
_TOKEN_CHARACTERS = re.compile(r"[^a-zA-Z0-9-]")
PIPELINE_NAME = re.compile(r"[A-Za-z0-9.@_-]{1,100}")
"""CodePipeline's pipeline names (its API's PipelineName pattern)."""
VARIABLE_NAME = re.compile(r"[A-Za-z0-9@\-_]{1,128}")
TOKEN_MAX = 128


class BadEvent(ValueError):
    """The event is not an approval this function can promote; the message says what is wrong."""


@dataclass(frozen=True)
class Settings:
    pipeline_name: str
    group_name: str
    variable_name: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            pipeline_name=environment.matching(env, "PIPELINE_NAME", PIPELINE_NAME,
                                               "a CodePipeline name (letters, digits, '.@_-'; at most 100)"),
            group_name=environment.sagemaker_name(env, "MODEL_PACKAGE_GROUP_NAME", "model package group"),
            variable_name=environment.matching(env, "PIPELINE_VARIABLE", VARIABLE_NAME,
                                               "a pipeline variable name (letters, digits, '@-_'; at most 128)"))


def approved_package(event: Any, group_name: str) -> str | None:
    """The versioned package ARN an approval event promotes; None for another status; `BadEvent` otherwise."""
    if not isinstance(event, Mapping):
        raise BadEvent("the event is not a JSON object")
    if event.get("source") != EVENT_SOURCE or event.get("detail-type") != DETAIL_TYPE:
        raise BadEvent(f"not a {DETAIL_TYPE!r} event from {EVENT_SOURCE} (source {event.get('source')!r}, "
                       f"detail-type {event.get('detail-type')!r})")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise BadEvent("the event has no detail object")
    if detail.get("ModelPackageGroupName") != group_name:
        raise BadEvent(f"model package group {detail.get('ModelPackageGroupName')!r} is not {group_name!r}")
    if detail.get("ModelApprovalStatus") != APPROVED:
        return None
    arn = detail.get("ModelPackageArn")
    match = _PACKAGE_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None or match.group("group") != group_name:
        raise BadEvent(f"ModelPackageArn {arn!r} is not a versioned package of the {group_name!r} group")
    return str(arn)


def request_token(event: Mapping[str, Any]) -> str | None:
    """The event id as a client request token (CodePipeline allows letters, digits and hyphens)."""
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        return None
    return _TOKEN_CHARACTERS.sub("-", event_id)[:TOKEN_MAX]


def handler(event: Any, context: Any, client: Any = None) -> dict[str, Any]:
    settings = Settings.from_env()
    request_id = getattr(context, "aws_request_id", None)
    try:
        package = approved_package(event, settings.group_name)
    except BadEvent as problem:
        _log("error", request_id, decision="rejected", reason=str(problem), pipeline=settings.pipeline_name)
        return {"status": "rejected", "reason": str(problem)}
    if package is None:
        _log("info", request_id, decision="ignored", status=event["detail"].get("ModelApprovalStatus"))
        return {"status": "ignored"}
    codepipeline = client or boto3.client("codepipeline")
    arguments: dict[str, Any] = {"name": settings.pipeline_name,
                                 "variables": [{"name": settings.variable_name, "value": package}]}
    token = request_token(event)
    if token:
        arguments["clientRequestToken"] = token
    execution = codepipeline.start_pipeline_execution(**arguments)["pipelineExecutionId"]
    _log("info", request_id, decision="started", pipeline=settings.pipeline_name, package=package,
         execution=execution)
    return {"status": "started", "pipelineExecutionId": execution, "modelPackageArn": package}


def _log(level: str, request_id: str | None, **fields: Any) -> None:
    print(json.dumps({"level": level, "requestId": request_id, **fields}, default=str))

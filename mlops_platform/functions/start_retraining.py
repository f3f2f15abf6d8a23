"""Start one use case's retraining pipeline with the image its image pipeline recorded last.

Where a use case builds its own image (`useCases[].image`), every automatic start goes through this function —
the retraining schedule (EventBridge Scheduler) and the drift rule (EventBridge) invoke it — because neither
target can read a value at start time: the function reads the image URI from the ops tier's SSM parameter the
image build writes after the scan gate passed, and starts the pipeline with it as the TrainingImage parameter.
So whichever starter runs, the newest recorded image is trained (and registered, and served).

1. Reads the record. No record yet (the image pipeline has not passed a build since the ops stack exists) →
   raised: Lambda retries the asynchronous invocation, then parks the event in the dead-letter queue; nothing
   trains with another image in its place.
2. Starts the pipeline with the image; the event's id (EventBridge's, or the schedule's execution id) is the
   client request token, so a duplicated delivery of one start is one execution → ``started``.

Configuration from environment variables, read on every call (`functions/environment.py`): PIPELINE_NAME,
IMAGE_PARAMETER, PIPELINE_PARAMETER. Logs: one JSON object per line. Standard library and boto3 only.
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

PIPELINE_PARAMETER_NAME = re.compile(r"[A-Za-z0-9\-_]{1,256}")
IMAGE_URI = re.compile(r"[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+:[A-Za-z0-9._-]{1,128}")
TOKEN = re.compile(r"[a-zA-Z0-9-]{32,128}")
"""SageMaker's ClientRequestToken: 32 to 128 letters, digits and hyphens."""
DESCRIPTION_MAX = 3072


class NoRecordedImage(RuntimeError):
    """The use case's image pipeline has recorded no image yet (or recorded something that is not an image)."""


@dataclass(frozen=True)
class Settings:
    pipeline_name: str
    image_parameter: str
    pipeline_parameter: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            pipeline_name=environment.sagemaker_name(env, "PIPELINE_NAME", "pipeline"),
            image_parameter=environment.matching(env, "IMAGE_PARAMETER", environment.PARAMETER_NAME,
                                                 "an SSM parameter name starting with '/'"),
            pipeline_parameter=environment.matching(env, "PIPELINE_PARAMETER", PIPELINE_PARAMETER_NAME,
                                                    "a pipeline parameter name (letters, digits, '-_')"))


def recorded_image(ssm: Any, parameter: str) -> str:
    try:
        value = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        raise NoRecordedImage(f"no image recorded in {parameter}: run the use case's image pipeline once (its "
                              "build records the image after the scan gate passes)") from None
    if not isinstance(value, str) or not IMAGE_URI.fullmatch(value):
        raise NoRecordedImage(f"{parameter} holds {value!r}, not an ECR image URI")
    return value


def description(event: Any) -> str:
    """Why this run starts: the schedule's `reason`, or the event that asked for it."""
    if isinstance(event, Mapping) and isinstance(event.get("reason"), str):
        return str(event["reason"])[:DESCRIPTION_MAX]
    if isinstance(event, Mapping) and isinstance(event.get("detail-type"), str):
        return f"{event['detail-type']} ({event.get('source')}) asked for retraining"[:DESCRIPTION_MAX]
    return "retraining started by its starter"


def request_token(event: Any) -> str | None:
    event_id = event.get("id") if isinstance(event, Mapping) else None
    return event_id if isinstance(event_id, str) and TOKEN.fullmatch(event_id) else None


def handler(event: Any, context: Any, sagemaker: Any = None, ssm: Any = None) -> dict[str, Any]:
    settings = Settings.from_env()
    request_id = getattr(context, "aws_request_id", None)
    try:
        image = recorded_image(ssm or boto3.client("ssm"), settings.image_parameter)
    except NoRecordedImage as problem:
        _log("error", request_id, decision="not started", reason=str(problem), pipeline=settings.pipeline_name)
        raise
    arguments: dict[str, Any] = {
        "PipelineName": settings.pipeline_name, "PipelineExecutionDescription": description(event),
        "PipelineParameters": [{"Name": settings.pipeline_parameter, "Value": image}]}
    token = request_token(event)
    if token:
        arguments["ClientRequestToken"] = token
    execution = (sagemaker or boto3.client("sagemaker")).start_pipeline_execution(**arguments)["PipelineExecutionArn"]
    _log("info", request_id, decision="started", pipeline=settings.pipeline_name, image=image, execution=execution)
    return {"status": "started", "pipelineExecutionArn": execution, "image": image}


def _log(level: str, request_id: str | None, **fields: Any) -> None:
    print(json.dumps({"level": level, "requestId": request_id, **fields}, default=str))

"""The check's AWS calls: the serving version and its baseline from the registry, the retraining pipeline's
executions, and what the check publishes (CloudWatch metrics, one EventBridge event).

Every call goes through boto3 clients made by `Clients`; a failed call raises botocore's own error, which the
entry point reports in one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import boto3  # type: ignore[import-untyped]

from mlops_monitoring.errors import MonitoringError

APPROVED = "Approved"
IN_FLIGHT_STATUSES = ("Executing", "Stopping")
METRICS_PER_CALL = 20
"""PutMetricData's oldest documented limit per request; every region accepts it."""


@dataclass(frozen=True)
class Clients:
    sagemaker: Any
    s3: Any
    cloudwatch: Any
    events: Any

    @classmethod
    def for_region(cls, region: str) -> Clients:
        session = boto3.Session(region_name=region)
        return cls(*(session.client(service) for service in ("sagemaker", "s3", "cloudwatch", "events")))


def serving_package(sagemaker: Any, group: str) -> dict[str, Any] | None:
    """The newest Approved package of the group (what the serving tiers deploy), described; None if none is."""
    listed = sagemaker.list_model_packages(ModelPackageGroupName=group, ModelApprovalStatus=APPROVED,
                                           SortBy="CreationTime", SortOrder="Descending", MaxResults=1)
    summaries = listed.get("ModelPackageSummaryList", [])
    if not summaries:
        return None
    package: dict[str, Any] = sagemaker.describe_model_package(ModelPackageName=summaries[0]["ModelPackageArn"])
    return package


def baseline_uri(package: dict[str, Any]) -> str | None:
    """Where the retraining pipeline registered the package's baseline."""
    uri = (package.get("DriftCheckBaselines", {}).get("ModelDataQuality", {}).get("Statistics", {})
           .get("S3Uri"))
    return uri if isinstance(uri, str) and uri else None


def bias_baseline_uri(package: dict[str, Any]) -> str | None:
    """Where the retraining pipeline registered the package's post-training bias report (the live bias baseline)."""
    uri = (package.get("ModelMetrics", {}).get("Bias", {}).get("PostTrainingReport", {}).get("S3Uri"))
    return uri if isinstance(uri, str) and uri else None


def read_s3_text(s3: Any, uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise MonitoringError(f"baseline location {uri!r} is not an s3://bucket/key URI")
    body = s3.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"]
    return str(body.read().decode("utf-8"))


def s3_lines(s3: Any, prefix_uri: str, suffix: str) -> Iterator[str]:
    """The lines of every object under `prefix_uri` whose key ends with `suffix`, in key order."""
    parsed = urlparse(prefix_uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise MonitoringError(f"ground-truth location {prefix_uri!r} is not an s3://bucket/prefix URI")
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=parsed.netloc, Prefix=parsed.path.lstrip("/")):
        for item in page.get("Contents", []):
            if item["Key"].endswith(suffix):
                body = s3.get_object(Bucket=parsed.netloc, Key=item["Key"])["Body"]
                yield from body.read().decode("utf-8", errors="replace").splitlines()


def pipeline_executions(sagemaker: Any, pipeline: str) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = sagemaker.list_pipeline_executions(
            PipelineName=pipeline, SortBy="CreationTime", SortOrder="Descending",
            **({"NextToken": token} if token else {}))
        yield from page.get("PipelineExecutionSummaries", [])
        token = page.get("NextToken")
        if not token:
            return


def retraining_blocked(sagemaker: Any, pipeline: str, now: datetime, cooldown_hours: int) -> str | None:
    """Why drift may not start a retraining now (one in flight, or the newest started within the cooldown);
    None when it may."""
    executions = list(pipeline_executions(sagemaker, pipeline))
    for execution in executions:
        if execution.get("PipelineExecutionStatus") in IN_FLIGHT_STATUSES:
            return (f"retraining execution {execution['PipelineExecutionArn']} is "
                    f"{execution['PipelineExecutionStatus'].lower()}: one retraining at a time")
    starts = [execution["StartTime"] for execution in executions if isinstance(execution.get("StartTime"), datetime)]
    if starts:
        newest = max(starts)
        if (now - newest).total_seconds() < cooldown_hours * 3600:
            return (f"the last retraining started at {newest.isoformat()}, within the {cooldown_hours} h "
                    "cooldown")
    return None


def put_metrics(cloudwatch: Any, namespace: str, metrics: list[dict[str, Any]]) -> None:
    for start in range(0, len(metrics), METRICS_PER_CALL):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=metrics[start:start + METRICS_PER_CALL])


def put_event(events: Any, source: str, detail_type: str, detail: dict[str, Any], resources: list[str]) -> None:
    response = events.put_events(Entries=[{"Source": source, "DetailType": detail_type,
                                           "Detail": json.dumps(detail), "Resources": resources}])
    if response.get("FailedEntryCount"):
        failed = response["Entries"][0]
        raise MonitoringError(f"EventBridge refused the drift event: {failed.get('ErrorCode')} "
                              f"{failed.get('ErrorMessage')}")

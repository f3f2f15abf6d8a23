"""`check`: the served traffic against the serving version's baseline; report, metrics and one event.

The serving version is the newest Approved package of the use case's group; its baseline is the one the
retraining pipeline registered as the package's `DriftCheckBaselines.ModelDataQuality.Statistics`. No approved
version, a package without an open-engine baseline, or too few captured rows give no verdict: the event then says
why, with `retrain: false`. Past the threshold, `retrain` is true only when no retraining of the use case is in
flight and the newest started longer than the cooldown ago.

With a facet (`features.clarify`), the same run also checks bias: the served rows' groups of the facet, the model's
captured predictions and, where ground truth is given, the labels joined by event id (see `capture`,
`ground_truth`), against the serving version's registered post-training bias report
(`ModelMetrics.Bias.PostTrainingReport`, whose feature names and facet it measures with) and the configured limits.
A live metric above its limit asks for retraining like drift does, through the same decision (threshold, single
flight, cooldown) and the same one event: `detail.triggers` says which of `drift` and `bias` asked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_monitoring import aws, interface
from mlops_monitoring.capture import CapturedTraffic, read_capture
from mlops_monitoring.drift import FeatureDrift, compare, drifted_share, served_frame
from mlops_monitoring.errors import MonitoringError
from mlops_monitoring.live_bias import BiasSettings, LiveBias, live_bias
from mlops_monitoring.profile import load_baseline


@dataclass(frozen=True)
class CheckSettings:
    use_case: str
    region: str
    model_package_group: str
    retraining_pipeline: str
    capture_dir: Path
    report_dir: Path
    report_uri: str
    drift_threshold: float
    cooldown_hours: int
    min_records: int
    metric_namespace: str
    event_source: str
    event_detail_type: str
    bias: BiasSettings | None = None
    """The live bias check's facet, limits and ground truth; None: drift only."""


@dataclass
class CheckOutcome:
    reason: str
    model_package_arn: str | None = None
    baseline_uri: str | None = None
    traffic: CapturedTraffic | None = None
    features: list[FeatureDrift] = field(default_factory=list)
    drift_share: float | None = None
    drifted: bool = False
    retrain: bool = False
    bias: LiveBias | None = None

    @property
    def triggers(self) -> list[str]:
        """What asks for retraining: `drift`, `bias`, both or neither."""
        return [name for name, found in (("drift", self.drifted),
                                         ("bias", self.bias is not None and self.bias.biased)) if found]


def run_check(settings: CheckSettings, clients: aws.Clients, now: datetime | None = None) -> CheckOutcome:
    outcome = evaluate(settings, clients, now or datetime.now(UTC))
    write_report(settings, outcome, now or datetime.now(UTC))
    if outcome.drift_share is not None:
        aws.put_metrics(clients.cloudwatch, settings.metric_namespace, metrics(settings, outcome))
    if outcome.bias is not None and outcome.bias.values:
        aws.put_metrics(clients.cloudwatch, settings.metric_namespace, outcome.bias.metrics(settings.use_case))
    aws.put_event(clients.events, settings.event_source, settings.event_detail_type, event_detail(settings, outcome),
                  [outcome.model_package_arn] if outcome.model_package_arn else [])
    return outcome


def evaluate(settings: CheckSettings, clients: aws.Clients, now: datetime) -> CheckOutcome:
    package = aws.serving_package(clients.sagemaker, settings.model_package_group)
    if package is None:
        return CheckOutcome(f"no Approved model package in group {settings.model_package_group}: nothing serves")
    arn = str(package["ModelPackageArn"])
    uri = aws.baseline_uri(package)
    if uri is None:
        return CheckOutcome(f"model package {arn} has no DriftCheckBaselines.ModelDataQuality.Statistics",
                            model_package_arn=arn)
    try:
        baseline = load_baseline(aws.read_s3_text(clients.s3, uri), uri)
    except MonitoringError as problem:
        return CheckOutcome(str(problem), model_package_arn=arn, baseline_uri=uri)
    traffic = read_capture(settings.capture_dir, len(baseline["features"]))
    if len(traffic.rows) < settings.min_records:
        return CheckOutcome(f"{len(traffic.rows)} captured rows ({traffic.malformed_count} malformed records), "
                            f"fewer than the {settings.min_records} a verdict needs",
                            model_package_arn=arn, baseline_uri=uri, traffic=traffic)
    features = compare(baseline, served_frame(traffic.rows, baseline))
    share = drifted_share(features)
    outcome = CheckOutcome("", arn, uri, traffic, features, share, share >= settings.drift_threshold)
    if settings.bias is not None:
        outcome.bias = live_bias(settings.bias, clients.s3, package, traffic, settings.min_records)
    outcome.reason, outcome.retrain = _decision(settings, clients, outcome, now)
    return outcome


def _decision(settings: CheckSettings, clients: aws.Clients, outcome: CheckOutcome,
              now: datetime) -> tuple[str, bool]:
    share = f"{outcome.drift_share:.3f} of the features drifted"
    below = "below" if not outcome.drifted else "at or above"
    findings = f"{share}, {below} the threshold {settings.drift_threshold}"
    if outcome.bias is not None:
        findings = f"{findings}; bias: {outcome.bias.reason}"
    if not outcome.triggers:
        return findings, False
    blocked = aws.retraining_blocked(clients.sagemaker, settings.retraining_pipeline, now, settings.cooldown_hours)
    if blocked is not None:
        return f"{findings}, but {blocked}", False
    return f"{findings}: retraining starts ({' and '.join(outcome.triggers)})", True


def report_object_uri(settings: CheckSettings) -> str:
    return f"{settings.report_uri.rstrip('/')}/{interface.REPORT_FILE}"


def event_detail(settings: CheckSettings, outcome: CheckOutcome) -> dict[str, Any]:
    return {"useCase": settings.use_case, "modelPackageArn": outcome.model_package_arn,
            "driftShare": outcome.drift_share, "threshold": settings.drift_threshold, "drifted": outcome.drifted,
            "retrain": outcome.retrain, "reason": outcome.reason, "reportUri": report_object_uri(settings),
            "triggers": outcome.triggers,
            **({"bias": outcome.bias.as_report()} if outcome.bias is not None else {})}


def metrics(settings: CheckSettings, outcome: CheckOutcome) -> list[dict[str, Any]]:
    use_case = {"Name": interface.DIMENSION_USE_CASE, "Value": settings.use_case}
    data: list[dict[str, Any]] = []
    for feature in outcome.features:
        dimensions = [use_case, {"Name": interface.DIMENSION_FEATURE, "Value": feature.name}]
        data.append({"MetricName": interface.METRIC_FEATURE_DRIFT, "Dimensions": dimensions,
                     "Value": float(feature.drifted), "Unit": "None"})
        data.append({"MetricName": interface.METRIC_FEATURE_SCORE, "Dimensions": dimensions,
                     "Value": feature.psi, "Unit": "None"})
    data.append({"MetricName": interface.METRIC_DRIFT_SHARE, "Dimensions": [use_case],
                 "Value": float(outcome.drift_share or 0.0), "Unit": "None"})
    data.append({"MetricName": interface.METRIC_DRIFT_DETECTED, "Dimensions": [use_case],
                 "Value": float(outcome.drifted), "Unit": "None"})
    return data


def write_report(settings: CheckSettings, outcome: CheckOutcome, now: datetime) -> Path:
    traffic = outcome.traffic
    report = {
        "schemaVersion": interface.SCHEMA_VERSION,
        "useCase": settings.use_case,
        "checkedAt": now.isoformat(),
        "modelPackageArn": outcome.model_package_arn,
        "baselineUri": outcome.baseline_uri,
        "capture": None if traffic is None else {
            "files": traffic.files, "records": traffic.records, "rows": len(traffic.rows),
            "malformedRecords": traffic.malformed_count, "malformedReasons": dict(traffic.malformed)},
        "driftShare": outcome.drift_share,
        "threshold": settings.drift_threshold,
        "drifted": outcome.drifted,
        "retrain": outcome.retrain,
        "reason": outcome.reason,
        "features": [feature.as_report() for feature in outcome.features],
        "triggers": outcome.triggers,
        "bias": None if outcome.bias is None else outcome.bias.as_report(),
    }
    settings.report_dir.mkdir(parents=True, exist_ok=True)
    path = settings.report_dir / interface.REPORT_FILE
    path.write_text(json.dumps(report, indent=1, sort_keys=True), encoding="utf-8")
    return path

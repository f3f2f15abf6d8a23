"""Capture → replication → drift check → retraining, as the stacks build it (mock-engine capture of the shipped
config; small with drift monitoring switched on): where endpoints capture, how S3 replicates into the ops tier and
who the ops bucket and key admit, the drift pipeline and its schedule, and the rule that turns the check's events
(made by the monitoring image's own code) into retraining runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern
from moto.events.utils import EventMessageType

from mlops_monitoring import cli as monitoring_cli
from mlops_monitoring.check import CheckOutcome, event_detail
from mlops_platform import contract, monitoring_image, naming, topology
from mlops_platform.offline.capture import CapturedResource
from mlops_platform.offline.size_capture import CapturedSize, capture_size
from mlops_platform.offline.stack_config import load_project_config
from mlops_platform.pipelines.drift_check import DriftDefinitionError, validate_step_arguments
from mlops_platform.tiers import grants

ROOT = Path(__file__).resolve().parents[2]
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


@pytest.fixture(scope="module")
def small_with_drift(tmp_path_factory: pytest.TempPathFactory) -> CapturedSize:
    override = tmp_path_factory.mktemp("drift") / "drift.yaml"
    override.write_text("config:\n  mlops-platform:features:\n    modelMonitor: true\n", encoding="utf-8")
    return capture_size(load_project_config(ROOT, "small", override), serving=True)


@pytest.fixture
def sized(shipped_capture: Callable[[str], CapturedSize],
          small_with_drift: CapturedSize) -> Callable[[str], CapturedSize]:
    return lambda size: small_with_drift if size == "small" else shipped_capture(size)


def resources(captured: CapturedSize, type_token: str, name: str | None = None) -> list[CapturedResource]:
    return [r for stack in captured.stacks for r in stack.resources
            if r.type == type_token and (name is None or r.name == name)]


def one(captured: CapturedSize, type_token: str, name: str) -> CapturedResource:
    found = resources(captured, type_token, name)
    assert len(found) == 1, f"{type_token} {name}: {len(found)}"
    return found[0]


def statements(document: Any) -> dict[str, dict[str, Any]]:
    parsed = json.loads(document) if isinstance(document, str) else document
    return {s.get("Sid", ""): s for s in parsed["Statement"]}


def account(captured: CapturedSize, tier: str) -> str:
    return captured.configs[0].account_of_tier(tier)


def serving_tiers(captured: CapturedSize) -> list[str]:
    return [tier for tier in topology.SERVING_TIERS if tier in topology.tiers(captured.size)]


def ops_bucket(captured: CapturedSize) -> CapturedResource:
    return one(captured, "aws:s3/bucket:Bucket", "ops-data-capture")


def ops_key_arn(captured: CapturedSize) -> str:
    return str(one(captured, "aws:kms/key:Key", "ops-key").outputs["arn"])


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_each_serving_tier_captures_under_its_use_case_and_tier(size: str,
                                                                sized: Callable[[str], CapturedSize]) -> None:
    captured = sized(size)
    for tier in serving_tiers(captured):
        bucket = one(captured, "aws:s3/bucket:Bucket", f"{tier}-data-capture").outputs["bucket"]
        config = one(captured, "aws:sagemaker/endpointConfiguration:EndpointConfiguration", f"{tier}-churn")
        destination = config.inputs["dataCaptureConfig"]["destinationS3Uri"]
        assert destination == f"s3://{bucket}/{contract.replicated_capture_prefix('churn', tier)}"


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_each_serving_tier_replicates_its_kms_objects_into_the_ops_bucket_re_encrypted_with_the_ops_key(
        size: str, sized: Callable[[str], CapturedSize]) -> None:
    captured = sized(size)
    tiers = serving_tiers(captured)
    assert tiers and len(resources(captured, REPLICATION)) == len(tiers)
    for tier in tiers:
        replication = one(captured, REPLICATION, f"{tier}-capture-replication")
        role = one(captured, "aws:iam/role:Role", f"{tier}-capture-replication-role")
        assert role.inputs["name"] == contract.capture_replication_role_name(tier)
        assert replication.inputs["role"] == role.outputs["arn"]
        [rule] = replication.inputs["rules"]
        assert rule["filter"] == {"prefix": contract.replicated_capture_prefix("churn", tier)}
        assert rule["status"] == "Enabled"
        assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
        assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
        destination = rule["destination"]
        assert destination["bucket"] == ops_bucket(captured).outputs["arn"]
        assert destination["encryptionConfiguration"] == {"replicaKmsKeyId": ops_key_arn(captured)}
        cross_account = account(captured, tier) != account(captured, "ops")
        assert cross_account == (size != "small")
        if cross_account:
            assert destination["account"] == account(captured, "ops")
            assert destination["accessControlTranslation"] == {"owner": "Destination"}
        else:
            assert "account" not in destination and "accessControlTranslation" not in destination
        source = one(captured, "aws:s3/bucket:Bucket", f"{tier}-data-capture")
        assert replication.inputs["bucket"] == source.outputs["bucket"]
        for bucket in (source, ops_bucket(captured)):
            versioning = one(captured, "aws:s3/bucketVersioning:BucketVersioning", bucket.name)
            assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}


def test_replication_waits_for_the_source_buckets_versioning(shipped_capture: Callable[[str], CapturedSize]) -> None:
    captured = shipped_capture("medium")
    replication = one(captured, REPLICATION, "prod-capture-replication")
    versioning = one(captured, "aws:s3/bucketVersioning:BucketVersioning", "prod-data-capture")
    assert versioning.urn in replication.dependencies


@pytest.mark.parametrize("size", ["medium", "large"])
def test_the_ops_bucket_and_key_admit_exactly_the_replication_roles_by_principal_arn(
        size: str, shipped_capture: Callable[[str], CapturedSize]) -> None:
    """The ops tier deploys before staging and prod: it names their accounts' roots, pinned to each replication
    role by `aws:PrincipalArn`, never the roles themselves."""
    captured = shipped_capture(size)
    bucket = ops_bucket(captured)
    policy = statements(one(captured, "aws:s3/bucketPolicy:BucketPolicy", "ops-data-capture").inputs["policy"])
    key = statements(one(captured, "aws:kms/key:Key", "ops-key").inputs["policy"])
    encrypters = key["OtherAccountsEncryptReplicas"]
    assert sorted(encrypters["Action"]) == ["kms:Encrypt", "kms:GenerateDataKey"]
    replicators = []
    for tier in ("staging", "prod"):
        role = naming.role_arn("aws", account(captured, tier), contract.capture_replication_role_name(tier))
        replicators.append(role)
        grant = policy[f"{tier.capitalize()}ReplicatesItsCapturedTraffic"]
        assert grant["Principal"] == {"AWS": [naming.account_root_arn("aws", account(captured, tier))]}
        assert grant["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [role]}}
        assert sorted(grant["Action"]) == ["s3:ObjectOwnerOverrideToBucketOwner", "s3:ReplicateObject",
                                           "s3:ReplicateTags"]
        own_prefix = f"{bucket.outputs['arn']}/{contract.replicated_capture_prefix('churn', tier)}*"
        assert grant["Resource"] == [own_prefix]
        deny = policy[f"Only{tier.capitalize()}ReplicationWritesItsCapturedTraffic"]
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Resource"] == [own_prefix]
        assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": role}}
    assert sorted(encrypters["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == sorted(replicators)
    created = {r.outputs["arn"] for r in resources(captured, "aws:iam/role:Role")}
    assert set(replicators) <= created, "the admitted roles are the ones the serving tiers create"


def test_the_ops_tier_publishes_its_capture_bucket_and_key(shipped_capture: Callable[[str], CapturedSize]) -> None:
    captured = shipped_capture("large")
    ops = next(stack for stack in captured.stacks if stack.name == "ops")
    assert ops.outputs[contract.export_key("ops", "captureBucketArn")] == ops_bucket(captured).outputs["arn"]
    assert ops.outputs[contract.export_key("ops", "captureBucketName")] == ops_bucket(captured).outputs["bucket"]
    assert ops.outputs[contract.export_key("ops", "keyArn")] == ops_key_arn(captured)


def drift_step(captured: CapturedSize) -> dict[str, Any]:
    pipeline = one(captured, "aws:sagemaker/pipeline:Pipeline", "ops-churn-drift")
    assert pipeline.inputs["pipelineName"] == contract.drift_pipeline_name("churn")
    definition = json.loads(pipeline.inputs["pipelineDefinition"])
    [step] = definition["Steps"]
    assert step["Type"] == "Processing"
    return dict(step["Arguments"])


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_the_drift_pipeline_checks_every_tiers_replicated_capture_in_the_monitoring_image(
        size: str, sized: Callable[[str], CapturedSize]) -> None:
    captured = sized(size)
    arguments = drift_step(captured)
    bucket = ops_bucket(captured).outputs["bucket"]
    assert arguments["AppSpecification"]["ImageUri"] == monitoring_image.image_uri("eu-west-1",
                                                                                  account(captured, "artifact"))
    [capture] = arguments["ProcessingInputs"]
    assert all(contract.replicated_capture_prefix("churn", tier).startswith("churn/")
               for tier in serving_tiers(captured)), "the one input holds every serving tier's replicated prefix"
    assert capture["S3Input"]["S3Uri"] == f"s3://{bucket}/churn/"
    assert capture["S3Input"]["LocalPath"] == monitoring_image.CAPTURE_INPUT_DIR
    [report] = arguments["ProcessingOutputConfig"]["Outputs"]
    assert report["S3Output"]["S3Uri"] == {"Std:Join": {"On": "", "Values": [
        f"s3://{bucket}/{contract.drift_reports_prefix('churn')}", {"Get": "Execution.PipelineExecutionId"}, "/"]}}
    assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == ops_key_arn(captured)
    assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == ops_key_arn(captured)
    network = arguments["NetworkConfig"]
    ops_subnets = {r.id for r in resources(captured, "aws:ec2/subnet:Subnet") if r.name.startswith("ops-")}
    assert network["VpcConfig"]["Subnets"] and set(network["VpcConfig"]["Subnets"]) <= ops_subnets
    role = one(captured, "aws:iam/role:Role", "ops-churn-drift-execution")
    assert role.inputs["name"] == contract.drift_check_role_name("churn")
    assert arguments["RoleArn"] == role.outputs["arn"]


def settings_of(arguments: dict[str, Any]) -> Any:
    """The check's settings as the image's own entry point parses the step's container arguments (the report URI,
    a pipeline expression, as it resolves)."""
    argv = [value if isinstance(value, str) else "s3://bucket/reports/churn/run-1/"
            for value in arguments["AppSpecification"]["ContainerArguments"]]
    return monitoring_cli.check_settings(monitoring_cli.parser().parse_args(argv))


def test_the_step_hands_the_image_the_use_cases_threshold_cooldown_and_event_names(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    captured = shipped_capture("medium")
    use_case = next(u for u in captured.configs[0].use_cases if u.name == "churn")
    settings = settings_of(drift_step(captured))
    assert settings.use_case == "churn"
    assert settings.drift_threshold == use_case.drift_threshold
    assert settings.cooldown_hours == use_case.retraining_cooldown_hours
    assert settings.retraining_pipeline == contract.pipeline_name("churn")
    assert (settings.event_source, settings.event_detail_type) == (contract.DRIFT_EVENT_SOURCE,
                                                                    contract.DRIFT_EVENT_DETAIL_TYPE)


def test_a_step_botocore_would_refuse_is_a_program_time_error(shipped_capture: Callable[[str], CapturedSize]) -> None:
    arguments = drift_step(shipped_capture("medium"))
    validate_step_arguments(arguments)
    arguments["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = "one"
    with pytest.raises(DriftDefinitionError, match="InstanceCount"):
        validate_step_arguments(arguments)


def test_a_schedule_per_use_case_starts_the_drift_pipeline(shipped_capture: Callable[[str], CapturedSize]) -> None:
    captured = shipped_capture("medium")
    use_case = next(u for u in captured.configs[0].use_cases if u.name == "churn")
    schedule = one(captured, "aws:scheduler/schedule:Schedule", "ops-churn-drift")
    assert schedule.inputs["scheduleExpression"] == use_case.drift_schedule
    target = schedule.inputs["target"]
    assert target["arn"] == naming.scheduler_universal_target("aws", "sagemaker", "startPipelineExecution")
    assert json.loads(target["input"])["PipelineName"] == contract.drift_pipeline_name("churn")
    role = one(captured, "aws:iam/role:Role", "ops-churn-drift-schedule")
    assert target["roleArn"] == role.outputs["arn"]
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "scheduler.amazonaws.com"}


def drift_event(settings: Any, **outcome: Any) -> EventMessageType:
    """An event as the check puts it (`aws.put_event`), with the detail its own `event_detail` writes."""
    detail = event_detail(settings, CheckOutcome(reason="test", **outcome))
    return {"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "account": "666666666666",
            "time": "2026-12-03T10:00:00Z", "region": "eu-west-1", "resources": [],
            "source": settings.event_source, "detail-type": settings.event_detail_type, "detail": detail}


def test_the_rule_starts_retraining_exactly_on_the_checks_retrain_events(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    captured = shipped_capture("medium")
    settings = settings_of(drift_step(captured))
    rule = one(captured, "aws:cloudwatch/eventRule:EventRule", "ops-churn-retrain-on-drift")
    pattern = EventPattern.load(rule.inputs["eventPattern"])
    assert pattern.matches_event(drift_event(settings, drifted=True, retrain=True, drift_share=0.6))
    assert not pattern.matches_event(drift_event(settings, drifted=True, retrain=False, drift_share=0.6)), (
        "drifted during a cooldown or with a retraining in flight: the check said no")
    assert not pattern.matches_event(drift_event(settings, drifted=False, retrain=False, drift_share=0.0))
    other = drift_event(settings, drifted=True, retrain=True)
    other["detail"]["useCase"] = "fraud"
    assert not pattern.matches_event(other)
    forged = drift_event(settings, drifted=True, retrain=True)
    forged["source"] = "someone.else"
    assert not pattern.matches_event(forged)


def test_the_rule_targets_the_retraining_pipeline_with_its_own_role_retries_and_a_dead_letter_queue(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    captured = shipped_capture("medium")
    target = one(captured, "aws:cloudwatch/eventTarget:EventTarget", "ops-churn-retrain-on-drift")
    pipeline = one(captured, "aws:sagemaker/pipeline:Pipeline", "ops-churn-retraining")
    assert target.inputs["arn"] == pipeline.outputs["arn"]
    role = one(captured, "aws:iam/role:Role", "ops-churn-retrain-on-drift-role")
    assert target.inputs["roleArn"] == role.outputs["arn"]
    policy = one(captured, "aws:iam/rolePolicy:RolePolicy", "ops-churn-retrain-on-drift-role")
    [grant] = json.loads(policy.inputs["policy"])["Statement"]
    assert grant["Action"] == ["sagemaker:StartPipelineExecution"] and grant["Resource"] == [pipeline.outputs["arn"]]
    queue = one(captured, "aws:sqs/queue:Queue", "ops-churn-retrain-on-drift")
    assert queue.inputs["name"] == contract.retrain_on_drift_dead_letter_queue_name("churn")
    assert target.inputs["deadLetterConfig"] == {"arn": queue.outputs["arn"]}
    assert target.inputs["retryPolicy"]["maximumRetryAttempts"] > 0
    queue_policy = statements(one(captured, "aws:sqs/queuePolicy:QueuePolicy", "ops-churn-retrain-on-drift")
                              .inputs["policy"])
    parks = queue_policy["EventBridgeParksUndeliverableDriftEvents"]
    assert parks["Principal"] == {"Service": "events.amazonaws.com"}
    rule = one(captured, "aws:cloudwatch/eventRule:EventRule", "ops-churn-retrain-on-drift")
    assert parks["Condition"] == {"ArnEquals": {"aws:SourceArn": rule.outputs["arn"]}}


def test_without_drift_monitoring_nothing_is_replicated_or_checked(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    captured = shipped_capture("small")
    assert not grants.monitors_drift(captured.configs[0])
    assert not resources(captured, REPLICATION)
    assert not resources(captured, "aws:cloudwatch/eventRule:EventRule", "ops-churn-retrain-on-drift")
    assert not resources(captured, "aws:s3/bucket:Bucket", "ops-data-capture")

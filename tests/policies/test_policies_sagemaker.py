"""SageMaker rules: Security Hub SageMaker.1-5, .9, .11, .14; Studio; endpoint encryption and data capture;
prod endpoints that autoscale and deploy as canaries; pipelines that register only for manual approval."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from tests.policies.policy_harness import LARGE, At, doc, judge, unknown

KEY = f"arn:aws:kms:eu-west-1:{LARGE['prod']}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CAPTURE: dict[str, Any] = {"enable_capture": True, "initial_sampling_percentage": 100,
                           "destination_s3_uri": "s3://capture/churn", "kms_key_id": KEY,
                           "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}]}
CANARY: dict[str, Any] = {
    "blue_green_update_policy": {"traffic_routing_configuration": {
        "type": "CANARY", "canary_size": {"type": "CAPACITY_PERCENT", "value": 10}, "wait_interval_in_seconds": 600}},
    "auto_rollback_configuration": {"alarms": [{"alarm_name": "churn-prod-5xx-errors"}]},
}


def serving(tier: str = "prod", *, isolation: bool | None = True, model_tags: dict[str, str] | None = None,
            instances: Any = 2, kms: bool = True, capture: Any = CAPTURE, deployment: Any = CANARY,
            alarms: tuple[str, ...] = ("churn-prod-5xx-errors",), scaling: tuple[Any, Any] | None = (2, 4),
            scaling_policy: bool = True, serverless: bool = False) -> Any:
    """An endpoint as the platform serves one: a model, its config, the endpoint, rollback alarms, autoscaling."""
    def program(at: At) -> None:
        model = aws.sagemaker.Model("churn", execution_role_arn="arn:aws:iam::888888888888:role/model",
                                    enable_network_isolation=isolation, tags=model_tags,
                                    primary_container={"image": "image-uri"}, opts=at(tier))
        variant: aws.sagemaker.EndpointConfigurationProductionVariantArgsDict = {
            "variant_name": "AllTraffic", "model_name": model.name}
        if serverless:
            variant["serverless_config"] = {"max_concurrency": 5, "memory_size_in_mb": 2048}
        else:
            variant.update({"instance_type": "ml.m5.large", "initial_instance_count": instances})
        config = aws.sagemaker.EndpointConfiguration(
            "churn", production_variants=[variant], kms_key_arn=KEY if kms else None,
            data_capture_config=capture, opts=at(tier))
        for alarm in alarms:
            aws.cloudwatch.MetricAlarm(alarm, name=alarm, namespace="AWS/SageMaker", metric_name="Invocation5XXErrors",
                                       comparison_operator="GreaterThanThreshold", evaluation_periods=1, period=60,
                                       statistic="Sum", threshold=5, opts=at(tier))
        endpoint = aws.sagemaker.Endpoint("churn", name=f"churn-{tier}", endpoint_config_name=config.name,
                                          deployment_config=deployment, opts=at(tier))
        if scaling is not None:
            target = aws.appautoscaling.Target(
                "churn", service_namespace="sagemaker", scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                resource_id=pulumi.Output.concat("endpoint/", endpoint.name, "/variant/AllTraffic"),
                min_capacity=scaling[0], max_capacity=scaling[1], opts=at(tier))
            if scaling_policy:
                aws.appautoscaling.Policy(
                    "churn", policy_type="TargetTrackingScaling", service_namespace=target.service_namespace,
                    scalable_dimension=target.scalable_dimension, resource_id=target.resource_id,
                    target_tracking_scaling_policy_configuration={
                        "target_value": 100, "predefined_metric_specification": {
                            "predefined_metric_type": "SageMakerVariantInvocationsPerInstance"}}, opts=at(tier))
    return program


SERVING_RULES = {"sagemaker-endpoint-instance-count", "sagemaker-model-network-isolation",
                 "sagemaker-endpoint-config-kms", "sagemaker-endpoint-data-capture",
                 "sagemaker-prod-endpoint-autoscaling", "sagemaker-prod-endpoint-safe-deployment"}


@pytest.mark.parametrize("tier", ["prod", "staging"])
def test_a_production_endpoint_as_the_platform_serves_it_passes(tier: str) -> None:
    verdicts = judge(serving(tier, alarms=(f"churn-{tier}-5xx-errors",), deployment={
        **CANARY, "auto_rollback_configuration": {"alarms": [{"alarm_name": f"churn-{tier}-5xx-errors"}]}}),
        stack=tier)
    assert not SERVING_RULES & (verdicts.mandatory | verdicts.undecided)


@pytest.mark.parametrize("program, rule, expected", [
    (serving(instances=1), "sagemaker-endpoint-instance-count", "1"),
    (serving(instances=None), "sagemaker-endpoint-instance-count", "no"),
    (serving(isolation=False), "sagemaker-model-network-isolation", "enableNetworkIsolation"),
    (serving(isolation=None), "sagemaker-model-network-isolation", "enableNetworkIsolation"),
    (serving(isolation=False, model_tags={"mlops:network-isolation-exemption": " "}),
     "sagemaker-model-network-isolation", "enableNetworkIsolation"),
    (serving(kms=False), "sagemaker-endpoint-config-kms", "kmsKeyArn"),
    (serving(capture=None), "sagemaker-endpoint-data-capture", "captures no data"),
    (serving(capture={**CAPTURE, "enable_capture": False}), "sagemaker-endpoint-data-capture", "switched off"),
    (serving(capture={**CAPTURE, "initial_sampling_percentage": 0}), "sagemaker-endpoint-data-capture",
     "samples nothing"),
    (serving(capture={**CAPTURE, "kms_key_id": None}), "sagemaker-endpoint-data-capture", "kmsKeyId"),
    (serving(scaling=None), "sagemaker-prod-endpoint-autoscaling", "no autoscaling target"),
    (serving(scaling=(1, 4)), "sagemaker-prod-endpoint-autoscaling", "minCapacity of at least 2"),
    (serving(scaling=(3, 2)), "sagemaker-prod-endpoint-autoscaling", "below its minCapacity"),
    (serving(scaling_policy=False), "sagemaker-prod-endpoint-autoscaling", "no scaling policy"),
    (serving(deployment=None), "sagemaker-prod-endpoint-safe-deployment", "no blue/green policy"),
    (serving(deployment={**CANARY, "blue_green_update_policy": {
        "traffic_routing_configuration": {"type": "ALL_AT_ONCE"}}}),
     "sagemaker-prod-endpoint-safe-deployment", "all at once"),
    (serving(deployment={"blue_green_update_policy": CANARY["blue_green_update_policy"]}),
     "sagemaker-prod-endpoint-safe-deployment", "no auto-rollback alarms"),
], ids=["one-instance", "no-instance-count", "isolation-off", "isolation-unset", "blank-exemption", "no-kms",
        "no-capture", "capture-off", "capture-nothing", "capture-unencrypted", "no-scaling", "scales-to-one",
        "max-below-min", "no-scaling-policy", "no-deployment-config", "all-at-once", "no-rollback-alarms"])
def test_endpoint_weaknesses_are_blocked(program: Any, rule: str, expected: str) -> None:
    verdicts = judge(program)
    assert rule in verdicts.mandatory
    assert any(expected in message for message in verdicts.messages(rule)), verdicts.messages(rule)


def test_a_model_whose_container_cannot_run_isolated_carries_its_documented_exception() -> None:
    verdicts = judge(serving(isolation=False, model_tags={
        "mlops:network-isolation-exemption": "calls the partner scoring API at inference"}))
    assert "sagemaker-model-network-isolation" not in verdicts.mandatory


def test_a_rollback_alarm_defined_elsewhere_is_undecided() -> None:
    verdicts = judge(serving(alarms=()))
    assert "sagemaker-prod-endpoint-safe-deployment" in verdicts.undecided


def test_serverless_variants_have_no_instance_count_to_judge() -> None:
    verdicts = judge(serving(serverless=True))
    assert "sagemaker-endpoint-instance-count" not in verdicts.mandatory


def test_production_only_rules_leave_other_tiers_alone_and_dev_gets_advice() -> None:
    verdicts = judge(serving("dev", instances=1, capture=None, scaling=None, deployment=None), stack="dev")
    assert not SERVING_RULES & verdicts.mandatory
    assert verdicts.advisory >= {"sagemaker-endpoint-instance-count"}
    assert not {"sagemaker-endpoint-data-capture", "sagemaker-prod-endpoint-autoscaling"} & verdicts.advisory


def test_a_staging_endpoint_needs_capture_but_not_prods_autoscaling() -> None:
    verdicts = judge(serving("staging", capture=None, scaling=None), stack="staging")
    assert "sagemaker-endpoint-data-capture" in verdicts.mandatory
    assert "sagemaker-prod-endpoint-autoscaling" not in verdicts.mandatory


@pytest.mark.parametrize("tier", ["ops", "dev"])
def test_an_endpoint_another_tier_creates_in_the_prod_account_is_prod(tier: str) -> None:
    def program(at: At) -> None:
        aws.sagemaker.EndpointConfiguration("elsewhere", kms_key_arn=KEY, production_variants=[{
            "variant_name": "AllTraffic", "model_name": "m", "instance_type": "ml.m5.large",
            "initial_instance_count": 2}], opts=at.into(tier, LARGE["prod"]))
    assert "sagemaker-endpoint-data-capture" in judge(program, stack=tier).mandatory


# --- notebooks, monitoring, Studio -----------------------------------------------------------------------


def notebook(**overrides: Any) -> Any:
    settings = {"direct_internet_access": "Disabled", "root_access": "Disabled", "subnet_id": "subnet-1",
                "security_groups": ["sg-1"], **overrides}

    def program(at: At) -> None:
        aws.sagemaker.NotebookInstance("notebook", instance_type="ml.t3.medium", role_arn="arn:aws:iam::1:role/r",
                                       kms_key_id=KEY, opts=at("ops"), **settings)
    return program


NOTEBOOK_RULES = {"sagemaker-notebook-no-direct-internet", "sagemaker-notebook-in-vpc",
                  "sagemaker-notebook-no-root-access"}


def test_a_private_notebook_passes() -> None:
    assert not NOTEBOOK_RULES & judge(notebook(), stack="ops").mandatory


@pytest.mark.parametrize("overrides, rule", [
    ({"direct_internet_access": "Enabled"}, "sagemaker-notebook-no-direct-internet"),
    ({"direct_internet_access": None}, "sagemaker-notebook-no-direct-internet"),
    ({"subnet_id": None, "security_groups": None}, "sagemaker-notebook-in-vpc"),
    ({"root_access": "Enabled"}, "sagemaker-notebook-no-root-access"),
    ({"root_access": None}, "sagemaker-notebook-no-root-access"),
])
def test_notebook_weaknesses_are_blocked(overrides: dict[str, Any], rule: str) -> None:
    assert rule in judge(notebook(**overrides), stack="ops").mandatory


def monitoring(network: Any = None, schedule: bool = True, schedule_name: str | None = None) -> Any:
    network = {"enable_inter_container_traffic_encryption": True, "enable_network_isolation": True} \
        if network is None else network

    def program(at: At) -> None:
        definition = aws.sagemaker.DataQualityJobDefinition(
            "quality", name="churn-quality", role_arn="arn:aws:iam::1:role/r", network_config=network,
            data_quality_app_specification={"image_uri": "monitor-image"},
            data_quality_job_input={"endpoint_input": {"endpoint_name": "churn-prod"}},
            data_quality_job_output_config={"monitoring_outputs": {"s3_output": {"s3_uri": "s3://b/q"}}},
            job_resources={"cluster_config": {"instance_count": 1, "instance_type": "ml.m5.large",
                                              "volume_size_in_gb": 20}}, opts=at("ops"))
        if schedule:
            name = definition.name if schedule_name is None else schedule_name
            aws.sagemaker.MonitoringSchedule("quality", monitoring_schedule_config={
                "monitoring_job_definition_name": name, "monitoring_type": "DataQuality",
                "schedule_config": {"schedule_expression": "cron(0 * ? * * *)"}}, opts=at("ops"))
    return program


MONITORING_RULES = {"sagemaker-monitoring-traffic-encryption", "sagemaker-monitoring-network-isolation",
                    "sagemaker-monitoring-schedule-network-isolation"}


def test_isolated_encrypted_monitoring_passes() -> None:
    verdicts = judge(monitoring(), stack="ops")
    assert not MONITORING_RULES & (verdicts.mandatory | verdicts.undecided)


@pytest.mark.parametrize("network, rules", [
    ({"enable_inter_container_traffic_encryption": False, "enable_network_isolation": True},
     {"sagemaker-monitoring-traffic-encryption"}),
    ({"enable_network_isolation": True}, {"sagemaker-monitoring-traffic-encryption"}),
    ({"enable_inter_container_traffic_encryption": True, "enable_network_isolation": False},
     {"sagemaker-monitoring-network-isolation", "sagemaker-monitoring-schedule-network-isolation"}),
    ({}, MONITORING_RULES),
])
def test_monitoring_weaknesses_are_blocked(network: dict[str, Any], rules: set[str]) -> None:
    verdicts = judge(monitoring(network), stack="ops")
    assert verdicts.mandatory & MONITORING_RULES == rules


def test_a_schedule_of_a_job_definition_outside_the_stack_is_undecided() -> None:
    verdicts = judge(monitoring(schedule_name="defined-elsewhere"), stack="ops")
    assert "sagemaker-monitoring-schedule-network-isolation" in verdicts.undecided


def studio(**overrides: Any) -> Any:
    settings = {"app_network_access_type": "VpcOnly", "kms_key_id": KEY, **overrides}

    def program(at: At) -> None:
        aws.sagemaker.Domain("studio", domain_name="mlops-platform", auth_mode="IAM", vpc_id="vpc-1",
                             subnet_ids=["subnet-1"], default_user_settings={"execution_role": "arn:r"},
                             opts=at("dev", protect=True), **settings)
    return program


def test_a_private_encrypted_studio_passes() -> None:
    verdicts = judge(studio(), stack="dev")
    assert not {"sagemaker-studio-vpc-only", "sagemaker-studio-kms"} & (verdicts.advisory | verdicts.mandatory)


@pytest.mark.parametrize("overrides, rule", [
    ({"app_network_access_type": "PublicInternetOnly"}, "sagemaker-studio-vpc-only"),
    ({"app_network_access_type": None}, "sagemaker-studio-vpc-only"),
    ({"kms_key_id": None}, "sagemaker-studio-kms"),
])
def test_studio_weaknesses_are_advised_in_dev_and_blocked_elsewhere(overrides: dict[str, Any], rule: str) -> None:
    verdicts = judge(studio(**overrides), stack="dev")
    assert rule in verdicts.advisory and rule not in verdicts.mandatory

    def elsewhere(at: At) -> None:
        settings = {"app_network_access_type": "VpcOnly", "kms_key_id": KEY, **overrides}
        aws.sagemaker.Domain("studio", domain_name="x", auth_mode="IAM", vpc_id="vpc-1", subnet_ids=["subnet-1"],
                             default_user_settings={"execution_role": "arn:r"}, opts=at("ops", protect=True),
                             **settings)
    assert rule in judge(elsewhere, stack="ops").mandatory


# --- pipelines -------------------------------------------------------------------------------------------

PENDING = "PendingManualApproval"
GUARD = {"Sid": "RegisterOnlyPendingApproval", "Effect": "Allow", "Action": ["sagemaker:CreateModelPackage"],
         "Resource": "*", "Condition": {"StringEquals": {"sagemaker:ModelApprovalStatus": PENDING}}}


def definition(status: Any, default: str = PENDING, nested: bool = True) -> str:
    register = {"Name": "register", "Type": "RegisterModel",
                "Arguments": {"ModelPackageGroupName": "churn",
                              **({"ModelApprovalStatus": status} if status is not None else {})}}
    steps = [{"Name": "check", "Type": "Condition", "Arguments": {"IfSteps": [register], "ElseSteps": []}}] \
        if nested else [register]
    return json.dumps({"Version": "2020-12-01", "Steps": steps, "Parameters": [
        {"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": default}]})


def pipeline(pipeline_definition: Any, statements: tuple[dict[str, Any], ...] = (GUARD,),
             managed: tuple[str, ...] = (), role_in_stack: bool = True) -> Any:
    def program(at: At) -> None:
        role_arn: Any = "arn:aws:iam::555555555555:role/elsewhere"
        if role_in_stack:
            role = aws.iam.Role("pipeline", assume_role_policy=doc({
                "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}),
                opts=at("ops"))
            aws.iam.RolePolicy("pipeline", role=role.id, policy=doc(*statements), opts=at("ops"))
            for index, arn in enumerate(managed):
                aws.iam.RolePolicyAttachment(f"pipeline-{index}", role=role.name, policy_arn=arn, opts=at("ops"))
            role_arn = role.arn
        aws.sagemaker.Pipeline("retraining", pipeline_name="churn-retraining", pipeline_display_name="churn",
                               role_arn=role_arn, pipeline_definition=pipeline_definition, opts=at("ops"))
    return program


PIPELINE_RULE = "sagemaker-pipeline-pending-approval"


@pytest.mark.parametrize("program", [
    pipeline(definition(PENDING)),
    pipeline(definition(None)),
    pipeline(definition({"Get": "Parameters.ModelApprovalStatus"})),
    pipeline(definition({"Get": "Parameters.ModelApprovalStatus"}), statements=({
        "Effect": "Deny", "Action": "sagemaker:CreateModelPackage", "Resource": "*",
        "Condition": {"StringNotEquals": {"sagemaker:ModelApprovalStatus": PENDING}}}, {
        "Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"})),
], ids=["literal", "aws-default", "guarded-parameter", "deny-guard"])
def test_pipelines_registering_only_pending_pass(program: Any) -> None:
    verdicts = judge(program, stack="ops")
    assert PIPELINE_RULE not in verdicts.mandatory | verdicts.undecided


@pytest.mark.parametrize("program, expected", [
    (pipeline(definition("Approved")), "registers models as Approved"),
    (pipeline(definition("Approved", nested=False)), "registers models as Approved"),
    (pipeline(definition({"Get": "Parameters.ModelApprovalStatus"}, default="Approved")), "by default"),
    (pipeline(definition({"Get": "Parameters.ModelApprovalStatus"}), statements=(
        {**GUARD, "Condition": {}},)), "without sagemaker:ModelApprovalStatus"),
    (pipeline(definition({"Get": "Parameters.ModelApprovalStatus"}), statements=(
        GUARD, {"Sid": "Everything", "Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"})), "Everything"),
    (pipeline("not json"), "not a valid JSON pipeline definition"),
], ids=["approved", "approved-top-level", "approved-default", "unguarded-role", "wildcard-grant", "invalid"])
def test_pipelines_that_could_register_approved_models_are_blocked(program: Any, expected: str) -> None:
    verdicts = judge(program, stack="ops")
    assert PIPELINE_RULE in verdicts.mandatory
    assert any(expected in message for message in verdicts.messages(PIPELINE_RULE)), verdicts.messages(PIPELINE_RULE)


@pytest.mark.parametrize("program", [
    pipeline(definition({"Get": "Parameters.ModelApprovalStatus"}), role_in_stack=False),
    pipeline(definition({"Get": "Parameters.ModelApprovalStatus"}),
             managed=("arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",)),
    pipeline(unknown()),
], ids=["role-elsewhere", "managed-policy-elsewhere", "unknown-definition"])
def test_pipelines_whose_guard_is_out_of_sight_are_undecided(program: Any) -> None:
    verdicts = judge(program, stack="ops")
    assert PIPELINE_RULE in verdicts.undecided and PIPELINE_RULE not in verdicts.mandatory


# --- feature groups --------------------------------------------------------------------------------------

FEATURE_KEY = f"arn:aws:kms:eu-west-1:{LARGE['artifact']}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FEATURE_RULES = {"sagemaker-feature-group-offline-store-kms", "sagemaker-feature-group-online-store-kms"}


def feature_group(tier: str = "artifact", offline_key: str | None = FEATURE_KEY, online: bool = True,
                  online_key: str | None = FEATURE_KEY) -> Any:
    """A feature group as the artifact tier builds one: an offline store in S3 and, switched on, an online store."""
    def program(at: At) -> None:
        storage: aws.sagemaker.FeatureGroupOfflineStoreConfigS3StorageConfigArgsDict = {"s3_uri": "s3://features/churn"}
        if offline_key is not None:
            storage["kms_key_id"] = offline_key
        online_config: aws.sagemaker.FeatureGroupOnlineStoreConfigArgsDict = {"enable_online_store": online}
        if online_key is not None:
            online_config["security_config"] = {"kms_key_id": online_key}
        aws.sagemaker.FeatureGroup(
            "churn-customers", feature_group_name="churn-customers", record_identifier_feature_name="customer_id",
            event_time_feature_name="event_time", role_arn=f"arn:aws:iam::{LARGE['artifact']}:role/fs",
            feature_definitions=[{"feature_name": "customer_id", "feature_type": "String"},
                                 {"feature_name": "event_time", "feature_type": "String"}],
            offline_store_config={"s3_storage_config": storage, "disable_glue_table_creation": False},
            online_store_config=online_config, opts=at(tier, protect=True))
    return program


def test_a_feature_group_with_both_stores_under_a_customer_key_passes() -> None:
    verdicts = judge(feature_group(), stack="artifact")
    assert not FEATURE_RULES & (verdicts.mandatory | verdicts.advisory)


def test_an_offline_store_without_a_customer_key_is_refused() -> None:
    verdicts = judge(feature_group(offline_key=None), stack="artifact")
    assert verdicts.mandatory & FEATURE_RULES == {"sagemaker-feature-group-offline-store-kms"}


def test_an_enabled_online_store_without_a_customer_key_is_refused() -> None:
    verdicts = judge(feature_group(online_key=None), stack="artifact")
    assert verdicts.mandatory & FEATURE_RULES == {"sagemaker-feature-group-online-store-kms"}


def test_a_switched_off_online_store_needs_no_key() -> None:
    verdicts = judge(feature_group(online=False, online_key=None), stack="artifact")
    assert not FEATURE_RULES & (verdicts.mandatory | verdicts.advisory)


def test_feature_store_keys_are_advised_in_dev() -> None:
    verdicts = judge(feature_group(tier="dev", offline_key=None, online_key=None), stack="dev", config="small")
    assert verdicts.advisory >= FEATURE_RULES and not FEATURE_RULES & verdicts.mandatory

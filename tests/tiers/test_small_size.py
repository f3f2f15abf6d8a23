"""The small size end to end, as captured: versioning, Studio, retraining, registry, serving, deploy on approval."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from mlops_platform import contract, events
from mlops_platform.components.function import FUNCTIONS_DIR
from mlops_platform.functions.deploy_on_approval import Settings, update_endpoint_request
from mlops_platform.offline.capture import CapturedResource
from mlops_platform.offline.preview import Preview, StackPreview

SIZES = ("small", "medium", "large")


def stack_of(preview: Preview, name: str) -> StackPreview:
    return next(stack for stack in preview.stacks if stack.name == name)


def of_type(stack: StackPreview, type_token: str) -> list[CapturedResource]:
    return [r for r in stack.captured.resources if r.type == type_token]


def one(stack: StackPreview, type_token: str, name_part: str = "") -> CapturedResource:
    matches = [r for r in of_type(stack, type_token) if name_part in r.name]
    assert len(matches) == 1, f"{len(matches)} {type_token} named like {name_part!r}"
    return matches[0]


def statements(resource: CapturedResource, key: str = "policy") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(resource.inputs[key])["Statement"]
    return found


def by_sid(resource: CapturedResource) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements(resource) if "Sid" in s}


@pytest.fixture(scope="module")
def small(shipped_preview: Callable[..., Preview]) -> Preview:
    """As a new account deploys it: no model approved yet."""
    return shipped_preview("small")


@pytest.fixture(scope="module")
def small_serving(shipped_preview: Callable[..., Preview]) -> Preview:
    """Once version 1 of the use case is approved and recorded in the prod tier's SSM state."""
    return shipped_preview("small", serving=True)


ENDPOINT_RESOURCES = ("aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
                      "aws:sagemaker/endpoint:Endpoint", "aws:appautoscaling/target:Target")


def test_a_new_account_gets_the_api_and_the_deployer_but_no_endpoint(small: Preview) -> None:
    prod = stack_of(small, "prod")
    assert [r.type for r in prod.captured.resources if r.type in ENDPOINT_RESOURCES] == []
    invoke = by_sid(one(prod, "aws:iam/rolePolicy:RolePolicy", "api"))["InvokeOneEndpoint"]
    assert invoke["Resource"] == ["arn:aws:sagemaker:eu-west-1:111111111111:endpoint/churn-prod"]
    assert one(prod, "aws:iam/role:Role", "prod-churn-model").inputs["name"] == "mlops-prod-churn-model"
    variables = one(prod, "aws:lambda/function:Function", "deployer").inputs["environment"]["variables"]
    settings = Settings.from_env(variables)
    assert settings.served_model_parameter == contract.served_model_parameter("prod", "churn")
    assert settings.stack_name == "prod"


def test_the_endpoint_serves_the_version_recorded_in_the_tiers_state(small_serving: Preview) -> None:
    prod = stack_of(small_serving, "prod")
    model = one(prod, "aws:sagemaker/model:Model")
    assert model.inputs["primaryContainer"]["modelPackageName"] == (
        "arn:aws:sagemaker:eu-west-1:111111111111:model-package/churn/1")
    config = one(prod, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert "name" not in model.inputs and "name" not in config.inputs, (
        "provider-named, so a replacement is created before the old one is deleted")
    endpoint = one(prod, "aws:sagemaker/endpoint:Endpoint")
    assert endpoint.ignore_changes == (), "every `pulumi up` builds the version served, never a stale config"
    assert endpoint.inputs["endpointConfigName"] == config.outputs["name"]


def test_images_are_scanned_immutable_kms_encrypted_and_expire(small: Preview) -> None:
    repository = one(stack_of(small, "dev"), "aws:ecr/repository:Repository")
    assert repository.inputs["name"] == "mlops-platform/churn"
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS"
    assert repository.protect
    rules = json.loads(one(stack_of(small, "dev"), "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])
    assert [rule["selection"]["tagStatus"] for rule in rules["rules"]] == ["untagged", "any"]


def test_registry_has_a_group_per_use_case_and_a_separate_approver(small: Preview) -> None:
    dev = stack_of(small, "dev")
    group = one(dev, "aws:sagemaker/modelPackageGroup:ModelPackageGroup")
    assert group.inputs["modelPackageGroupName"] == "churn" and group.protect
    approver = one(dev, "aws:iam/rolePolicy:RolePolicy", "model-registry-approver")
    actions = {action for s in statements(approver) for action in s["Action"]}
    assert actions == {"sagemaker:UpdateModelPackage", "sagemaker:DescribeModelPackage",
                       "sagemaker:ListModelPackages", "sagemaker:DescribeModelPackageGroup"}
    assert dev.captured.outputs["artifactModelApproverRoleArn"].endswith(":role/mlops-artifact-model-approver")


def test_studio_is_vpc_only_encrypted_and_has_a_profile_per_data_scientist(small: Preview) -> None:
    dev = stack_of(small, "dev")
    domain = one(dev, "aws:sagemaker/domain:Domain")
    assert domain.inputs["appNetworkAccessType"] == "VpcOnly"
    assert domain.inputs["kmsKeyId"] == one(dev, "aws:kms/key:Key", "dev-key").outputs["arn"]
    assert domain.inputs["retentionPolicy"] == {"homeEfsFileSystem": "Retain"}
    dev_subnets = {r.urn for r in of_type(dev, "aws:ec2/subnet:Subnet") if r.name.startswith("dev-")}
    assert len(domain.inputs["subnetIds"]) == 2 and len(dev_subnets) == 2, "two private subnets in two zones"
    users = {r.inputs["userProfileName"] for r in of_type(dev, "aws:sagemaker/userProfile:UserProfile")}
    assert users == {"alice", "bob"}


def test_data_scientists_register_only_pending_models_and_never_touch_endpoints(small: Preview) -> None:
    policy = by_sid(one(stack_of(small, "dev"), "aws:iam/rolePolicy:RolePolicy", "dev-studio-data-scientist"))
    register = policy["RegisterCandidatesOnlyPendingApproval"]
    assert register["Action"] == ["sagemaker:CreateModelPackage"]
    assert register["Condition"] == {"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}}
    assert policy["NeverApproveModels"]["Effect"] == "Deny"
    assert policy["NeverApproveModels"]["Action"] == ["sagemaker:UpdateModelPackage"]
    never = policy["NeverTouchEndpoints"]
    assert never["Effect"] == "Deny" and never["Resource"] == "*"
    assert {"sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:InvokeEndpoint"} <= set(never["Action"])
    assert policy["RunOwnPipelines"]["Resource"] == [
        "arn:aws:sagemaker:eu-west-1:111111111111:pipeline/churn-retraining"]


def test_network_has_no_route_to_the_internet_by_default(small: Preview) -> None:
    dev = stack_of(small, "dev")
    assert of_type(dev, "aws:ec2/natGateway:NatGateway") == []
    assert of_type(dev, "aws:ec2/internetGateway:InternetGateway") == []
    services = sorted(r.inputs["serviceName"].rsplit(".", 1)[-1] if "sagemaker" not in r.inputs["serviceName"]
                      else r.inputs["serviceName"].split("eu-west-1.")[1]
                      for r in of_type(dev, "aws:ec2/vpcEndpoint:VpcEndpoint") if r.name.startswith("dev-"))
    assert services == ["api", "dkr", "kms", "logs", "monitoring", "s3", "sagemaker.api", "sagemaker.runtime", "sts"]
    egress = [r.inputs for r in of_type(dev, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
              if r.name.startswith("dev-")]
    assert all(rule.get("cidrIpv4") in (None, "10.40.0.0/16") for rule in egress)


def test_retraining_pipeline_runs_on_schedule_with_its_own_role(small: Preview) -> None:
    dev = stack_of(small, "dev")
    pipeline = one(dev, "aws:sagemaker/pipeline:Pipeline")
    assert pipeline.inputs["pipelineName"] == "churn-retraining"
    role = one(dev, "aws:iam/role:Role", "churn-retraining-execution")
    assert pipeline.inputs["roleArn"] == role.outputs["arn"]
    definition = json.loads(pipeline.inputs["pipelineDefinition"])
    steps = [step["Name"] for step in definition["Steps"]]
    assert steps == ["preprocess", "train", "evaluate", "check-metric"]
    assert role.outputs["arn"] in pipeline.inputs["pipelineDefinition"]
    policy = by_sid(one(dev, "aws:iam/rolePolicy:RolePolicy", "churn-retraining-execution"))
    assert policy["RegisterOnlyPendingApproval"]["Condition"] == {
        "StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}}
    schedule = one(dev, "aws:scheduler/schedule:Schedule")
    assert schedule.inputs["scheduleExpression"] == "rate(7 days)"
    assert schedule.inputs["target"]["arn"] == "arn:aws:scheduler:::aws-sdk:sagemaker:startPipelineExecution"
    assert json.loads(schedule.inputs["target"]["input"])["PipelineName"] == "churn-retraining"
    start = by_sid(one(dev, "aws:iam/rolePolicy:RolePolicy", "churn-retraining-schedule"))["StartOnePipeline"]
    assert start["Resource"] == [pipeline.outputs["arn"]]
    scripts = {r.inputs["key"] for r in of_type(dev, "aws:s3/bucketObjectv2:BucketObjectv2")}
    assert scripts == {"code/churn/preprocess.py", "code/churn/evaluate.py"}
    assert dev.captured.outputs["opsRetrainingTriggers"] == {
        "churn": "aws sagemaker start-pipeline-execution --pipeline-name churn-retraining --region eu-west-1"}


def test_prod_endpoint_autoscales_and_deploys_as_a_canary_that_rolls_back(small_serving: Preview) -> None:
    prod = stack_of(small_serving, "prod")
    endpoint = one(prod, "aws:sagemaker/endpoint:Endpoint")
    assert endpoint.inputs["name"] == "churn-prod"
    policy = endpoint.inputs["deploymentConfig"]["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]
    assert policy == {"type": "CANARY", "canarySize": {"type": "CAPACITY_PERCENT", "value": 10},
                      "waitIntervalInSeconds": 600}
    alarms = {r.inputs["name"]: r.inputs for r in of_type(prod, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    rollback = [a["alarmName"] for a in endpoint.inputs["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]]
    assert rollback == ["churn-prod-5xx-errors", "churn-prod-model-latency-p99"]
    assert alarms["churn-prod-5xx-errors"]["metricName"] == "Invocation5XXErrors"
    assert alarms["churn-prod-model-latency-p99"]["extendedStatistic"] == "p99"
    assert alarms["churn-prod-5xx-errors"]["dimensions"] == {"EndpointName": "churn-prod", "VariantName": "AllTraffic"}
    target = one(prod, "aws:appautoscaling/target:Target")
    assert target.inputs["resourceId"] == "endpoint/churn-prod/variant/AllTraffic"
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 4)
    scaling = one(prod, "aws:appautoscaling/policy:Policy").inputs["targetTrackingScalingPolicyConfiguration"]
    assert scaling["predefinedMetricSpecification"] == {
        "predefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    config = one(prod, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert config.inputs["kmsKeyArn"] == one(prod, "aws:kms/key:Key").outputs["arn"]
    assert config.inputs["productionVariants"][0]["initialInstanceCount"] == 2
    model = one(prod, "aws:sagemaker/model:Model")
    assert model.inputs["enableNetworkIsolation"] is True


def test_inference_api_is_iam_authorized_throttled_and_logged(small_serving: Preview) -> None:
    prod = stack_of(small_serving, "prod")
    route = one(prod, "aws:apigatewayv2/route:Route")
    assert route.inputs["routeKey"] == "POST /invocations" and route.inputs["authorizationType"] == "AWS_IAM"
    stage = one(prod, "aws:apigatewayv2/stage:Stage")
    assert stage.inputs["accessLogSettings"]["destinationArn"].startswith("arn:aws:")
    assert stage.inputs["defaultRouteSettings"]["throttlingBurstLimit"] == 100
    integration = one(prod, "aws:apigatewayv2/integration:Integration")
    assert integration.inputs["payloadFormatVersion"] == "2.0"
    function = one(prod, "aws:lambda/function:Function", "api")
    assert function.inputs["handler"] == "mlops_platform.functions.inference.handler"
    assert function.inputs["environment"]["variables"] == {"ENDPOINT_NAME": "churn-prod"}
    invoke = by_sid(one(prod, "aws:iam/rolePolicy:RolePolicy", "api"))["InvokeOneEndpoint"]
    assert invoke["Resource"] == [one(prod, "aws:sagemaker/endpoint:Endpoint").outputs["arn"]]
    assert prod.captured.outputs["prodInferenceUrls"]["churn"].endswith("invocations")


def test_approval_deployer_queues_decisions_and_endpoint_states_and_retries_for_hours(small: Preview) -> None:
    prod = stack_of(small, "prod")
    patterns = {r.inputs["name"]: json.loads(r.inputs["eventPattern"])
                for r in of_type(prod, "aws:cloudwatch/eventRule:EventRule")}
    assert patterns == {"churn-prod-model-decided": events.model_package_decided_pattern("churn"),
                        "churn-prod-in-service": events.endpoint_in_service_pattern("churn-prod")}
    queues = {q.inputs["name"]: q for q in of_type(prod, "aws:sqs/queue:Queue")}
    approvals, dlq = queues["churn-prod-approvals"], queues["churn-prod-deploy-dlq"]
    for target in of_type(prod, "aws:cloudwatch/eventTarget:EventTarget"):
        assert target.inputs["arn"] == approvals.outputs["arn"]
        assert target.inputs["deadLetterConfig"] == {"arn": dlq.outputs["arn"]}
    policy = one(prod, "aws:sqs/queuePolicy:QueuePolicy", "DeploymentEvents")
    sources = statements(policy)[0]["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sorted(sources) == sorted(r.outputs["arn"] for r in of_type(prod, "aws:cloudwatch/eventRule:EventRule"))
    redrive = json.loads(approvals.inputs["redrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq.outputs["arn"]
    retry_hours = redrive["maxReceiveCount"] * approvals.inputs["visibilityTimeoutSeconds"] / 3600
    canary_hours = 2 * 600 / 3600
    assert retry_hours >= 4 > canary_hours, "a busy endpoint is retried far longer than a canary takes"
    assert dlq.inputs["messageRetentionSeconds"] == 14 * 24 * 3600, "SQS's maximum"
    assert dlq.inputs["messageRetentionSeconds"] > approvals.inputs["messageRetentionSeconds"] > retry_hours * 3600
    mapping = one(prod, "aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mapping.inputs["eventSourceArn"] == approvals.outputs["arn"] and mapping.inputs["batchSize"] == 1
    alarm = next(r for r in of_type(prod, "aws:cloudwatch/metricAlarm:MetricAlarm")
                 if r.inputs["namespace"] == "AWS/SQS")
    assert alarm.inputs["dimensions"] == {"QueueName": dlq.outputs["name"]}
    function_timeout = one(prod, "aws:lambda/function:Function", "deployer").inputs["timeout"]
    assert approvals.inputs["visibilityTimeoutSeconds"] >= 6 * function_timeout, "AWS's advice for SQS sources"


def test_deployer_environment_is_exactly_what_its_handler_reads(small: Preview) -> None:
    """The program writes the Lambda's settings; the handler reads them: one set of names on both sides."""
    from mlops_platform.functions import deploy_on_approval

    function = one(stack_of(small, "prod"), "aws:lambda/function:Function", "deployer")
    variables = function.inputs["environment"]["variables"]
    settings = deploy_on_approval.Settings.from_env(variables)
    assert settings.endpoint_name == "churn-prod"
    assert settings.model_package_group_name == contract.model_package_group_name("churn")
    assert list(settings.rollback_alarm_names) == ["churn-prod-5xx-errors", "churn-prod-model-latency-p99"]
    assert (FUNCTIONS_DIR / "deploy_on_approval.py").is_file()


@pytest.mark.parametrize("size", SIZES)
def test_no_policy_allows_a_wildcard_action(size: str, shipped_preview: Callable[..., Preview]) -> None:
    """The permissions boundary grants nothing (it caps what platform roles may do, per service): only `*` itself
    is refused there."""
    for stack in shipped_preview(size).stacks:
        for resource in stack.captured.resources:
            document = resource.inputs.get("policy")
            if resource.type not in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy") or not document:
                continue
            is_boundary = resource.inputs.get("name") == contract.permissions_boundary_name()
            for statement in json.loads(document)["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if statement["Effect"] == "Allow":
                    assert not [a for a in actions if a == "*" or (a.endswith(":*") and not is_boundary)], resource.urn


def test_pipeline_reads_the_data_tiers_datasets_and_tracks_no_experiments(small: Preview) -> None:
    dev = stack_of(small, "dev")
    definition = json.loads(one(dev, "aws:sagemaker/pipeline:Pipeline").inputs["pipelineDefinition"])
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    assert defaults["InputDataUrl"] == f"s3://{dev.captured.outputs['dataDatasetBucketName']}/churn/input/"
    assert defaults["MetricThreshold"] == 0.75
    assert definition.get("PipelineExperimentConfig") is None


def preview_with(tmp_path: Any, body: str) -> Preview:
    from pathlib import Path

    from mlops_platform.offline.preview import run_preview
    from mlops_platform.offline.stack_config import load_project_config

    override = Path(tmp_path) / "Pulumi.override.yaml"
    override.write_text("config:\n" + body)
    root = Path(__file__).resolve().parents[2]
    return run_preview(load_project_config(root, "small", override), only_stack="dev", evaluate_policies=False)


def test_code_lives_behind_a_connection_by_default(small: Preview) -> None:
    dev = stack_of(small, "dev")
    connection = one(dev, "aws:codeconnections/connection:Connection")
    assert connection.inputs["providerType"] == "GitHub"
    assert dev.captured.outputs["cicdCodeSourceLocation"] == connection.outputs["arn"]
    assert of_type(dev, "aws:codecommit/repository:Repository") == []


def test_codecommit_and_nat_gateway_are_config_switches(tmp_path: Any) -> None:
    dev = stack_of(preview_with(tmp_path, "  mlops-platform:codeRepository: {provider: CodeCommit, name: ml-code}\n"
                                          "  mlops-platform:studio: {natGateway: true}\n"), "dev")
    repository = one(dev, "aws:codecommit/repository:Repository")
    assert repository.inputs["repositoryName"] == "ml-code"
    assert repository.inputs["kmsKeyId"] == one(dev, "aws:kms/key:Key", "cicd-key").outputs["arn"]
    assert of_type(dev, "aws:codeconnections/connection:Connection") == []
    nat = one(dev, "aws:ec2/natGateway:NatGateway")
    route = next(r for r in of_type(dev, "aws:ec2/route:Route") if r.inputs.get("natGatewayId"))
    assert route.inputs["natGatewayId"].startswith("nat-") and nat.urn in route.dependencies
    assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
    assert nat.name.startswith("dev-network"), "only Studio's network gets internet egress, not the pipelines'"


def test_prod_captures_every_request_and_the_deployer_keeps_capturing(small_serving: Preview) -> None:
    prod = stack_of(small_serving, "prod")
    capture = one(prod, "aws:sagemaker/endpointConfiguration:EndpointConfiguration").inputs["dataCaptureConfig"]
    bucket = one(prod, "aws:s3/bucket:Bucket", "data-capture")
    assert capture["destinationS3Uri"] == f"s3://{bucket.outputs['bucket']}/churn/prod/", (
        "under <use case>/<tier>/: the key replication keeps in the ops capture bucket")
    assert capture["enableCapture"] is True and capture["initialSamplingPercentage"] == 100
    assert capture["kmsKeyId"] == one(prod, "aws:kms/key:Key").outputs["arn"]
    assert bucket.protect, "captured traffic is data: protected outside dev"
    from mlops_platform.functions import deploy_on_approval

    variables = one(prod, "aws:lambda/function:Function", "deployer").inputs["environment"]["variables"]
    assert deploy_on_approval.Settings.from_env(variables).data_capture_s3_uri == capture["destinationS3Uri"]


def test_the_endpoint_and_the_deployer_share_one_canary_policy(small_serving: Preview) -> None:
    prod = stack_of(small_serving, "prod")
    endpoint = one(prod, "aws:sagemaker/endpoint:Endpoint")
    env = one(prod, "aws:lambda/function:Function", "deployer").inputs["environment"]["variables"]
    deployer = update_endpoint_request(Settings.from_env(env), "any")["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    policy = endpoint.inputs["deploymentConfig"]["blueGreenUpdatePolicy"]
    assert policy["terminationWaitInSeconds"] == deployer["TerminationWaitInSeconds"]
    assert policy["maximumExecutionTimeoutInSeconds"] == deployer["MaximumExecutionTimeoutInSeconds"]
    waits = policy["terminationWaitInSeconds"] + policy["trafficRoutingConfiguration"]["waitIntervalInSeconds"]
    assert waits < policy["maximumExecutionTimeoutInSeconds"]


def test_the_deployer_dead_letter_alarm_notifies_an_encrypted_topic(small: Preview) -> None:
    prod = stack_of(small, "prod")
    topic = one(prod, "aws:sns/topic:Topic", "deployer")
    key = one(prod, "aws:kms/key:Key")
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    alarm = next(r for r in of_type(prod, "aws:cloudwatch/metricAlarm:MetricAlarm")
                 if r.inputs["namespace"] == "AWS/SQS")
    assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]]
    grant = next(s for s in statements(key) if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"})
    assert set(grant["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}


def test_serving_log_groups_are_encrypted_with_the_tier_key_which_admits_cloudwatch_logs(small: Preview) -> None:
    prod = stack_of(small, "prod")
    key = one(prod, "aws:kms/key:Key")
    groups = of_type(prod, "aws:cloudwatch/logGroup:LogGroup")
    assert {g.inputs["name"].split("/")[2] for g in groups} == {"lambda", "apigateway"}
    assert all(g.inputs.get("kmsKeyId") == key.outputs["arn"] for g in groups), [g.name for g in groups]
    logs = next(s for s in statements(key) if s["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"})
    account = key.outputs["arn"].split(":")[4]
    assert logs["Condition"] == {"ArnLike": {
        "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:eu-west-1:{account}:log-group:*"}}
    assert "kms:Encrypt" in logs["Action"] and not any("*" in action for action in logs["Action"])

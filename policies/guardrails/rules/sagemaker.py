"""SageMaker guardrails: the Security Hub SageMaker controls that pulumi-aws can express (notebooks: .1-.3;
endpoints: .4; models: .5; data quality job definitions: .9, .11; monitoring schedules: .14), the Studio
domain's network and key, endpoint encryption and data capture, production endpoints that scale and deploy
as canaries, and pipelines that register models only for manual approval.

pulumi-aws has no resources for model bias, model explainability or model quality job definitions, so
SageMaker.10, .12, .13 and .15 cannot be expressed here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, Severity

from guardrails.framework import DevMode, Rule, StackView, Subject, Undecided, identities, known, refers_to
from guardrails.platform import platform
from mlops_platform import topology
from mlops_platform.iam_policy import DocumentError, Statement, parse, strings

NOTEBOOK = frozenset({"aws:sagemaker/notebookInstance:NotebookInstance"})
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
MODEL = "aws:sagemaker/model:Model"
DOMAIN = frozenset({"aws:sagemaker/domain:Domain"})
DATA_QUALITY_JOB = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
MONITORING_SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
ALARMS = ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm")
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
MANAGED_POLICY = "aws:iam/policy:Policy"
FEATURE_GROUP = frozenset({"aws:sagemaker/featureGroup:FeatureGroup"})

VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
GRADUAL_TRAFFIC_ROUTING = ("CANARY", "LINEAR")
PENDING = "PendingManualApproval"
APPROVAL_CONDITION_KEY = "sagemaker:ModelApprovalStatus"
NETWORK_ISOLATION_EXEMPTION_TAG = "mlops:network-isolation-exemption"
"""A model whose container cannot run network-isolated (it must call out at inference time) carries this tag,
whose value says why: the documented, local exception to SageMaker.5."""

Messages = Iterator[str]


# --- notebooks (SageMaker.1-3) ---------------------------------------------------------------------------


def check_notebook_internet(subject: Subject) -> Messages:
    if subject.props.get("directInternetAccess") != "Disabled":
        yield "the notebook instance has direct internet access: set directInternetAccess 'Disabled'"


def check_notebook_vpc(subject: Subject) -> Messages:
    if not subject.props.get("subnetId"):
        yield "the notebook instance runs outside a VPC: set subnetId (and securityGroups)"


def check_notebook_root(subject: Subject) -> Messages:
    if subject.props.get("rootAccess") != "Disabled":
        yield "users have root access on the notebook instance: set rootAccess 'Disabled'"


# --- endpoints and models --------------------------------------------------------------------------------


def check_instance_count(subject: Subject) -> Messages:
    for variant in subject.props.get("productionVariants") or []:
        if variant.get("serverlessConfig"):
            continue
        count = variant.get("initialInstanceCount")
        if not isinstance(count, (int, float)) or count <= 1:
            yield (f"production variant {variant.get('variantName')!r} starts with {count or 'no'} instance(s): "
                   "use more than one, spread over Availability Zones")


def check_model_network_isolation(subject: Subject) -> Messages:
    if subject.props.get("enableNetworkIsolation") is True:
        return
    tags = subject.props.get("tags") or {}
    if str(tags.get(NETWORK_ISOLATION_EXEMPTION_TAG) or "").strip():
        return
    yield (f"the model's containers can reach the network: set enableNetworkIsolation true (or, where the "
           f"container cannot run isolated, tag {NETWORK_ISOLATION_EXEMPTION_TAG} with the reason)")


def check_endpoint_config_kms(subject: Subject) -> Messages:
    if not subject.props.get("kmsKeyArn"):
        yield "the endpoint's storage volumes are not encrypted with a customer key: set kmsKeyArn"


def check_data_capture(subject: Subject) -> Messages:
    if not subject.placement.in_tiers(topology.PRODUCTION_TIERS, platform()):
        return
    capture = subject.props.get("dataCaptureConfig")
    if not isinstance(capture, Mapping):
        yield "a staging/prod endpoint config captures no data: add dataCaptureConfig (Model Monitor needs it)"
        return
    if capture.get("enableCapture") is False:
        yield "data capture is switched off (enableCapture false)"
    sampling = capture.get("initialSamplingPercentage")
    if not isinstance(sampling, (int, float)) or sampling <= 0:
        yield "data capture samples nothing: set initialSamplingPercentage above 0"
    if not capture.get("destinationS3Uri"):
        yield "data capture has no destinationS3Uri"
    if not capture.get("kmsKeyId"):
        yield "captured requests and responses are not encrypted with a customer key: set kmsKeyId"
    if not capture.get("captureOptions"):
        yield "data capture names no captureOptions (Input and/or Output)"


# --- production endpoints --------------------------------------------------------------------------------


def _in_prod(stack: StackView, resource: PolicyResource) -> bool:
    return stack.placement(resource).in_tiers(frozenset({"prod"}), platform())


def _endpoint_config(stack: StackView, endpoint: PolicyResource) -> PolicyResource | None:
    for config in stack.of_type(ENDPOINT_CONFIG):
        if refers_to(endpoint, "endpointConfigName", config, identities(config, "name", "id")):
            return config
    return None


def _scaling_for(stack: StackView, endpoint: PolicyResource, kind: str, variant: str | None) -> list[PolicyResource]:
    """Application Auto Scaling targets (or policies) of an endpoint's variant: by the resource id
    `endpoint/<name>/variant/<variant>`, or by depending on the endpoint when that id is not known yet."""
    name = known(endpoint.props, "name")
    found = []
    for resource in stack.of_type(kind):
        resource_id = known(resource.props, "resourceId")
        if isinstance(resource_id, str) and isinstance(name, str):
            wanted = f"endpoint/{name}/variant/"
            if resource_id.startswith(wanted) and (variant is None or resource_id == wanted + variant):
                found.append(resource)
        elif any(dep.urn == endpoint.urn for dep in resource.property_dependencies.get("resourceId", [])):
            found.append(resource)
    return found


def check_prod_autoscaling(stack: StackView, endpoint: PolicyResource) -> Messages:
    if not _in_prod(stack, endpoint):
        return
    config = _endpoint_config(stack, endpoint)
    variants: list[str | None] = [None]
    if config is not None:
        variants = [str(v.get("variantName")) for v in config.props.get("productionVariants") or []] or [None]
    for variant in variants:
        label = f"variant {variant!r}" if variant else "the endpoint"
        targets = [t for t in _scaling_for(stack, endpoint, SCALING_TARGET, variant)
                   if t.props.get("scalableDimension") == VARIANT_DIMENSION]
        if not targets:
            yield f"{label} has no autoscaling target (sagemaker:variant:DesiredInstanceCount)"
            continue
        for target in targets:
            low, high = target.props.get("minCapacity"), target.props.get("maxCapacity")
            if not isinstance(low, (int, float)) or low < 2:
                yield f"{label} may scale in to {low} instance(s): a prod endpoint keeps minCapacity of at least 2"
            if not isinstance(high, (int, float)) or not isinstance(low, (int, float)) or high < low:
                yield f"{label} has maxCapacity {high} below its minCapacity {low}"
        if not _scaling_for(stack, endpoint, SCALING_POLICY, variant):
            yield f"{label} has an autoscaling target but no scaling policy, so it never scales"


def check_prod_safe_deployment(stack: StackView, endpoint: PolicyResource) -> Messages:
    if not _in_prod(stack, endpoint):
        return
    deployment = endpoint.props.get("deploymentConfig") or {}
    blue_green = deployment.get("blueGreenUpdatePolicy") or {}
    routing = (blue_green.get("trafficRoutingConfiguration") or {}).get("type")
    if routing not in GRADUAL_TRAFFIC_ROUTING:
        yield (f"updates shift traffic {'all at once' if routing else 'with no blue/green policy'}: use a "
               "blueGreenUpdatePolicy with CANARY (or LINEAR) traffic routing")
    alarms = [str(alarm.get("alarmName") or "") for alarm in
              (deployment.get("autoRollbackConfiguration") or {}).get("alarms") or []]
    if not any(alarms):
        yield "no auto-rollback alarms: a bad model would not be rolled back (autoRollbackConfiguration.alarms)"
        return
    defined = {known(alarm.props, "name") for alarm in stack.of_type(*ALARMS)}
    missing = [alarm for alarm in alarms if alarm not in defined]
    if missing:
        raise Undecided(f"rollback alarm(s) {', '.join(missing)} are not defined in this stack")


# --- monitoring (SageMaker.9, .11, .14) ------------------------------------------------------------------


def check_monitoring_traffic_encryption(subject: Subject) -> Messages:
    network = subject.props.get("networkConfig") or {}
    if network.get("enableInterContainerTrafficEncryption") is not True:
        yield "traffic between the monitoring job's containers is not encrypted: set " \
              "networkConfig.enableInterContainerTrafficEncryption true"


def check_monitoring_network_isolation(subject: Subject) -> Messages:
    network = subject.props.get("networkConfig") or {}
    if network.get("enableNetworkIsolation") is not True:
        yield "the monitoring job's containers can reach the network: set networkConfig.enableNetworkIsolation true"


def check_schedule_network_isolation(stack: StackView, schedule: PolicyResource) -> Messages:
    """pulumi-aws schedules run a job definition by name; the definition holds the network configuration."""
    name = (schedule.props.get("monitoringScheduleConfig") or {}).get("monitoringJobDefinitionName")
    for definition in stack.of_type(DATA_QUALITY_JOB):
        runs = refers_to(schedule, "monitoringScheduleConfig", definition, set())
        if runs or known(definition.props, "name") == name:
            if (definition.props.get("networkConfig") or {}).get("enableNetworkIsolation") is not True:
                yield f"the schedule runs job definition {name!r}, whose containers are not network-isolated"
            return
    raise Undecided(f"the schedule runs job definition {name!r}, which is not defined in this stack")


# --- Studio ------------------------------------------------------------------------------------------------


def check_studio_vpc_only(subject: Subject) -> Messages:
    if subject.props.get("appNetworkAccessType") != "VpcOnly":
        yield "Studio apps reach the internet outside the VPC: set appNetworkAccessType 'VpcOnly'"


def check_studio_kms(subject: Subject) -> Messages:
    if not subject.props.get("kmsKeyId"):
        yield "the Studio domain's storage is not encrypted with a customer key: set kmsKeyId"


# --- feature groups --------------------------------------------------------------------------------------


def check_feature_group_offline_kms(subject: Subject) -> Messages:
    offline = subject.props.get("offlineStoreConfig")
    if not offline:
        return
    if not (offline.get("s3StorageConfig") or {}).get("kmsKeyId"):
        yield ("the feature group's offline store is not encrypted with a customer key: set "
               "offline_store_config.s3_storage_config.kms_key_id")


def check_feature_group_online_kms(subject: Subject) -> Messages:
    online = subject.props.get("onlineStoreConfig") or {}
    if not online.get("enableOnlineStore"):
        return
    if not (online.get("securityConfig") or {}).get("kmsKeyId"):
        yield ("the feature group's online store is not encrypted with a customer key: set "
               "online_store_config.security_config.kms_key_id")


# --- pipelines -------------------------------------------------------------------------------------------


def check_pipeline_pending_approval(stack: StackView, pipeline: PolicyResource) -> Messages:
    definition = pipeline.props.get("pipelineDefinition")
    if not definition:
        if pipeline.props.get("pipelineDefinitionS3Location"):
            raise Undecided("the pipeline definition is in S3, out of the policy pack's sight")
        return
    try:
        parsed = json.loads(definition) if isinstance(definition, str) else definition
        steps = _steps(parsed)
        parameters = {str(p.get("Name")): p for p in parsed.get("Parameters") or []}
    except (json.JSONDecodeError, AttributeError, TypeError):
        yield "the pipeline definition is not a valid JSON pipeline definition"
        return
    for step in steps:
        if step.get("Type") != "RegisterModel":
            continue
        status = (step.get("Arguments") or {}).get("ModelApprovalStatus", PENDING)
        yield from _judge_approval_status(stack, pipeline, str(step.get("Name")), status, parameters)


def _steps(definition: Any) -> list[Mapping[str, Any]]:
    """Every step, including those nested in condition steps."""
    found: list[Mapping[str, Any]] = []
    pending = list(definition.get("Steps") or [])
    while pending:
        step = pending.pop()
        found.append(step)
        arguments = step.get("Arguments") or {}
        for branch in ("IfSteps", "ElseSteps"):
            pending.extend(arguments.get(branch) or [])
    return found


def _judge_approval_status(stack: StackView, pipeline: PolicyResource, step: str, status: Any,
                           parameters: Mapping[str, Mapping[str, Any]]) -> Messages:
    if isinstance(status, str):
        if status != PENDING:
            yield f"step {step!r} registers models as {status}: register them only as {PENDING}"
        return
    reference = status.get("Get") if isinstance(status, Mapping) else None
    if isinstance(reference, str) and reference.startswith("Parameters."):
        default = (parameters.get(reference.removeprefix("Parameters.")) or {}).get("DefaultValue")
        if default != PENDING:
            yield f"step {step!r} registers models as {default!r} by default: the default must be {PENDING}"
            return
    problem = _role_guard_problem(stack, pipeline)
    if problem:
        yield (f"step {step!r} takes the approval status from a pipeline parameter or expression, and {problem}: "
               f"anyone starting the pipeline could register an Approved model")


def _role_guard_problem(stack: StackView, pipeline: PolicyResource) -> str | None:
    """Why the pipeline's role does not hold registration to PendingManualApproval (None when it does)."""
    role = next((r for r in stack.of_type(ROLE)
                 if refers_to(pipeline, "roleArn", r, identities(r, "arn"))), None)
    if role is None:
        raise Undecided("the pipeline's role is not defined in this stack, so its registration guard is unseen")
    statements, outside = _role_statements(stack, role)
    if any(_denies_unless_pending(statement) for statement in statements):
        return None
    unguarded = [s.sid or "(no Sid)" for s in statements if s.allows and s.grants("sagemaker:CreateModelPackage")
                 and not _allows_only_pending(s)]
    if unguarded:
        return f"its role allows sagemaker:CreateModelPackage without {APPROVAL_CONDITION_KEY}={PENDING} " \
               f"(statements {', '.join(unguarded)})"
    if outside:
        raise Undecided(f"the pipeline's role also has policies defined outside this stack ({', '.join(outside)})")
    return None


def _role_statements(stack: StackView, role: PolicyResource) -> tuple[list[Statement], list[str]]:
    """Statements of every policy of the role defined in this stack, and the ARNs of the others."""
    names = identities(role, "name", "id", "arn")
    documents: list[Any] = [inline.get("policy") for inline in role.props.get("inlinePolicies") or []]
    documents += [p.props.get("policy") for p in stack.referrers([ROLE_POLICY], "role", role, names)]
    outside: list[str] = []
    managed = stack.of_type(MANAGED_POLICY)
    for attachment in stack.referrers([ROLE_POLICY_ATTACHMENT], "role", role, names):
        policy = next((p for p in managed if refers_to(attachment, "policyArn", p, identities(p, "arn"))), None)
        if policy is None:
            outside.append(str(attachment.props.get("policyArn")))
        else:
            documents.append(policy.props.get("policy"))
    outside += [str(arn) for arn in strings(role.props.get("managedPolicyArns"))]
    statements: list[Statement] = []
    for document in documents:
        try:
            statements += parse(document)
        except DocumentError:
            continue
    return statements, outside


def _allows_only_pending(statement: Statement) -> bool:
    values = [v for operator, operands in statement.conditions.items() if operator in ("StringEquals",)
              for key, v_list in operands.items() if key.lower() == APPROVAL_CONDITION_KEY.lower() for v in v_list]
    return bool(values) and set(values) == {PENDING}


def _denies_unless_pending(statement: Statement) -> bool:
    if statement.effect != "Deny" or not statement.grants("sagemaker:CreateModelPackage"):
        return False
    if statement.not_resources is not None or "*" not in statement.resources:
        return False
    operands = statement.conditions.get("StringNotEquals") or {}
    return any(key.lower() == APPROVAL_CONDITION_KEY.lower() and set(values) == {PENDING}
               for key, values in operands.items())


PRODUCTION_ONLY = DevMode.MANDATORY
"""Rules about staging/prod resources judge them whichever tier creates them (their checks skip the rest)."""

RULES: tuple[Rule, ...] = (
    Rule("sagemaker-notebook-no-direct-internet", "SageMaker notebook instances have no direct internet access",
         Severity.HIGH, "Set direct_internet_access='Disabled' and reach AWS through VPC endpoints.", "SageMaker.1",
         NOTEBOOK, check=check_notebook_internet),
    Rule("sagemaker-notebook-in-vpc", "SageMaker notebook instances run in a VPC", Severity.HIGH,
         "Set subnet_id and security_groups to the tier's private network.", "SageMaker.2", NOTEBOOK,
         check=check_notebook_vpc),
    Rule("sagemaker-notebook-no-root-access", "SageMaker notebook instances give users no root access",
         Severity.HIGH, "Set root_access='Disabled'.", "SageMaker.3", NOTEBOOK, check=check_notebook_root),
    Rule("sagemaker-endpoint-instance-count", "SageMaker endpoint variants start with more than one instance",
         Severity.MEDIUM, "Set initial_instance_count of every production variant to 2 or more.", "SageMaker.4",
         frozenset({ENDPOINT_CONFIG}), check=check_instance_count),
    Rule("sagemaker-model-network-isolation",
         "SageMaker models run network-isolated (where the container allows it)", Severity.MEDIUM,
         f"Set enable_network_isolation=True; a container that cannot run isolated carries the tag "
         f"{NETWORK_ISOLATION_EXEMPTION_TAG} with the reason.", "SageMaker.5", frozenset({MODEL}),
         check=check_model_network_isolation),
    Rule("sagemaker-monitoring-traffic-encryption",
         "SageMaker data quality job definitions encrypt inter-container traffic", Severity.MEDIUM,
         "Set network_config.enable_inter_container_traffic_encryption=True.", "SageMaker.9",
         frozenset({DATA_QUALITY_JOB}), check=check_monitoring_traffic_encryption),
    Rule("sagemaker-monitoring-network-isolation", "SageMaker data quality job definitions run network-isolated",
         Severity.MEDIUM, "Set network_config.enable_network_isolation=True.", "SageMaker.11",
         frozenset({DATA_QUALITY_JOB}), check=check_monitoring_network_isolation),
    Rule("sagemaker-monitoring-schedule-network-isolation", "SageMaker monitoring schedules run network-isolated",
         Severity.MEDIUM, "Schedule a job definition with network_config.enable_network_isolation=True.",
         "SageMaker.14", frozenset({MONITORING_SCHEDULE}), stack_check=check_schedule_network_isolation),
    Rule("sagemaker-studio-vpc-only", "SageMaker Studio domains are VPC-only", Severity.HIGH,
         "Set app_network_access_type='VpcOnly' with the tier's private subnets.", resource_types=DOMAIN,
         check=check_studio_vpc_only),
    Rule("sagemaker-studio-kms", "SageMaker Studio domains are encrypted with a customer-managed KMS key",
         Severity.MEDIUM, "Set kms_key_id to the tier's key.", resource_types=DOMAIN, check=check_studio_kms),
    Rule("sagemaker-endpoint-config-kms", "SageMaker endpoint configs encrypt storage with a customer-managed key",
         Severity.HIGH, "Set kms_key_arn to the tier's key.", resource_types=frozenset({ENDPOINT_CONFIG}),
         check=check_endpoint_config_kms),
    Rule("sagemaker-endpoint-data-capture", "SageMaker endpoint configs in staging/prod capture data, encrypted",
         Severity.HIGH, "Set data_capture_config with enable_capture, a sampling percentage above 0, "
         "destination_s3_uri, kms_key_id and capture_options.", resource_types=frozenset({ENDPOINT_CONFIG}),
         check=check_data_capture, dev=PRODUCTION_ONLY),
    Rule("sagemaker-prod-endpoint-autoscaling",
         "Prod SageMaker endpoints autoscale and never drop below two instances", Severity.HIGH,
         "Register an appautoscaling Target (sagemaker:variant:DesiredInstanceCount, min_capacity >= 2) and a "
         "scaling Policy for every variant.", resource_types=frozenset({ENDPOINT}),
         stack_check=check_prod_autoscaling, dev=PRODUCTION_ONLY),
    Rule("sagemaker-prod-endpoint-safe-deployment",
         "Prod SageMaker endpoints deploy as canaries that roll back on alarms", Severity.HIGH,
         "Set deployment_config with a blue_green_update_policy (CANARY or LINEAR traffic routing) and "
         "auto_rollback_configuration alarms defined in the stack.", resource_types=frozenset({ENDPOINT}),
         stack_check=check_prod_safe_deployment, dev=PRODUCTION_ONLY),
    Rule("sagemaker-pipeline-pending-approval", "SageMaker pipelines register models only as PendingManualApproval",
         Severity.HIGH, f"Register with ModelApprovalStatus {PENDING}; if it comes from a parameter, its default is "
         f"{PENDING} and the pipeline's role may CreateModelPackage only with "
         f"{APPROVAL_CONDITION_KEY}={PENDING}.", resource_types=frozenset({PIPELINE}),
         stack_check=check_pipeline_pending_approval),
    Rule("sagemaker-feature-group-offline-store-kms",
         "SageMaker feature groups encrypt their offline store with a customer-managed KMS key", Severity.HIGH,
         "Set offline_store_config.s3_storage_config.kms_key_id to the tier's feature store key.",
         resource_types=FEATURE_GROUP, check=check_feature_group_offline_kms),
    Rule("sagemaker-feature-group-online-store-kms",
         "SageMaker feature groups with an online store encrypt it with a customer-managed KMS key", Severity.HIGH,
         "Set online_store_config.security_config.kms_key_id to the tier's feature store key.",
         resource_types=FEATURE_GROUP, check=check_feature_group_online_kms),
)

"""What a size costs idle — no traffic, no training — per stack and in total, from its captured stacks and the
region's dated price table (`prices.py`).

Every captured AWS resource is judged by its type's rule: a price, `free`, `usage` (nothing at idle) or `with`
(priced through another resource). A type the table does not know is listed as not priced, never as zero.
The stacks are captured as after the first approval (`capture_size(..., serving=True)`), so that each served use
case's endpoint is priced at its autoscaling minimum.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_platform import topology
from mlops_platform.offline.capture import AWS_PROVIDER_TYPE, CapturedResource, CapturedStack
from mlops_platform.offline.prices import PriceTable
from mlops_platform.offline.size_capture import CapturedSize

AFTER_FIRST_APPROVAL = "after the first approval"


@dataclass(frozen=True)
class CostLine:
    stack: str
    item: str
    resource: str
    type: str
    quantity: float
    unit: str
    unit_price: float
    basis: str
    source: str

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Unpriced:
    stack: str
    resource: str
    type: str
    reason: str


@dataclass(frozen=True)
class ZeroAtIdle:
    """Resources that cost nothing idle, counted per type: free, billed per use, or priced with another."""

    type: str
    rule: str
    why: str
    count: int


@dataclass
class StackCost:
    name: str
    account: str
    lines: list[CostLine] = field(default_factory=list)

    @property
    def monthly(self) -> float:
        return sum(line.monthly for line in self.lines)


@dataclass(frozen=True)
class CostEstimate:
    size: topology.Size
    table: PriceTable
    stacks: tuple[StackCost, ...]
    not_priced: tuple[Unpriced, ...]
    zero_at_idle: tuple[ZeroAtIdle, ...]

    @property
    def monthly(self) -> float:
        return sum(stack.monthly for stack in self.stacks)

    def by_item(self) -> dict[str, float]:
        """Monthly cost per item, items sorted by name."""
        totals: dict[str, float] = {}
        for stack in self.stacks:
            for line in stack.lines:
                totals[line.item] = totals.get(line.item, 0.0) + line.monthly
        return dict(sorted(totals.items()))


class NotPriced(Exception):
    """This resource cannot be priced from the table; the reason is reported with it."""


@dataclass(frozen=True)
class _Context:
    stack: CapturedStack
    table: PriceTable

    def line(self, resource: CapturedResource, item: str, quantity: float, unit: str, unit_price: float,
             basis: str, source: str) -> CostLine:
        return CostLine(self.stack.name, item, resource.name, resource.type, quantity, unit, unit_price, basis,
                        source)

    def hours(self) -> float:
        return self.table.hours_per_month

    def of_type(self, type_token: str) -> Iterator[CapturedResource]:
        return (r for r in self.stack.resources if r.type == type_token)


Rule = Callable[[CapturedResource, _Context], Iterable[CostLine]]


def estimate(size: CapturedSize, table: PriceTable) -> CostEstimate:
    stacks: list[StackCost] = []
    not_priced: list[Unpriced] = []
    zero: dict[str, tuple[str, str, int]] = {}
    for config, captured in zip(size.configs, size.stacks, strict=True):
        context = _Context(captured, table)
        stack_cost = StackCost(captured.name, config.account_id)
        for resource in captured.resources:
            if not resource.custom or resource.type.startswith("pulumi:") or resource.type == AWS_PROVIDER_TYPE:
                continue
            type_rule = table.types.get(resource.type)
            if type_rule is None:
                not_priced.append(Unpriced(captured.name, resource.name, resource.type,
                                           "the price table does not know this resource type"))
            elif type_rule.rule in ("free", "usage", "with"):
                _, _, count = zero.get(resource.type, (type_rule.rule, type_rule.why, 0))
                zero[resource.type] = (type_rule.rule, type_rule.why, count + 1)
            else:
                try:
                    stack_cost.lines.extend(PRICING_RULES[type_rule.rule](resource, context))
                except NotPriced as reason:
                    not_priced.append(Unpriced(captured.name, resource.name, resource.type, str(reason)))
        stack_cost.lines.sort(key=lambda line: (line.item, line.resource))  # the engine's order is not fixed
        stacks.append(stack_cost)
    return CostEstimate(size.size, table, tuple(stacks), tuple(not_priced),
                        tuple(ZeroAtIdle(t, rule, why, n) for t, (rule, why, n) in sorted(zero.items())))


def _hosting_price(table: PriceTable, instance_type: str) -> tuple[float, str]:
    hosting = table.instance_hours.get("sagemakerHosting")
    if hosting is None or instance_type not in hosting.usd:
        raise NotPriced(f"no sagemakerHosting price for {instance_type} in {table.path.name}")
    return hosting.usd[instance_type], hosting.source


def _sagemaker_endpoint(resource: CapturedResource, context: _Context) -> Iterator[CostLine]:
    config_name = resource.inputs.get("endpointConfigName")
    endpoint_config = next((r for r in context.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
                            if r.outputs.get("name") == config_name), None)
    if endpoint_config is None:
        raise NotPriced(f"its endpoint configuration {config_name!r} is not in the capture")
    endpoint_name = str(resource.inputs.get("name") or resource.outputs.get("name") or resource.name)
    for variant in endpoint_config.inputs.get("productionVariants", []):
        instance_type = variant.get("instanceType")
        if instance_type is None:
            raise NotPriced("a serverless variant: billed per request (provisioned concurrency is not priced)")
        hourly, source = _hosting_price(context.table, instance_type)
        count, basis = _minimum_instances(endpoint_name, variant, context)
        yield context.line(resource, "SageMaker endpoint instances", count * context.hours(), "instance-hours",
                           hourly, f"{count} x {instance_type} ({basis}) x {context.hours():g} h", source)


def _minimum_instances(endpoint_name: str, variant: Mapping[str, Any], context: _Context) -> tuple[int, str]:
    resource_id = f"endpoint/{endpoint_name}/variant/{variant.get('variantName')}"
    target = next((r for r in context.of_type("aws:appautoscaling/target:Target")
                   if r.inputs.get("resourceId") == resource_id), None)
    if target is not None:
        return int(target.inputs["minCapacity"]), "autoscaling minimum"
    return int(variant.get("initialInstanceCount", 1)), "initial instance count"


def _vpc_endpoint(resource: CapturedResource, context: _Context) -> Iterator[CostLine]:
    kind = resource.inputs.get("vpcEndpointType", "Gateway")
    if kind == "Gateway":
        return
    if kind != "Interface":
        raise NotPriced(f"a {kind} endpoint: only Interface and Gateway endpoints are in the table")
    zones = len(resource.inputs.get("subnetIds", []))
    price = context.table.price("interfaceEndpointAzHour")
    yield context.line(resource, "Interface VPC endpoints", zones * context.hours(), "AZ-hours", price.usd,
                       f"{zones} AZ x {context.hours():g} h each", price.source)


def _hourly(item: str, price_key: str, unit: str) -> Rule:
    def rule(resource: CapturedResource, context: _Context) -> Iterator[CostLine]:
        price = context.table.price(price_key)
        yield context.line(resource, item, context.hours(), unit, price.usd, f"{context.hours():g} h", price.source)
    return rule


def _monthly(item: str, price_key: str, unit: str, basis: str) -> Rule:
    def rule(resource: CapturedResource, context: _Context) -> Iterator[CostLine]:
        price = context.table.price(price_key)
        yield context.line(resource, item, 1, unit, price.usd, basis, price.source)
    return rule


def _studio_user_profile(resource: CapturedResource, context: _Context) -> Iterator[CostLine]:
    gigabytes = context.table.assumption("studioHomeGbPerUserProfile")
    price = context.table.price("efsStandardGbMonth")
    yield context.line(resource, "Studio home storage (EFS)", gigabytes.value, "GB-months", price.usd,
                       gigabytes.why, price.source)


def _feature_group(resource: CapturedResource, context: _Context) -> Iterator[CostLine]:
    online = resource.inputs.get("onlineStoreConfig") or {}
    if not online.get("enableOnlineStore"):
        return  # an offline store only: S3 storage, billed per GB
    gigabytes = context.table.assumption("featureStoreOnlineGbPerGroup")
    price = context.table.price("featureStoreOnlineGbMonth")
    yield context.line(resource, "Feature Store online store", gigabytes.value, "GB-months", price.usd,
                       gigabytes.why, price.source)


def _codepipeline(resource: CapturedResource, context: _Context) -> Iterator[CostLine]:
    if resource.inputs.get("pipelineType", "V1") == "V2":
        return  # V2 pipelines are billed per action-execution minute: nothing idle
    yield from _monthly("CodePipeline V1 pipelines", "codePipelineV1Month", "pipeline-months",
                        "an active V1 pipeline")(resource, context)


_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_RUNS_PER_DAY = {"minute": 24 * 60, "minutes": 24 * 60, "hour": 24, "hours": 24, "day": 1, "days": 1}
_HOURLY_CRON = re.compile(r"cron\(0 \* \? \* \* \*\)")
_DAILY_CRON = re.compile(r"cron\(0 \d{1,2} \? \* \* \*\)")


def runs_per_month(expression: str, hours_per_month: float) -> float:
    """Runs a month of a `rate(...)` or of the hourly/daily `cron(...)` schedules Model Monitor accepts."""
    days = hours_per_month / 24
    rate = _RATE.fullmatch(expression)
    if rate:
        return days * _RUNS_PER_DAY[rate.group(2)] / int(rate.group(1))
    if _HOURLY_CRON.fullmatch(expression):
        return hours_per_month
    if _DAILY_CRON.fullmatch(expression):
        return days
    raise NotPriced(f"schedule {expression!r} is neither a rate nor an hourly or daily cron")


def _monitoring_schedule(resource: CapturedResource, context: _Context) -> Iterator[CostLine]:
    config = resource.inputs.get("monitoringScheduleConfig", {})
    expression = (config.get("scheduleConfig") or {}).get("scheduleExpression")
    if expression is None:
        raise NotPriced("no schedule expression: runs on demand")
    runs = runs_per_month(str(expression), context.hours())
    instance_type, count = _monitoring_instances(config, context)
    processing = context.table.instance_hours.get("sagemakerProcessing")
    if processing is None or instance_type not in processing.usd:
        raise NotPriced(f"no sagemakerProcessing price for {instance_type} in {context.table.path.name}")
    minutes = context.table.assumption("monitoringJobMinutes")
    yield context.line(resource, "Scheduled monitoring jobs", runs * count * minutes.value / 60, "instance-hours",
                       processing.usd[instance_type],
                       f"{runs:g} runs ({expression}) x {count} x {instance_type} x {minutes.value:g} min; "
                       f"{minutes.why}", processing.source)


def _monitoring_instances(config: Mapping[str, Any], context: _Context) -> tuple[str, int]:
    """The job's cluster, inline or from the job definition the schedule names."""
    inline = (config.get("monitoringJobDefinition") or {}).get("monitoringResources", {}).get("clusterConfig")
    cluster = inline
    if cluster is None:
        name = config.get("monitoringJobDefinitionName")
        definition = next((r for r in context.stack.resources if r.inputs.get("name") == name
                           and "JobDefinition" in r.type), None)
        if definition is None:
            raise NotPriced(f"its job definition {name!r} is not in the capture")
        cluster = (definition.inputs.get("jobResources") or {}).get("clusterConfig")
    if not cluster or "instanceType" not in cluster:
        raise NotPriced("no instance type in its job's cluster config")
    return str(cluster["instanceType"]), int(cluster.get("instanceCount", 1))


def _kms_key(resource: CapturedResource, context: _Context) -> Iterator[CostLine]:
    yield from _monthly("KMS keys", "kmsKeyMonth", "key-months",
                        "one key; each of its first two yearly rotations adds $1 a month from year two")(
        resource, context)


def _cloudtrail(resource: CapturedResource, context: _Context) -> Iterator[CostLine]:
    yield from _monthly("CloudTrail", "cloudTrailFirstCopyMonth", "trails",
                        "the first copy of management events is free; data events, S3 storage of the logs and a "
                        "second copy (another trail of the same events) are billed")(resource, context)


PRICING_RULES: Mapping[str, Rule] = {
    "sagemaker-endpoint": _sagemaker_endpoint,
    "vpc-endpoint": _vpc_endpoint,
    "nat-gateway": _hourly("NAT gateways", "natGatewayHour", "hours"),
    "public-ipv4": _hourly("Public IPv4 addresses", "publicIpv4Hour", "hours"),
    "kms-key": _kms_key,
    "studio-user-profile": _studio_user_profile,
    "feature-group": _feature_group,
    "codepipeline": _codepipeline,
    "cloudtrail": _cloudtrail,
    "secret": _monthly("Secrets Manager secrets", "secretMonth", "secret-months", "one secret"),
    "monitoring-schedule": _monitoring_schedule,
    "alarm": _monthly("CloudWatch alarms", "alarmMetricMonth", "alarm-months",
                      "standard resolution, one metric; the free tier's 10 alarms not subtracted"),
}

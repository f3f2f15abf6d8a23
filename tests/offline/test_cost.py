"""`mlops-platform cost`: idle monthly cost per stack and in total from the captured stacks and the dated price
table, every priced item checked against totals computed by hand from the table's prices; unknown types and
regions are said, never guessed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlops_platform.cli import EXIT_INVALID_CONFIG, app
from mlops_platform.offline import prices
from mlops_platform.offline.capture import CapturedResource, CapturedStack
from mlops_platform.offline.cost import (
    AFTER_FIRST_APPROVAL,
    PRICING_RULES,
    CostEstimate,
    NotPriced,
    estimate,
    runs_per_month,
)
from mlops_platform.offline.cost_increment import with_copied_use_case
from mlops_platform.offline.cost_report import GENERAL_ASSUMPTIONS
from mlops_platform.offline.prices import PriceTableError, load_price_table
from mlops_platform.offline.size_capture import CapturedSize, capture_size
from mlops_platform.offline.stack_config import load_project_config

ROOT = Path(__file__).resolve().parents[2]
HOURS = 730
# eu-west-1, prices/eu-west-1.json as of its pricesAsOf date, written out again here on purpose.
INTERFACE_ENDPOINT_AZ_HOUR = 0.011
KMS_KEY = 1.00
EFS_GB = 0.33
ALARM = 0.10
M5_LARGE_HOSTING = 0.128
STUDIO_GB_PER_USER = 10


def table() -> prices.PriceTable:
    return load_price_table("eu-west-1")


def stack_totals(result: CostEstimate) -> dict[str, float]:
    return {stack.name: round(stack.monthly, 2) for stack in result.stacks}


def item_total(result: CostEstimate, stack: str, item: str) -> float:
    lines = next(s for s in result.stacks if s.name == stack).lines
    return round(sum(line.monthly for line in lines if line.item == item), 2)


def interface_endpoints(count: int, zones: int) -> float:
    return count * zones * HOURS * INTERFACE_ENDPOINT_AZ_HOUR


# One private network (ops or dev): 8 interface endpoints in 2 zones; the S3 gateway endpoint is free.
NETWORK = round(interface_endpoints(8, 2), 2)                      # 128.48
# The ops network with the open drift engine (medium, large): EventBridge's endpoint too, for the drift check.
DRIFT_NETWORK = round(interface_endpoints(9, 2), 2)                # 144.54
LAKE_STUDIO_NETWORK = round(interface_endpoints(8 + 3, 2), 2)      # 176.66: + athena, glue, lakeformation
ENDPOINT_2_M5_LARGE = round(2 * M5_LARGE_HOSTING * HOURS, 2)       # 186.88
STUDIO_TWO_USERS = round(2 * STUDIO_GB_PER_USER * EFS_GB, 2)       # 6.60


def test_small_each_item_and_total_by_hand(shipped_capture: Callable[[str], CapturedSize]) -> None:
    result = estimate(shipped_capture("small"), table())
    assert item_total(result, "dev", "Interface VPC endpoints") == 2 * NETWORK == 256.96
    assert item_total(result, "dev", "KMS keys") == 3 * KMS_KEY        # data, artifact, dev
    assert item_total(result, "dev", "Studio home storage (EFS)") == STUDIO_TWO_USERS == 6.60
    assert item_total(result, "prod", "SageMaker endpoint instances") == ENDPOINT_2_M5_LARGE == 186.88
    assert item_total(result, "prod", "CloudWatch alarms") == round(3 * ALARM, 2)   # 5xx, p99, deployer DLQ
    assert item_total(result, "prod", "KMS keys") == KMS_KEY
    assert stack_totals(result) == {"dev": 266.56, "prod": 188.18}
    assert round(result.monthly, 2) == 454.74
    assert result.not_priced == ()


def test_medium_each_item_and_total_by_hand(shipped_capture: Callable[[str], CapturedSize]) -> None:
    result = estimate(shipped_capture("medium"), table())
    assert item_total(result, "org", "KMS keys") == KMS_KEY and item_total(result, "org", "CloudTrail") == 0
    assert item_total(result, "dev", "Interface VPC endpoints") == round(NETWORK + DRIFT_NETWORK, 2)
    for serving in ("staging", "prod"):
        assert item_total(result, serving, "SageMaker endpoint instances") == ENDPOINT_2_M5_LARGE
        assert item_total(result, serving, "CloudWatch alarms") == round(2 * ALARM, 2)   # no deployer in medium
    assert item_total(result, "dev", "KMS keys") == 6 * KMS_KEY  # data, artifact, cicd, state, ops, dev
    assert stack_totals(result) == {"org": 1.00, "dev": 285.72, "staging": 188.08, "prod": 188.08}
    assert round(result.monthly, 2) == 662.88
    assert result.not_priced == ()


def test_large_each_item_and_total_by_hand(shipped_capture: Callable[[str], CapturedSize]) -> None:
    result = estimate(shipped_capture("large"), table())
    assert item_total(result, "ops", "Interface VPC endpoints") == DRIFT_NETWORK
    assert item_total(result, "dev", "Interface VPC endpoints") == LAKE_STUDIO_NETWORK
    assert item_total(result, "dev", "Studio home storage (EFS)") == STUDIO_TWO_USERS
    assert item_total(result, "cicd", "KMS keys") == 2 * KMS_KEY  # the tier's, the state backend's
    assert item_total(result, "cicd", "CloudWatch alarms") == ALARM  # the promotion starter's dead letters
    assert item_total(result, "ops", "KMS keys") == 2 * KMS_KEY  # the capture bucket's, the data lake results'
    assert item_total(result, "dev", "KMS keys") == 2 * KMS_KEY  # the workspace's, the data lake results'
    assert item_total(result, "artifact", "KMS keys") == 2 * KMS_KEY  # the tier's, the feature store's
    assert item_total(result, "artifact", "Feature Store online store") == 0.50  # churn-customers, 1 GB
    assert stack_totals(result) == {"org": 1.00, "data": 1.00, "artifact": 2.50, "cicd": 2.10, "ops": 146.54,
                                    "dev": 185.26, "staging": 188.08, "prod": 188.08}
    assert round(result.monthly, 2) == 714.56
    assert result.not_priced == ()


def test_endpoints_are_priced_after_the_first_approval_at_their_autoscaling_minimum(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    size = shipped_capture("medium")
    assert any(r.type == "aws:sagemaker/endpoint:Endpoint" for r in size.stacks[-1].resources), (
        "the cost reads the stacks as after the first approval")
    line = next(line for line in next(s for s in estimate(size, table()).stacks if s.name == "staging").lines
                if line.item == "SageMaker endpoint instances")
    assert "2 x ml.m5.large (autoscaling minimum)" in line.basis
    assert line.quantity == 2 * HOURS and line.unit_price == M5_LARGE_HOSTING
    assert AFTER_FIRST_APPROVAL in " ".join(GENERAL_ASSUMPTIONS)


def _resource(stack: CapturedStack, type_token: str, name: str, inputs: dict[str, Any]) -> CapturedResource:
    return CapturedResource(urn=f"urn:pulumi:{stack.name}::mlops-platform::{type_token}::{name}", id=name,
                            type=type_token, name=name, custom=True, parent="", provider="", protect=False,
                            ignore_changes=(), dependencies=(), property_dependencies={}, inputs=inputs, outputs={})


def _added(size: CapturedSize, stack_name: str, *additions: tuple[str, str, dict[str, Any]]) -> CapturedSize:
    stacks = tuple(replace(stack, resources=[*stack.resources, *(_resource(stack, *a) for a in additions)])
                   if stack.name == stack_name else stack for stack in size.stacks)
    return replace(size, stacks=stacks)


def test_a_type_the_table_does_not_know_is_listed_not_priced_never_zero(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    grown = _added(shipped_capture("small"), "dev", ("aws:redshift/cluster:Cluster", "warehouse", {}))
    result = estimate(grown, table())
    assert [(u.stack, u.resource, u.type) for u in result.not_priced] == [
        ("dev", "warehouse", "aws:redshift/cluster:Cluster")]
    assert "does not know this resource type" in result.not_priced[0].reason
    assert round(result.monthly, 2) == 454.74, "left out of the totals, and said so"
    assert all(z.type != "aws:redshift/cluster:Cluster" for z in result.zero_at_idle)


def test_an_instance_type_without_a_price_is_not_priced(shipped_capture: Callable[[str], CapturedSize]) -> None:
    size = shipped_capture("small")
    stacks = []
    for stack in size.stacks:
        resources = []
        for r in stack.resources:
            if r.type == "aws:sagemaker/endpointConfiguration:EndpointConfiguration":
                variants = [{**v, "instanceType": "ml.p4d.24xlarge"} for v in r.inputs["productionVariants"]]
                r = replace(r, inputs={**r.inputs, "productionVariants": variants})
            resources.append(r)
        stacks.append(replace(stack, resources=resources))
    result = estimate(replace(size, stacks=tuple(stacks)), table())
    assert [(u.resource, u.reason) for u in result.not_priced] == [
        ("prod-churn", "no sagemakerHosting price for ml.p4d.24xlarge in eu-west-1.json")]
    assert item_total(result, "prod", "SageMaker endpoint instances") == 0


def test_resources_other_work_will_add_are_priced_by_their_rules(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    grown = _added(
        shipped_capture("small"), "dev",
        ("aws:secretsmanager/secret:Secret", "token", {}),
        ("aws:codepipeline/pipeline:Pipeline", "promotion-v1", {}),
        ("aws:codepipeline/pipeline:Pipeline", "promotion-v2", {"pipelineType": "V2"}),
        ("aws:sagemaker/featureGroup:FeatureGroup", "features", {"onlineStoreConfig": {"enableOnlineStore": True}}),
        ("aws:sagemaker/featureGroup:FeatureGroup", "offline-only", {}),
        ("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition", "churn-quality", {
            "name": "churn-quality", "jobResources": {"clusterConfig": {"instanceType": "ml.m5.xlarge",
                                                                       "instanceCount": 1, "volumeSizeInGb": 20}}}),
        ("aws:sagemaker/monitoringSchedule:MonitoringSchedule", "churn-drift", {"monitoringScheduleConfig": {
            "monitoringJobDefinitionName": "churn-quality", "monitoringType": "DataQuality",
            "scheduleConfig": {"scheduleExpression": "cron(0 * ? * * *)"}}}),
    )
    result = estimate(grown, table())
    assert item_total(result, "dev", "Secrets Manager secrets") == 0.40
    assert item_total(result, "dev", "CodePipeline V1 pipelines") == 1.00, "V2 bills per action minute only"
    assert item_total(result, "dev", "Feature Store online store") == round(1 * 0.5, 2)
    # Hourly: 730 runs x 15 min x 1 ml.m5.xlarge at 0.257 an hour.
    assert item_total(result, "dev", "Scheduled monitoring jobs") == round(730 * 0.25 * 0.257, 2) == 46.90
    assert round(result.monthly, 2) == round(454.74 + 0.40 + 1.00 + 0.50 + 730 * 0.25 * 0.257, 2)
    assert result.not_priced == ()


def test_nat_gateway_and_its_address_from_the_real_program(tmp_path: Path) -> None:
    override = tmp_path / "nat.yaml"
    override.write_text("config:\n  mlops-platform:studio:\n    natGateway: true\n    vpcCidr: 10.40.0.0/16\n")
    result = estimate(capture_size(load_project_config(ROOT, "small", override), serving=True), table())
    assert item_total(result, "dev", "NAT gateways") == round(HOURS * 0.048, 2) == 35.04
    assert item_total(result, "dev", "Public IPv4 addresses") == round(HOURS * 0.005, 2) == 3.65
    assert round(result.monthly, 2) == round(454.74 + 35.04 + 3.65, 2)
    assert result.not_priced == ()


@pytest.mark.parametrize(("expression", "runs"), [
    ("rate(1 day)", 730 / 24), ("rate(12 hours)", 730 / 12), ("rate(30 minutes)", 730 * 2),
    ("cron(0 * ? * * *)", 730), ("cron(0 3 ? * * *)", 730 / 24)])
def test_runs_per_month_of_monitoring_schedules(expression: str, runs: float) -> None:
    assert runs_per_month(expression, HOURS) == pytest.approx(runs)


def test_a_schedule_not_understood_is_not_priced() -> None:
    with pytest.raises(NotPriced, match="neither a rate nor an hourly or daily cron"):
        runs_per_month("cron(0 8 ? * MON-FRI *)", HOURS)


def test_every_rule_of_the_type_table_has_a_pricing_function_and_every_captured_type_is_known(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    assert set(PRICING_RULES) | {"free", "usage", "with"} == prices.RULES
    known = table().types
    for size in ("small", "medium", "large"):
        captured = {r.type for stack in shipped_capture(size).stacks for r in stack.resources
                    if r.custom and r.type.startswith("aws:")}
        assert captured <= set(known), captured - set(known)


def test_price_table_is_dated_and_names_the_source_of_every_price() -> None:
    prices_table = table()
    assert prices_table.prices_as_of == "2026-12-03" and "Refresh" in prices_table.refresh
    sources = [p.source for p in prices_table.prices.values()]
    sources += [i.source for i in prices_table.instance_hours.values()]
    assert all(source.startswith("https://aws.amazon.com/") and source.endswith("/pricing/") for source in sources)


def test_unknown_region_is_one_clear_error() -> None:
    assert prices.available_regions() == ["eu-west-1"], "the sample configs' region"
    with pytest.raises(PriceTableError, match=r"no price table for region 'ap-southeast-2' .* has eu-west-1"):
        load_price_table("ap-southeast-2")


def test_a_malformed_price_table_names_its_file(tmp_path: Path) -> None:
    shutil.copy(prices.PRICES_DIR / prices.RESOURCE_TYPES_FILE, tmp_path)
    (tmp_path / "eu-west-1.json").write_text(json.dumps({"region": "eu-west-1"}))
    with pytest.raises(PriceTableError, match=r"eu-west-1.json: not in the documented shape \(KeyError"):
        load_price_table("eu-west-1", tmp_path)
    (tmp_path / "eu-west-1.json").write_text("{")
    with pytest.raises(PriceTableError, match="not readable JSON"):
        load_price_table("eu-west-1", tmp_path)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["cost", "--project-dir", str(ROOT), *args])


@pytest.mark.parametrize(("size", "total", "increment", "items"), [
    ("small", 454.74, 187.18, {"SageMaker endpoint instances": 186.88, "CloudWatch alarms": 0.30}),
    ("large", 714.56, 374.26, {"SageMaker endpoint instances": 373.76, "CloudWatch alarms": 0.50}),
])
def test_cli_json_totals_and_what_one_more_use_case_adds(size: str, total: float, increment: float,
                                                         items: dict[str, float]) -> None:
    result = invoke("--size", size, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {"schemaVersion", "size", "region", "currency", "pricesAsOf", "priceTable", "hoursPerMonth", "monthly",
            "stacks", "useCases", "notPriced", "zeroAtIdle", "assumptions"} <= set(document)
    line = document["stacks"][-1]["lines"][0]
    assert set(line) == {"item", "resource", "type", "quantity", "unit", "unitPrice", "monthly", "basis", "source"}
    assert document["monthly"] == total and document["priceTable"] == "mlops_platform/offline/prices/eu-west-1.json"
    assert round(sum(stack["monthly"] for stack in document["stacks"]), 2) == total
    # One more use case like churn: an endpoint at minimum capacity in each serving stack and its alarms; the
    # networks, keys and Studio are shared.
    assert document["useCases"] == [{"like": "churn", "monthly": increment, "items": items}]
    assert any(a.startswith("Endpoints are priced after the first approval") for a in document["assumptions"])


def test_cli_text_prints_totals_and_every_assumption() -> None:
    result = invoke("--size", "small")
    assert result.exit_code == 0, result.output
    assert "total idle: 454.74 USD a month" in result.stdout
    assert "- 730 hours a month." in result.stdout
    assert "not priced: none" in result.stdout
    for assumption in table().assumptions.values():
        assert assumption.why in result.stdout
    assert "https://aws.amazon.com/privatelink/pricing/" in result.stdout


def test_cli_unknown_region_is_one_line_and_exit_2(tmp_path: Path) -> None:
    override = tmp_path / "sydney.yaml"
    override.write_text("config:\n  mlops-platform:region: ap-southeast-2\n  mlops-platform:useCases: [churn]\n"
                        "  mlops-platform:organization:\n    allowedRegions: [ap-southeast-2]\n")
    result = invoke("--size", "small", "--config", str(override))
    assert result.exit_code == EXIT_INVALID_CONFIG, result.output
    assert result.stderr.strip().startswith("error: no price table for region 'ap-southeast-2'")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_the_copy_of_a_use_case_joins_every_list_that_names_it() -> None:
    copy = with_copied_use_case(load_project_config(ROOT, "medium"), "churn", ["churn"])
    for stack, max_instances in (("dev", 4), ("staging", 2), ("prod", 4)):
        entries = copy.values(stack)["mlops-platform:useCases"]
        assert [entry["name"] for entry in entries] == ["churn", "churn-2"]
        assert entries[1]["maxInstances"] == max_instances, "a copy of that stack's own entry"
    long_name = "a" * 32
    assert with_copied_use_case(load_project_config(ROOT, "small"), long_name, [long_name]).copy_name == \
        "a" * 30 + "-2"

"""Network paths over the captured shipped stacks: every VPC workload reaches what it needs (S3 through the gateway
endpoint's prefix list, each interface endpoint on 443, its peers), nothing reaches the internet; and each single
breakage, made by editing captured resources, is caught with its reason."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops_platform.offline.capture import CapturedResource, CapturedStack
from mlops_platform.offline.network_paths import (
    DATA_LAKE_STUDIO_DESTINATIONS,
    DRIFT_CHECK_DESTINATIONS,
    JOB_DESTINATIONS,
    REQUIRED_DESTINATIONS,
    STUDIO_DESTINATIONS,
    NetworkPaths,
    NetworkPathsError,
    check,
    evaluate,
)
from mlops_platform.offline.preview import Preview, run_preview
from mlops_platform.offline.stack_config import load_project_config

SIZES = ("small", "medium", "large")
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
Change = Callable[[dict[str, Any]], dict[str, Any] | None]


def captured(preview: Preview) -> list[CapturedStack]:
    return [stack.captured for stack in preview.stacks]


def resource(stacks: list[CapturedStack], name: str) -> CapturedResource:
    matches = [r for stack in stacks for r in stack.resources if r.name == name]
    assert len(matches) == 1, f"{len(matches)} resources named {name!r}"
    return matches[0]


def edited(stacks: list[CapturedStack], name: str, change: Change) -> list[CapturedStack]:
    """The stacks with resource `name`'s inputs changed (or the resource removed when `change` returns None)."""
    result = []
    for stack in stacks:
        resources = []
        for r in stack.resources:
            if r.name == name:
                inputs = change(dict(r.inputs))
                if inputs is None:
                    continue
                r = dataclasses.replace(r, inputs=inputs)
            resources.append(r)
        result.append(dataclasses.replace(stack, resources=resources))
    return result


def added(stacks: list[CapturedStack], stack_name: str, new: CapturedResource) -> list[CapturedStack]:
    return [dataclasses.replace(s, resources=[*s.resources, new]) if s.name == stack_name else s for s in stacks]


def paths_to(result: NetworkPaths, destination: str, workload_part: str = "") -> list[dict[str, Any]]:
    found = [p for p in result.document()["paths"]
             if p["destination"] == destination and workload_part in p["workload"]]
    assert found, f"no path to {destination} from a workload like {workload_part!r}"
    return found


@pytest.fixture(scope="module")
def small(shipped_preview: Callable[..., Preview]) -> list[CapturedStack]:
    return captured(shipped_preview("small"))


@pytest.mark.parametrize("size", SIZES)
def test_every_workload_reaches_every_destination_it_needs(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    result = check(preview.stacks[0].config, captured(preview))
    assert result.passed, result.findings
    document = result.document()
    assert json.loads(json.dumps(document)) == document, "the document is JSON"
    by_workload: dict[str, set[str]] = {}
    for path in document["paths"]:
        by_workload.setdefault(path["workload"], set()).add(path["destination"])
        expected = path["destination"] != "internet"
        assert path["reachable"] is expected, path
        assert path["reason"]
    lake = {d.name for d in DATA_LAKE_STUDIO_DESTINATIONS} if size == "large" else set()  # the data lake's
    assert by_workload["dev-studio"] == {d.name for d in STUDIO_DESTINATIONS} | lake | {"internet"}
    jobs = {name for name in by_workload if name.startswith("ops-churn-retraining/")}
    # Drift monitoring (on by default in medium and large) adds the open engine's baseline job.
    baseline = ("drift-baseline",) if preview.stacks[0].config.drift_engine == "open" else ()
    # Bias and explainability (on in the shipped large stacks) adds the bias step's job; churn's feature group, its
    # read-features job: both run in the VPC too.
    bias = ("bias-explainability",) if preview.stacks[0].config.features.clarify else ()
    features = ("read-features",) if preview.stacks[0].config.feature_groups else ()
    assert jobs == {f"ops-churn-retraining/{step}"
                    for step in ("preprocess", "train", "evaluate", *baseline, *bias, *features)}
    for job in jobs:
        assert by_workload[job] == {d.name for d in JOB_DESTINATIONS} | {"internet"}


@pytest.mark.parametrize("size", ["medium", "large"])
def test_the_drift_check_reaches_the_registry_metrics_and_events_through_the_ops_network(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    result = check(preview.stacks[0].config, captured(preview))
    paths = [p for p in result.paths if p.workload.name == "ops-churn-drift/DriftCheck"]
    assert {p.workload.kind for p in paths} == {"drift-check"}
    assert {p.destination.name for p in paths} == {d.name for d in DRIFT_CHECK_DESTINATIONS} | {"internet"}
    assert all(p.holds for p in paths), [p.reason for p in paths if not p.holds]


def test_the_paths_name_the_rules_and_routes_that_carry_them(small: list[CapturedStack]) -> None:
    result = evaluate(small)
    s3 = paths_to(result, "s3", "dev-studio")[0]
    assert "dev-network-members-to-s3-https" in s3["reason"] and "prefix list pl-" in s3["reason"]
    assert s3["port"] == 443 and s3["protocol"] == "tcp"
    for service in ("sagemaker.api", "sagemaker.runtime", "sts", "logs", "kms"):
        path = paths_to(result, service, "dev-studio")[0]
        assert f"dev-network-{service.replace('.', '-')}" in path["reason"], path
        assert "dev-network-endpoints-https" in path["reason"], path
    apps = paths_to(result, "studio-apps", "dev-studio")[0]
    assert apps["port"] == "8192-65535" and "dev-network-members-from-members" in apps["reason"]
    assert paths_to(result, "efs", "dev-studio")[0]["port"] == 2049
    assert paths_to(result, "job-instances", "train")[0]["port"] == "all"


def test_members_may_send_https_to_the_s3_prefix_list(small: list[CapturedStack]) -> None:
    """Defect: egress went only to the members themselves and the VPC CIDR, and S3's gateway endpoint is neither."""
    for network in ("dev-network", "ops-network"):
        gateway = resource(small, f"{network}-s3")
        rule = resource(small, f"{network}-members-to-s3-https")
        assert rule.type == SG_EGRESS
        assert gateway.outputs["prefixListId"].startswith("pl-")
        assert rule.inputs["prefixListId"] == gateway.outputs["prefixListId"]
        assert rule.inputs["securityGroupId"] == resource(small, f"{network}-members").id
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443)


def test_without_the_prefix_list_rule_s3_is_unreachable(small: list[CapturedStack]) -> None:
    result = evaluate(edited(small, "dev-network-members-to-s3-https", lambda inputs: None))
    s3 = paths_to(result, "s3", "dev-studio")[0]
    assert not s3["reachable"] and "prefix list" in s3["reason"]
    assert not result.passed
    assert [f.destination for f in result.findings] == ["s3"]
    assert all(p["reachable"] for p in paths_to(result, "s3", "ops-churn"))


def test_without_the_endpoints_ingress_the_endpoints_are_unreachable(small: list[CapturedStack]) -> None:
    result = evaluate(edited(small, "dev-network-endpoints-https", lambda inputs: None))
    api = paths_to(result, "sagemaker.api", "dev-studio")[0]
    assert not api["reachable"] and "no ingress rule" in api["reason"]
    assert {f.destination for f in result.findings} == {"sagemaker.api", "sagemaker.runtime", "sts", "logs", "kms"}


def test_a_route_table_without_the_gateway_association_loses_s3(small: list[CapturedStack]) -> None:
    result = evaluate(edited(small, "ops-network-s3", lambda inputs: {**inputs, "routeTableIds": []}))
    for path in paths_to(result, "s3", "ops-churn"):
        assert not path["reachable"] and "is not associated with ops-network-s3" in path["reason"]
    assert all(p["reachable"] for p in paths_to(result, "s3", "dev-studio"))


def test_a_separate_route_table_association_counts(small: list[CapturedStack]) -> None:
    gateway = resource(small, "ops-network-s3")
    table = gateway.inputs["routeTableIds"][0]
    association = dataclasses.replace(
        gateway, urn=gateway.urn + "-rta", name="ops-network-s3-rta", id="vpce-rta",
        type="aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation",
        inputs={"vpcEndpointId": gateway.id, "routeTableId": table}, outputs={})
    stacks = added(edited(small, "ops-network-s3", lambda inputs: {**inputs, "routeTableIds": []}), "dev",
                   association)
    assert all(p["reachable"] for p in paths_to(evaluate(stacks), "s3", "ops-churn"))


def test_a_port_range_that_misses_443_loses_the_interface_endpoints(small: list[CapturedStack]) -> None:
    result = evaluate(edited(small, "dev-network-members-to-vpc-https",
                             lambda inputs: {**inputs, "fromPort": 444.0, "toPort": 1024.0}))
    api = paths_to(result, "sagemaker.api", "dev-studio")[0]
    assert not api["reachable"] and "no egress rule" in api["reason"]
    assert paths_to(result, "s3", "dev-studio")[0]["reachable"], "S3 has its own rule"


def test_an_endpoint_missing_a_zone_or_private_dns_is_unreachable(small: list[CapturedStack]) -> None:
    one_zone = evaluate(edited(small, "dev-network-sts",
                               lambda inputs: {**inputs, "subnetIds": inputs["subnetIds"][:1]}))
    assert "has no subnet in eu-west-1b" in paths_to(one_zone, "sts", "dev-studio")[0]["reason"]
    no_dns = evaluate(edited(small, "dev-network-kms", lambda inputs: {**inputs, "privateDnsEnabled": False}))
    assert "private DNS off" in paths_to(no_dns, "kms", "dev-studio")[0]["reason"]
    missing = evaluate(edited(small, "dev-network-logs", lambda inputs: None))
    assert "no logs interface endpoint" in paths_to(missing, "logs", "dev-studio")[0]["reason"]


def test_rules_in_every_form_are_evaluated(small: list[CapturedStack]) -> None:
    """The prefix-list rule as an `aws:ec2/securityGroupRule`, the endpoints' ingress inline on their group."""
    members = resource(small, "dev-network-members").id
    prefix_list = resource(small, "dev-network-s3").outputs["prefixListId"]
    legacy_rule = dataclasses.replace(
        resource(small, "dev-network-members-to-s3-https"), type="aws:ec2/securityGroupRule:SecurityGroupRule",
        inputs={"type": "egress", "securityGroupId": members, "protocol": "6", "fromPort": 0.0, "toPort": 65535.0,
                "prefixListIds": [prefix_list]})
    stacks = [dataclasses.replace(s, resources=[legacy_rule if r.name == legacy_rule.name else r
                                                for r in s.resources]) for s in small]
    stacks = edited(stacks, "dev-network-endpoints-https", lambda inputs: None)
    stacks = edited(stacks, "dev-network-endpoints", lambda inputs: {**inputs, "ingress": [
        {"protocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "securityGroups": [members]}]})
    result = evaluate(stacks)
    assert result.passed, result.findings
    assert "dev-network-members-to-s3-https" in paths_to(result, "s3", "dev-studio")[0]["reason"]
    assert "dev-network-endpoints.ingress[0]" in paths_to(result, "sts", "dev-studio")[0]["reason"]


def test_peers_need_both_directions(small: list[CapturedStack]) -> None:
    result = evaluate(edited(small, "dev-network-members-from-members", lambda inputs: None))
    for destination in ("studio-apps", "efs"):
        path = paths_to(result, destination, "dev-studio")[0]
        assert not path["reachable"] and "no ingress rule" in path["reason"]
    narrow = evaluate(edited(small, "ops-network-members-to-members",
                             lambda inputs: {**inputs, "ipProtocol": "tcp", "fromPort": 0.0, "toPort": 65535.0}))
    assert not paths_to(narrow, "job-instances", "train")[0]["reachable"], "distributed jobs need all traffic"


def test_a_route_to_the_internet_is_a_finding_unless_studio_has_a_nat_gateway(small: list[CapturedStack]) -> None:
    table = resource(small, "dev-network-private")
    route = dataclasses.replace(table, urn=table.urn + "-nat", name="dev-network-private-default",
                                id="r-nat", type="aws:ec2/route:Route",
                                inputs={"routeTableId": table.id, "destinationCidrBlock": "0.0.0.0/0",
                                        "natGatewayId": "nat-0123456789abcdef0"}, outputs={})
    stacks = added(small, "dev", route)
    closed = evaluate(stacks)
    internet = paths_to(closed, "internet", "dev-studio")[0]
    assert internet["reachable"] and internet["expected"] == "unreachable"
    assert "dev-network-private-default" in internet["reason"]
    assert [f.destination for f in closed.findings] == ["internet"]
    assert evaluate(stacks, studio_internet=True).passed
    ops_table = resource(small, "ops-network-private")
    job_route = dataclasses.replace(route, urn=route.urn + "-ops", name="ops-network-private-default",
                                    inputs={**route.inputs, "routeTableId": ops_table.id})
    opened = evaluate(added(stacks, "dev", job_route), studio_internet=True)
    assert {f.workload.split("/")[0] for f in opened.findings} == {"ops-churn-retraining"}


def test_studio_outside_vpc_only_mode_reaches_the_internet(small: list[CapturedStack]) -> None:
    result = evaluate(edited(small, "dev-studio", lambda inputs: {**inputs,
                                                                  "appNetworkAccessType": "PublicInternetOnly"}))
    internet = paths_to(result, "internet", "dev-studio")[0]
    assert internet["reachable"] and "PublicInternetOnly" in internet["reason"]


def test_a_security_group_of_another_vpc_is_caught(small: list[CapturedStack]) -> None:
    dev_members, ops_members = (resource(small, f"{tier}-network-members").id for tier in ("dev", "ops"))

    def swap_group(inputs: dict[str, Any]) -> dict[str, Any]:
        if "pipelineDefinition" not in inputs:
            return inputs
        return {**inputs, "pipelineDefinition": inputs["pipelineDefinition"].replace(ops_members, dev_members)}

    for path in paths_to(evaluate(edited(small, "ops-churn-retraining", swap_group)), "s3", "ops-churn"):
        assert not path["reachable"] and "not in the workload's VPC" in path["reason"]
        assert dev_members in path["reason"]


def test_with_studio_nat_gateway_only_studio_reaches_the_internet(tmp_path: Path, project_root: Path) -> None:
    override = tmp_path / "Pulumi.override.yaml"
    override.write_text("config:\n  mlops-platform:studio: {natGateway: true}\n")
    preview = run_preview(load_project_config(project_root, "small", override), only_stack="dev",
                          evaluate_policies=False)
    result = check(preview.stacks[0].config, captured(preview))
    assert result.passed, result.findings
    studio = paths_to(result, "internet", "dev-studio")[0]
    assert studio["reachable"] and studio["expected"] == "reachable" and "natGatewayId=nat-" in studio["reason"]
    assert not any(p["reachable"] for p in paths_to(result, "internet", "ops-churn"))
    assert not evaluate(captured(preview)).passed, "without the switch the same route is a finding"


def test_an_unreadable_pipeline_definition_is_one_clear_error(small: list[CapturedStack]) -> None:
    broken = edited(small, "ops-churn-retraining", lambda inputs: {**inputs, "pipelineDefinition": "{not json"})
    with pytest.raises(NetworkPathsError, match="ops-churn-retraining: pipelineDefinition is not a JSON"):
        evaluate(broken)


def test_workload_kinds_all_have_required_destinations() -> None:
    assert set(REQUIRED_DESTINATIONS) == {"studio", "processing-job", "training-job", "model", "drift-check"}
    assert all(any(d.name == "s3" for d in destinations) for destinations in REQUIRED_DESTINATIONS.values())


def test_every_vpc_logs_its_flows_and_adopts_its_default_group_empty(small: list[CapturedStack]) -> None:
    """Hardening: flow logs of all traffic to an owned log group; default security groups without any rule."""
    resources = [r for stack in small for r in stack.resources]
    vpcs = {r.id for r in resources if r.type == "aws:ec2/vpc:Vpc"}
    flow_logs = [r for r in resources if r.type == "aws:ec2/flowLog:FlowLog"]
    assert {f.inputs["vpcId"] for f in flow_logs} == vpcs
    log_groups = {r.outputs["arn"]: r for r in resources if r.type == "aws:cloudwatch/logGroup:LogGroup"}
    roles = {r.outputs["arn"]: r for r in resources if r.type == "aws:iam/role:Role"}
    for flow_log in flow_logs:
        assert flow_log.inputs["trafficType"] == "ALL"
        assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
        assert log_groups[flow_log.inputs["logDestination"]].inputs["retentionInDays"] == 365
        trust = json.loads(roles[flow_log.inputs["iamRoleArn"]].inputs["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
        assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "111111111111"}
    defaults = [r for r in resources if r.type == "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"]
    assert {d.inputs["vpcId"] for d in defaults} == vpcs
    assert all("ingress" not in d.inputs and "egress" not in d.inputs for d in defaults)

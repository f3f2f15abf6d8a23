"""Proof that every workload running in a VPC reaches what it needs, and nothing it must not, over the
captured stacks of a size.

Workloads: SageMaker Studio domains (the domain's default security groups in its subnets; a user profile
with security groups of its own is a workload of its own), the processing and training steps of SageMaker
pipelines (the `VpcConfig` in the rendered pipeline definition), and SageMaker models with a `vpcConfig`.
For each, every destination its kind needs (`REQUIRED_DESTINATIONS`) is evaluated the way the VPC would:
- S3 through a gateway endpoint: each subnet's route table is associated with the endpoint, and an egress
  rule of one of the workload's security groups allows tcp 443 to the endpoint's prefix list;
- an interface endpoint: it exists in the workload's VPC, in every Availability Zone of the workload's
  subnets, with private DNS on; the workload's egress allows 443 to it (by its security group or a CIDR
  holding its subnets) and the endpoint's ingress allows 443 from the workload (by security group or CIDR);
- peers (Studio apps with each other, Studio and its EFS volume, distributed jobs): the workload's security
  groups allow the ports both out and in between its own members;
- the internet: no route to an internet or NAT gateway, unless Studio was given a NAT gateway
  (`studio.natGateway`), and then only for Studio.
Security-group rules are read from inline `ingress`/`egress` and from separate `aws:vpc/securityGroupIngressRule`,
`aws:vpc/securityGroupEgressRule` and `aws:ec2/securityGroupRule` resources, matched by the group's id.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mlops_platform import contract
from mlops_platform.config import PlatformConfig
from mlops_platform.offline.capture import CapturedResource, CapturedStack

DestinationKind = Literal["gateway", "interface", "peer", "internet"]
HTTPS = 443
ALL_PORTS = (0, 65535)


@dataclass(frozen=True)
class Destination:
    name: str
    """For endpoints the service (`s3`, `sagemaker.api`); for peers and the internet a label."""
    kind: DestinationKind
    protocol: str
    """`tcp`, `udp`, or `-1` (all traffic)."""
    from_port: int
    to_port: int
    why: str

    @property
    def port(self) -> int | str:
        if self.protocol == "-1":
            return "all"
        return self.from_port if self.from_port == self.to_port else f"{self.from_port}-{self.to_port}"


def _endpoint(service: str, kind: DestinationKind, why: str) -> Destination:
    return Destination(service, kind, "tcp", HTTPS, HTTPS, why)


S3 = _endpoint("s3", "gateway", "data, step scripts and model artifacts")
STUDIO_DESTINATIONS: tuple[Destination, ...] = (
    S3,
    _endpoint("sagemaker.api", "interface", "VpcOnly Studio cannot start without the SageMaker API"),
    _endpoint("sagemaker.runtime", "interface", "VpcOnly Studio notebooks need the SageMaker runtime"),
    _endpoint("sts", "interface", "the SageMaker Python SDK's remote training jobs"),
    _endpoint("logs", "interface", "the SageMaker Python SDK reads remote job status from CloudWatch Logs"),
    _endpoint("kms", "interface", "data scientists encrypt and decrypt with the workspace key"),
    Destination("studio-apps", "peer", "tcp", 8192, 65535, "JupyterServer to KernelGateway apps (AWS: at least "
                "8192-65535 within the security group)"),
    Destination("efs", "peer", "tcp", 2049, 2049, "NFS between the domain and its home EFS volume"),
)
JOB_DESTINATIONS: tuple[Destination, ...] = (
    S3,
    Destination("job-instances", "peer", "-1", *ALL_PORTS, "distributed jobs: all traffic between members of the "
                "security group (inter-container encryption adds UDP 500 and ESP)"),
)
MODEL_DESTINATIONS: tuple[Destination, ...] = (S3,)
DRIFT_CHECK_DESTINATIONS: tuple[Destination, ...] = (
    *JOB_DESTINATIONS,
    _endpoint("sagemaker.api", "interface", "the drift check finds the version serving in the registry and the "
              "retraining in flight"),
    _endpoint("monitoring", "interface", "the drift check puts its metrics into CloudWatch"),
    _endpoint("events", "interface", "the drift check puts its drift event on the default bus"),
)
REQUIRED_DESTINATIONS: Mapping[str, tuple[Destination, ...]] = {
    "studio": STUDIO_DESTINATIONS,
    "processing-job": JOB_DESTINATIONS,
    "drift-check": DRIFT_CHECK_DESTINATIONS,
    "training-job": JOB_DESTINATIONS,
    "model": MODEL_DESTINATIONS,
}
"""What each kind of VPC workload needs. Studio: AWS's VpcOnly requirements (SageMaker API and runtime, S3, NFS
2049, 8192-65535 between apps; STS and CloudWatch Logs for the SDK's remote jobs) plus KMS for the tier keys.
Jobs: AWS pulls job images itself and the platform's jobs run network-isolated, so S3 (through the VPC) and
each other are what they need; a drift check (not network-isolated) calls the SageMaker API, CloudWatch metrics
and EventBridge too."""
DATA_LAKE_STUDIO_DESTINATIONS: tuple[Destination, ...] = (
    _endpoint("athena", "interface", "data scientists query the data lake in their workgroup"),
    _endpoint("glue", "interface", "Athena clients read the shared tables' catalog entries"),
    _endpoint("lakeformation", "interface", "Lake Formation vends the data access of the granted tables"),
)
"""What Studio needs beside its own destinations where the size builds the data lake (large)."""
INTERNET = Destination("internet", "internet", "-1", *ALL_PORTS, "no route out unless studio.natGateway")
INTERNET_TARGETS = ("gatewayId", "natGatewayId", "egressOnlyGatewayId")


class NetworkPathsError(ValueError):
    """A captured resource the checker must read is not in the shape AWS documents."""


@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    stack: str
    urn: str
    security_group_ids: tuple[str, ...]
    subnet_ids: tuple[str, ...]
    internet_outside_vpc: str = ""
    """Why the workload reaches the internet whatever the VPC's routes say (a Studio domain not in VpcOnly)."""


@dataclass(frozen=True)
class Path:
    workload: Workload
    destination: Destination
    reachable: bool
    reason: str
    expected: bool = True
    """False for a path that must not exist (the internet without a NAT gateway)."""

    @property
    def holds(self) -> bool:
        return self.reachable == self.expected


@dataclass(frozen=True)
class Finding:
    workload: str
    stack: str
    urn: str
    destination: str
    message: str


@dataclass
class NetworkPaths:
    paths: list[Path] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [Finding(p.workload.name, p.workload.stack, p.workload.urn, p.destination.name,
                        f"{p.workload.kind} {p.workload.name} -> {p.destination.name}: {p.reason}")
                for p in self.paths if not p.holds]

    @property
    def passed(self) -> bool:
        return all(path.holds for path in self.paths)

    def document(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "paths": [{"workload": p.workload.name, "kind": p.workload.kind, "stack": p.workload.stack,
                       "destination": p.destination.name, "protocol": p.destination.protocol,
                       "port": p.destination.port, "expected": "reachable" if p.expected else "unreachable",
                       "reachable": p.reachable, "reason": p.reason} for p in self.paths],
            "findings": [{"workload": f.workload, "stack": f.stack, "urn": f.urn, "destination": f.destination,
                          "message": f.message} for f in self.findings],
        }


def check(cfg: PlatformConfig, stacks: Iterable[CapturedStack]) -> NetworkPaths:
    """The network paths of a size's captured stacks under its config (`studio.natGateway`)."""
    return evaluate(stacks, studio_internet=cfg.studio.nat_gateway,
                    studio_extra=DATA_LAKE_STUDIO_DESTINATIONS if cfg.governed_data_lake is not None else ())


def evaluate(stacks: Iterable[CapturedStack], studio_internet: bool = False,
             studio_extra: tuple[Destination, ...] = ()) -> NetworkPaths:
    result = NetworkPaths()
    for stack in stacks:
        network = _Network(stack.resources)
        for workload in workloads(stack):
            extra = studio_extra if workload.kind == "studio" else ()
            result.paths += [network.path(workload, destination)
                             for destination in (*REQUIRED_DESTINATIONS[workload.kind], *extra)]
            result.paths.append(network.internet(workload, allowed=studio_internet and workload.kind == "studio"))
    return result


# --- workloads -------------------------------------------------------------------------------------------------

def workloads(stack: CapturedStack) -> Iterator[Workload]:
    """Every workload of a stack that runs in a VPC."""
    for resource in stack.resources:
        if resource.type == "aws:sagemaker/domain:Domain":
            yield from _studio(stack, resource)
        elif resource.type == "aws:sagemaker/pipeline:Pipeline":
            yield from _pipeline_jobs(stack, resource)
        elif resource.type == "aws:sagemaker/model:Model" and resource.inputs.get("vpcConfig"):
            config = resource.inputs["vpcConfig"]
            yield Workload("model", resource.name, stack.name, resource.urn,
                           _strings(config.get("securityGroupIds")), _strings(config.get("subnets")))


def _studio(stack: CapturedStack, domain: CapturedResource) -> Iterator[Workload]:
    subnets = _strings(domain.inputs.get("subnetIds"))
    default_groups = _strings((domain.inputs.get("defaultUserSettings") or {}).get("securityGroups"))
    access = domain.inputs.get("appNetworkAccessType") or "PublicInternetOnly"
    outside = "" if access == "VpcOnly" else (f"appNetworkAccessType is {access}: SageMaker gives the apps "
                                              "internet access through its own VPC")
    yield Workload("studio", domain.name, stack.name, domain.urn, default_groups, subnets, outside)
    for profile in stack.resources:
        if profile.type != "aws:sagemaker/userProfile:UserProfile":
            continue
        if profile.inputs.get("domainId") != domain.id:
            continue
        groups = _strings((profile.inputs.get("userSettings") or {}).get("securityGroups"))
        if groups and set(groups) != set(default_groups):
            yield Workload("studio", profile.name, stack.name, profile.urn, groups, subnets, outside)


def _pipeline_jobs(stack: CapturedStack, pipeline: CapturedResource) -> Iterator[Workload]:
    definition = pipeline.inputs.get("pipelineDefinition")
    if not isinstance(definition, str):
        return
    try:
        steps = json.loads(definition).get("Steps", [])
    except (json.JSONDecodeError, AttributeError) as err:
        raise NetworkPathsError(f"pipeline {pipeline.urn}: pipelineDefinition is not a JSON pipeline definition "
                                f"({err})") from err
    for step in _steps(steps):
        arguments = step.get("Arguments")
        if not isinstance(arguments, Mapping):
            continue
        # Processing-shaped requests (processing, quality and Clarify checks) carry NetworkConfig.VpcConfig;
        # training-shaped ones carry VpcConfig.
        vpc, kind = (arguments.get("NetworkConfig") or {}).get("VpcConfig"), "processing-job"
        if vpc and contract.is_drift_pipeline(str(pipeline.inputs.get("pipelineName", ""))):
            kind = "drift-check"
        if not vpc:
            vpc, kind = arguments.get("VpcConfig"), "training-job"
        if vpc:
            yield Workload(kind, f"{pipeline.name}/{step.get('Name')}", stack.name, pipeline.urn,
                           _strings(vpc.get("SecurityGroupIds")), _strings(vpc.get("Subnets")))


def _steps(steps: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Steps, including those nested in condition steps' branches."""
    for step in steps:
        yield step
        arguments = step.get("Arguments")
        if not isinstance(arguments, Mapping):
            continue
        for branch in ("IfSteps", "ElseSteps"):
            yield from _steps(arguments.get(branch) or [])


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value or [])


# --- security-group rules ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    direction: Literal["ingress", "egress"]
    group: str
    protocol: str
    from_port: int
    to_port: int
    cidrs: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    prefix_lists: tuple[str, ...] = ()
    source: str = ""
    """The resource that declares the rule (a rule resource, or `<group>.ingress[i]` for inline rules)."""

    def covers(self, destination: Destination) -> bool:
        if self.protocol == "-1":
            return True
        return (self.protocol == destination.protocol and self.from_port <= destination.from_port
                and destination.to_port <= self.to_port)

    def covers_networks(self, networks: Sequence[str]) -> str | None:
        """The rule's CIDR that holds every one of `networks`, if any."""
        for cidr in self.cidrs:
            block = _network(cidr)
            if block is not None and networks and all(_inside(network, block) for network in networks):
                return cidr
        return None


SECURITY_GROUP_TYPES = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
PROTOCOL_NAMES = {"-1": "-1", "all": "-1", "6": "tcp", "tcp": "tcp", "17": "udp", "udp": "udp", "1": "icmp",
                  "icmp": "icmp"}


def _protocol(value: Any) -> str:
    text = str(value if value is not None else "-1").lower()
    return PROTOCOL_NAMES.get(text, text)


def _ports(protocol: str, from_port: Any, to_port: Any) -> tuple[int, int]:
    if protocol == "-1" or from_port is None:
        return ALL_PORTS
    return int(from_port), int(to_port if to_port is not None else from_port)


def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def _inside(cidr: str, block: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    network = _network(cidr)
    return network is not None and network.version == block.version and network.subnet_of(block)  # type: ignore[arg-type]


def _rules(resources: Sequence[CapturedResource]) -> Iterator[Rule]:
    for resource in resources:
        inputs = resource.inputs
        if resource.type in SECURITY_GROUP_TYPES:
            yield from _inline_rules(resource)
        elif resource.type in ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                               "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"):
            protocol = _protocol(inputs.get("ipProtocol"))
            yield Rule("ingress" if "Ingress" in resource.type else "egress", str(inputs.get("securityGroupId")),
                       protocol, *_ports(protocol, inputs.get("fromPort"), inputs.get("toPort")),
                       cidrs=_present(inputs.get("cidrIpv4"), inputs.get("cidrIpv6")),
                       groups=_present(inputs.get("referencedSecurityGroupId")),
                       prefix_lists=_present(inputs.get("prefixListId")), source=resource.name)
        elif resource.type == "aws:ec2/securityGroupRule:SecurityGroupRule":
            protocol = _protocol(inputs.get("protocol"))
            group = str(inputs.get("securityGroupId"))
            referenced = group if inputs.get("self") else inputs.get("sourceSecurityGroupId")
            yield Rule("ingress" if inputs.get("type") == "ingress" else "egress", group, protocol,
                       *_ports(protocol, inputs.get("fromPort"), inputs.get("toPort")),
                       cidrs=(*_strings(inputs.get("cidrBlocks")), *_strings(inputs.get("ipv6CidrBlocks"))),
                       groups=_present(referenced), prefix_lists=_strings(inputs.get("prefixListIds")),
                       source=resource.name)


def _inline_rules(group: CapturedResource) -> Iterator[Rule]:
    for direction in ("ingress", "egress"):
        for index, entry in enumerate(group.inputs.get(direction) or []):
            protocol = _protocol(entry.get("protocol"))
            referenced = [*_strings(entry.get("securityGroups")), *([group.id] if entry.get("self") else [])]
            yield Rule(direction, group.id, protocol, *_ports(protocol, entry.get("fromPort"), entry.get("toPort")),
                       cidrs=(*_strings(entry.get("cidrBlocks")), *_strings(entry.get("ipv6CidrBlocks"))),
                       groups=tuple(referenced), prefix_lists=_strings(entry.get("prefixListIds")),
                       source=f"{group.name}.{direction}[{index}]")


def _present(*values: Any) -> tuple[str, ...]:
    return tuple(str(value) for value in values if value)


# --- the network of one stack ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Subnet:
    id: str
    vpc: str
    cidr: str
    zone: str


@dataclass(frozen=True)
class _Endpoint:
    name: str
    id: str
    vpc: str
    service: str
    type: str
    private_dns: bool
    subnets: tuple[str, ...]
    groups: tuple[str, ...]
    route_tables: tuple[str, ...]
    prefix_list: str


class _Network:
    """Subnets, route tables, endpoints and security-group rules of one stack, indexed by id."""

    def __init__(self, resources: Sequence[CapturedResource]) -> None:
        self.group_vpcs = {r.id: str(r.inputs.get("vpcId")) for r in resources if r.type in SECURITY_GROUP_TYPES}
        self.subnets = {r.id: _Subnet(r.id, str(r.inputs.get("vpcId")), str(r.inputs.get("cidrBlock")),
                                      str(r.inputs.get("availabilityZone")))
                        for r in resources if r.type == "aws:ec2/subnet:Subnet"}
        self.route_table_of = {str(r.inputs.get("subnetId")): str(r.inputs.get("routeTableId")) for r in resources
                               if r.type == "aws:ec2/routeTableAssociation:RouteTableAssociation"
                               and r.inputs.get("subnetId")}
        self.routes: dict[str, list[tuple[str, str]]] = {}
        for r in resources:
            if r.type == "aws:ec2/routeTable:RouteTable":
                for route in r.inputs.get("routes") or []:
                    self._add_route(r.id, route, r.name)
            elif r.type == "aws:ec2/route:Route":
                self._add_route(str(r.inputs.get("routeTableId")), r.inputs, r.name)
        self.endpoints = [_endpoint_of(r, resources) for r in resources if r.type == "aws:ec2/vpcEndpoint:VpcEndpoint"]
        self.rules = list(_rules(resources))

    def _add_route(self, table: str, route: Mapping[str, Any], source: str) -> None:
        for target in INTERNET_TARGETS:
            value = str(route.get(target) or "")
            if value.startswith(("igw-", "nat-", "eigw-")) or (target != "gatewayId" and value):
                self.routes.setdefault(table, []).append((source, f"{target}={value}"))

    def _egress(self, workload: Workload, destination: Destination) -> list[Rule]:
        return [r for r in self.rules if r.direction == "egress" and r.group in workload.security_group_ids
                and r.covers(destination)]

    def _ingress(self, groups: Sequence[str], destination: Destination) -> list[Rule]:
        return [r for r in self.rules if r.direction == "ingress" and r.group in groups and r.covers(destination)]

    def _endpoints(self, workload: Workload, destination: Destination, endpoint_type: str) -> list[_Endpoint]:
        vpc = self._vpc_of(workload)
        return [e for e in self.endpoints if e.service == destination.name and e.type == endpoint_type and e.vpc == vpc]

    def _vpc_of(self, workload: Workload) -> str | None:
        vpcs = {self.subnets[s].vpc for s in workload.subnet_ids if s in self.subnets}
        return vpcs.pop() if len(vpcs) == 1 else None

    def path(self, workload: Workload, destination: Destination) -> Path:
        missing = self._placement_problem(workload)
        if missing:
            return Path(workload, destination, False, missing)
        if destination.kind == "gateway":
            reachable, reason = self._gateway(workload, destination)
        elif destination.kind == "interface":
            reachable, reason = self._interface(workload, destination)
        else:
            reachable, reason = self._peer(workload, destination)
        return Path(workload, destination, reachable, reason)

    def _placement_problem(self, workload: Workload) -> str | None:
        if not workload.security_group_ids:
            return "the workload has no security groups"
        unknown = [s for s in workload.subnet_ids if s not in self.subnets]
        if not workload.subnet_ids or unknown:
            return f"the workload's subnets are not in this stack: {', '.join(unknown) or 'none given'}"
        vpc = self._vpc_of(workload)
        if vpc is None:
            return "the workload's subnets are in more than one VPC"
        strangers = [g for g in workload.security_group_ids if self.group_vpcs.get(g) != vpc]
        if strangers:
            return f"security groups not in the workload's VPC {vpc}: {', '.join(strangers)}"
        return None

    def _gateway(self, workload: Workload, destination: Destination) -> tuple[bool, str]:
        candidates = self._endpoints(workload, destination, "Gateway")
        if not candidates:
            return False, f"no {destination.name} gateway endpoint in the workload's VPC"
        endpoint = candidates[0]
        for subnet in workload.subnet_ids:
            table = self.route_table_of.get(subnet)
            if table is None:
                return False, f"subnet {subnet} has no associated route table"
            if table not in endpoint.route_tables:
                return False, f"route table {table} of subnet {subnet} is not associated with {endpoint.name}"
        if not endpoint.prefix_list:
            return False, f"{endpoint.name} has no prefix list id"
        for rule in self._egress(workload, destination):
            if endpoint.prefix_list in rule.prefix_lists:
                return True, (f"route tables associated with {endpoint.name}; egress {rule.source} allows "
                              f"{destination.protocol}/{destination.port} to prefix list {endpoint.prefix_list}")
            if any(cidr in ("0.0.0.0/0",) for cidr in rule.cidrs):
                return True, (f"route tables associated with {endpoint.name}; egress {rule.source} allows "
                              f"{destination.protocol}/{destination.port} to 0.0.0.0/0 (holds the prefix list)")
        return False, (f"no egress rule of {', '.join(workload.security_group_ids)} allows {destination.protocol}/"
                       f"{destination.port} to the prefix list {endpoint.prefix_list} of {endpoint.name}")

    def _interface(self, workload: Workload, destination: Destination) -> tuple[bool, str]:
        candidates = self._endpoints(workload, destination, "Interface")
        if not candidates:
            return False, f"no {destination.name} interface endpoint in the workload's VPC"
        endpoint = candidates[0]
        if not endpoint.private_dns:
            return False, f"{endpoint.name} has private DNS off: the service's name does not resolve to it"
        zones = {self.subnets[s].zone: s for s in endpoint.subnets if s in self.subnets}
        missing_zones = sorted({self.subnets[s].zone for s in workload.subnet_ids} - set(zones))
        if missing_zones:
            return False, f"{endpoint.name} has no subnet in {', '.join(missing_zones)}"
        endpoint_cidrs = [self.subnets[zones[self.subnets[s].zone]].cidr for s in workload.subnet_ids]
        out = self._allowing(self._egress(workload, destination), endpoint.groups, endpoint_cidrs)
        if out is None:
            return False, (f"no egress rule of {', '.join(workload.security_group_ids)} allows {destination.protocol}/"
                           f"{destination.port} to {endpoint.name} (its security groups or subnets)")
        workload_cidrs = [self.subnets[s].cidr for s in workload.subnet_ids]
        into = self._allowing(self._ingress(endpoint.groups, destination), workload.security_group_ids, workload_cidrs)
        if into is None:
            return False, (f"no ingress rule of {endpoint.name}'s security groups allows {destination.protocol}/"
                           f"{destination.port} from the workload")
        return True, f"{endpoint.name} (private DNS) in every zone; egress {out}; ingress {into}"

    def _peer(self, workload: Workload, destination: Destination) -> tuple[bool, str]:
        cidrs = [self.subnets[s].cidr for s in workload.subnet_ids]
        out = self._allowing(self._egress(workload, destination), workload.security_group_ids, cidrs)
        into = self._allowing(self._ingress(workload.security_group_ids, destination), workload.security_group_ids,
                              cidrs)
        wanted = f"{destination.protocol}/{destination.port}"
        if out is None:
            return False, f"no egress rule allows {wanted} between the workload's own members"
        if into is None:
            return False, f"no ingress rule allows {wanted} between the workload's own members"
        return True, f"egress {out}; ingress {into}"

    @staticmethod
    def _allowing(rules: Sequence[Rule], groups: Sequence[str], cidrs: Sequence[str]) -> str | None:
        """How one of `rules` reaches `groups` (by reference) or every one of `cidrs` (by CIDR), if it does."""
        for rule in rules:
            referenced = sorted(set(rule.groups) & set(groups))
            if referenced:
                return f"{rule.source} (security group {referenced[0]})"
            cidr = rule.covers_networks(cidrs)
            if cidr:
                return f"{rule.source} ({cidr})"
        return None

    def internet(self, workload: Workload, allowed: bool) -> Path:
        routes = [f"{source} ({target}) in {table}" for subnet in workload.subnet_ids
                  if (table := self.route_table_of.get(subnet)) for source, target in self.routes.get(table, [])]
        reachable = bool(routes) or bool(workload.internet_outside_vpc)
        if workload.internet_outside_vpc:
            reason = workload.internet_outside_vpc
        elif routes:
            reason = f"routes to the internet: {'; '.join(sorted(set(routes)))}"
            if not allowed:
                reason += " (only Studio with studio.natGateway may have one)"
        else:
            reason = "no route to an internet or NAT gateway from the workload's subnets"
        return Path(workload, INTERNET, reachable, reason, expected=allowed)


def _endpoint_of(resource: CapturedResource, resources: Sequence[CapturedResource]) -> _Endpoint:
    inputs = resource.inputs
    extra_tables = [str(r.inputs.get("routeTableId")) for r in resources
                    if r.type == "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation"
                    and r.inputs.get("vpcEndpointId") == resource.id]
    extra_subnets = [str(r.inputs.get("subnetId")) for r in resources
                     if r.type == "aws:ec2/vpcEndpointSubnetAssociation:VpcEndpointSubnetAssociation"
                     and r.inputs.get("vpcEndpointId") == resource.id]
    extra_groups = [str(r.inputs.get("securityGroupId")) for r in resources
                    if r.type == "aws:ec2/securityGroupAssociation:SecurityGroupAssociation"
                    and r.inputs.get("vpcEndpointId") == resource.id]
    service = str(inputs.get("serviceName") or "")
    return _Endpoint(
        name=resource.name, id=resource.id, vpc=str(inputs.get("vpcId")),
        service=service.split(".", 3)[3] if service.startswith("com.amazonaws.") and service.count(".") >= 3
        else service,
        type=str(inputs.get("vpcEndpointType") or "Gateway"), private_dns=bool(inputs.get("privateDnsEnabled")),
        subnets=(*_strings(inputs.get("subnetIds")), *extra_subnets),
        groups=(*_strings(inputs.get("securityGroupIds")), *extra_groups),
        route_tables=(*_strings(inputs.get("routeTableIds")), *extra_tables),
        prefix_list=str(resource.outputs.get("prefixListId") or ""))

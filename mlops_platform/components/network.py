"""A private network for SageMaker: private subnets in two Availability Zones, the VPC endpoints SageMaker
needs, and no route to the internet unless a NAT gateway is asked for.

Studio in VPC-only mode and every training/processing job run here; AWS APIs are reached through the
endpoints (S3 through a gateway endpoint, the others through interface endpoints with private DNS). A gateway
endpoint is not an address in the VPC: traffic to it is addressed to S3's public prefix list, so the members
may send HTTPS to that prefix list. Every flow is recorded (VPC flow logs to CloudWatch Logs), and the VPC's
default security group is adopted with no rules, so nothing placed in it by mistake can talk to anything.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, allow, trust
from mlops_platform.placement import Placement

INTERFACE_ENDPOINT_SERVICES: tuple[str, ...] = (
    "sagemaker.api", "sagemaker.runtime", "sts", "logs", "monitoring", "kms", "ecr.api", "ecr.dkr",
)
"""SageMaker API and runtime (Studio in VpcOnly mode cannot start without them), STS and CloudWatch Logs (the
SageMaker SDK's remote jobs), CloudWatch metrics, KMS (the tiers' keys used from notebooks), ECR (images)."""
HTTPS = 443
FLOW_LOG_RETENTION_DAYS = 365


@dataclass(frozen=True)
class PrivateNetworkArgs:
    placement: Placement
    cidr: str
    nat_gateway: bool = False
    extra_interface_services: tuple[str, ...] = ()
    """Interface endpoints beyond INTERFACE_ENDPOINT_SERVICES that this network's workloads need (the ops tier's,
    with the open drift engine: EventBridge, for the drift check's event)."""
    flow_log_key_arn: pulumi.Input[str] | None = None
    """KMS key of the flow-log group. None: CloudWatch Logs' own at-rest encryption, until the tier key's policy
    lets `logs.<region>.amazonaws.com` use it."""


def interface_services(args: PrivateNetworkArgs) -> tuple[str, ...]:
    extra = [service for service in args.extra_interface_services if service not in INTERFACE_ENDPOINT_SERVICES]
    return (*INTERFACE_ENDPOINT_SERVICES, *dict.fromkeys(extra))


class PrivateNetwork(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    subnet_ids: list[pulumi.Output[str]]
    security_group_id: pulumi.Output[str]
    """Members (Studio apps, jobs) may reach each other and the endpoints; nothing else."""

    def __init__(self, name: str, args: PrivateNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:network:PrivateNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        network = ipaddress.IPv4Network(args.cidr)
        vpc = aws.ec2.Vpc(name, cidr_block=args.cidr, enable_dns_support=True, enable_dns_hostnames=True,
                          tags={"Name": name}, opts=child)
        zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOptions(parent=self))
        blocks = list(network.subnets(new_prefix=network.prefixlen + 4))
        subnets = [
            aws.ec2.Subnet(f"{name}-private-{index}", vpc_id=vpc.id, cidr_block=str(blocks[index]),
                           availability_zone=zones.names[index], map_public_ip_on_launch=False,
                           tags={"Name": f"{name}-private-{index}"}, opts=child)
            for index in range(2)
        ]
        routes = aws.ec2.RouteTable(f"{name}-private", vpc_id=vpc.id, tags={"Name": f"{name}-private"}, opts=child)
        for index, subnet in enumerate(subnets):
            aws.ec2.RouteTableAssociation(f"{name}-private-{index}", subnet_id=subnet.id, route_table_id=routes.id,
                                          opts=child)
        members = aws.ec2.SecurityGroup(f"{name}-members", vpc_id=vpc.id,
                                        description="SageMaker Studio apps and jobs of the platform", opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-members-from-members", security_group_id=members.id,
                                         referenced_security_group_id=members.id, ip_protocol="-1",
                                         description="Studio apps and distributed jobs talk to each other",
                                         opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-members-to-members", security_group_id=members.id,
                                        referenced_security_group_id=members.id, ip_protocol="-1",
                                        description="Studio apps and distributed jobs talk to each other",
                                        opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-members-to-vpc-https", security_group_id=members.id,
                                        cidr_ipv4=args.cidr, ip_protocol="tcp", from_port=HTTPS, to_port=HTTPS,
                                        description="AWS APIs through the VPC endpoints", opts=child)
        endpoint_group = aws.ec2.SecurityGroup(f"{name}-endpoints", vpc_id=vpc.id,
                                               description="Interface VPC endpoints", opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-endpoints-https", security_group_id=endpoint_group.id,
                                         cidr_ipv4=args.cidr, ip_protocol="tcp", from_port=HTTPS, to_port=HTTPS,
                                         description="HTTPS from inside the VPC", opts=child)
        s3 = aws.ec2.VpcEndpoint(f"{name}-s3", vpc_id=vpc.id, service_name=f"com.amazonaws.{args.placement.region}.s3",
                                 vpc_endpoint_type="Gateway", route_table_ids=[routes.id], opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-members-to-s3-https", security_group_id=members.id,
                                        prefix_list_id=s3.prefix_list_id, ip_protocol="tcp", from_port=HTTPS,
                                        to_port=HTTPS, description="S3 through the gateway endpoint (its prefix list)",
                                        opts=child)
        for service in interface_services(args):
            aws.ec2.VpcEndpoint(f"{name}-{service.replace('.', '-')}", vpc_id=vpc.id,
                                service_name=f"com.amazonaws.{args.placement.region}.{service}",
                                vpc_endpoint_type="Interface", private_dns_enabled=True,
                                subnet_ids=[subnet.id for subnet in subnets],
                                security_group_ids=[endpoint_group.id], opts=child)
        if args.nat_gateway:
            self._internet_egress(name, vpc, routes, members, blocks[2], zones.names[0])
        aws.ec2.DefaultSecurityGroup(f"{name}-default", vpc_id=vpc.id, tags={"Name": f"{name}-default-unused"},
                                     opts=child)
        self._flow_logs(name, args, vpc)
        self.vpc_id = vpc.id
        self.subnet_ids = [subnet.id for subnet in subnets]
        self.security_group_id = members.id
        self.register_outputs({"vpcId": vpc.id})

    def _flow_logs(self, name: str, args: PrivateNetworkArgs, vpc: aws.ec2.Vpc) -> None:
        """Every accepted and rejected flow of the VPC, to a log group the network owns."""
        child = pulumi.ResourceOptions(parent=self)
        region, account = args.placement.region, args.placement.account_id
        log_group_name = f"/{contract.PROJECT}/vpc-flow-logs/{name}"
        log_group = aws.cloudwatch.LogGroup(f"{name}-flow-logs", name=log_group_name,
                                            retention_in_days=FLOW_LOG_RETENTION_DAYS,
                                            kms_key_id=args.flow_log_key_arn, opts=child)
        role = PlatformRole(f"{name}-flow-logs", PlatformRoleArgs(
            role_name=contract.flow_logs_role_name(args.placement.tier),
            description=f"Lets VPC Flow Logs write the flows of {name}",
            trust_policy=trust({"Service": "vpc-flow-logs.amazonaws.com"}, condition={
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": naming.ec2_arn(region, account, "vpc-flow-log/*")}}),
            statements=[
                allow(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                      [naming.log_group_arn(region, account, log_group_name),
                       naming.log_group_arn(region, account, f"{log_group_name}:*")], sid="WriteFlowLogs"),
                allow(["logs:DescribeLogGroups"], [naming.log_group_arn(region, account, "*")],
                      sid="FindFlowLogGroup"),
            ]), child)
        aws.ec2.FlowLog(f"{name}-flows", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                        log_destination=log_group.arn, iam_role_arn=role.arn, max_aggregation_interval=60,
                        tags={"Name": f"{name}-flows"}, opts=child)

    def _internet_egress(self, name: str, vpc: aws.ec2.Vpc, private_routes: aws.ec2.RouteTable,
                         members: aws.ec2.SecurityGroup, block: ipaddress.IPv4Network,
                         zone: pulumi.Input[str]) -> None:
        """Opt-in: a public subnet with a NAT gateway, so members may reach package mirrors over HTTPS."""
        child = pulumi.ResourceOptions(parent=self)
        gateway = aws.ec2.InternetGateway(name, vpc_id=vpc.id, opts=child)
        public = aws.ec2.Subnet(f"{name}-public", vpc_id=vpc.id, cidr_block=str(block), availability_zone=zone,
                                map_public_ip_on_launch=False, tags={"Name": f"{name}-public"}, opts=child)
        public_routes = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, opts=child)
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_routes.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=gateway.id, opts=child)
        aws.ec2.RouteTableAssociation(f"{name}-public", subnet_id=public.id, route_table_id=public_routes.id,
                                      opts=child)
        address = aws.ec2.Eip(name, domain="vpc", opts=child)
        nat = aws.ec2.NatGateway(name, allocation_id=address.id, subnet_id=public.id,
                                 opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]))
        aws.ec2.Route(f"{name}-private-default", route_table_id=private_routes.id,
                      destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id, opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-members-to-internet-https", security_group_id=members.id,
                                        cidr_ipv4="0.0.0.0/0", ip_protocol="tcp", from_port=HTTPS, to_port=HTTPS,
                                        description="HTTPS to the internet through the NAT gateway", opts=child)

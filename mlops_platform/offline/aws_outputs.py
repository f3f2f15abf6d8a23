"""Deterministic stand-ins for what AWS hands back when a resource is created: ids, names, ARNs, URLs.

The mock engine answers a resource's computed outputs from here, so that values flowing between resources
and between tiers (an endpoint's ARN in a policy, an API's invoke URL in an export) are known and traceable
in the preview, shaped as AWS shapes them, and derived from the provider's account and region.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_platform import naming


@dataclass(frozen=True)
class Created:
    type_token: str
    name: str
    inputs: Mapping[str, Any]
    account: str
    region: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.type_token}/{self.name}".encode()).hexdigest()

    def named(self, field: str = "name") -> str:
        """The input name if given; with a `namePrefix`, the prefix and the provider's 26-character unique suffix;
        else a Pulumi-style auto-name: logical name plus a stable suffix."""
        value = self.inputs.get(field)
        if value:
            return str(value)
        prefix = self.inputs.get("namePrefix")
        return f"{prefix}{self.digest[:26]}" if prefix else f"{self.name}-{self.digest[:7]}"

    @property
    def partition(self) -> str:
        return naming.partition_of(self.region)

    def arn(self, service: str, resource: str, regional: bool = True, account: bool = True) -> str:
        return naming.arn(self.partition, service, self.region if regional else "", self.account if account else "",
                          resource)

    def hostname(self, service: str) -> str:
        return naming.regional_hostname(service, self.region)

    def ec2_id(self, prefix: str) -> str:
        return f"{prefix}-{self.digest[:17]}"


Outputs = tuple[str, dict[str, Any]]
Synthesizer = Callable[[Created], Outputs]


def _bucket(c: Created) -> Outputs:
    bucket = c.named("bucket")
    return bucket, {"bucket": bucket, "arn": naming.bucket_arn(c.partition, bucket),
                    "bucketRegionalDomainName": f"{bucket}.{c.hostname('s3')}"}


def _kms_key(c: Created) -> Outputs:
    d = c.digest
    key_id = f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"
    return key_id, {"keyId": key_id, "arn": c.arn("kms", f"key/{key_id}")}


def _role(c: Created) -> Outputs:
    name = c.named()
    return name, {"name": name, "arn": c.arn("iam", f"role/{name}", regional=False),
                  "uniqueId": f"AROA{c.digest[:17].upper()}"}


def _policy(c: Created) -> Outputs:
    name = c.named()
    arn = c.arn("iam", f"policy/{name}", regional=False)
    return arn, {"name": name, "arn": arn}


def _function(c: Created) -> Outputs:
    name = c.named()
    arn = c.arn("lambda", f"function:{name}")
    return name, {"name": name, "arn": arn, "qualifiedArn": f"{arn}:$LATEST", "version": "$LATEST",
                  "invokeArn": naming.function_invoke_arn(c.region, arn)}


def _http_api(c: Created) -> Outputs:
    api_id = c.digest[:10]
    return api_id, {"apiEndpoint": f"https://{api_id}.{c.hostname('execute-api')}",
                    "executionArn": c.arn("execute-api", api_id),
                    "arn": naming.http_api_arn(c.region, api_id)}


def _stage(c: Created) -> Outputs:
    name = str(c.inputs.get("name", "$default"))
    base = f"https://{c.inputs.get('apiId')}.{c.hostname('execute-api')}/"
    return name, {"invokeUrl": base if name == "$default" else f"{base}{name}",
                  "executionArn": c.arn("execute-api", f"{c.inputs.get('apiId')}/{name}")}


def _queue(c: Created) -> Outputs:
    name = c.named()
    url = f"https://{c.hostname('sqs')}/{c.account}/{name}"
    return url, {"name": name, "url": url, "arn": c.arn("sqs", name)}


def _by_name(service: str, kind: str, field: str = "name", separator: str = "/") -> Synthesizer:
    def synthesize(c: Created) -> Outputs:
        name = c.named(field)
        return name, {field: name, "arn": c.arn(service, f"{kind}{separator}{name}")}
    return synthesize


def _sns_topic(c: Created) -> Outputs:
    """A topic's id is its ARN, which ends in the bare topic name."""
    name = c.named()
    arn = c.arn("sns", name)
    return arn, {"name": name, "arn": arn}


def _sagemaker(kind: str, field: str = "name") -> Synthesizer:
    """SageMaker ARNs carry the resource name in lower case."""
    def synthesize(c: Created) -> Outputs:
        name = c.named(field)
        return name, {field: name, "arn": c.arn("sagemaker", f"{kind}/{name.lower()}")}
    return synthesize


def _domain(c: Created) -> Outputs:
    domain_id = f"d-{c.digest[:12]}"
    return domain_id, {"arn": c.arn("sagemaker", f"domain/{domain_id}"),
                       "url": f"https://{domain_id}.studio.{c.region}.sagemaker.aws",
                       "homeEfsFileSystemId": f"fs-{c.digest[12:29]}"}


def _user_profile(c: Created) -> Outputs:
    name = str(c.inputs.get("userProfileName"))
    return f"{c.inputs.get('domainId')}/{name}", {
        "arn": c.arn("sagemaker", f"user-profile/{c.inputs.get('domainId')}/{name}")}


def _ecr_repository(c: Created) -> Outputs:
    name = c.named()
    return name, {"name": name, "arn": c.arn("ecr", f"repository/{name}"), "registryId": c.account,
                  "repositoryUrl": f"{c.account}.dkr.{c.hostname('ecr')}/{name}"}


def _connection(c: Created) -> Outputs:
    d = c.digest
    arn = c.arn("codeconnections", f"connection/{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}")
    return arn, {"arn": arn, "connectionStatus": "PENDING"}


def _codecommit(c: Created) -> Outputs:
    name = c.named("repositoryName")
    return name, {"arn": c.arn("codecommit", name),
                  "cloneUrlHttp": f"https://{c.hostname('git-codecommit')}/v1/repos/{name}"}


def _ec2(prefix: str, **extra: str) -> Synthesizer:
    def synthesize(c: Created) -> Outputs:
        resource_id = c.ec2_id(prefix)
        return resource_id, {"arn": c.arn("ec2", f"{prefix}/{resource_id}"),
                             **{key: c.ec2_id(value) for key, value in extra.items()}}
    return synthesize


def _vpc_endpoint(c: Created) -> Outputs:
    """A gateway endpoint is reached through the AWS-managed prefix list of its service."""
    resource_id, computed = _ec2("vpce")(c)
    if c.inputs.get("vpcEndpointType") == "Gateway":
        computed["prefixListId"] = c.ec2_id("pl")
    return resource_id, computed


def _scalable_target(c: Created) -> Outputs:
    return str(c.inputs.get("resourceId")), {}


SYNTHESIZERS: Mapping[str, Synthesizer] = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _by_name("kms", "", separator=""),
    "aws:iam/role:Role": _role,
    "aws:iam/policy:Policy": _policy,
    "aws:lambda/function:Function": _function,
    "aws:apigatewayv2/api:Api": _http_api,
    "aws:apigatewayv2/stage:Stage": _stage,
    "aws:sqs/queue:Queue": _queue,
    "aws:sns/topic:Topic": _sns_topic,
    "aws:cloudwatch/eventRule:EventRule": _by_name("events", "rule"),
    "aws:cloudwatch/logGroup:LogGroup": _by_name("logs", "log-group", separator=":"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _by_name("cloudwatch", "alarm", separator=":"),
    "aws:sagemaker/endpoint:Endpoint": _sagemaker("endpoint"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _sagemaker("endpoint-config"),
    "aws:sagemaker/model:Model": _sagemaker("model"),
    "aws:sagemaker/pipeline:Pipeline": _sagemaker("pipeline", "pipelineName"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": _sagemaker("model-package-group",
                                                                    "modelPackageGroupName"),
    "aws:sagemaker/featureGroup:FeatureGroup": _sagemaker("feature-group", "featureGroupName"),
    "aws:ram/resourceShare:ResourceShare": _by_name("ram", "resource-share"),
    "aws:sagemaker/domain:Domain": _domain,
    "aws:sagemaker/userProfile:UserProfile": _user_profile,
    "aws:ecr/repository:Repository": _ecr_repository,
    "aws:codeconnections/connection:Connection": _connection,
    "aws:codecommit/repository:Repository": _codecommit,
    "aws:scheduler/schedule:Schedule": _by_name("scheduler", "schedule/default"),
    "aws:codepipeline/pipeline:Pipeline": _by_name("codepipeline", "", separator=""),
    "aws:codebuild/project:Project": _by_name("codebuild", "project"),
    "aws:ec2/vpc:Vpc": _ec2("vpc"),
    "aws:ec2/subnet:Subnet": _ec2("subnet"),
    "aws:ec2/securityGroup:SecurityGroup": _ec2("sg"),
    "aws:ec2/routeTable:RouteTable": _ec2("rtb"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:ec2/flowLog:FlowLog": _ec2("fl"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _ec2("sg"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw"),
    "aws:ec2/natGateway:NatGateway": _ec2("nat"),
    "aws:ec2/eip:Eip": _ec2("eipalloc", allocationId="eipalloc"),
    "aws:appautoscaling/target:Target": _scalable_target,
}


def synthesize_outputs(type_token: str, name: str, inputs: Mapping[str, Any], account: str,
                       region: str) -> tuple[str, dict[str, Any]]:
    """A resource's id and its outputs: its inputs plus what AWS computes."""
    created = Created(type_token, name, inputs, account, region)
    synthesizer = SYNTHESIZERS.get(type_token)
    if synthesizer is not None:
        resource_id, computed = synthesizer(created)
    else:
        resource_id, computed = f"{name}-{created.digest[:8]}", {}
        if type_token.startswith("aws:"):
            service = type_token.split(":")[1].split("/")[0]
            computed["arn"] = created.arn(service, f"{type_token.rsplit(':', 1)[-1].lower()}/{name}")
    return resource_id, {**inputs, **computed}

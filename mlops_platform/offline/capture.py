"""Run one stack's program under Pulumi's mock engine and record every registration the engine would see.

`CaptureMonitor` subclasses `pulumi.runtime.mocks.MockMonitor`: URNs are built the way the engine builds
them (children of the root stack carry no `pulumi:pulumi:Stack$` prefix), and each `RegisterResource`
request is kept whole: type, name, parent, provider, protect, dependencies, property dependencies and
inputs as the engine receives them (camelCase, via `MessageToDict`). StackReferences resolve to the
outputs of stacks captured earlier in the same preview.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from mlops_platform import naming
from mlops_platform.contract import PROJECT
from mlops_platform.offline.aws_outputs import synthesize_outputs
from mlops_platform.offline.settling import linear_settling

STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
AWS_PROVIDER_TYPE = "pulumi:providers:aws"
UNKNOWN_ACCOUNT = "000000000000"


@dataclass(frozen=True)
class CapturedResource:
    urn: str
    id: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    protect: bool
    ignore_changes: tuple[str, ...]
    dependencies: tuple[str, ...]
    property_dependencies: Mapping[str, tuple[str, ...]]
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]


@dataclass
class CapturedStack:
    name: str
    organization: str
    resources: list[CapturedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    stack_references: list[str] = field(default_factory=list)

    def by_urn(self) -> dict[str, CapturedResource]:
        return {resource.urn: resource for resource in self.resources}


def provider_account(inputs: Mapping[str, Any]) -> str | None:
    """The account an AWS provider is pinned to (`allowedAccountIds`, JSON-encoded as providers receive it)."""
    allowed = inputs.get("allowedAccountIds") or []
    if isinstance(allowed, str):
        allowed = json.loads(allowed)
    return str(allowed[0]) if allowed else None


class SizeResources:
    """Every captured resource of a size's stacks, with the account each one is deployed into."""

    def __init__(self, stacks: Iterable[CapturedStack]) -> None:
        self.all: list[CapturedResource] = [resource for stack in stacks for resource in stack.resources]
        self._provider_accounts = {r.urn: provider_account(r.inputs) or "" for r in self.all
                                   if r.type == AWS_PROVIDER_TYPE}

    def of_type(self, type_token: str) -> Iterator[CapturedResource]:
        return (r for r in self.all if r.type == type_token)

    def account_of(self, resource: CapturedResource) -> str:
        """The account of the resource's provider; "" for components and resources without one."""
        return self._provider_accounts.get(resource.provider.rsplit("::", 1)[0], "")

    def by_output(self, type_token: str, key: str, value: object) -> CapturedResource | None:
        return next((r for r in self.of_type(type_token) if r.outputs.get(key) == value), None)


class CaptureError(Exception):
    """The stack's program failed under the mock engine; `captured` holds what it registered before failing."""

    def __init__(self, message: str, captured: CapturedStack | None = None) -> None:
        super().__init__(message)
        self.captured = captured


class PlatformMocks(mocks.Mocks):
    """Resource outputs and invoke results in the shapes AWS returns, derived from the provider's account."""

    def __init__(self, stack_outputs: Mapping[str, Mapping[str, Any]], default_region: str,
                 parameters: Mapping[str, str] | None = None) -> None:
        self._stack_outputs = stack_outputs
        self._default_region = default_region
        self._parameters = dict(parameters or {})
        """SSM parameters (name → value) the stack's accounts hold: none in a new account."""
        self._provider_accounts: dict[str, tuple[str, str]] = {}

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE_TYPE:
            return self._stack_reference(args)
        if args.typ == AWS_PROVIDER_TYPE:
            return self._provider(args)
        account, region = self._account_and_region(args.provider)
        return synthesize_outputs(args.typ, args.name, dict(args.inputs), account, region)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        account, region = self._account_and_region(args.provider)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": account,
                    "arn": naming.assumed_role_arn(naming.partition_of(region), account, f"{PROJECT}-deploy",
                                                   "preview"),
                    "userId": "AROAPREVIEW:preview", "id": account}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": region, "region": region, "id": region}, []
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            zones = [f"{region}{letter}" for letter in "abc"]
            return {"names": zones, "zoneIds": [f"{region[:3]}-az{n}" for n in (1, 2, 3)], "id": region}, []
        if args.token == "aws:organizations/getOrganization:getOrganization":
            partition_name = naming.partition_of(region)
            return {"id": "o-preview0001",
                    "arn": naming.organizations_arn(partition_name, account, "organization/o-preview0001"),
                    "masterAccountId": account, "featureSet": "ALL", "enabledPolicyTypes": ["SERVICE_CONTROL_POLICY"],
                    "awsServiceAccessPrincipals": ["cloudtrail.amazonaws.com", "sso.amazonaws.com"],
                    "roots": [{"id": "r-prv1", "name": "Root",
                               "arn": naming.organizations_arn(partition_name, account, "root/o-preview0001/r-prv1"),
                               "policyTypes": [{"type": "SERVICE_CONTROL_POLICY",
                                                                         "status": "ENABLED"}]}]}, []
        if args.token == "aws:ssoadmin/getInstances:getInstances":
            return {"arns": [naming.sso_instance_arn(naming.partition_of(region), "ssoins-preview000001")],
                    "identityStoreIds": ["d-preview001"],
                    "id": region}, []
        if args.token == "aws:index/getPartition:getPartition":
            partition = naming.partition_info(region)
            return {"partition": partition.name, "dnsSuffix": partition.dns_suffix, "id": partition.name}, []
        if args.token == "aws:ssm/getParametersByPath:getParametersByPath":
            return self._parameters_by_path(str(args.args.get("path", "")), account, region), []
        raise CaptureError(f"the offline preview has no mock for invoke {args.token!r}")

    def _parameters_by_path(self, path: str, account: str, region: str) -> dict[str, Any]:
        """GetParametersByPath without `recursive`: the parameters directly under `path`."""
        names = sorted(name for name in self._parameters
                       if name.startswith(path) and "/" not in name[len(path):])
        return {"id": path, "path": path, "names": names, "values": [self._parameters[n] for n in names],
                "types": ["String"] * len(names),
                "arns": [naming.ssm_parameter_arn(region, account, n) for n in names]}

    def _account_and_region(self, provider_reference: str | None) -> tuple[str, str]:
        """A provider reference is `<provider urn>::<provider id>`; the id names the provider's account."""
        provider_id = (provider_reference or "").rsplit("::", 1)[-1]
        return self._provider_accounts.get(provider_id, (UNKNOWN_ACCOUNT, self._default_region))

    def _stack_reference(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        full_name = str(args.inputs.get("name", args.name))
        stack_name = full_name.rsplit("/", 1)[-1]
        if stack_name not in self._stack_outputs:
            raise CaptureError(f"stack reference {full_name!r}: stack {stack_name!r} has not been captured before "
                               "this one (stacks must read only from stacks that deploy earlier)")
        outputs = dict(self._stack_outputs[stack_name])
        return full_name, {"name": full_name, "outputs": outputs, "secretOutputNames": []}

    def _provider(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        provider_id = f"{args.name}-provider-id"
        account = provider_account(args.inputs)
        region = str(args.inputs.get("region") or self._default_region)
        if account is not None:
            self._provider_accounts[provider_id] = (account, region)
        return provider_id, dict(args.inputs)


class CaptureMonitor(mocks.MockMonitor):
    def __init__(self, platform_mocks: PlatformMocks, captured: CapturedStack) -> None:
        super().__init__(platform_mocks)
        self._captured = captured
        self._root_urn = ""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        qualified = type_
        if parent and parent != self._root_urn:
            qualified = parent.split("::")[2] + "$" + type_
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), qualified, name])

    def RegisterResource(self, request: Any) -> Any:
        if request.type == STACK_TYPE:
            self._root_urn = self.make_urn("", request.type, request.name)
        response = super().RegisterResource(request)
        if request.type != STACK_TYPE:
            self._captured.resources.append(_captured_resource(request, response))
        return response

    def ReadResource(self, request: Any) -> Any:
        response = super().ReadResource(request)
        if request.type == STACK_REFERENCE_TYPE:
            self._captured.stack_references.append(request.id)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self._root_urn:
            self._captured.outputs.update(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)


def _captured_resource(request: Any, response: Any) -> CapturedResource:
    return CapturedResource(
        urn=response.urn,
        id=response.id,
        type=request.type,
        name=request.name,
        custom=bool(request.custom),
        parent=request.parent,
        provider=request.provider,
        protect=request.HasField("protect") and request.protect,
        ignore_changes=tuple(request.ignoreChanges),
        dependencies=tuple(sorted(request.dependencies)),
        property_dependencies={key: tuple(sorted(value.urns)) for key, value in request.propertyDependencies.items()},
        inputs=json_format.MessageToDict(request.object),
        outputs=json_format.MessageToDict(response.object),
    )


def capture_stack(
    program: Callable[[], None],
    *,
    stack: str,
    config: Mapping[str, str],
    stack_outputs: Mapping[str, Mapping[str, Any]],
    default_region: str,
    organization: str = "organization",
    parameters: Mapping[str, str] | None = None,
) -> CapturedStack:
    """Run `program` as stack `stack` with `config` (full `namespace:key` names, string values), its accounts
    holding the SSM `parameters` (name → value; none by default, as in a new account)."""
    captured = CapturedStack(name=stack, organization=organization)
    monitor = CaptureMonitor(PlatformMocks(stack_outputs, default_region, parameters), captured)
    _reset_runtime()
    pulumi.runtime.set_all_config(dict(config))
    settings.configure(mocks.MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=mocks.MockEngine(None),
        project=PROJECT,
        stack=stack,
        dry_run=True,
        organization=organization,
        callbacks=None,
    ))
    try:
        with linear_settling():
            _sync_await(run_in_stack(program))
    except CaptureError:
        raise
    except Exception as err:
        _cancel_unfinished_work()
        raise CaptureError(f"stack {stack!r}: {err}", captured) from err
    finally:
        _reset_runtime()
    # The engine registers a resource once its inputs resolve, an order the event loop's scheduling (and so the
    # process's hash seed) decides: sorted, every reader of a capture sees the same stack run after run.
    captured.resources.sort(key=lambda resource: resource.urn)
    return captured


def _cancel_unfinished_work() -> None:
    """A failed program leaves its other outputs pending on the shared event loop; unless cancelled they would
    finish (and fail) inside the next capture."""
    loop = asyncio.get_event_loop()
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _reset_runtime() -> None:
    # As `pulumi.runtime.mocks.test` does: a failed capture's leftover (cancelled) outputs would otherwise be
    # awaited, and fail, in the next one.
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    settings.ROOT.set(None)
    pulumi.runtime.set_all_config({})

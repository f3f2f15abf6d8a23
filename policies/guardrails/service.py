"""The pack's analyzer service: the SDK's, with a level per verdict and each resource decoded once.

pulumi-policy's servicer fixes one enforcement level per policy, so a rule that blocks outside dev and advises in
dev needed two policies (`<rule>` and `<rule>-dev`), and it decodes a resource's properties and provider again
for every policy (`Analyze`) and every stack policy (`AnalyzeStack`): with 45 rules, most of the pack's time.
The protocol carries an `enforcementLevel` on each `AnalyzeDiagnostic`, so this service keeps one policy per rule
and lets the rule say, per verdict, whether it blocks or advises (`TieredReport.advise`); and it decodes each
request once and hands the same read-only views to every policy.

It subclasses the SDK's servicer (pinned in `uv.lock`) for configuration, `GetAnalyzerInfo` and the level and
option mappings, and replaces only `Analyze` and `AnalyzeStack`; `tests/offline/test_analyzer.py` and
`tests/policies/test_policies_*.py` drive it through the real gRPC protocol.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyProviderResource,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError, _PolicyAnalyzerServicer
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

PACK_VERSION = "0.0.1"
"""What the SDK reports as the pack's version (the CLI uses `PulumiPolicy.yaml`'s)."""
MAX_MESSAGE_BYTES = 400 * 1024 * 1024
"""As the SDK: a large stack's AnalyzeStack request exceeds gRPC's default 4 MB."""
SERVE_SECONDS = 24 * 60 * 60


class TieredReport:
    """The `report_violation` each policy is handed: calling it reports at the policy's level; `advise` reports
    the same verdict as advisory (a rule's verdict on a resource of the experiment tier)."""

    def __init__(self, emit: Callable[[str, str | None, EnforcementLevel], None], level: EnforcementLevel) -> None:
        self._emit = emit
        self.level = level

    def __call__(self, message: str, urn: str | None = None) -> None:
        self._emit(message, urn, self.level)

    def advise(self, message: str, urn: str | None = None) -> None:
        self._emit(message, urn, EnforcementLevel.ADVISORY)


class GuardrailsAnalyzer(_PolicyAnalyzerServicer):
    def __init__(self, name: str, policies: Sequence[Policy], level: EnforcementLevel) -> None:
        super().__init__(name, PACK_VERSION, list(policies), level)
        self._name = name
        self._policies = list(policies)
        self._stack_tags: Mapping[str, str] = {}

    def ConfigureStack(self, request: Any, context: Any) -> Any:
        self._stack_tags = dict(request.tags)
        return super().ConfigureStack(request, context)

    def Analyze(self, request: Any, _context: Any) -> Any:
        self._configure_runtime_settings()  # type: ignore[no-untyped-call]
        response = proto.AnalyzeResponse()
        props = _props(request.properties)
        opts = self._get_resource_options(request)
        provider = self._get_provider_resource(request)
        for policy, level in self._active(ResourceValidationPolicy):
            args = ResourceValidationArgs(request.type, props, request.urn, request.name, opts, provider,
                                          self._get_policy_config(policy.name), self._stack_tags)
            self._run(policy, level, args, response)
        return response

    def AnalyzeStack(self, request: Any, _context: Any) -> Any:
        self._configure_runtime_settings()  # type: ignore[no-untyped-call]
        response = proto.AnalyzeResponse()
        resources = self._stack_resources(request.resources)
        for policy, level in self._active(StackValidationPolicy):
            args = StackValidationArgs(resources, self._get_policy_config(policy.name), self._stack_tags)
            self._run(policy, level, args, response)
        return response

    def _active(self, kind: type[Policy]) -> list[tuple[Any, EnforcementLevel]]:
        """The policies of `kind` that are not disabled, each with its level (remediate reports as mandatory)."""
        active: list[tuple[Any, EnforcementLevel]] = []
        for policy in self._policies:
            level = self._get_enforcement_level(policy)
            if isinstance(policy, kind) and level is not EnforcementLevel.DISABLED:
                active.append((policy, EnforcementLevel.MANDATORY if level is EnforcementLevel.REMEDIATE else level))
        return active

    def _run(self, policy: Any, level: EnforcementLevel, args: Any, response: Any) -> None:
        report = TieredReport(self._emitter(response, policy.name, policy.description, policy.severity), level)
        try:
            policy.validate(args, report)
        except UnknownValueError as err:
            response.diagnostics.append(self._diagnostic(
                policy.name, policy.description, EnforcementLevel.ADVISORY, None, "",
                f"can't run policy '{policy.name}' from policy pack '{self._name}@v{PACK_VERSION}' during "
                f"preview: {err.message}"))
        except _NotApplicableError as err:
            response.not_applicable.append(proto.PolicyNotApplicable(policy_name=policy.name,
                                                                      reason=err.reason or ""))

    def _emitter(self, response: Any, name: str, description: str,
                 severity: Severity | None) -> Callable[[str, str | None, EnforcementLevel], None]:
        def emit(message: str, urn: str | None, level: EnforcementLevel) -> None:
            text = f"{description}\n{message}" if message else description
            response.diagnostics.append(self._diagnostic(name, description, level, severity, urn or "", text))

        return emit

    def _diagnostic(self, name: str, description: str, level: EnforcementLevel, severity: Severity | None,
                    urn: str, message: str) -> Any:
        return proto.AnalyzeDiagnostic(
            policyName=name, policyPackName=self._name, policyPackVersion=PACK_VERSION, message=message, urn=urn,
            description=description, enforcementLevel=self._map_enforcement_level(level),
            severity=self._map_severity(severity))

    def _stack_resources(self, requested: Sequence[Any]) -> list[PolicyResource]:
        """Every resource decoded once (and each provider once), its parent and dependencies linked to the
        resources themselves."""
        providers: dict[str, PolicyProviderResource | None] = {}

        def provider_of(request: Any) -> PolicyProviderResource | None:
            key = request.provider.urn if request.HasField("provider") else ""
            if key not in providers:
                providers[key] = self._get_provider_resource(request)
            return providers[key]

        resources = [PolicyResource(r.type, _props(r.properties), r.urn, r.name, self._get_resource_options(r),
                                    provider_of(r), None, [], {}) for r in requested]
        by_urn = {resource.urn: resource for resource in resources}
        for resource, request in zip(resources, requested, strict=True):
            resource.parent = by_urn.get(request.parent) if request.parent else None
            resource.dependencies.extend(by_urn[urn] for urn in request.dependencies if urn in by_urn)
            for key, urns in request.propertyDependencies.items():
                resource.property_dependencies[key] = [by_urn[urn] for urn in urns.urns if urn in by_urn]
        return resources


def _props(struct: Any) -> Any:
    """A request's properties as the SDK hands them to policies: plain values behind an unknown-checking proxy."""
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def serve(name: str, policies: Sequence[Policy], level: EnforcementLevel) -> None:
    """Serve the pack as `pulumi_policy.PolicyPack` does: print the port, then answer until interrupted."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)])
    analyzer_pb2_grpc.add_AnalyzerServicer_to_server(GuardrailsAnalyzer(name, policies, level), server)
    port = server.add_insecure_port(address="127.0.0.1:0")
    server.start()
    sys.stdout.buffer.write(f"{port}\n".encode())
    sys.stdout.flush()
    try:
        while True:
            time.sleep(SERVE_SECONDS)
    except KeyboardInterrupt:
        server.stop(0)

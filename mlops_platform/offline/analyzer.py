"""Drive the policy pack through its real gRPC analyzer protocol, the way the Pulumi CLI does.

The pack is started as `python -u -m pulumi.policy <engineAddress> .` in its folder; its first stdout line
is the port of its `pulumirpc.Analyzer` service. One pack process serves a whole preview: the pack tells
stacks and tiers apart by each resource's URN and provider, as it does under the CLI.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2_grpc

from mlops_platform.contract import PROJECT
from mlops_platform.offline import child_processes
from mlops_platform.offline.capture import STACK_REFERENCE_TYPE, CapturedResource, CapturedStack

STARTUP_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    urn: str
    message: str


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    level: str
    description: str


class AnalyzerError(Exception):
    """The policy pack could not be started or answered with an error."""


class _Engine(engine_pb2_grpc.EngineServicer):
    """The engine service the pack logs to."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.messages.append(request.message)
        return empty_pb2.Empty()


class PolicyAnalyzer:
    def __init__(self, pack_dir: Path, organization: str = "organization",
                 config: Mapping[str, str] | None = None) -> None:
        """`config` is the stack configuration (full `namespace:key` names, string values) the pack sees in
        PULUMI_CONFIG, as the CLI hands it; for a preview it is the size's shared configuration."""
        self._pack_dir = pack_dir
        self._organization = organization
        self._config = dict(config or {})
        self._engine = _Engine()
        self._engine_server: grpc.Server | None = None
        self._engine_executor: futures.ThreadPoolExecutor | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None

    def __enter__(self) -> PolicyAnalyzer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Launch the pack; returns at once. The first call that needs the pack waits for its port."""
        self._engine_executor = futures.ThreadPoolExecutor(max_workers=1)
        self._engine_server = grpc.server(self._engine_executor)
        engine_pb2_grpc.add_EngineServicer_to_server(self._engine, self._engine_server)
        engine_port = self._engine_server.add_insecure_port("127.0.0.1:0")
        self._engine_server.start()
        env = {**os.environ, "PULUMI_PROJECT": PROJECT, "PULUMI_ORGANIZATION": self._organization,
               "PULUMI_DRY_RUN": "true", "PULUMI_CONFIG": json.dumps(self._config)}
        env.pop("PULUMI_STACK", None)
        self._process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", f"127.0.0.1:{engine_port}", "."],
            cwd=self._pack_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        child_processes.track(self._process)

    def _analyzer(self) -> analyzer_pb2_grpc.AnalyzerStub:
        if self._stub is None:
            port = self._read_port()
            self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        return self._stub

    def _read_port(self) -> int:
        process = self._process
        if process is None or process.stdout is None:
            raise AnalyzerError("the policy pack was not started")
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([process.stdout], [], [], max(remaining, 0))
            if not ready:
                raise AnalyzerError(f"the policy pack in {self._pack_dir} did not report its port in time")
            chunk = os.read(process.stdout.fileno(), 64)
            if not chunk:
                stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise AnalyzerError(f"the policy pack in {self._pack_dir} exited before serving:\n{stderr}")
            line += chunk
        try:
            return int(line.strip())
        except ValueError:
            raise AnalyzerError(f"the policy pack printed {line!r} instead of its port") from None

    def close(self) -> None:
        """End the pack and the engine server. Each step runs even when a signal (Ctrl-C, SIGTERM) interrupts
        another: no pack process, and no server thread holding the preview open, survives."""
        try:
            if self._channel is not None:
                self._channel.close()
        finally:
            try:
                self._end_process()
            finally:
                self._stop_engine()

    def _stop_engine(self) -> None:
        """The server, then its worker thread: a worker left waiting would hold the interpreter open at exit."""
        try:
            if self._engine_server is not None:
                self._engine_server.stop(0).wait(5)
        finally:
            if self._engine_executor is not None:
                self._engine_executor.shutdown(wait=False, cancel_futures=True)

    def _end_process(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        child_processes.untrack(process)
        try:
            process.terminate()
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()

    def info(self) -> list[PolicyInfo]:
        response = self._analyzer().GetAnalyzerInfo(empty_pb2.Empty())
        return [PolicyInfo(p.name, _level(p.enforcementLevel), p.description) for p in response.policies]

    def analyze(self, stack: CapturedStack,
                policy_config: Mapping[str, Mapping[str, Any]] | None = None) -> list[Violation]:
        """Configure the pack for the stack, Analyze each resource, then AnalyzeStack over all of them."""
        analyzer = self._analyzer()
        analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=_policy_config(policy_config or {})))
        analyzer.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=stack.name, project=PROJECT, organization=self._organization, dry_run=True))
        providers = _Providers(stack.by_urn())
        judged = [r for r in stack.resources if r.type != STACK_REFERENCE_TYPE]
        diagnostics: list[Any] = []
        for resource in judged:
            response = analyzer.Analyze(analyzer_pb2.AnalyzeRequest(
                type=resource.type, properties=_struct(resource.inputs), urn=resource.urn, name=resource.name,
                options=_options(resource), provider=providers.of(resource)))
            diagnostics.extend(response.diagnostics)
        response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(
            resources=[_analyzer_resource(resource, providers) for resource in judged]))
        diagnostics.extend(response.diagnostics)
        return [Violation(d.policyName, _level(d.enforcementLevel), d.urn, d.message) for d in diagnostics]


def _level(value: analyzer_pb2.EnforcementLevel.ValueType) -> str:
    return analyzer_pb2.EnforcementLevel.Name(value).lower()


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(values))
    return struct


def _policy_config(config: Mapping[str, Mapping[str, Any]]) -> dict[str, analyzer_pb2.PolicyConfig]:
    """Every PolicyConfig carries a `properties` Struct, even an empty one (the SDK reads it unconditionally)."""
    levels = {name: value for name, value in analyzer_pb2.EnforcementLevel.items()}
    result: dict[str, analyzer_pb2.PolicyConfig] = {}
    for policy, settings in config.items():
        properties = {key: value for key, value in settings.items() if key != "enforcementLevel"}
        entry = analyzer_pb2.PolicyConfig(properties=_struct(properties))
        if "enforcementLevel" in settings:
            entry.enforcementLevel = levels[str(settings["enforcementLevel"]).upper()]
        result[policy] = entry
    return result


def _options(resource: CapturedResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(protect=resource.protect, parent=resource.parent,
                                                ignoreChanges=list(resource.ignore_changes))


class _Providers:
    """Each provider of a stack as the analyzer protocol sends it, encoded once for all its resources."""

    def __init__(self, by_urn: Mapping[str, CapturedResource]) -> None:
        self._by_urn = by_urn
        self._encoded: dict[str, analyzer_pb2.AnalyzerProviderResource | None] = {}

    def of(self, resource: CapturedResource) -> analyzer_pb2.AnalyzerProviderResource | None:
        provider_urn = resource.provider.rsplit("::", 1)[0] if resource.provider else ""
        if provider_urn not in self._encoded:
            provider = self._by_urn.get(provider_urn)
            self._encoded[provider_urn] = None if provider is None else analyzer_pb2.AnalyzerProviderResource(
                type=provider.type, properties=_struct(provider.inputs), urn=provider.urn, name=provider.name)
        return self._encoded[provider_urn]


def _analyzer_resource(resource: CapturedResource, providers: _Providers) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        type=resource.type, properties=_struct(resource.outputs), urn=resource.urn, name=resource.name,
        options=_options(resource), provider=providers.of(resource), parent=resource.parent,
        dependencies=list(resource.dependencies),
        propertyDependencies={key: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns))
                              for key, urns in resource.property_dependencies.items()})

"""A real IAM policy evaluation engine, run as its own process: `@cloud-copilot/iam-simulate` (npm, pinned in
`iam_engine/package-lock.json` with its IAM data).

It evaluates identity policies, resource and key policies, SCPs and permission boundaries, same- and
cross-account, the way AWS documents policy evaluation, and validates actions, resource ARNs and condition keys
against current IAM data. It is AGPL-licensed, so the platform drives it over stdin/stdout instead of linking it.

Each decision is kept in the platform's cache (`disk_cache`) under the hash of the engine (its lock file and
driver script) and the whole request: a request seen before, with the very same documents, context and engine,
is answered from there; only the others go to the engine. The engine must still be installed: the cache saves
its time, it does not stand in for it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_platform import disk_cache
from mlops_platform.offline import child_processes

ENGINE_DIR = Path(__file__).resolve().parent / "iam_engine"
ENGINE_SCRIPT = ENGINE_DIR / "simulate.mjs"
ENGINE_TIMEOUT_SECONDS = 300
ENGINE_SECONDS_PER_REQUEST = 0.05
"""The engine's time limit grows with its work: a few milliseconds per request here, 50 allowed."""

Document = Mapping[str, Any]


class EngineUnavailable(Exception):
    """Node.js or the engine's packages are missing, or the engine failed: the message says what to do."""


@dataclass(frozen=True)
class Simulation:
    """One request: `principal` calls `action` on `resource` (owned by `resource_account`)."""

    principal: str
    action: str
    resource: str
    resource_account: str
    identity_policies: Sequence[tuple[str, Document]] = ()
    resource_policy: Document | None = None
    permission_boundaries: Sequence[tuple[str, Document]] = ()
    service_control_policies: Sequence[tuple[str, Sequence[tuple[str, Document]]]] = ()
    """(organization level id, policies at that level), root first, the account last."""
    context: Mapping[str, str | list[str]] = field(default_factory=dict)

    def request(self) -> dict[str, Any]:
        simulation: dict[str, Any] = {
            "request": {"principal": self.principal, "action": self.action,
                        "resource": {"resource": self.resource, "accountId": self.resource_account},
                        "contextVariables": dict(self.context)},
            "identityPolicies": [{"name": name, "policy": policy} for name, policy in self.identity_policies],
            "serviceControlPolicies": [{"orgIdentifier": level, "policies": [{"name": n, "policy": p}
                                                                               for n, p in policies]}
                                       for level, policies in self.service_control_policies],
            "resourceControlPolicies": [],
        }
        if self.resource_policy is not None:
            simulation["resourcePolicy"] = self.resource_policy
        if self.permission_boundaries:
            simulation["permissionBoundaryPolicies"] = [{"name": name, "policy": policy}
                                                        for name, policy in self.permission_boundaries]
        return simulation


@dataclass(frozen=True)
class Decision:
    result: str | None
    """`Allowed`, `ExplicitlyDenied`, `ImplicitlyDenied`, or None when the engine rejected the request."""
    errors: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.result == "Allowed"


def simulate(simulations: Sequence[Simulation]) -> list[Decision]:
    """Evaluate every simulation: from the cache where it holds the request, the rest in one engine process."""
    if not simulations:
        return []
    node = _installed_engine()
    requests = [json.dumps(simulation.request(), sort_keys=True) for simulation in simulations]
    keys = [hashlib.sha256(request.encode()).hexdigest() for request in requests]
    folder = disk_cache.cache_dir() / "iam-decisions" / _engine_digest()
    decisions = {key: decision for key in set(keys) if (decision := _cached(folder / f"{key}.json")) is not None}
    unanswered = {key: request for key, request in zip(keys, requests, strict=True) if key not in decisions}
    if unanswered:
        answers = _run_engine(node, list(unanswered.values()))
        for key, answer in zip(unanswered, answers, strict=True):
            disk_cache.store(folder / f"{key}.json", json.dumps(answer))
            decisions[key] = _decision(answer)
    return [decisions[key] for key in keys]


def _installed_engine() -> str:
    node = shutil.which("node")
    if node is None:
        raise EngineUnavailable("the access matrix needs Node.js (`apt-get install nodejs npm`)")
    if not (ENGINE_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        raise EngineUnavailable(f"the access matrix's IAM engine is not installed: run `npm ci --prefix {ENGINE_DIR}`")
    return node


@functools.cache
def _engine_digest() -> str:
    """The engine as installed: its pinned packages (IAM data included) and the script that drives it."""
    digest = hashlib.sha256()
    for path in (ENGINE_DIR / "package-lock.json", ENGINE_SCRIPT):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _cached(path: Path) -> Decision | None:
    text = disk_cache.read(path)
    if text is None:
        return None
    try:
        return _decision(json.loads(text))
    except (ValueError, KeyError, TypeError):
        return None  # a damaged entry is a miss; the engine's answer replaces it


def _decision(answer: Mapping[str, Any]) -> Decision:
    return Decision(answer["decision"], tuple(answer["errors"]))


def _run_engine(node: str, requests: Sequence[str]) -> list[Mapping[str, Any]]:
    """One engine process judging `requests` (JSON documents), one per line each way."""
    timeout = ENGINE_TIMEOUT_SECONDS + ENGINE_SECONDS_PER_REQUEST * len(requests)
    engine = subprocess.Popen([node, str(ENGINE_SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ENGINE_DIR)
    with child_processes.tracked(engine):
        try:
            stdout, stderr = engine.communicate("\n".join(requests) + "\n", timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise EngineUnavailable(f"the IAM engine did not answer {len(requests)} requests within "
                                    f"{timeout:.0f} s") from error
    if engine.returncode != 0:
        raise EngineUnavailable(f"the IAM engine failed: {_engine_error(stderr)}")
    answers: list[Mapping[str, Any]] = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    if len(answers) != len(requests):
        raise EngineUnavailable(f"the IAM engine answered {len(answers)} of {len(requests)} requests")
    return answers


def _engine_error(stderr: str) -> str:
    """The line of Node's report that names the error (`Error: ...`), not its closing `Node.js v20...` line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("Node.js v")]
    named = [line for line in lines if line.split(":", 1)[0].endswith("Error")]
    return (named or lines or ["no output"])[0]

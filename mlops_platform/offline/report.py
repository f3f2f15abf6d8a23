"""Render a preview: the `--json` document (a public contract) and the readable rich summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from mlops_platform.offline.access_matrix import AccessMatrix
from mlops_platform.offline.capture import CapturedResource
from mlops_platform.offline.lake_grants import LakeGrants
from mlops_platform.offline.network_paths import NetworkPaths
from mlops_platform.offline.preview import Preview, StackPreview
from mlops_platform.offline.reachability import Reachability

SCHEMA_VERSION = 1


def preview_document(preview: Preview) -> dict[str, Any]:
    """The `preview --json` document. Documented in the README; fields are only ever added, never renamed."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "size": preview.size.value,
        "mandatoryViolations": preview.mandatory_violations,
        "serving": preview.serving,
        "reachability": preview.reachability.document() if preview.reachability else None,
        "networkPaths": preview.network_paths.document() if preview.network_paths else None,
        "accessMatrix": preview.access.document() if preview.access else None,
        "policies": [{"name": p.name, "level": p.level, "description": p.description} for p in preview.policies],
        "stacks": [_stack_document(stack) for stack in preview.stacks],
    }


def _stack_document(stack: StackPreview) -> dict[str, Any]:
    return {
        "name": stack.name,
        "tiers": list(stack.config.stack.tiers),
        "account": stack.config.account_id,
        "region": stack.config.region,
        "resources": [_resource_document(resource) for resource in stack.captured.resources],
        "stackReferences": list(stack.captured.stack_references),
        "outputs": dict(stack.captured.outputs),
        "violations": [{"policy": v.policy, "level": v.level, "urn": v.urn, "message": v.message}
                       for v in stack.violations],
    }


def _resource_document(resource: CapturedResource) -> dict[str, Any]:
    return {
        "urn": resource.urn,
        "id": resource.id,
        "type": resource.type,
        "name": resource.name,
        "custom": resource.custom,
        "parent": resource.parent,
        "provider": resource.provider,
        "protect": resource.protect,
        "ignoreChanges": list(resource.ignore_changes),
        "dependencies": list(resource.dependencies),
        "propertyDependencies": {key: list(urns) for key, urns in resource.property_dependencies.items()},
        "inputs": dict(resource.inputs),
        "outputs": dict(resource.outputs),
    }


def print_preview(preview: Preview, console: Console) -> None:
    if not console.is_terminal:
        console.width = max(console.width, 140)
    console.print(f"[bold]mlops-platform preview[/bold] — size [cyan]{preview.size.value}[/cyan], "
                  f"{len(preview.stacks)} stack(s), {len(preview.policies)} policies")
    for stack in preview.stacks:
        _print_stack(stack, console)
    if preview.reachability is not None:
        _print_reachability(preview.reachability, console)
    if preview.network_paths is not None:
        _print_network_paths(preview.network_paths, console)
    if preview.access is not None:
        _print_access_matrix(preview.access, console)
    total = sum(len(s.captured.resources) for s in preview.stacks)
    verdict = ("[green]no mandatory violations[/green]" if preview.mandatory_violations == 0
               else f"[red]{preview.mandatory_violations} mandatory violation(s)[/red]")
    if preview.reachability is not None and not preview.reachability.passed:
        verdict += ", [red]data scientists can reach staging/prod[/red]"
    if preview.network_paths is not None and not preview.network_paths.passed:
        verdict += f", [red]{len(preview.network_paths.findings)} broken network path(s)[/red]"
    if preview.access is not None and preview.access.broken:
        verdict += f", [red]{len(preview.access.broken)} broken flow(s) in the access matrix[/red]"
    lake = preview.access.lake_grants if preview.access is not None else None
    if lake is not None and not lake.passed:
        verdict += (f", [red]{len(lake.missing)} missing and {len(lake.unexpected)} unexpected Lake Formation "
                    "grant(s)[/red]")
    console.print(f"\n{total} resources in {len(preview.stacks)} stack(s): {verdict}")


def _print_reachability(result: Reachability, console: Console) -> None:
    console.rule("[bold]can data scientists reach staging or production?[/bold]")
    for layer, state in result.document()["layers"].items():
        style = {"holds": "green", "broken": "red"}.get(state, "dim")
        console.print(f"  {layer:<11} [{style}]{state}[/{style}]")
    for finding in result.findings:
        console.print(f"  [red]{finding.layer}[/red]: {finding.message} ({finding.urn})", highlight=False)


def _print_network_paths(result: NetworkPaths, console: Console) -> None:
    console.rule("[bold]does every VPC workload reach what it needs?[/bold]")
    holding = [path for path in result.paths if path.holds]
    console.print(f"  {len(holding)} of {len(result.paths)} paths as designed")
    for finding in result.findings:
        console.print(f"  [red]broken[/red]: {finding.message} ({finding.urn})", highlight=False)


def _print_access_matrix(matrix: AccessMatrix, console: Console) -> None:
    console.rule("[bold]access matrix: does every designed flow hold?[/bold]")
    console.print(f"  {len(matrix.results) - len(matrix.broken)} of {len(matrix.results)} flows as designed")
    for result in matrix.broken:
        flow = result.flow
        expected = "allowed" if flow.allowed else "denied"
        detail = "; ".join(result.decision.errors) or f"the engine says {result.decision.result}"
        console.print(f"  [red]broken[/red]: {flow.name} — {flow.principal} {flow.action} {flow.resource} "
                      f"must be {expected}: {detail}", highlight=False)
    if matrix.lake_grants is not None:
        _print_lake_grants(matrix.lake_grants, console)


def _print_lake_grants(grants: LakeGrants, console: Console) -> None:
    designed = len(grants.captured) - len(grants.unexpected)
    console.print(f"  {designed} of {designed + len(grants.missing)} Lake Formation grants as designed, "
                  f"{len(grants.unexpected)} beyond the design")
    for kind, found in (("missing", grants.missing), ("unexpected", grants.unexpected)):
        for grant in found:
            console.print(f"  [red]{kind}[/red]: in {grant.account}, {grant.principal} "
                          f"{'+'.join(grant.permissions)} on {grant.resource}", highlight=False)


def _print_stack(stack: StackPreview, console: Console) -> None:
    resources = stack.captured.resources
    console.rule(f"[bold]{stack.name}[/bold]  tiers: {', '.join(stack.config.stack.tiers)}  "
                 f"account: {stack.config.account_id}  ({len(resources)} resources)")
    by_component = Counter((_component_of(resource), resource.type) for resource in resources if resource.custom)
    table = Table("component", "resource type", "count", title="to create", title_justify="left")
    for (component, type_token), count in sorted(by_component.items()):
        table.add_row(component, type_token, str(count))
    console.print(table)
    if stack.captured.stack_references:
        console.print("reads from: " + ", ".join(stack.captured.stack_references))
    if stack.captured.outputs:
        console.print("exports: " + ", ".join(sorted(stack.captured.outputs)))
    if not stack.violations:
        console.print("[green]policies: all passed[/green]")
        return
    verdicts = Table("level", "policy", "resource", "message", title="policy verdicts", title_justify="left")
    for violation in stack.violations:
        style = "red" if violation.level == "mandatory" else "yellow"
        verdicts.add_row(f"[{style}]{violation.level}[/{style}]", violation.policy,
                         violation.urn.rsplit("::", 1)[-1], violation.message.split("\n", 1)[-1])
    console.print(verdicts)


def _component_of(resource: CapturedResource) -> str:
    """The tier and capability a resource belongs to, e.g. `Artifact / SecureBucket`."""
    qualified = resource.urn.split("::")[2].split("$")
    components = [token.rsplit(":", 1)[-1] for token in qualified[:-1]][:2]
    return " / ".join(components) or "(stack)"

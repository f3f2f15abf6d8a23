"""Render a cost estimate: the `cost --json` document (fields only ever added) and the readable summary, which
prints every assumption the figures rest on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mlops_platform.offline.cost import AFTER_FIRST_APPROVAL, CostEstimate, CostLine, StackCost
from mlops_platform.offline.cost_increment import ProjectCost

SCHEMA_VERSION = 1

GENERAL_ASSUMPTIONS: tuple[str, ...] = (
    "Idle: no requests, no training or processing runs, empty buckets, repositories and logs; only what bills by "
    "the hour or the month while nothing happens.",
    "On-demand list prices; free tiers, savings plans, reserved capacity, support and taxes are not applied.",
    f"Endpoints are priced {AFTER_FIRST_APPROVAL} (the stacks captured as once version 1 of each served use case "
    "is approved; a new account has none until then), at minimum capacity: each endpoint's autoscaling minimum.",
    "Per use case: what one more use case like it adds (the size captured again with a copy of it, minus as "
    "configured); shared costs such as networks and keys do not grow with use cases.",
)


def money(usd: float) -> str:
    return f"{usd:,.2f}"


def cost_document(project_cost: ProjectCost, root: Path) -> dict[str, Any]:
    """The `cost --json` document. Documented in the README; fields are only ever added, never renamed."""
    estimate = project_cost.estimate
    table = estimate.table
    return {
        "schemaVersion": SCHEMA_VERSION,
        "size": estimate.size.value,
        "region": table.region,
        "currency": table.currency,
        "pricesAsOf": table.prices_as_of,
        "priceTable": _relative(table.path, root),
        "hoursPerMonth": table.hours_per_month,
        "monthly": round(estimate.monthly, 2),
        "stacks": [_stack_document(stack) for stack in estimate.stacks],
        "useCases": [{"like": u.like, "monthly": round(u.monthly, 2),
                      "items": {item: round(usd, 2) for item, usd in u.by_item.items()}}
                     for u in project_cost.use_cases],
        "notPriced": [{"stack": u.stack, "resource": u.resource, "type": u.type, "reason": u.reason}
                      for u in estimate.not_priced],
        "zeroAtIdle": [{"type": z.type, "rule": z.rule, "why": z.why, "count": z.count}
                       for z in estimate.zero_at_idle],
        "assumptions": assumptions(estimate),
    }


def _stack_document(stack: StackCost) -> dict[str, Any]:
    return {"name": stack.name, "account": stack.account, "monthly": round(stack.monthly, 2),
            "lines": [{"item": line.item, "resource": line.resource, "type": line.type, "quantity": line.quantity,
                       "unit": line.unit, "unitPrice": line.unit_price, "monthly": round(line.monthly, 2),
                       "basis": line.basis, "source": line.source} for line in stack.lines]}


def assumptions(estimate: CostEstimate) -> list[str]:
    table = estimate.table
    listed = [*GENERAL_ASSUMPTIONS, f"{table.hours_per_month:g} hours a month.", f"Prices: {table.refresh}"]
    listed += [f"{key}: {assumption.why}" for key, assumption in table.assumptions.items()]
    listed += [f"{item}: {basis}" for item, basis in _item_bases(estimate)]
    return listed


def _item_bases(estimate: CostEstimate) -> list[tuple[str, str]]:
    """How each priced item is counted, once per distinct way, with its price's source page."""
    seen: dict[tuple[str, str], None] = {}
    for stack in estimate.stacks:
        for line in stack.lines:
            seen.setdefault((line.item, f"{line.basis} ({line.unit_price:g} {estimate.table.currency} per "
                                        f"{line.unit.removesuffix('s')}; {line.source})"), None)
    return list(seen)


@dataclass(frozen=True)
class Row:
    item: str
    resources: int
    quantity: float
    unit: str
    unit_price: float
    monthly: float
    basis: str


def rows(stack: StackCost) -> list[Row]:
    """A stack's lines summed per item, unit price and basis, sorted by item."""
    grouped: dict[tuple[str, str, float, str], list[CostLine]] = {}
    for line in stack.lines:
        grouped.setdefault((line.item, line.unit, line.unit_price, line.basis), []).append(line)
    return [Row(item, len(lines), sum(line.quantity for line in lines), unit, price,
                sum(line.monthly for line in lines), basis)
            for (item, unit, price, basis), lines in sorted(grouped.items())]


def print_cost(project_cost: ProjectCost, console: Console) -> None:
    if not console.is_terminal:
        console.width = max(console.width, 160)
    estimate = project_cost.estimate
    table = estimate.table
    console.print(f"[bold]mlops-platform cost[/bold] — size [cyan]{estimate.size.value}[/cyan], region "
                  f"{table.region}, idle, {table.currency} a month (prices as of {table.prices_as_of})")
    for stack in estimate.stacks:
        _print_stack(stack, console)
    console.print(f"[bold]total idle: {money(estimate.monthly)} {table.currency} a month[/bold]")
    _print_use_cases(project_cost, console)
    _print_not_priced(estimate, console)
    zero = sum(z.count for z in estimate.zero_at_idle)
    console.print(f"\n{zero} resources of {len(estimate.zero_at_idle)} types cost nothing idle (free, billed per "
                  "use, or priced with another resource; see --json zeroAtIdle)")
    console.print("\n[bold]assumptions[/bold]")
    for assumption in assumptions(estimate):
        console.print(f"- {assumption}", highlight=False, soft_wrap=True)


def _print_stack(stack: StackCost, console: Console) -> None:
    grid = Table(title=f"stack {stack.name} (account {stack.account}): {money(stack.monthly)}", title_justify="left")
    for column in ("item", "resources", "quantity", "unit price", "monthly", "basis"):
        grid.add_column(column, justify="right" if column in ("resources", "quantity", "unit price", "monthly")
                        else "left")
    for row in rows(stack):
        grid.add_row(row.item, str(row.resources), f"{row.quantity:g} {row.unit}", f"{row.unit_price:g}",
                     money(row.monthly), row.basis)
    console.print(grid)


def _print_use_cases(project_cost: ProjectCost, console: Console) -> None:
    if not project_cost.use_cases:
        return
    grid = Table(title="per use case: one more like it adds (a month)", title_justify="left")
    grid.add_column("like")
    grid.add_column("monthly", justify="right")
    grid.add_column("items")
    for use_case in project_cost.use_cases:
        grid.add_row(use_case.like, money(use_case.monthly),
                     ", ".join(f"{item} {money(usd)}" for item, usd in use_case.by_item.items()))
    console.print(grid)


def _print_not_priced(estimate: CostEstimate, console: Console) -> None:
    if not estimate.not_priced:
        console.print("\nnot priced: none")
        return
    console.print(f"\n[yellow]not priced ({len(estimate.not_priced)}), left out of the totals:[/yellow]")
    for unpriced in estimate.not_priced:
        console.print(f"- {unpriced.stack}: {unpriced.resource} ({unpriced.type}): {unpriced.reason}",
                      highlight=False, soft_wrap=True)


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)

"""The dated price table of a region (`prices/<region>.json`) and how each resource type is priced at idle
(`prices/resource-types.json`), read and checked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRICES_DIR = Path(__file__).resolve().parent / "prices"
RESOURCE_TYPES_FILE = "resource-types.json"
RULES: frozenset[str] = frozenset({
    "free", "usage", "with", "sagemaker-endpoint", "vpc-endpoint", "nat-gateway", "public-ipv4", "kms-key",
    "studio-user-profile", "feature-group", "codepipeline", "cloudtrail", "secret", "monitoring-schedule", "alarm"})
"""Rules with no price of their own: `free`, `usage` (nothing without traffic, storage or runs), `with` (priced
through another resource). The others are pricing functions of `cost.py`."""


class PriceTableError(Exception):
    """No price table for the region, or a table that is not in the documented shape."""


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str


@dataclass(frozen=True)
class InstancePrices:
    unit: str
    source: str
    usd: Mapping[str, float]


@dataclass(frozen=True)
class Assumption:
    value: float
    why: str


@dataclass(frozen=True)
class TypeRule:
    rule: str
    why: str


@dataclass(frozen=True)
class PriceTable:
    path: Path
    region: str
    currency: str
    prices_as_of: str
    refresh: str
    hours_per_month: float
    prices: Mapping[str, Price]
    instance_hours: Mapping[str, InstancePrices]
    assumptions: Mapping[str, Assumption]
    types: Mapping[str, TypeRule]

    def price(self, key: str) -> Price:
        if key not in self.prices:
            raise PriceTableError(f"{self.path}: no price {key!r} under `prices`")
        return self.prices[key]

    def assumption(self, key: str) -> Assumption:
        if key not in self.assumptions:
            raise PriceTableError(f"{self.path}: no assumption {key!r} under `assumptions`")
        return self.assumptions[key]


def available_regions(directory: Path = PRICES_DIR) -> list[str]:
    return sorted(path.stem for path in directory.glob("*.json") if path.name != RESOURCE_TYPES_FILE)


def load_price_table(region: str, directory: Path = PRICES_DIR) -> PriceTable:
    path = directory / f"{region}.json"
    if not path.is_file():
        known = ", ".join(available_regions(directory)) or "none"
        raise PriceTableError(f"no price table for region {region!r} (mlops-platform:region): {directory} has "
                              f"{known}; add {region}.json with that region's prices, dated, from the AWS pricing "
                              "pages")
    document = _json(path)
    types = _json(directory / RESOURCE_TYPES_FILE)
    try:
        table = PriceTable(
            path=path,
            region=str(document["region"]),
            currency=str(document["currency"]),
            prices_as_of=str(document["pricesAsOf"]),
            refresh=str(document["refresh"]),
            hours_per_month=float(document["hoursPerMonth"]),
            prices={key: Price(float(p["usd"]), str(p["unit"]), str(p["source"]))
                    for key, p in document["prices"].items()},
            instance_hours={key: InstancePrices(str(p["unit"]), str(p["source"]),
                                                {t: float(usd) for t, usd in p["usd"].items()})
                            for key, p in document["instanceHours"].items()},
            assumptions={key: Assumption(float(a["value"]), str(a["why"]))
                         for key, a in document["assumptions"].items()},
            types={token: TypeRule(str(t["rule"]), str(t.get("why", ""))) for token, t in types["types"].items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise PriceTableError(f"{path}: not in the documented shape ({type(err).__name__}: {err})") from None
    if table.region != region:
        raise PriceTableError(f"{path}: says region {table.region!r}, expected {region!r}")
    unknown = sorted({t.rule for t in table.types.values()} - RULES)
    if unknown:
        raise PriceTableError(f"{directory / RESOURCE_TYPES_FILE}: unknown rule(s) {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(RULES))}")
    return table


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise PriceTableError(f"{path}: not readable JSON ({err})") from None

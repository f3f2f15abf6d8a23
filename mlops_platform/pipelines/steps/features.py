"""Read-features step: a use case's feature groups, read from their offline stores → the latest features of every
record, one CSV per group.

Runs as ``python3 features.py`` in the training image (SageMaker's built-in XGBoost image has pandas and pyarrow,
which read the offline store's Parquet files). Paths default to the container's; the flags override them for local
runs and tests.

For each ``--group NAME:RECORD_IDENTIFIER:EVENT_TIME``:

1. Reads every ``*.parquet`` file under ``--input-dir/NAME`` (the group's offline store prefix: Feature Store
   writes ``<account>/sagemaker/<region>/offline-store/<group>-<time>/data/.../*.parquet`` below it).
2. Drops the records Feature Store marks deleted (``is_deleted``), then keeps the latest version of each record:
   the highest event time (an ISO-8601 string or Unix seconds), then the latest ``write_time``.
3. Writes ``--output-dir/NAME.csv``: the group's features without Feature Store's own columns, with a header,
   ordered by the record identifier.

Every problem with the data exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]

CONTAINER_BASE = "/opt/ml/processing"
INPUT_DIR = f"{CONTAINER_BASE}/offline-store"
OUTPUT_DIR = f"{CONTAINER_BASE}/features"
FEATURE_STORE_COLUMNS = ("is_deleted", "write_time", "api_invocation_time")
"""What Feature Store adds to every offline record."""


class FeaturesError(ValueError):
    """The offline store cannot be read into features; the message says why."""


@dataclass(frozen=True)
class Group:
    name: str
    record_identifier: str
    event_time: str

    @staticmethod
    def parse(text: str) -> Group:
        parts = text.split(":")
        if len(parts) != 3 or not all(parts):
            raise FeaturesError(f"--group {text!r}: expected NAME:RECORD_IDENTIFIER:EVENT_TIME")
        return Group(*parts)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--input-dir", default=INPUT_DIR, help="parent of one offline store folder per group")
    parser.add_argument("--output-dir", default=OUTPUT_DIR)
    parser.add_argument("--group", action="append", default=[], required=True,
                        help="NAME:RECORD_IDENTIFIER:EVENT_TIME (repeat per group)")
    return parser.parse_args(argv)


def read_offline_store(folder: Path) -> pd.DataFrame:
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        raise FeaturesError(f"no Parquet files under {folder}: has the feature group ingested any record?")
    return pd.concat([pd.read_parquet(path) for path in files], ignore_index=True)


def _event_order(values: pd.Series) -> pd.Series:
    """Event times as sortable values: Unix seconds as numbers, ISO-8601 strings as UTC timestamps."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    parsed = pd.to_datetime(values, utc=True, errors="coerce")
    if parsed.isna().any():
        bad = values[parsed.isna()].iloc[0]
        raise FeaturesError(f"event time {bad!r} is neither an ISO-8601 time nor Unix seconds")
    return parsed


def latest_records(records: pd.DataFrame, group: Group) -> pd.DataFrame:
    for column in (group.record_identifier, group.event_time):
        if column not in records.columns:
            raise FeaturesError(f"group {group.name}: the offline store has no column {column!r}; it has: "
                                f"{', '.join(map(str, records.columns))}")
    if "is_deleted" in records.columns:
        records = records[~records["is_deleted"].fillna(False).astype(bool)]
    ordered = records.assign(_event=_event_order(records[group.event_time]))
    keys = ["_event", "write_time"] if "write_time" in ordered.columns else ["_event"]
    ordered = ordered.sort_values(keys, kind="mergesort")
    latest = ordered.drop_duplicates(subset=[group.record_identifier], keep="last")
    kept = [c for c in latest.columns if c not in (*FEATURE_STORE_COLUMNS, "_event")]
    return latest[kept].sort_values(group.record_identifier, kind="mergesort").reset_index(drop=True)


def run(input_dir: Path, output_dir: Path, groups: list[Group]) -> dict[str, int]:
    """Writes one CSV per group; returns the number of records written per group."""
    output_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for group in groups:
        latest = latest_records(read_offline_store(input_dir / group.name), group)
        latest.to_csv(output_dir / f"{group.name}.csv", index=False)
        written[group.name] = len(latest)
    return written


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        written = run(Path(args.input_dir), Path(args.output_dir), [Group.parse(text) for text in args.group])
    except FeaturesError as err:
        print(f"read-features: {err}", file=sys.stderr)
        return 2
    for name, count in written.items():
        print(f"read-features: {name}: {count} records")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

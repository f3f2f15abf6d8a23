"""Served requests from SageMaker data-capture files.

An endpoint with data capture writes JSON Lines files (`*.jsonl`), one record per request:
`{"captureData": {"endpointInput": {"observedContentType", "mode": "INPUT", "data", "encoding"}, ...},
"eventMetadata": {...}, "eventVersion": "0"}`. `encoding` says how `data` holds the request body: `CSV` and
`JSON` as text, `BASE64` as base64 of a body whose content type is `observedContentType`. A body holds one or
more rows of features in the model's column order: CSV lines, or JSON as one row (`[1, 2]`), rows
(`[[1, 2], [3, 4]]`), or `{"instances": rows}` / `{"inputs": rows}` with rows as lists or `{"features": list}`.

A record that cannot be read is counted with its reason, never fatal.

For the bias check each row also keeps the model's output for it (`endpointOutput`: the predicted probabilities,
one per row, as CSV or JSON numbers; None where they cannot be read or do not match the rows one to one) and its
record's join key for ground truth (`ground_truth`): `eventMetadata.inferenceId` when the caller set one
(InvokeEndpoint's `InferenceId`), else `eventMetadata.eventId` (SageMaker's own id of the request); None for a
record of several rows, since a ground-truth record labels one request.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CAPTURE_FILE_PATTERN = "*.jsonl"
Row = list[Any]


class MalformedRecord(ValueError):
    """One capture record that holds no readable feature rows; the message is the reason counted."""


@dataclass
class CapturedTraffic:
    rows: list[Row] = field(default_factory=list)
    predictions: list[float | None] = field(default_factory=list)
    """Per row: the model's predicted probability, where the record's output holds one per row."""
    event_ids: list[str | None] = field(default_factory=list)
    """Per row: its record's ground-truth join key (single-row records only)."""
    records: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    files: int = 0

    @property
    def malformed_count(self) -> int:
        return sum(self.malformed.values())


def read_capture(capture_dir: Path, feature_count: int) -> CapturedTraffic:
    traffic = CapturedTraffic()
    for path in sorted(capture_dir.rglob(CAPTURE_FILE_PATTERN)):
        traffic.files += 1
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if not line.strip():
                    continue
                traffic.records += 1
                try:
                    rows = record_rows(line, feature_count)
                except MalformedRecord as problem:
                    traffic.malformed[str(problem)] += 1
                    continue
                traffic.rows.extend(rows)
                record = json.loads(line)
                traffic.predictions.extend(record_predictions(record, len(rows)))
                event_id = join_key(record) if len(rows) == 1 else None
                traffic.event_ids.extend([event_id] * len(rows))
    return traffic


def record_rows(line: str, feature_count: int) -> list[Row]:
    """The feature rows one capture record's request holds, each of `feature_count` values."""
    endpoint_input = _endpoint_input(line)
    body, content_type = _body(endpoint_input)
    rows = _json_rows(body) if "json" in content_type else _csv_rows(body)
    if not rows:
        raise MalformedRecord("request holds no row")
    if any(len(row) != feature_count for row in rows):
        raise MalformedRecord(f"row width is not the baseline's {feature_count} features")
    return rows


def _endpoint_input(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError as error:
        raise MalformedRecord("line is not JSON") from error
    endpoint_input = record.get("captureData", {}).get("endpointInput") if isinstance(record, dict) else None
    if not isinstance(endpoint_input, dict) or not isinstance(endpoint_input.get("data"), str):
        raise MalformedRecord("no captureData.endpointInput.data")
    return endpoint_input


def _body(endpoint_input: dict[str, Any]) -> tuple[str, str]:
    """The request body as text and the content type it is read as (`csv` or `json`)."""
    encoding = str(endpoint_input.get("encoding", "")).upper()
    content_type = str(endpoint_input.get("observedContentType", "")).lower()
    data: str = endpoint_input["data"]
    if encoding == "CSV":
        return data, "csv"
    if encoding == "JSON":
        return data, "json"
    if encoding != "BASE64":
        raise MalformedRecord(f"unknown encoding {encoding or 'none'}")
    try:
        body = base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise MalformedRecord("BASE64 data does not decode to UTF-8 text") from error
    if "json" in content_type:
        return body, "json"
    if "csv" in content_type:
        return body, "csv"
    raise MalformedRecord(f"content type {content_type or 'none'} is neither CSV nor JSON")


def _csv_rows(body: str) -> list[Row]:
    try:
        return [row for row in csv.reader(io.StringIO(body)) if row]
    except csv.Error as error:
        raise MalformedRecord("data is not CSV") from error


def _json_rows(body: str) -> list[Row]:
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise MalformedRecord("data is not JSON") from error
    if isinstance(payload, dict):
        payload = payload.get("instances", payload.get("inputs"))
    if not isinstance(payload, list) or not payload:
        raise MalformedRecord("JSON data is not a row, rows, or {instances: rows}")
    rows = payload if all(isinstance(item, list | dict) for item in payload) else [payload]
    return [_json_row(row) for row in rows]


def _json_row(row: Any) -> Row:
    if isinstance(row, dict):
        row = row.get("features")
    if not isinstance(row, list) or any(isinstance(value, list | dict) for value in row):
        raise MalformedRecord("JSON row is not a flat list of values")
    return row


def join_key(record: dict[str, Any]) -> str | None:
    metadata = record.get("eventMetadata")
    if not isinstance(metadata, dict):
        return None
    key = metadata.get("inferenceId") or metadata.get("eventId")
    return key if isinstance(key, str) and key else None


def record_predictions(record: dict[str, Any], row_count: int) -> list[float | None]:
    """The record's output as one probability per row, or Nones when it is not that."""
    output = record.get("captureData", {}).get("endpointOutput")
    unread: list[float | None] = [None] * row_count
    if not isinstance(output, dict) or not isinstance(output.get("data"), str):
        return unread
    try:
        body, content_type = _body(output)
        values = _output_numbers(body, content_type)
    except (MalformedRecord, ValueError, TypeError):
        return unread
    return list(values) if len(values) == row_count else unread


def _output_numbers(body: str, content_type: str) -> list[float | None]:
    if content_type == "json":
        payload = json.loads(body)
        if isinstance(payload, dict):
            payload = payload.get("predictions", payload.get("outputs"))
        items = payload if isinstance(payload, list) else [payload]
        items = [item.get("score") if isinstance(item, dict) else item for item in items]
    else:
        items = [value for line in body.splitlines() for value in line.split(",") if value.strip()]
    return [float(item) for item in items]

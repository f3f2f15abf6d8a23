"""Ground-truth labels of served requests, for the live bias check.

Files are JSON Lines (`*.jsonl` under the configured prefix), one record per labelled request, in the layout SageMaker
documents for ground truth: `{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId":
"<id>"}, "eventVersion": "0"}`. `eventId` is the capture record's join key (its `inferenceId` when the caller set
one, else its `eventId`); `data` is the label, 0 or 1 (`true`/`false` too). A record that cannot be read is
counted, never fatal; a later record of the same id replaces an earlier one.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

GROUND_TRUTH_SUFFIX = ".jsonl"
_LABELS = {"1": 1, "0": 0, "1.0": 1, "0.0": 0, "true": 1, "false": 0}


@dataclass
class GroundTruth:
    labels: dict[str, int] = field(default_factory=dict)
    malformed: Counter[str] = field(default_factory=Counter)


def read_ground_truth(lines: Iterable[str]) -> GroundTruth:
    truth = GroundTruth()
    for line in lines:
        if line.strip():
            _read_record(line, truth)
    return truth


def _read_record(line: str, truth: GroundTruth) -> None:
    try:
        record = json.loads(line)
    except ValueError:
        truth.malformed["line is not JSON"] += 1
        return
    data = record.get("groundTruthData", {}).get("data") if isinstance(record, dict) else None
    metadata = record.get("eventMetadata", {}) if isinstance(record, dict) else {}
    event_id = metadata.get("eventId") if isinstance(metadata, dict) else None
    if not isinstance(event_id, str) or not event_id:
        truth.malformed["no eventMetadata.eventId"] += 1
        return
    label = _LABELS.get(str(data).strip().lower())
    if label is None:
        truth.malformed["groundTruthData.data is not a 0/1 label"] += 1
        return
    truth.labels[event_id] = label

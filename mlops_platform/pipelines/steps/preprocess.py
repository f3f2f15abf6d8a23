"""Preprocess step: raw CSV files → headerless train/validation/test CSVs for SageMaker's built-in XGBoost.

Runs as ``python3 preprocess.py`` in the SageMaker scikit-learn processing container (pandas and scikit-learn
only). Paths default to the container's; the flags override them for local runs and tests.

1. Reads every ``*.csv`` (with a header row) in ``--input-dir`` and every data lake query result under
   ``--lake-dir`` (one folder per table: Athena's JSON lines, gzipped or not), and concatenates them.
2. Requires the ``--target`` column (default ``label``) with binary values (0/1 or booleans); drops the rows
   whose target is missing.
3. Splits 70/15/15 into train/validation/test with ``--seed`` (stratified on the target when every class has at
   least ten rows).
4. Learns from the train split only: the median of each numeric column (imputes its missing values) and the
   categories of each other column (one-hot encoded; missing values are a category of their own, categories
   unseen in train encode as all zeros).
5. Writes ``train/train.csv``, ``validation/validation.csv`` and ``test/test.csv``: target first, no header,
   no index, as built-in XGBoost reads CSV; and ``baseline/baseline.csv``: the train features without the target,
   the shape of the requests the endpoint serves, for the drift baseline; and ``schema/features.json``: the
   feature names of those columns, in order (``{"features": [...], "target": ...}``), so the baseline names them.

Every problem with the data exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]

CONTAINER_BASE = "/opt/ml/processing"
SPLITS = ("train", "validation", "test")
SCHEMA_FILE = "features.json"
MISSING_CATEGORY = "__missing__"
MIN_ROWS_PER_CLASS_TO_STRATIFY = 10
LAKE_DIR = "lake"
GZIP_MAGIC = b"\x1f\x8b"


class PreprocessError(ValueError):
    """The input data cannot be preprocessed; the message says why."""


@dataclass(frozen=True)
class Encoding:
    """What the train split teaches: column medians and category lists, applied unchanged to every split."""

    medians: dict[str, float]
    categories: dict[str, list[str]]

    @property
    def feature_names(self) -> list[str]:
        one_hot = [f"{column}_{value}" for column, values in self.categories.items() for value in values]
        return [*self.medians, *one_hot]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--input-dir", default=f"{CONTAINER_BASE}/input")
    parser.add_argument("--lake-dir", default=f"{CONTAINER_BASE}/{LAKE_DIR}",
                        help="one folder per data lake table, holding its Athena query result")
    parser.add_argument("--output-dir", default=CONTAINER_BASE, help="parent of train/, validation/, test/")
    parser.add_argument("--target", default="label", help="name of the binary target column")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def read_input(input_dir: Path, lake_dir: Path | None = None) -> pd.DataFrame:
    files = sorted(input_dir.glob("*.csv"))
    results = sorted(path for path in lake_dir.rglob("*") if path.is_file()) if lake_dir and lake_dir.is_dir() else []
    if not files and not results:
        raise PreprocessError(f"no *.csv file in {input_dir} and no data lake query result in {lake_dir}")
    frames = [pd.read_csv(path) for path in files] + [_query_result(path) for path in results]
    return pd.concat(frames, ignore_index=True)


def _query_result(path: Path) -> pd.DataFrame:
    """One file of an Athena result in JSON lines (SageMaker's `OutputFormat: JSON`), gzipped or not."""
    with path.open("rb") as head:
        gzipped = head.read(2) == GZIP_MAGIC
    try:
        return pd.read_json(path, lines=True, compression="gzip" if gzipped else None)
    except ValueError as error:
        raise PreprocessError(f"{path}: not a JSON-lines query result ({error})") from None


def clean_target(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows with a target, the target as integers 0/1."""
    if target not in frame.columns:
        raise PreprocessError(f"target column {target!r} not found; columns are: {', '.join(map(str, frame.columns))}")
    labelled = frame.dropna(subset=[target]).reset_index(drop=True)
    if labelled.empty:
        raise PreprocessError(f"every row has a missing {target!r}")
    values = labelled[target]
    if values.dtype == bool:
        values = values.astype(int)
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.isna().any() or not set(numeric.unique()) <= {0, 1}:
        found = sorted(map(str, values.unique()))[:10]
        raise PreprocessError(
            f"target {target!r} must be binary (0/1 or true/false) for binary:logistic, found {found}"
        )
    labelled[target] = numeric.astype(int)
    return labelled


def split(frame: pd.DataFrame, target: str, seed: int) -> dict[str, pd.DataFrame]:
    """70/15/15 train/validation/test."""
    if len(frame) < len(SPLITS) * 2:
        raise PreprocessError(f"{len(frame)} labelled rows are too few to split into {', '.join(SPLITS)}")
    train, rest = train_test_split(frame, test_size=0.3, random_state=seed, stratify=_stratify(frame[target]))
    validation, test = train_test_split(rest, test_size=0.5, random_state=seed, stratify=_stratify(rest[target]))
    return {"train": train, "validation": validation, "test": test}


def _stratify(labels: pd.Series) -> pd.Series | None:
    counts = labels.value_counts()
    return labels if len(counts) > 1 and counts.min() >= MIN_ROWS_PER_CLASS_TO_STRATIFY else None


def fit_encoding(train: pd.DataFrame, target: str) -> Encoding:
    features = train.drop(columns=[target])
    numeric = features.select_dtypes(include=["number", "bool"]).columns
    medians = {str(column): _median(features[column]) for column in numeric}
    categorical = [column for column in features.columns if column not in numeric]
    categories = {str(column): sorted(set(_as_categories(features[column]))) for column in categorical}
    return Encoding(medians=medians, categories=categories)


def _median(column: pd.Series) -> float:
    median = pd.to_numeric(column, errors="coerce").astype(float).median()
    return 0.0 if pd.isna(median) else float(median)


def _as_categories(column: pd.Series) -> pd.Series:
    return column.astype(object).where(column.notna(), MISSING_CATEGORY).astype(str)


def encode(frame: pd.DataFrame, target: str, encoding: Encoding) -> pd.DataFrame:
    """Target first, then the imputed numeric columns, then the one-hot columns; all float but the target."""
    columns: dict[str, pd.Series] = {target: frame[target].astype(int)}
    for name, median in encoding.medians.items():
        columns[name] = pd.to_numeric(frame[name], errors="coerce").astype(float).fillna(median)
    for name, values in encoding.categories.items():
        observed = _as_categories(frame[name])
        for value in values:
            columns[f"{name}_{value}"] = (observed == value).astype(float)
    return pd.DataFrame(columns, index=frame.index)


def write_outputs(splits: dict[str, pd.DataFrame], target: str, output_dir: Path) -> dict[str, Path]:
    frames = {**splits, "baseline": splits["train"].drop(columns=[target])}
    written: dict[str, Path] = {}
    for name, frame in frames.items():
        path = output_dir / name / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, header=False, index=False)
        written[name] = path
    written["schema"] = write_schema(list(frames["baseline"].columns), target, output_dir)
    return written


def write_schema(feature_names: list[str], target: str, output_dir: Path) -> Path:
    """A file of its own output, apart from ``baseline/``: a baseline job reads every file of that directory."""
    path = output_dir / "schema" / SCHEMA_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"features": [str(name) for name in feature_names], "target": target}),
                    encoding="utf-8")
    return path


@dataclass(frozen=True)
class PreprocessResult:
    files: dict[str, Path]  # output name (train, validation, test, baseline) → written CSV
    feature_names: list[str]  # the model's input columns, in order (the target precedes them in train/...)


def preprocess(input_dir: Path, output_dir: Path, target: str, seed: int,
               lake_dir: Path | None = None) -> PreprocessResult:
    """Run the whole step."""
    frame = clean_target(read_input(input_dir, lake_dir), target)
    raw_splits = split(frame, target, seed)
    encoding = fit_encoding(raw_splits["train"], target)
    encoded = {name: encode(part, target, encoding) for name, part in raw_splits.items()}
    return PreprocessResult(write_outputs(encoded, target, output_dir), encoding.feature_names)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        result = preprocess(Path(args.input_dir), Path(args.output_dir), args.target, args.seed,
                            Path(args.lake_dir))
    except PreprocessError as error:
        print(f"preprocess: error: {error}", file=sys.stderr)
        return 2
    for name, path in result.files.items():
        print(f"preprocess: wrote {name} to {path}")
    print(f"preprocess: {len(result.feature_names)} features, in order: {', '.join(result.feature_names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Export the diabetes data set bundled in a scikit-learn wheel as Rheo's CSV inputs.

    python3 -m pip download scikit-learn==1.9.1 --no-deps -d /tmp/skl
    python3 examples/diabetes/export-data.py /tmp/skl/scikit_learn-1.9.1-*.whl

Reads only two members of the wheel (a zip file), the raw, unscaled values and the target:

    sklearn/datasets/data/diabetes_data_raw.csv.gz   442 rows: AGE SEX BMI BP S1 S2 S3 S4 S5 S6
    sklearn/datasets/data/diabetes_target.csv.gz     442 rows: disease progression one year after baseline

and writes, next to this script (or to --out DIR):

    data/measurements.csv  feature events of group `patient_measurements` (`rheo produce`)
    data/labels.csv        label events of model `diabetes_progression` (`rheo label`)

Nothing is random: patient ids are p0001..p0442 in the file's row order, and the baseline visit of
row i (0-based) is on day floor(i * 181 / 442) after 2025-01-01, at 08:00 + (i mod 8) hours UTC
(2025-01-01 .. 2025-06-30, one to three visits a day, no two at the same time). A measurement is
recorded at its visit (created_time = event_time); its event id is a name-based UUID (version 5) of
the patient and the visit, so producing the file twice writes the same events. The label of a
patient is the target, as of the visit (reference_time = event_time), observed one year later.

Only the Python standard library is used. The members' SHA-256 are checked, so the output is byte
for byte the committed one whatever platform's wheel of the version is read.
"""

import argparse
import csv
import gzip
import hashlib
import io
import re
import sys
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

VERSION = "1.9.1"
RAW = "sklearn/datasets/data/diabetes_data_raw.csv.gz"
TARGET = "sklearn/datasets/data/diabetes_target.csv.gz"
MEMBER_SHA256 = {
    RAW: "7fc0ded571454b1982210d3bb43f0aca44eae01a0b8654a3b24022bdb6b38009",
    TARGET: "8e53f65eb811df43c206f3534bb3af0e5fed213bc37ed6ba36310157d6023803",
}
ROWS = 442
FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
# Fixed namespace of the measurement events' ids (changing it changes every id).
EVENT_ID_NAMESPACE = uuid.UUID("e4e34f26-2e98-4198-94db-4b969f0bd245")
FIRST_DAY = datetime(2025, 1, 1, 8, 0, 0, tzinfo=timezone.utc)
WINDOW_DAYS = 181  # 2025-01-01 .. 2025-06-30
LABEL_SOURCE = "followup_1y"


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def visit_time(i: int) -> datetime:
    return FIRST_DAY + timedelta(days=(i * WINDOW_DAYS) // ROWS, hours=i % 8)


def one_year_later(t: datetime) -> datetime:
    return t.replace(year=t.year + 1)  # 2025 and 2026 have no 29 February


def member(wheel: zipfile.ZipFile, name: str) -> list[str]:
    data = wheel.read(name)
    digest = hashlib.sha256(data).hexdigest()
    if digest != MEMBER_SHA256[name]:
        sys.exit(f"{name}: sha256 {digest}, expected {MEMBER_SHA256[name]} (scikit-learn {VERSION})")
    text = gzip.decompress(data).decode("ascii")
    return [line for line in text.splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help=f"a scikit-learn {VERSION} wheel (.whl)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data", help="output folder")
    args = parser.parse_args()

    if not re.match(rf"scikit_learn-{re.escape(VERSION)}-", args.wheel.name):
        print(f"warning: {args.wheel.name} is not a scikit-learn {VERSION} wheel; checking its members anyway", file=sys.stderr)
    wheel_sha = hashlib.sha256(args.wheel.read_bytes()).hexdigest()
    with zipfile.ZipFile(args.wheel) as wheel:
        raw = [line.split() for line in member(wheel, RAW)]
        target = [float(line) for line in member(wheel, TARGET)]
    if len(raw) != ROWS or len(target) != ROWS or any(len(r) != len(FEATURES) for r in raw):
        sys.exit(f"expected {ROWS} rows of {len(FEATURES)} values and {ROWS} targets")
    if any(t != int(t) for t in target):
        sys.exit("the targets are expected to be whole numbers")

    args.out.mkdir(parents=True, exist_ok=True)
    measurements = io.StringIO()
    labels = io.StringIO()
    m = csv.writer(measurements, lineterminator="\n")
    lab = csv.writer(labels, lineterminator="\n")
    m.writerow(["entity_id", "event_time", "created_time", "event_id", *FEATURES])
    lab.writerow(["entity_id", "reference_time", "label", "observed_time", "label_source"])
    for i, (values, y) in enumerate(zip(raw, target)):
        patient = f"p{i + 1:04d}"
        visit = iso(visit_time(i))
        event_id = uuid.uuid5(EVENT_ID_NAMESPACE, f"patient_measurements/{patient}/{visit}")
        # The values as the source writes them (e.g. `32.1`, `101.0`, `4.8598`).
        m.writerow([patient, visit, visit, str(event_id), *values])
        lab.writerow([patient, visit, int(y), iso(one_year_later(visit_time(i))), LABEL_SOURCE])
    (args.out / "measurements.csv").write_text(measurements.getvalue(), encoding="utf-8")
    (args.out / "labels.csv").write_text(labels.getvalue(), encoding="utf-8")
    print(f"{args.wheel.name}\n  sha256 {wheel_sha}")
    print(f"wrote {ROWS} rows to {args.out / 'measurements.csv'} and {args.out / 'labels.csv'}")


if __name__ == "__main__":
    main()

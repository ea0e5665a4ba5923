"""A fraud model trained elsewhere: scikit-learn, converted with skl2onnx, for the interop tests.

    python sklearn_fraud_model.py --inputs amount,hour_of_day,... --out-dir DIR [--rows 2000] [--seed 7]

Makes a deterministic data set with one column per input (float32, in the order given: the declared
order of the project's model), trains a StandardScaler + LogisticRegression pipeline on it, converts
the pipeline with skl2onnx (zipmap off, one input `features` FloatTensorType([None, F])) and writes

    DIR/model.onnx     the converted model: outputs `label` int64 [N] and `probabilities` float [N, 2]
    DIR/expected.json  {"inputs": [...], "rows": [[...], ...], "probabilities": [...], "versions": {...}}
                       with scikit-learn's own predict_proba(rows)[:, 1] for some of the rows

and prints the path of expected.json on stdout. The fraud inputs get plausible values (counts are
whole numbers, rates are shares); any other input name gets a standard normal column.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import sklearn
import skl2onnx
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def column(name, rng, n):
    """One input's values: shaped like the fraud project's feature of that name."""
    if name == "amount":
        return rng.lognormal(mean=3.5, sigma=1.0, size=n)
    if name == "hour_of_day":
        return rng.integers(0, 24, size=n).astype(np.float64)
    if name == "distance_from_home_km":
        return rng.exponential(scale=15.0, size=n)
    if name.startswith("txn_count_"):
        return rng.poisson(lam=2.0 if name.endswith("1h") else 8.0, size=n).astype(np.float64)
    if name == "amount_avg_7d":
        return rng.lognormal(mean=3.3, sigma=0.6, size=n)
    if name.endswith("_rate_30d"):
        return rng.beta(1.0, 40.0, size=n)
    return rng.standard_normal(size=n)


def dataset(inputs, rows, seed):
    """Features (float32, one column per input in order) and a label drawn from a known logistic rule."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([column(name, rng, rows) for name in inputs]).astype(np.float32)
    standardised = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9)
    weights = np.linspace(1.0, -0.5, num=len(inputs))
    logits = standardised @ weights - 1.5
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logits))).astype(np.int64)
    return x, y


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", required=True, help="the model's inputs in declared order, comma-separated")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--check-rows", type=int, default=25, help="rows whose sklearn probabilities are written")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    inputs = [name.strip() for name in args.inputs.split(",") if name.strip()]
    x, y = dataset(inputs, args.rows, args.seed)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    clf.fit(x, y)

    onx = to_onnx(
        clf,
        initial_types=[("features", FloatTensorType([None, len(inputs)]))],
        options={id(clf): {"zipmap": False}},
        target_opset=17,
    )
    os.makedirs(args.out_dir, exist_ok=True)
    model_path = os.path.join(args.out_dir, "model.onnx")
    with open(model_path, "wb") as f:
        f.write(onx.SerializeToString())

    check = x[: args.check_rows]
    expected = {
        "inputs": inputs,
        "model": model_path,
        "outputs": [o.name for o in onx.graph.output],
        "rows": [[float(v) for v in row] for row in check],
        "probabilities": [float(p) for p in clf.predict_proba(check)[:, 1]],
        "positive_rate": float(y.mean()),
        "versions": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnx": onnx.__version__,
        },
    }
    expected_path = os.path.join(args.out_dir, "expected.json")
    with open(expected_path, "w") as f:
        json.dump(expected, f, indent=2)
    print(expected_path)


if __name__ == "__main__":
    main()

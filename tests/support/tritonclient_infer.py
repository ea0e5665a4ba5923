"""NVIDIA's Open Inference Protocol client against a Rheo gateway, as a user runs it, for the interop tests.

    python tritonclient_infer.py --url 127.0.0.1:PORT --model NAME --version V --api-key KEY --rows ROWS.json

ROWS.json is {"rows": [[...], ...], "entity_ids": [...]}. With tritonclient.http.InferenceServerClient
and nothing but its public API, this asks whether the server is live and ready and the model and the
version ready (without a key, as a Kubernetes probe would), reads the version's metadata, builds the
one input tensor from it ([n, features] under the name and datatype the metadata gives), and infers
the rows three ways:

    binary        the client's defaults: binary tensor data in, no outputs named (so every output
                  comes back binary), entity ids as a binary BYTES input; routed (no version named)
    binary_named  binary in, the output named with InferRequestedOutput (binary_data=True)
    json          binary_data=False on every InferInput and InferRequestedOutput; the version pinned

and prints {"live", "ready", "model_ready", "version_ready", "metadata", "modes": {mode: {"binary",
"versions", "probabilities"}}} as JSON on stdout, where "binary" says whether the answer's output came
as binary data and "probabilities" is each row's output row as floats.
"""

import argparse
import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException, triton_to_np_dtype


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--rows", required=True)
    args = parser.parse_args()
    with open(args.rows) as f:
        given = json.load(f)
    headers = {"x-api-key": args.api_key}

    client = httpclient.InferenceServerClient(url=args.url)
    out = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready(args.model),
        "version_ready": client.is_model_ready(args.model, model_version=args.version),
    }
    metadata = client.get_model_metadata(args.model, model_version=args.version, headers=headers)
    out["metadata"] = metadata
    tensor = metadata["inputs"][0]
    output = metadata["outputs"][0]["name"]
    rows = np.array(given["rows"], dtype=triton_to_np_dtype(tensor["datatype"]))
    ids = np.array([s.encode() for s in given["entity_ids"]], dtype=np.object_)

    def infer(binary, named, version, with_ids):
        features = httpclient.InferInput(tensor["name"], list(rows.shape), tensor["datatype"])
        features.set_data_from_numpy(rows, binary_data=binary)
        inputs = [features]
        if with_ids:
            entity = httpclient.InferInput("entity_id", [len(ids)], "BYTES")
            entity.set_data_from_numpy(ids, binary_data=binary)
            inputs.append(entity)
        outputs = [httpclient.InferRequestedOutput(output, binary_data=binary)] if named else None
        # A copy each call: tritonclient writes Inference-Header-Content-Length into the dict it is given.
        result = client.infer(args.model, inputs, model_version=version, outputs=outputs, headers=dict(headers))
        answer = result.get_response()
        [described] = [o for o in answer["outputs"] if o["name"] == output]
        return {
            "binary": "binary_data_size" in (described.get("parameters") or {}),
            "versions": answer["parameters"]["versions"],
            "probabilities": result.as_numpy(output).astype(float).tolist(),
        }

    out["modes"] = {
        "binary": infer(binary=True, named=False, version="", with_ids=True),
        "binary_named": infer(binary=True, named=True, version=args.version, with_ids=False),
        "json": infer(binary=False, named=True, version=args.version, with_ids=True),
    }
    try:
        client.infer(args.model, [httpclient.InferInput("nope", [1], "FP32").set_data_from_numpy(
            np.zeros([1], dtype=np.float32))], headers=dict(headers))
        out["refused"] = None
    except InferenceServerException as error:
        out["refused"] = {"status": error.status(), "message": error.message()}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

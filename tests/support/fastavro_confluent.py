"""Confluent-framed Avro with fastavro: an encoder and decoder we did not write, for the interop tests.

    python fastavro_confluent.py encode --registry URL --subject S --values values.json --out-dir DIR
        Encodes each value of the JSON array with the subject's latest schema and writes one framed
        record per file (DIR/000.bin, ...). Prints {"schema_id": id, "files": [...]} on stdout.

    python fastavro_confluent.py decode --registry URL --records FILE
        Reads records as kcat writes them with -f '%R%s' (4-byte big-endian length, then the bytes),
        fetches each writer schema by the id in its header, and prints a JSON array of
        {"schema_id": id, "value": ...} with timestamps as epoch milliseconds and UUIDs as text.

Credentials, when the registry needs them, come from RHEO_SCHEMA_REGISTRY_USERNAME / _PASSWORD.
Only the standard library and fastavro are used: the framing and registry calls are written here from
the Confluent wire format, independently of the TypeScript codec.
"""

import argparse
import base64
import datetime
import io
import json
import os
import struct
import sys
import urllib.parse
import urllib.request
import uuid

import fastavro

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def registry_get(base, path):
    request = urllib.request.Request(base.rstrip("/") + path, headers={"Accept": "application/vnd.schemaregistry.v1+json"})
    user = os.environ.get("RHEO_SCHEMA_REGISTRY_USERNAME")
    if user:
        token = base64.b64encode(f"{user}:{os.environ.get('RHEO_SCHEMA_REGISTRY_PASSWORD', '')}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def encode(args):
    latest = registry_get(args.registry, f"/subjects/{urllib.parse.quote(args.subject, safe='')}/versions/latest")
    schema_id = latest["id"]
    schema = fastavro.parse_schema(json.loads(latest["schema"]))
    with open(args.values, encoding="utf-8") as handle:
        values = json.load(handle)
    os.makedirs(args.out_dir, exist_ok=True)
    files = []
    for index, value in enumerate(values):
        body = io.BytesIO()
        fastavro.schemaless_writer(body, schema, value)
        path = os.path.join(args.out_dir, f"{index:03d}.bin")
        with open(path, "wb") as out:
            out.write(b"\x00" + struct.pack(">i", schema_id) + body.getvalue())
        files.append(path)
    json.dump({"schema_id": schema_id, "files": files}, sys.stdout)


def plain(value):
    if isinstance(value, datetime.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
        return (aware - EPOCH) // datetime.timedelta(milliseconds=1)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value


def decode(args):
    with open(args.records, "rb") as handle:
        data = handle.read()
    schemas = {}
    out = []
    position = 0
    while position < len(data):
        (length,) = struct.unpack(">i", data[position : position + 4])
        position += 4
        record = data[position : position + length]
        position += length
        if len(record) < 5 or record[0] != 0:
            raise SystemExit(f"record at byte {position - length} is not Confluent-framed")
        (schema_id,) = struct.unpack(">i", record[1:5])
        if schema_id not in schemas:
            stored = registry_get(args.registry, f"/schemas/ids/{schema_id}")
            schemas[schema_id] = fastavro.parse_schema(json.loads(stored["schema"]))
        body = io.BytesIO(record[5:])
        value = fastavro.schemaless_reader(body, schemas[schema_id], None)
        if body.tell() != len(record) - 5:
            raise SystemExit(f"record with schema {schema_id} has {len(record) - 5 - body.tell()} trailing bytes")
        out.append({"schema_id": schema_id, "value": plain(value)})
    json.dump(out, sys.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    enc = commands.add_parser("encode")
    enc.add_argument("--registry", required=True)
    enc.add_argument("--subject", required=True)
    enc.add_argument("--values", required=True)
    enc.add_argument("--out-dir", required=True)
    enc.set_defaults(run=encode)
    dec = commands.add_parser("decode")
    dec.add_argument("--registry", required=True)
    dec.add_argument("--records", required=True)
    dec.set_defaults(run=decode)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()

#!/bin/sh
# Installs the tools we did not write that the interop tests (tests/integration/interop.test.ts) use:
# kcat (Debian; moves raw bytes in and out of Kafka), fastavro (PyPI; an independent Avro
# implementation), scikit-learn with skl2onnx and onnx (PyPI; train a model elsewhere and convert
# it to ONNX) and tritonclient[http] (PyPI; NVIDIA's Open Inference Protocol client, with the
# geventhttpclient and python-rapidjson its http extra brings). The Python packages go into one venv
# under .cache/, at the pinned versions below.
# Idempotent and quiet when everything is there at those versions (checked without importing them);
# never prompts. Prints nothing on stdout.
set -eu
# No pathname expansion: the package list is split into words unquoted, and `[http]` is a glob.
set -f

root=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
venv="${RHEO_INTEROP_VENV:-$root/.cache/interop-venv}"
# Pinned (all need Python >= 3.11, as fastavro 1.13 already did; installed as wheels, tried with
# CPython 3.11 on x86_64 Linux). numpy is pinned too, as the one scikit-learn, skl2onnx and onnx
# share; their other dependencies (scipy, protobuf, geventhttpclient, ...) follow from these.
packages='fastavro==1.13.1 numpy==2.4.6 scikit-learn==1.9.1 skl2onnx==1.20.0 onnx==1.23.2 tritonclient[http]==2.73.0'

say() { printf 'interop-tools: %s\n' "$*" >&2; }

# kcat first; when it cannot be installed the Python tools are still installed, and the script fails at the end.
kcat_missing=
if ! command -v kcat >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    sudo=
  elif command -v sudo >/dev/null 2>&1; then
    sudo='sudo -n'
  else
    sudo=none
  fi
  if [ "$sudo" = none ]; then
    kcat_missing='kcat is missing and we are not root: apt-get install kcat'
  else
    say 'installing kcat (Debian)'
    {
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kcat ||
        { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kcat; }
    } >&2 || kcat_missing='kcat could not be installed with apt-get'
  fi
fi

# Exit 0 when every pinned package is installed in the venv at its version (reads the metadata only).
pinned() {
  # shellcheck disable=SC2086 # $packages is a list of words
  "$venv/bin/python" -c '
import sys
from importlib.metadata import PackageNotFoundError, version
def have(spec):
    name, wanted = spec.split("==")
    name = name.split("[")[0]
    try:
        return version(name) == wanted
    except PackageNotFoundError:
        return False
sys.exit(0 if all(have(spec) for spec in sys.argv[1:]) else 1)
' $packages >/dev/null 2>&1
}

if ! pinned; then
  python=$(command -v python3 || true)
  if [ -z "$python" ]; then
    say 'python3 is missing: apt-get install python3 python3-venv'
    exit 1
  fi
  if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    say "$("$python" --version 2>&1) is older than the Python 3.11 these packages need"
    exit 1
  fi
  if ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
    rm -rf "$venv"
    "$python" -m venv "$venv" >&2
  fi
  say "installing $packages into $venv"
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $packages >&2
  if ! pinned; then
    say "the venv at $venv does not hold $packages after installing them"
    exit 1
  fi
fi

if [ -n "$kcat_missing" ]; then
  say "$kcat_missing"
  exit 1
fi

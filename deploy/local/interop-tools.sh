#!/bin/sh
# Installs the clients we did not write that the interop tests (tests/integration/interop.test.ts)
# use to read and write our topics: kcat (Debian; moves raw bytes in and out of Kafka) and fastavro
# (PyPI; an independent Avro implementation, in a venv under .cache/). Idempotent and quiet when
# everything is there; never prompts. Prints nothing on stdout.
set -eu

root=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
venv="${RHEO_INTEROP_VENV:-$root/.cache/interop-venv}"
fastavro_version=1.13.1

say() { printf 'interop-tools: %s\n' "$*" >&2; }

if ! command -v kcat >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    sudo=
  elif command -v sudo >/dev/null 2>&1; then
    sudo='sudo -n'
  else
    say 'kcat is missing and we are not root: apt-get install kcat'
    exit 1
  fi
  say 'installing kcat (Debian)'
  {
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kcat ||
      { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kcat; }
  } >&2
fi

if ! "$venv/bin/python" -c "import fastavro, sys; sys.exit(0 if fastavro.__version__ == '$fastavro_version' else 1)" >/dev/null 2>&1; then
  python=$(command -v python3 || true)
  if [ -z "$python" ]; then
    say 'python3 is missing: apt-get install python3 python3-venv'
    exit 1
  fi
  say "installing fastavro $fastavro_version into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "fastavro==$fastavro_version" >&2
fi

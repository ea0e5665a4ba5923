#!/bin/sh
# Prepares a fresh machine for the local stack: node_modules and the Debian packages the stack runs.
# Idempotent and silent when there is nothing to do; never prompts. Kafka and Apicurio jars are not
# fetched here: `rheo stack up` downloads them into .cache/ on first use.
set -eu

root=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
cd "$root"

say() { printf 'bootstrap: %s\n' "$*" >&2; }

# --- node_modules ------------------------------------------------------------------------------
# Only in a checkout: an installed Rheo ships this script under node_modules/rheo/dist/, where there
# is no package.json and its node_modules are the user's to manage.
need_npm=
if [ ! -f package.json ]; then
  :
elif [ ! -d node_modules ] || [ ! -x node_modules/node/bin/node ]; then
  need_npm=1
elif [ -f package-lock.json ] && [ package-lock.json -nt node_modules/.package-lock.json ]; then
  need_npm=1
fi
if [ -n "$need_npm" ]; then
  # onnxruntime-node would otherwise download CUDA providers at install on linux/x64; we serve on CPU.
  # Its install script reads the variable (an .npmrc key for it makes npm warn "Unknown project config").
  export ONNXRUNTIME_NODE_INSTALL=skip
  # `npm install`, not `npm ci`: npm 11 leaves other platforms' optional packages (biome's
  # @biomejs/cli-*) out of the lock, and `npm ci` then refuses the lock. `npm install` still
  # installs the locked versions.
  say 'installing node_modules (npm install)'
  npm install --no-audit --no-fund --loglevel=error >&2
fi

# --- Debian packages ---------------------------------------------------------------------------
missing=
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
if ! command -v clickhouse-server >/dev/null 2>&1 && ! command -v clickhouse >/dev/null 2>&1; then
  missing="$missing clickhouse-server"
fi
command -v kcat >/dev/null 2>&1 || missing="$missing kcat"
command -v unzip >/dev/null 2>&1 || missing="$missing unzip"
command -v tar >/dev/null 2>&1 || missing="$missing tar"
command -v java >/dev/null 2>&1 || missing="$missing openjdk-17-jdk-headless"
command -v mvn >/dev/null 2>&1 || missing="$missing maven"
# promtool (Debian's prometheus package) checks and unit-tests the alert rules in deploy/prometheus/rules;
# the package's own service is kept from starting like the others (policy-rc.d below).
command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"

if [ -n "$missing" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    sudo=
  elif command -v sudo >/dev/null 2>&1; then
    sudo='sudo -n'
  else
    say "missing packages:$missing; install them as root (apt-get install$missing)"
    exit 1
  fi
  say "installing Debian packages:$missing"
  # Keep the packages' own services from starting: the stack runs its own processes on its own ports
  # and data dirs. policy-rc.d exit 101 = "action forbidden" for invoke-rc.d; removed afterwards if we made it.
  policy=/usr/sbin/policy-rc.d
  made_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p .cache
  log=.cache/bootstrap-apt.log
  status=0
  {
    $sudo apt-get update -qq &&
      # shellcheck disable=SC2086
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing
  } >"$log" 2>&1 || status=$?
  if [ -n "$made_policy" ]; then $sudo rm -f "$policy"; fi
  if [ "$status" -ne 0 ]; then
    tail -n 20 "$log" >&2
    say "apt-get failed (exit $status); full output in $log"
    exit "$status"
  fi
fi

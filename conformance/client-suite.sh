#!/usr/bin/env bash
# Runs Kaltura's own Node client test suite (test/media.js, shipped inside the pinned
# `kaltura-client` npm package) unchanged against the simulator: a fresh partner, the package
# copied to a temporary directory with a config.json naming the simulator, mocha as the package
# itself runs it. Any failing test fails this script.
#   conformance/client-suite.sh target/debug/kaltura-sim
set -euo pipefail
sim_bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
secret=client-suite-admin-secret
partner=2323

work=$(mktemp -d)
sim_out="$work/sim.out"
"$sim_bin" --port 0 --partner-id "$partner" --admin-secret "$secret" --entries 0 --seed 11 >"$sim_out" &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  [ -s "$sim_out" ] && break
  sleep 0.1
done
url=$(head -1 "$sim_out" | awk '{print $1}')
[ -n "$url" ] || { echo "the simulator did not start" >&2; exit 1; }

cp -r "$here/node_modules/kaltura-client" "$work/kaltura-client"
printf '{"secret": "%s", "partnerId": %s, "serviceUrl": "%s"}\n' "$secret" "$partner" "$url" \
  >"$work/kaltura-client/config.json"
echo "Kaltura's kaltura-client $(node -p "require('$here/node_modules/kaltura-client/package.json').version") test suite against $url"
cd "$work/kaltura-client"
NODE_PATH="$here/node_modules" "$here/node_modules/.bin/mocha" --timeout 60000 test/media.js

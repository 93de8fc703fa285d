#!/usr/bin/env bash
# Installs moto's S3 server and aiosmtpd (pinned) in target/moto-venv, starts it on a free port of 127.0.0.1,
# waits until it answers, and prints `export MOTO_ENDPOINT=… MOTO_PID=…` for the caller to eval.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/moto-venv
# (Re)installs when the pinned requirements changed since the venv was made.
if ! cmp -s tools/moto-requirements.txt "$venv/requirements.installed"; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tools/moto-requirements.txt >&2
  cp tools/moto-requirements.txt "$venv/requirements.installed"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" > target/moto.log 2>&1 &
pid=$!
for _ in $(seq 1 150); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
    echo "export MOTO_ENDPOINT=http://127.0.0.1:$port MOTO_PID=$pid"
    exit 0
  fi
  sleep 0.2
done
echo "moto did not start; see target/moto.log" >&2
kill "$pid" 2>/dev/null || true
exit 1

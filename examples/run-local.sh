#!/usr/bin/env bash
# Runs the example parameter variation (examples/parvar) through the whole pipeline against a local cloud:
# moto plays S3/EC2 and tools/localcloud plays the instances. Needs no pwsh and no AWS account.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

dotnet build FemagAws.sln -c Release --nologo -v quiet -clp:ErrorsOnly

# Results land in a copy, so the example stays clean.
work=$(mktemp -d /tmp/femag-example.XXXXXX)   # kept: the results are there
sandbox=$(mktemp -d)
cp -r examples/parvar "$work/parvar"

# The port config.ini names, or any free one (then passed as -EndpointUrl).
port=4566
python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', $port))" 2>/dev/null || port=0

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
coproc CLOUD { exec python3 tools/localcloud/localcloud.py --sandbox "$sandbox" --port "$port" \
    --key-pair test-key-pair-eucentral-1 --instance-profile ecsInstanceRole --security-group sg-8475b5dd; }
cloud_pid=$CLOUD_PID
cleanup() {
  exec {CLOUD[1]}>&- 2>/dev/null || true   # the local cloud stops when its stdin closes
  wait "$cloud_pid" 2>/dev/null || true
  rm -rf "$sandbox"
}
trap cleanup EXIT

read -r ready <&"${CLOUD[0]}"
endpoint=${ready#READY }
echo "Local cloud at $endpoint; results go to $work/parvar"

dotnet tools/FemagAws.ScriptHost/bin/Release/net10.0/FemagAws.ScriptHost.dll examples/run-example.ps1 \
    -Parvar "$work/parvar" -EndpointUrl "$endpoint"

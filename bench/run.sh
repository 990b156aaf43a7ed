#!/usr/bin/env bash
# The FemagAws benchmark in one command: builds Release, starts the local cloud, runs bench/run.py
# (options are passed on: --rounds N, --only W1,W2,W3, --quick) and removes everything it started
# or wrote, also after a failure or Ctrl+C. Only the workload cache in /tmp/femag-bench-cache stays.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

# W6 needs instances that boot a while before their user data runs, as on EC2; run.py says how long for these options
# (and rejects bad ones before the build).
boot_delay=$(python3 bench/run.py --print-boot-delay "$@")
# Spot instances are priced from the local cloud's Spot price history (run.py's SPOT_PRICE).
cloud_options=(--spot-price "t2.small=$(python3 -c 'import sys; sys.path.insert(0, "bench"); import run; print(run.SPOT_PRICE)')")
(( boot_delay > 0 )) && cloud_options+=(--boot-delay "$boot_delay")

dotnet build FemagAws.sln -c Release --nologo -v quiet -clp:ErrorsOnly

tmp=$(mktemp -d /tmp/femag-bench.XXXXXX)
cloud_pid= bench_pid=
cleanup() {
  trap - EXIT INT TERM
  if [[ -n $bench_pid ]]; then
    kill -TERM "$bench_pid" 2>/dev/null || true   # run.py stops its own child process first
    wait "$bench_pid" 2>/dev/null || true
  fi
  if [[ -n $cloud_pid ]]; then
    exec {CLOUD[1]}>&- 2>/dev/null || true         # the local cloud stops when its stdin closes
    wait "$cloud_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# FemagAws runs in real pwsh: PowerShell from the repository's tool manifest (.config/dotnet-tools.json).
# `dotnet pwsh` works only inside the repository and adds the dotnet CLI's own start, so the runs start the
# pwsh apphost next to the engine ($PSHOME) directly.
dotnet tool restore >/dev/null
pwsh=$(dotnet pwsh -NoProfile -NonInteractive -Command 'Join-Path $PSHOME pwsh')
[[ -x $pwsh ]] || { echo "run.sh: no pwsh executable at '$pwsh'" >&2; exit 1; }

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
coproc CLOUD { exec python3 tools/localcloud/localcloud.py --sandbox "$tmp/sandbox" --port 0 \
    --key-pair test-key-pair-eucentral-1 --instance-profile ecsInstanceRole --security-group sg-8475b5dd "${cloud_options[@]}"; }
cloud_pid=$CLOUD_PID
read -r ready <&"${CLOUD[0]}" || { echo "run.sh: the local cloud did not start" >&2; exit 1; }
endpoint=${ready#READY }

# In the background, so that a signal reaches the traps at once instead of after run.py ends.
python3 bench/run.py --endpoint "$endpoint" --pwsh "$pwsh" --work "$tmp/work" --sandbox "$tmp/sandbox" "$@" &
bench_pid=$!
status=0
wait "$bench_pid" || status=$?
bench_pid=
exit "$status"

#!/bin/bash
# FemagAws pool worker: the user data of a pool instance, after the client's env header (QUEUE_URL,
# AWS_DEFAULT_REGION, POOL_ID, SLOTS, IDLE_SECONDS, VISIBILITY_SECONDS, HEARTBEAT_SECONDS, EXPECTED_BUCKET_OWNER).
# Takes jobs from the pool's SQS queue, SLOTS at once. Message: v1 <bucket> <index> <max_runtime_min|->
# <finish_file> <base64 script>. Writes femag-aws/taken, femag-aws/job.log and femag-aws/ended into the
# job's bucket; the client reads them. Shuts the instance down once the queue stayed empty.
# No set -e: one job's failure must never end the worker (the instance would bill on, idle).
set -u
SLOTS=${SLOTS:-1} IDLE_SECONDS=${IDLE_SECONDS:-60}
VISIBILITY_SECONDS=${VISIBILITY_SECONDS:-30} HEARTBEAT_SECONDS=${HEARTBEAT_SECONDS:-10}
export AWS_DEFAULT_REGION
base=${HOME:-/root}/femag-jobs
state=$base/.worker
halt_now=$(command -v shutdown || echo /sbin/shutdown)  # the real one: jobs get shims first on PATH

log() { echo "$(date -u +%FT%TZ) femag-worker: $*"; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
sqs() { aws sqs "$@" --queue-url "$QUEUE_URL"; }
# Every S3 request names the account that owns the job buckets: S3 refuses (403) a bucket of another account.
s3api() { aws s3api "$@" ${EXPECTED_BUCKET_OWNER:+--expected-bucket-owner "$EXPECTED_BUCKET_OWNER"}; }
# Objects the client reads: retried, as a lost marker would leave the job looking lost.
put() {
  local i
  for i in 1 2 3; do s3api put-object --bucket "$bucket" --key "$2" --body "$1" >/dev/null && return 0; sleep 2; done
  log "$bucket: cannot write $2"; return 1
}
has() { s3api head-object --bucket "$bucket" --key "$1" >/dev/null 2>&1; }
# max_runtime minutes (fractional, as in the config) -> whole seconds, rounded up; 0 = no limit.
seconds() {
  [[ $1 =~ ^([0-9]*)(\.([0-9]*))?$ ]] || { echo 0; return; }
  local i=${BASH_REMATCH[1]:-0} f=${BASH_REMATCH[3]}000000
  echo $(( 10#$i * 60 + (10#${f:0:6} * 60 + 999999) / 1000000 ))
}

# Keeps the message hidden from other workers from its receipt until it is deleted. When that fails twice (SQS
# keeps a message hidden at most 12 h from its receipt), the message comes back and a second worker would run the
# job beside this one: the job ends here instead (why=heartbeat).
heartbeat() {
  while sleep "$HEARTBEAT_SECONDS"; do
    sqs change-message-visibility --receipt-handle "$1" --visibility-timeout "$VISIBILITY_SECONDS" && continue
    sleep 1
    sqs change-message-visibility --receipt-handle "$1" --visibility-timeout "$VISIBILITY_SECONDS" && continue
    log "$bucket: heartbeat failed, ending the job"; stop_job heartbeat; return
  done
}

# Ends the running job: its script and all it started share one process group.
stop_job() {
  [ -e "$jd/why" ] || echo "$1" > "$jd/why"
  kill -KILL -- "-$(cat "$jd/pid" 2>/dev/null)" 2>/dev/null
}

run() {
  local n=$1 rh=$2 attempt=$3 index=$5 maxrt=$6 finish=$7 b64=$8
  bucket=$4 jd=$base/$4-$3
  local w hb limit t0 beat up rc status why found
  w=$(s3api list-objects-v2 --bucket "$bucket" --prefix femag-aws/withdrawn --query 'Contents[0].Key' --output text 2>&1)
  case $w in
    *NoSuchBucket*) log "slot $n: $bucket: bucket gone, message deleted"; sqs delete-message --receipt-handle "$rh"; return ;;
    femag-aws/withdrawn) log "slot $n: $bucket: withdrawn, message deleted"; sqs delete-message --receipt-handle "$rh"; return ;;
    None) ;;
    *) log "slot $n: $bucket: cannot read the bucket, the job goes back to the queue: $w"; return ;;
  esac
  # A worker that wrote ended but died before deleting the message: the job is over, its bucket stays as it is.
  if has femag-aws/ended; then
    log "slot $n: $bucket: already ended, message deleted"; sqs delete-message --receipt-handle "$rh"; return
  fi
  heartbeat "$rh" & hb=$!
  if [ "$attempt" -gt 1 ]; then
    # A lost attempt may have left partial results: start from the archive, as a single job's rerun does.
    log "slot $n: $bucket: attempt $attempt, clearing the bucket back to $index.tar.gz"
    s3api list-objects-v2 --bucket "$bucket" --query 'Contents[].[Key]' --output text | while IFS= read -r k; do
      case $k in "$index.tar.gz"|femag-aws/withdrawn|None) ;; *) s3api delete-object --bucket "$bucket" --key "$k" >/dev/null ;; esac
    done
  fi
  rm -rf "$jd"; mkdir -p "$jd/home" "$jd/bin"
  printf 'instance=%s\nattempt=%s\nslot=%s\ntime=%s\n' "$INSTANCE_ID" "$attempt" "$n" "$(now)" > "$jd/taken"
  put "$jd/taken" femag-aws/taken
  printf '%s' "$b64" | base64 -d > "$jd/job.sh" || log "slot $n: $bucket: the script is not valid base64"
  # shutdown/poweroff/halt in a job end only that job (its process group), not the instance and its other slots.
  for c in shutdown poweroff halt; do
    printf '#!/bin/bash\n# femag-aws pool: ends this job only\necho shutdown > %q\ns=$(< /proc/$$/stat); s=${s##*) }; set -- $s\nkill -KILL -- -$3\n' \
      "$jd/why" > "$jd/bin/$c"
  done
  chmod +x "$jd/bin/"*
  # By its shebang when it has one, as cloud-init runs user data: #!/bin/bash -e keeps its -e.
  local cmd=(bash "$jd/job.sh")
  [ "$(head -c 2 "$jd/job.sh")" = '#!' ] && chmod +x "$jd/job.sh" && cmd=("$jd/job.sh")
  (
    cd "$jd/home" || exit
    # setsid: a process group of its own (a non-leader execs in place, so $! is its pid and group id).
    HOME=$jd/home PATH=$jd/bin:$PATH setsid "${cmd[@]}" < /dev/null > "$jd/job.log" 2>&1 &
    echo $! > "$jd/pid"; { wait $!; } 2> /dev/null  # no "Killed" notice on the console
    echo $? > "$jd/rc.tmp"; mv "$jd/rc.tmp" "$jd/rc"
  ) &
  log "slot $n: $bucket: attempt $attempt started"
  limit=0; [ "$maxrt" = - ] || limit=$(seconds "$maxrt")
  t0=$SECONDS beat=$SECONDS up=$SECONDS
  while [ ! -e "$jd/rc" ]; do
    sleep 1
    if [ "$limit" -gt 0 ] && [ $((SECONDS - t0)) -ge "$limit" ]; then stop_job max_runtime; continue; fi
    [ $((SECONDS - beat)) -ge "$HEARTBEAT_SECONDS" ] || continue
    beat=$SECONDS
    has femag-aws/withdrawn && stop_job withdrawn
    [ $((SECONDS - up)) -ge 30 ] && up=$SECONDS && put "$jd/job.log" femag-aws/job.log
  done
  rc=$(cat "$jd/rc"); stop_job exit  # also ends what the script left running (a watchdog, background jobs)
  why=$(cat "$jd/why"); status=$rc
  [ "$rc" -gt 128 ] && [ "$rc" -le 192 ] && status=$(kill -l $((rc - 128)) 2>/dev/null || echo "$rc")
  put "$jd/job.log" femag-aws/job.log
  found=no; [ -n "$finish" ] && has "$finish" && found=yes
  { printf 'status=%s\nfinish=%s\nwhy=%s\ntime=%s\n--- last lines\n' "$status" "$found" "$why" "$(now)"
    tail -n 20 "$jd/job.log"; } > "$jd/ended"
  kill "$hb"
  # Without ended the client would see a lost job: the message comes back after its visibility timeout instead.
  if put "$jd/ended" femag-aws/ended; then
    sqs delete-message --receipt-handle "$rh" || log "slot $n: $bucket: cannot delete the message"
  else
    log "slot $n: $bucket: ended not written, the job goes back to the queue"
  fi
  rm -rf "$jd"
  log "slot $n: $bucket: ended status=$status finish=$found why=$why"
}

# One receive; a job found runs to its end. Called in a subshell: whatever goes wrong ends only this turn.
take() {
  local n=$1 out rh attempt body v b i m f s
  out=$(sqs receive-message --max-number-of-messages 1 --wait-time-seconds 10 \
    --visibility-timeout "$VISIBILITY_SECONDS" --attribute-names ApproximateReceiveCount \
    --query 'Messages[0].[ReceiptHandle,Attributes.ApproximateReceiveCount,Body]' --output text) || { sleep 5; return; }
  { [ -z "$out" ] || [ "$out" = None ]; } && return
  touch "$state/busy-$n" "$state/active"
  IFS=$'\t' read -r rh attempt body <<< "$out"
  read -r v b i m f s <<< "$body"
  if [ "$v" != v1 ] || [ -z "$s" ]; then
    log "slot $n: not a v1 job message, left for the dead-letter queue: ${body:0:60}"; return
  fi
  run "$n" "$rh" "$attempt" "$b" "$i" "$m" "$f" "$s"
  touch "$state/active"
}

# Without a queue every turn would fail at once: stop billing instead.
[ -n "${QUEUE_URL:-}" ] || { log "no QUEUE_URL in the user data: shutting down"; "$halt_now" -h now; exit 1; }
command -v aws > /dev/null || yum install -y aws-cli || log "cannot install aws-cli"
if [ -z "${INSTANCE_ID:-}" ]; then  # IMDSv2: a session token first
  for _ in 1 2 3 4 5; do
    t=$(curl -sf -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token) &&
      INSTANCE_ID=$(curl -sf -m 5 -H "X-aws-ec2-metadata-token: $t" http://169.254.169.254/latest/meta-data/instance-id) && break
    sleep 2
  done
fi
INSTANCE_ID=${INSTANCE_ID:-unknown}
mkdir -p "$state"; rm -f "$state"/busy-*; touch "$state/active"
log "instance $INSTANCE_ID, pool ${POOL_ID:-?}: $SLOTS slot(s) on $QUEUE_URL"
for n in $(seq 1 "$SLOTS"); do
  ( while :; do (take "$n"); rm -f "$state/busy-$n"; done ) &
done
# Idle: no slot busy and no message for IDLE_SECONDS. A message received just as this fires is not lost:
# it comes back to the queue after its visibility timeout.
while sleep 2; do
  set -- "$state"/busy-*; [ -e "$1" ] && continue
  idle=$(( $(date +%s) - $(stat -c %Y "$state/active") ))
  if [ "$idle" -ge "$IDLE_SECONDS" ]; then
    log "queue empty for ${idle} s, all slots idle: shutting down"
    "$halt_now" -h now; sleep 60
  fi
done

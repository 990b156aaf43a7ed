"""Runs one command and writes its wall time, CPU time and peak RSS as JSON; bench/run.py's launcher.

  python3 -I -S bench/measure.py RESULT.json -- COMMAND [ARG]...

A separate small process on purpose: when a process execs, Linux starts its peak RSS (ru_maxrss) at
the high-water mark of the memory it replaces, which for a forked child is its parent's. Spawned by
run.py (boto3, buffers of hundreds of MB), every command would report at least run.py's size; spawned
from here (about 8 MiB, stdlib only, no site) it reports its own.
"""
import json
import os
import signal
import sys
import time

KILL_AFTER = 5  # seconds from a forwarded SIGTERM to SIGKILL


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    result, command = sys.argv[1], sys.argv[3:]
    pid = None

    def forward(signum, _frame):
        # Stopping the launcher stops the command, for sure within KILL_AFTER seconds.
        if pid is None:
            raise SystemExit(128 + signum)
        os.kill(pid, signum)
        signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
        signal.alarm(KILL_AFTER)

    signal.signal(signal.SIGTERM, forward)
    start = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    with open(result, "w") as f:
        json.dump({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss,
                   "exit": os.waitstatus_to_exitcode(status)}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())

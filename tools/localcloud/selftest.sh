#!/bin/bash
# Manual check of tools/localcloud: starts localcloud.py, launches instances running the seed
# cloud-init unchanged and checks what arrives in S3. Needs root (mount namespaces).
# Usage: bash tools/localcloud/selftest.sh [--quick]   (--quick skips the 60 s scheduled-shutdown check)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec python3 - "$here" "$@" <<'PY'
import base64, hashlib, io, os, shutil, subprocess, sys, tarfile, tempfile, time
import boto3

HERE = sys.argv[1]
QUICK = "--quick" in sys.argv[2:]
LC = os.path.join(HERE, "localcloud.py")
REGION = "eu-central-1"
KEY, PROFILE, SG = "femag-key", "femag-profile", "sg-0123456789abcdef0"
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_EC2_METADATA_DISABLED="true")

SEED = """#!/bin/bash

{{ENV}}

mkdir ~/.aws
echo -e '[default]\\nregion = '$SERVER_LOCATION'\\noutput = json' > ~/.aws/config

yum install -y aws-cli libquadmath

mkdir ~/data
aws s3 sync s3://$BUCKET_NAME/ ~/data
cd ~/data
tar -xzf *.tar.gz
/usr/local/bin/xfemag -b femag.fsl </dev/null
echo $? > ~/data/exit_code
aws s3 sync ~/data s3://$BUCKET_NAME
"""

failures = []
def check(cond, what):
    print(("  ok   " if cond else "  FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)

def start_localcloud(sandbox, extra_env=None):
    env = dict(os.environ, **(extra_env or {}))
    p = subprocess.Popen([sys.executable, LC, "--sandbox", sandbox, "--port", "0", "--key-pair", KEY,
                          "--instance-profile", PROFILE, "--security-group", SG],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    t0 = time.monotonic()
    line = p.stdout.readline().decode()
    print(f"  localcloud: {line.strip()!r} after {time.monotonic() - t0:.1f} s", flush=True)
    assert line.startswith("READY http://127.0.0.1:"), line
    return p, line.split()[1]

def stop_localcloud(p, sandbox):
    t0 = time.monotonic()
    p.stdin.close()
    rc = p.wait(timeout=30)
    rest = p.stdout.read()
    check(rc == 0, f"closing stdin: localcloud exited 0 in {time.monotonic() - t0:.1f} s (rc {rc})")
    check(rest == b"", f"nothing on stdout after READY ({rest[:80]!r})")
    left = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if sandbox in cmd or cwd.startswith(sandbox):
            left.append(f"{pid} {cmd}")
    check(not left, f"no processes left behind {left}")

def fsl_tgz(fsl: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        ti = tarfile.TarInfo("femag.fsl"); ti.size = len(fsl); ti.mtime = int(time.time())
        tf.addfile(ti, io.BytesIO(fsl))
    return buf.getvalue()

class Cloud:
    def __init__(self, url):
        self.url = url
        self.s3 = boto3.client("s3", region_name=REGION, endpoint_url=url)
        self.ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=url)
        self.ami = self.ec2.describe_images()["Images"][0]["ImageId"]
        self.n = 0

    def launch(self, user_data: str, behavior="terminate"):
        kw = dict(ImageId=self.ami, MinCount=1, MaxCount=1, InstanceType="c5.large", UserData=user_data,
                  KeyName=KEY, SecurityGroupIds=[SG], IamInstanceProfile={"Name": PROFILE})
        if behavior:
            kw["InstanceInitiatedShutdownBehavior"] = behavior
        return self.ec2.run_instances(**kw)["Instances"][0]["InstanceId"]

    def job(self, fsl: bytes, behavior="terminate"):
        self.n += 1
        bucket = f"femag-selftest-{self.n}"
        self.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        self.s3.put_object(Bucket=bucket, Key="0.tar.gz", Body=fsl_tgz(fsl))
        ud = SEED.replace("{{ENV}}", f"export SERVER_LOCATION='{REGION}'\nexport BUCKET_NAME='{bucket}'")
        return bucket, self.launch(ud, behavior), time.monotonic()

    def keys(self, bucket):
        return {o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])}

    def get(self, bucket, key):
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def state(self, iid):
        return self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]

    def wait(self, cond, timeout=60, step=0.1):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return True
            time.sleep(step)
        return False

def console(sandbox, iid):
    try:
        return open(os.path.join(sandbox, iid, "console.log"), errors="replace").read()
    except OSError:
        return ""

def main():
    sandbox = tempfile.mkdtemp(prefix="localcloud-selftest-")
    print(f"sandbox {sandbox}")
    p, url = start_localcloud(sandbox)
    c = Cloud(url)
    try:
        for region in ("eu-central-1", "us-east-1"):
            e = boto3.client("ec2", region_name=region, endpoint_url=url)
            check(e.describe_security_groups(GroupIds=[SG])["SecurityGroups"][0]["GroupId"] == SG,
                  f"{region}: security group {SG} exists")
            check(e.describe_key_pairs(KeyNames=[KEY])["KeyPairs"][0]["KeyName"] == KEY, f"{region}: key pair exists")
        iam = boto3.client("iam", region_name=REGION, endpoint_url=url)
        check(iam.get_instance_profile(InstanceProfileName=PROFILE)["InstanceProfile"]["Roles"][0]["RoleName"] == PROFILE,
              "instance profile with role exists")

        sched = None
        if not QUICK:
            sched = c.launch("#!/bin/bash\nshutdown -h +1\nshutdown -c\nshutdown -h +1\necho scheduled\nsleep 600\n")
            sched_t0 = time.monotonic()

        print("happy path (sleep 1, result-mb 2, fsl with non-ASCII and CRLF bytes)")
        fsl = "-- fake-femag: sleep 1\r\n-- fake-femag: result-mb 2\nm.num_poles = 4 -- Läufer µ\n".encode()
        bucket, iid, t0 = c.job(fsl)
        got = c.wait(lambda: "exit_code" in c.keys(bucket) and "femag.log" in c.keys(bucket), 60)
        t_done = time.monotonic() - t0
        check(got, f"exit_code and femag.log in bucket after {t_done:.1f} s (run_instances -> results in S3)")
        if got:
            time.sleep(1.0)  # let the sync finish the other files
            check(c.get(bucket, "exit_code") == b"0\n", f"exit_code is 0 ({c.get(bucket, 'exit_code')!r})")
            log = c.get(bucket, "femag.log").decode()
            check("fake xfemag -b femag.fsl" in log and hashlib.sha256(fsl).hexdigest() in log,
                  "femag.log has the command line and the fsl's sha256 (byte for byte)")
            keys = c.keys(bucket)
            check({"femag_001.B1CH", "result.bin", "femag.fsl", "0.tar.gz"} <= keys, f"bucket keys {sorted(keys)}")
            check(len(c.get(bucket, "result.bin")) == 2 * 1048576, "result.bin is 2 MiB")
        time.sleep(1.0)
        check(c.state(iid) == "running", "script ended without shutdown: instance keeps running")
        c.ec2.terminate_instances(InstanceIds=[iid])

        print("exit 3")
        bucket, iid, t0 = c.job(b"-- fake-femag: exit 3\n")
        check(c.wait(lambda: "exit_code" in c.keys(bucket), 60) and c.get(bucket, "exit_code") == b"3\n",
              f"exit_code 3 after {time.monotonic() - t0:.1f} s")
        c.ec2.terminate_instances(InstanceIds=[iid])

        print("halt, behavior terminate")
        bucket, iid, t0 = c.job(b"-- fake-femag: halt\n")
        check(c.wait(lambda: c.state(iid) == "terminated", 60), f"instance terminated after {time.monotonic() - t0:.1f} s")
        time.sleep(1.0)
        check(c.keys(bucket) == {"0.tar.gz"}, f"no exit_code/femag.log uploaded ({sorted(c.keys(bucket))})")
        check(os.path.exists(os.path.join(sandbox, iid, "halt")), "halt recorded")
        check(not os.path.exists(os.path.join(sandbox, iid, "home/data/exit_code")), "nothing after the halt ran")

        print("halt, default behavior (stop)")
        bucket, iid, t0 = c.job(b"-- fake-femag: halt\n", behavior=None)
        check(c.wait(lambda: c.state(iid) in ("stopping", "stopped"), 60), f"instance stopped after {time.monotonic() - t0:.1f} s")

        print("terminate while `aws s3 sync` uploads a big result (result-mb 300)")
        bucket, iid, t0 = c.job(b"-- fake-femag: result-mb 300\n")
        exit_code_local = os.path.join(sandbox, iid, "home/data/exit_code")
        check(c.wait(lambda: os.path.exists(exit_code_local), 120), f"xfemag done, upload started after {time.monotonic() - t0:.1f} s")
        time.sleep(0.5)
        pgid = None
        for line in open(os.path.join(sandbox, "runner.log")):
            if iid in line and "pgid" in line:
                pgid = int(line.split("pgid ")[1].split(",")[0])
        alive = lambda: subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True).returncode == 0
        check(pgid is not None and alive(), f"instance process group {pgid} still uploading")
        tk = time.monotonic()
        c.ec2.terminate_instances(InstanceIds=[iid])
        tr = time.monotonic(); print("  terminate returned at", time.strftime("%H:%M:%S"), f"{time.time() % 1:.3f}")
        check(c.wait(lambda: not alive(), 5, 0.02), f"process group killed {time.monotonic() - tk:.2f} s after calling "
              f"TerminateInstances ({time.monotonic() - tr:.2f} s after it returned)")
        check("exit_code" not in c.keys(bucket) or "result.bin" not in c.keys(bucket), "upload was cut off")

        print("long-running instance, to be killed when localcloud stops")
        c.launch("#!/bin/bash\nsleep 600\n")
        time.sleep(1.5)

        if sched:
            print("scheduled shutdown (shutdown -h +1, -c, +1 again)")
            ok = c.wait(lambda: c.state(sched) == "terminated", 90 - (time.monotonic() - sched_t0), 0.5)
            check(ok, f"scheduled halt terminated the instance {time.monotonic() - sched_t0:.1f} s after launch")
            check("scheduled" in console(sandbox, sched), "script went on after scheduling")
    finally:
        print("stop localcloud by closing stdin")
        stop_localcloud(p, sandbox)

    print("unshare failure (fake unshare first on localcloud's PATH)")
    sandbox2 = tempfile.mkdtemp(prefix="localcloud-selftest-nounshare-")
    fake = os.path.join(sandbox2, "fakebin"); os.makedirs(fake)
    with open(os.path.join(fake, "unshare"), "w") as f:
        f.write("#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n")
    os.chmod(os.path.join(fake, "unshare"), 0o755)
    p, url = start_localcloud(os.path.join(sandbox2, "sb"), {"PATH": fake + ":" + os.environ["PATH"]})
    c = Cloud(url)
    try:
        bucket, iid, t0 = c.job(b"-- fake-femag: exit 0\n")
        check(c.wait(lambda: c.state(iid) == "terminated", 30), f"instance terminated after {time.monotonic() - t0:.1f} s")
        text = console(os.path.join(sandbox2, "sb"), iid)
        check("Operation not permitted" in text and "could not boot" in text, "console.log says why: " + text.strip().replace("\n", " | "))
    finally:
        stop_localcloud(p, sandbox2)

    print()
    if failures:
        print(f"SELFTEST FAILED ({len(failures)}): " + "; ".join(failures))
        print(f"(sandboxes kept: {sandbox} {sandbox2})")
        return 1
    print("SELFTEST PASSED")
    if os.environ.get("KEEP"):
        print(f"(sandboxes kept: {sandbox} {sandbox2})")
        return 0
    shutil.rmtree(sandbox, ignore_errors=True)
    shutil.rmtree(sandbox2, ignore_errors=True)
    return 0

sys.exit(main())
PY

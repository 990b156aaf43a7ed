#!/usr/bin/env python3
"""localcloud: a local AWS account (moto) whose EC2 instances really run their user data.

Usage:
  python3 tools/localcloud/localcloud.py --sandbox DIR [--port 0] [--region R]...
      [--key-pair NAME]... [--instance-profile NAME]... [--security-group sg-xxxxxxxx]...
      [--boot-delay SECONDS]

Starts moto on 127.0.0.1, provisions the account (key pairs, instance profiles, security
groups with the given ids, in every --region), prints exactly one line
`READY http://127.0.0.1:PORT` to stdout, then plays EC2: every instance that reaches
`running` gets its user data run with bash (cwd/HOME = DIR/<instance-id>/home, output in
DIR/<instance-id>/console.log, /usr/local/bin replaced by a private bind mount holding the
fake `xfemag`), --boot-delay seconds later (default 0; EC2's boot and cloud-init take 30-90 s).
Fake `shutdown` halts the instance like EC2 does (InstanceInitiatedShutdownBehavior is applied).
The instance's `aws` reaches moto for every service, sqs included (see AWS_WRAPPER). Its processes
carry INSTANCE_ID=<id> in their environment: a stop, terminate or halt kills them all, also those
that left the user data's process group (a pool worker's jobs run under setsid), as on EC2.
S3 honours ExpectedBucketOwner as AWS does (moto ignores it; see the patch below).
Runs until stdin reaches EOF or SIGTERM/SIGINT; then kills every instance process group, stops
moto and exits 0. After READY all output goes to DIR/runner.log.

EC2 launches as on AWS (patches below): RunInstances honours ClientToken (the same token with the same
parameters returns the first launch's reservation, with other parameters IdempotentParameterMismatch);
DescribeImages describes any well-formed AMI id as an EBS image whose root volume /dev/xvda is not
deleted on termination, and an instance launched without BlockDeviceMappings gets that volume.
GetConsoleOutput returns what the instance printed (its console.log, at most the last 64 KB, also after it
ended; empty for one that never ran its user data), not moto's fixed text.
"""
from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_REGIONS = ["eu-central-1", "us-east-1"]
POLL_SECONDS = 0.3
CUSTOM_ID_TAG = "_custom_id_"

# The runner's own boto3 must never pick up real credentials or config.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_EC2_METADATA_DISABLED="true",
    AWS_CONFIG_FILE=os.devnull,
    AWS_SHARED_CREDENTIALS_FILE=os.devnull,
)
for _var in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_var, None)

import boto3  # noqa: E402
import moto.ec2.models.amis as _moto_amis  # noqa: E402
import moto.ec2.models.instances as _moto_instance_model  # noqa: E402
import moto.ec2.models.security_groups as _moto_sg  # noqa: E402
import moto.ec2.responses.general as _moto_general  # noqa: E402
import moto.ec2.responses.instances as _moto_instances  # noqa: E402
from moto.core.types import Base64EncodedString as _Base64EncodedString  # noqa: E402
from moto.core.utils import utcnow as _moto_utcnow  # noqa: E402
from moto.ec2.exceptions import EC2ClientError as _EC2ClientError  # noqa: E402
import moto.s3.responses as _moto_s3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

log = logging.getLogger("localcloud")


# --- moto patch -------------------------------------------------------------------------
# moto 5.2.1 always gives security groups a random id. A real account already has groups
# with fixed ids (the client is configured with them), so CreateSecurityGroup here honours
# a tag `_custom_id_` (tags arrive as a plain {key: value} dict from TagSpecifications).
# The group is re-keyed under that id; its tags (stored by resource id) move along and the
# helper tag itself is dropped so the group looks like a normal one.
_orig_create_sg = _moto_sg.SecurityGroupBackend.create_security_group


def _create_sg_with_custom_id(self, name, description, vpc_id=None, tags=None, **kwargs):
    group = _orig_create_sg(self, name, description, vpc_id=vpc_id, tags=tags, **kwargs)
    custom_id = (tags or {}).get(CUSTOM_ID_TAG)
    if custom_id and custom_id != group.id:
        old_id = group.id
        self.groups[group.vpc_id][custom_id] = self.groups[group.vpc_id].pop(old_id)
        group.id = group.group_id = custom_id
        group.arn = group.arn.replace(old_id, custom_id)
        for rule in group.egress_rules + group.ingress_rules:
            rule.group_id = custom_id
        moved = self.tags.pop(old_id, {})
        moved.pop(CUSTOM_ID_TAG, None)
        if moved:
            self.tags[custom_id] = moved
    return group


_moto_sg.SecurityGroupBackend.create_security_group = _create_sg_with_custom_id


# moto 5.2.1 honours ListBuckets' bucket-region filter but leaves out each bucket's BucketRegion,
# which AWS has returned since 2024. Clients read a bucket's region from it rather than asking
# GetBucketLocation per bucket, so the local cloud returns it too (moto's own method plus the field).
def _all_buckets_with_region(self):
    self.data["Action"] = "ListAllMyBuckets"
    self._authenticate_and_authorize_s3_action()
    all_buckets = self.backend.list_buckets(
        prefix=self._get_param("prefix"),
        bucket_region=self._get_param("bucket-region"),
        max_buckets=self._get_param("max-buckets"),
    )
    buckets = [
        {"Name": b.name, "CreationDate": b.creation_date_ISO8601, "BucketRegion": b.region_name}
        for b in all_buckets
    ]
    self.data["Action"] = "ListBuckets"
    return self.serialized(_moto_s3.ActionResult({
        "Owner": {"ID": "bcaf1ffd86f41161ca5fb16fd081034f", "DisplayName": "webfile"},
        "Buckets": buckets,
    }))


_moto_s3.S3Response.all_buckets = _all_buckets_with_region


# moto 5.2.1 ignores x-amz-expected-bucket-owner (ExpectedBucketOwner). S3 answers 403 AccessDenied
# to any request to a bucket that names an owner other than the bucket's account, so the local cloud
# does too. (A bucket of another account: create it with credentials of moto's STS AssumeRole into
# a role of that account.)
from moto.s3.models import s3_backends as _moto_s3_backends  # noqa: E402

_EXPECTED_OWNER_DENIED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    "<Message>Access Denied</Message></Error>"
)


def _owner_checked(handler):
    def check(self, request, full_url):
        expected = request.headers.get("x-amz-expected-bucket-owner")
        owner = _moto_s3_backends.bucket_accounts.get(self.parse_bucket_name_from_url(request, full_url))
        if expected and owner and owner[1] != expected:
            return 403, {"content-type": "application/xml"}, _EXPECTED_OWNER_DENIED
        return handler(self, request, full_url)
    return check


_moto_s3.S3Response._bucket_response = _owner_checked(_moto_s3.S3Response._bucket_response)
_moto_s3.S3Response._key_response = _owner_checked(_moto_s3.S3Response._key_response)


# moto 5.2.1 ignores RunInstances' ClientToken: a retried or concurrent launch starts a second instance.
# EC2 makes a launch idempotent by its token: the same token with the same parameters returns the
# reservation the token first launched (even once its instances have ended), and the same token with
# other parameters fails with IdempotentParameterMismatch. The local cloud does the same, per account
# and region; one lock makes the check and the launch atomic, as two simultaneous requests are on EC2.
_launches_by_token = {}
_launch_lock = threading.Lock()
_orig_run_instances = _moto_instances.InstanceResponse.run_instances


def _run_instances_once_per_token(self):
    token = self._get_param("ClientToken")
    if not token:
        return _orig_run_instances(self)
    params = sorted((k, tuple(v)) for k, v in self.querystring.items() if k not in ("ClientToken", "DryRun"))
    key = (self.current_account, self.region, token)
    with _launch_lock:
        seen = _launches_by_token.get(key)
        if seen is not None:
            if seen[0] != params:
                raise _EC2ClientError(
                    "IdempotentParameterMismatch",
                    f"Arguments on this idempotent request are inconsistent with arguments used in previous request(s) with client token {token}.",
                )
            self.error_on_dryrun()
            return _moto_instances.ActionResult(seen[1])
        result = _orig_run_instances(self)
        _launches_by_token[key] = (params, result.result)  # the Reservation, whose instances show their state now
        return result


_moto_instances.InstanceResponse.run_instances = _run_instances_once_per_token


# moto 5.2.1 launches any AMI id, but DescribeImages knows only its bundled images and answers
# InvalidAMIID.NotFound for the ids a client is configured with; and every instance gets one root
# volume that is deleted on termination, whatever the image says. On AWS an image one can launch can
# be described, and an instance gets the volumes its image maps, with the image's DeleteOnTermination
# unless RunInstances' BlockDeviceMappings says otherwise. So here an unknown well-formed id is an
# EBS-backed image of the account whose one root volume (/dev/xvda), like that of many AMIs, is not
# deleted on termination, and an instance launched without BlockDeviceMappings gets the image's.
_orig_describe_images = _moto_amis.AmiBackend.describe_images
_orig_setup_defaults = _moto_instance_model.Instance.setup_defaults


def _image_of(backend, ami_id):
    if ami_id and ami_id.startswith("ami-") and ami_id not in backend.amis and ami_id not in backend.deleted_amis:
        backend.amis[ami_id] = _moto_amis.Ami(
            backend, ami_id, name=f"localcloud {ami_id}", root_device_type="ebs", root_device_name="/dev/xvda",
            region_name=f"{backend.region_name}a",
        )
    return backend.amis.get(ami_id)


def _describe_images_of_any_id(self, ami_ids=None, filters=None, exec_users=None, owners=None):
    for ami_id in ami_ids or []:
        _image_of(self, ami_id)
    return _orig_describe_images(self, ami_ids=ami_ids, filters=filters, exec_users=exec_users, owners=owners)


def _volumes_of_the_image(self):
    image = _image_of(self.ec2_backend, self.image_id)
    if image is None:
        return _orig_setup_defaults(self)
    for mapping in image.block_device_mappings:
        ebs = mapping["Ebs"]
        volume = self.ec2_backend.create_volume(size=ebs["VolumeSize"], zone_name=self._placement.zone)
        self.ec2_backend.attach_volume(volume.id, self.id, mapping["DeviceName"], ebs["DeleteOnTermination"])


_moto_amis.AmiBackend.describe_images = _describe_images_of_any_id
_moto_instance_model.Instance.setup_defaults = _volumes_of_the_image


# moto 5.2.1 answers GetConsoleOutput with a fixed kernel log. EC2 gives what the instance printed to its
# console (on Amazon Linux, cloud-init's output, the user data's among it), base64, at most its last 64 KB,
# and keeps it a while after the instance ended; an instance that printed nothing gives no Output. Here that
# is the instance's console.log in its sandbox folder, which the runner (in this process) writes.
_console_sandbox = None  # set by main()
CONSOLE_OUTPUT_MAX = 64 * 1024


def _console_output_of_the_instance(self):
    instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))  # InvalidInstanceID.NotFound as moto says
    result = {"InstanceId": instance.id, "Timestamp": _moto_utcnow()}
    path = _console_sandbox / instance.id / "console.log" if _console_sandbox is not None else None
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - CONSOLE_OUTPUT_MAX))
            printed = f.read(CONSOLE_OUTPUT_MAX)
    except (OSError, TypeError):
        printed = b""  # never ran its user data
    if printed:
        result["Output"] = _Base64EncodedString(base64.b64encode(printed).decode("ascii"))
    return _moto_instances.ActionResult(result)


_moto_general.General.get_console_output = _console_output_of_the_instance
# -----------------------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(description="Local AWS account whose EC2 instances run their user data.")
    p.add_argument("--sandbox", required=True, help="directory for instance dirs and runner.log")
    p.add_argument("--port", type=int, default=0, help="moto port (0 = any free port)")
    p.add_argument("--region", action="append", dest="regions", help="repeatable; default eu-central-1 and us-east-1")
    p.add_argument("--key-pair", action="append", default=[], dest="key_pairs")
    p.add_argument("--instance-profile", action="append", default=[], dest="instance_profiles")
    p.add_argument("--security-group", action="append", default=[], dest="security_groups")
    p.add_argument("--boot-delay", type=float, default=0.0, metavar="SECONDS",
                   help="each instance runs its user data this long after reaching running (EC2 boot + cloud-init)")
    a = p.parse_args(argv)
    a.regions = a.regions or list(DEFAULT_REGIONS)
    if a.boot_delay < 0:
        p.error("--boot-delay must be >= 0")
    return a


def client(service, region, endpoint):
    return boto3.client(service, region_name=region, endpoint_url=endpoint)


def provision(endpoint, args):
    ec2_trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    iam = client("iam", "us-east-1", endpoint)  # IAM is global
    for name in args.instance_profiles:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(ec2_trust))
        iam.create_instance_profile(InstanceProfileName=name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    for region in args.regions:
        ec2 = client("ec2", region, endpoint)
        for name in args.key_pairs:
            ec2.create_key_pair(KeyName=name)
        for sg_id in args.security_groups:
            got = ec2.create_security_group(
                GroupName=sg_id,
                Description=f"localcloud {sg_id}",
                TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": CUSTOM_ID_TAG, "Value": sg_id}]}],
            )["GroupId"]
            if got != sg_id:
                raise RuntimeError(f"security group id patch failed: asked {sg_id}, got {got}")


def find_aws_dir():
    """Directory holding the real `aws` program (not a pyenv shim) and PYENV_ROOT if any."""
    pyenv_root = os.environ.get("PYENV_ROOT")
    candidates = [Path(sys.executable).parent]
    found = shutil.which("aws")
    if found:
        found_path = Path(found)
        if found_path.parent.name == "shims":
            pyenv_root = pyenv_root or str(found_path.parent.parent)
            try:
                real = subprocess.run(["pyenv", "which", "aws"], capture_output=True, text=True, timeout=20)
                if real.returncode == 0 and real.stdout.strip():
                    candidates.append(Path(real.stdout.strip()).parent)
            except (OSError, subprocess.SubprocessError):
                pass
        candidates.append(found_path.parent)
    for d in candidates:
        if (d / "aws").is_file() and os.access(d / "aws", os.X_OK):
            return str(d), pyenv_root
    return None, pyenv_root


SHUTDOWN_TEMPLATE = r"""#!/bin/bash
# localcloud fake shutdown: behaves like `shutdown` on an EC2 instance.
#   shutdown [-h|-H|-P] now|+0  -> halt at once: record it, SIGKILL the instance's process group
#   shutdown [-h|-H|-P] +N|hh:mm -> halt later (the runner does it at the deadline)
#   shutdown -c                  -> cancel a scheduled halt
INSTANCE_DIR=@INSTANCE_DIR@
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) shutdown $*" >> "$INSTANCE_DIR/shutdown"
when=""
for a in "$@"; do
  case "$a" in
    -c) rm -f "$INSTANCE_DIR/halt-at"; echo "localcloud: scheduled shutdown cancelled"; exit 0 ;;
    -r|--reboot) echo "localcloud: reboot is not supported" >&2; exit 1 ;;
    -k) echo "localcloud: shutdown -k (wall only), nothing done"; exit 0 ;;
    -*) ;;
    *) [ -z "$when" ] && when="$a" ;;
  esac
done
[ -z "$when" ] && when="+1"
case "$when" in
  now|+0) delay=0 ;;
  +[0-9]*) delay=$(( ${when#+} * 60 )) ;;
  [0-9]*:[0-9]*)
    delay=$(( $(date -d "$when" +%s) - $(date +%s) ))
    [ "$delay" -lt 0 ] && delay=$(( delay + 86400 )) ;;
  *) echo "shutdown: invalid time: $when" >&2; exit 1 ;;
esac
if [ "$delay" -gt 0 ]; then
  echo $(( $(date +%s) + delay )) > "$INSTANCE_DIR/halt-at"
  echo "localcloud: shutdown scheduled in $delay s"
  exit 0
fi
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) halt" > "$INSTANCE_DIR/halt"
echo "localcloud: system halting now"
stat=$(< /proc/$$/stat); stat=${stat##*) }; set -- $stat   # fields after "(comm) ": state ppid pgrp
kill -KILL -- "-$3"
sleep 60
"""

FAKE_COMMANDS = {
    "yum": "#!/bin/bash\n# localcloud fake yum: packages are already there\nexit 0\n",
    "sudo": (
        "#!/bin/bash\n# localcloud fake sudo: already root\n"
        "while [ $# -gt 0 ]; do case \"$1\" in -u|-g) shift 2 ;; --) shift; break ;; -*) shift ;; *) break ;; esac; done\n"
        "exec \"$@\"\n"
    ),
    "poweroff": '#!/bin/bash\nexec "$(dirname "$0")/shutdown" -P now\n',
    "halt": '#!/bin/bash\nexec "$(dirname "$0")/shutdown" -H now\n',
}

# The aws CLI v1 sends sqs (and emr, rds, health) requests to fixed legacy endpoints unless --endpoint-url is
# given on the command line: AWS_ENDPOINT_URL alone would send an instance's `aws sqs` to the real AWS. So an
# instance's `aws` passes it explicitly, and every service reaches moto as it reaches AWS on EC2.
AWS_WRAPPER = '#!/bin/bash\n# localcloud: aws with the local endpoint for every service\nexec @AWS@ --endpoint-url "$AWS_ENDPOINT_URL" "$@"\n'

# Runs inside the new mount namespace: hide the host's /usr/local/bin behind the instance's own.
BOOT_WRAPPER = (
    'mount --bind "$1" /usr/local/bin || { echo "localcloud: mount --bind $1 /usr/local/bin failed" >&2; exit 1; }\n'
    ': > "$3"\n'
    'exec bash "$2"\n'
)


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


class Instance:
    def __init__(self, region, iid, sandbox, boot_at):
        self.region = region
        self.id = iid
        self.dir = sandbox / iid
        self.boot_at = boot_at  # monotonic time its user data starts (EC2's boot); None once started
        self.proc = None
        self.pgid = None
        self.started_at = None
        self.exit_logged = False
        self.done = False  # halted, stopped or terminated: nothing more to do for it

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill_group(self):
        """SIGKILLs the user data's process group and every process of the instance that left it."""
        killed = False
        if self.pgid is not None:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
                killed = True
            except (ProcessLookupError, PermissionError):
                pass
        # A pool worker runs each job in a session of its own (setsid), out of that group; when an
        # instance dies on EC2 they die with it. They are our descendants (we are a child subreaper) and
        # carry the instance's INSTANCE_ID in their environment. Repeat: one may fork while we look.
        for _ in range(50):
            pids = self.processes()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed = True
                except OSError:
                    pass
            time.sleep(0.02)
        return killed

    def processes(self):
        """Live processes that descend from this runner and carry INSTANCE_ID=<this id> in their environment."""
        me, parent, mine = os.getpid(), {}, []
        marker = f"INSTANCE_ID={self.id}".encode()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if fields[0] == "Z":
                    continue  # dead already; reap() collects it
                parent[int(pid)] = int(fields[1])
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if marker in f.read().split(b"\0"):
                        mine.append(int(pid))
            except (OSError, IndexError, ValueError):
                pass

        def descends(pid):
            for _ in range(64):
                pid = parent.get(pid, 0)
                if pid == me:
                    return True
                if pid <= 1:
                    return False
            return False

        return [pid for pid in mine if descends(pid)]


class Runner:
    def __init__(self, endpoint, sandbox, regions, boot_delay=0.0):
        self.endpoint = endpoint
        self.sandbox = sandbox
        self.regions = regions
        self.boot_delay = boot_delay
        self.ec2 = {r: client("ec2", r, endpoint) for r in regions}
        self.instances: dict[tuple[str, str], Instance] = {}
        self.unshare = shutil.which("unshare")
        self.aws_dir, self.pyenv_root = find_aws_dir()
        self.xfemag = HERE / "xfemag"
        log.info("regions %s; unshare=%s; aws dir=%s; PYENV_ROOT=%s", regions, self.unshare, self.aws_dir, self.pyenv_root)
        if self.aws_dir is None:
            log.warning("no real `aws` found: instances will not be able to use the aws CLI")

    # -- instance life ------------------------------------------------------------------
    def instance_env(self, inst, home, bindir):
        path = [str(bindir), "/usr/local/bin"]
        if self.aws_dir:
            path.append(self.aws_dir)
        path += ["/usr/local/sbin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        env = {
            "HOME": str(home),
            "PATH": ":".join(dict.fromkeys(path)),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            "INSTANCE_ID": inst.id,
        }
        if self.pyenv_root:
            env["PYENV_ROOT"] = self.pyenv_root
        return env

    def start(self, inst):
        ec2 = self.ec2[inst.region]
        value = ec2.describe_instance_attribute(InstanceId=inst.id, Attribute="userData").get("UserData", {}).get("Value")
        user_data = base64.b64decode(value) if value else b""
        home, bindir, ulb = inst.dir / "home", inst.dir / "bin", inst.dir / "usr-local-bin"
        for d in (home, bindir, ulb):
            d.mkdir(parents=True, exist_ok=True)
        ud_path = inst.dir / "user-data"
        ud_path.write_bytes(user_data)
        if not user_data.strip():
            log.info("%s %s: running, no user data: nothing to run", inst.region, inst.id)
            return
        (bindir / "shutdown").write_text(SHUTDOWN_TEMPLATE.replace("@INSTANCE_DIR@", shell_quote(str(inst.dir))))
        for name, text in FAKE_COMMANDS.items():
            (bindir / name).write_text(text)
        if self.aws_dir:
            (bindir / "aws").write_text(AWS_WRAPPER.replace("@AWS@", shell_quote(os.path.join(self.aws_dir, "aws"))))
        shutil.copyfile(self.xfemag, ulb / "xfemag")
        for f in list(bindir.iterdir()) + [ulb / "xfemag"]:
            f.chmod(0o755)
        console = open(inst.dir / "console.log", "ab")
        cmd = [
            self.unshare or "unshare", "-m", "--propagation", "private", "--",
            "bash", "-c", BOOT_WRAPPER, "runner", str(ulb), str(ud_path), str(inst.dir / "booted"),
        ]
        try:
            inst.proc = subprocess.Popen(
                cmd, cwd=home, env=self.instance_env(inst, home, bindir),
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT, start_new_session=True,
            )
        except OSError as e:
            console.write(f"localcloud: cannot boot instance: {cmd[0]}: {e}\n".encode())
            console.close()
            log.error("%s %s: cannot start: %s", inst.region, inst.id, e)
            self.boot_failed(inst)
            return
        finally:
            if not console.closed:
                console.close()
        inst.pgid = inst.proc.pid  # new session: pgid == pid (unshare execs without forking)
        inst.started_at = time.monotonic()
        log.info("%s %s: started user data (pid/pgid %d, %d bytes)", inst.region, inst.id, inst.pgid, len(user_data))

    def boot_failed(self, inst):
        with open(inst.dir / "console.log", "ab") as f:
            f.write(b"localcloud: the instance could not boot (private mount namespace for /usr/local/bin failed, "
                    b"see above); the user data did not run; terminating the instance\n")
        inst.done = True
        inst.kill_group()
        try:
            self.ec2[inst.region].terminate_instances(InstanceIds=[inst.id])
            log.info("%s %s: boot failed -> TerminateInstances", inst.region, inst.id)
        except Exception as e:  # noqa: BLE001
            log.error("%s %s: boot failed, TerminateInstances failed: %s", inst.region, inst.id, e)

    def halt(self, inst, why):
        """The instance shut itself down: apply InstanceInitiatedShutdownBehavior."""
        inst.done = True
        inst.kill_group()
        ec2 = self.ec2[inst.region]
        try:
            behavior = ec2.describe_instance_attribute(
                InstanceId=inst.id, Attribute="instanceInitiatedShutdownBehavior"
            )["InstanceInitiatedShutdownBehavior"]["Value"]
        except Exception as e:  # noqa: BLE001
            log.error("%s %s: cannot read shutdown behavior (%s), assuming stop", inst.region, inst.id, e)
            behavior = "stop"
        try:
            if behavior == "terminate":
                ec2.terminate_instances(InstanceIds=[inst.id])
                log.info("%s %s: halted (%s) -> TerminateInstances", inst.region, inst.id, why)
            else:
                ec2.stop_instances(InstanceIds=[inst.id])
                log.info("%s %s: halted (%s) -> StopInstances (behavior %s)", inst.region, inst.id, why, behavior)
        except Exception as e:  # noqa: BLE001
            log.error("%s %s: halt (%s) failed to change state: %s", inst.region, inst.id, why, e)

    # -- loop ---------------------------------------------------------------------------
    def tick(self):
        for region, ec2 in self.ec2.items():
            try:
                states = {}
                for page in ec2.get_paginator("describe_instances").paginate():
                    for res in page["Reservations"]:
                        for i in res["Instances"]:
                            states[i["InstanceId"]] = i["State"]["Name"]
            except Exception as e:  # noqa: BLE001
                log.error("%s: DescribeInstances failed: %s", region, e)
                continue
            for iid, state in states.items():
                inst = self.instances.get((region, iid))
                if inst is None:
                    if state != "running":
                        continue
                    inst = self.instances[(region, iid)] = Instance(
                        region, iid, self.sandbox, time.monotonic() + self.boot_delay)
                    if self.boot_delay:
                        log.info("%s %s: running, user data starts in %.0f s (--boot-delay)", region, iid, self.boot_delay)
                if state == "running" and inst.boot_at is not None and time.monotonic() >= inst.boot_at:
                    inst.boot_at = None
                    try:
                        self.start(inst)
                    except Exception as e:  # noqa: BLE001
                        log.exception("%s %s: start failed: %s", region, iid, e)
                        inst.done = True
                elif state != "running" and not inst.done:
                    inst.boot_at = None  # ended while booting: its user data never runs
                    inst.done = True
                    was_alive = inst.alive()
                    killed = inst.kill_group()
                    if was_alive or killed:
                        log.info("%s %s: state %s while user data still runs -> SIGKILL process group %s",
                                 region, iid, state, inst.pgid)
                    else:
                        log.info("%s %s: state %s", region, iid, state)
        for inst in list(self.instances.values()):
            self.check(inst)
        self.reap()

    def check(self, inst):
        if inst.proc is not None and not inst.exit_logged and inst.proc.poll() is not None:
            inst.exit_logged = True
            rc = inst.proc.returncode
            how = f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"
            log.info("%s %s: user data ended: %s after %.1f s", inst.region, inst.id, how,
                     time.monotonic() - inst.started_at)
            if not inst.done and not (inst.dir / "booted").exists() and not (inst.dir / "halt").exists():
                self.boot_failed(inst)
                return
        if inst.done or inst.proc is None:
            return
        if (inst.dir / "halt").exists():
            self.halt(inst, "shutdown now")
            return
        halt_at = inst.dir / "halt-at"
        try:
            deadline = float(halt_at.read_text().strip())
        except (OSError, ValueError):
            return
        if time.time() >= deadline:
            (inst.dir / "halt").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ scheduled halt\n", time.gmtime()))
            self.halt(inst, "scheduled shutdown")

    def reap(self):
        """We are a child subreaper: reap orphaned instance processes (zombies) promptly."""
        procs = {i.proc.pid: i.proc for i in self.instances.values() if i.proc is not None and i.proc.returncode is None}
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None or info.si_pid == 0:
                return
            if info.si_pid in procs:
                procs.pop(info.si_pid).poll()  # Popen keeps the exit status
            else:
                try:
                    os.waitpid(info.si_pid, 0)
                except ChildProcessError:
                    pass

    def kill_all(self):
        for inst in self.instances.values():
            if inst.kill_group():
                log.info("%s %s: localcloud stopping -> SIGKILL process group %s", inst.region, inst.id, inst.pgid)
        # Instance processes that left their group (setsid) were re-parented to us: kill them too.
        me = str(os.getpid())
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    ppid = f.read().rsplit(")", 1)[1].split()[1]
                if ppid == me:
                    os.kill(int(pid), signal.SIGKILL)
            except (OSError, IndexError):
                pass
        for inst in self.instances.values():
            if inst.proc is not None:
                try:
                    inst.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    log.error("%s %s: process %s did not die", inst.region, inst.id, inst.proc.pid)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            self.reap()
            try:
                os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                break  # no children left
            time.sleep(0.05)

def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sandbox = Path(args.sandbox).resolve()
    sandbox.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=sandbox / "runner.log", level=logging.INFO,
        format="%(asctime)s.%(msecs)03d %(levelname)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S",
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    for noisy in ("botocore", "boto3", "urllib3", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    try:  # PR_SET_CHILD_SUBREAPER: orphaned instance processes become our children (reaped at once)
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except Exception:  # noqa: BLE001
        log.warning("could not become a child subreaper")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    endpoint = f"http://127.0.0.1:{port}"
    log.info("moto listening on %s", endpoint)
    global _console_sandbox
    _console_sandbox = sandbox
    try:
        provision(endpoint, args)
        runner = Runner(endpoint, sandbox, args.regions, args.boot_delay)
    except Exception as e:  # noqa: BLE001
        log.exception("provisioning failed")
        print(f"localcloud: provisioning failed: {e}", file=sys.stderr, flush=True)
        server.stop()
        return 1
    log.info("provisioned: key pairs %s, instance profiles %s, security groups %s",
             args.key_pairs, args.instance_profiles, args.security_groups)

    sys.stdout.write(f"READY {endpoint}\n")
    sys.stdout.flush()
    # From here on nothing may reach stdout, and a parent that does not drain stderr must not
    # block us: both now go to runner.log.
    logfd = os.open(sandbox / "runner.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(logfd, 1)
    os.dup2(logfd, 2)
    os.close(logfd)

    def watch_stdin():
        try:  # os.read, not sys.stdin: a daemon thread must not hold the stdin buffer lock at exit
            while os.read(0, 65536):
                pass
        except OSError:
            pass
        log.info("stdin closed")
        stop.set()

    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    while not stop.is_set():
        t0 = time.monotonic()
        try:
            runner.tick()
        except Exception:  # noqa: BLE001
            log.exception("runner tick failed")
        if time.monotonic() - t0 > 0.5:
            log.warning("slow runner tick: %.2f s", time.monotonic() - t0)
        stop.wait(POLL_SECONDS)

    log.info("stopping: killing instance process groups")
    runner.kill_all()
    server.stop()
    log.info("moto stopped; bye")
    logging.shutdown()
    os._exit(0)  # the stdin thread may still block in read(); do not wait for interpreter teardown


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Runs the FemagAws benchmark against a local cloud that bench/run.sh started, and prints the table.

Each measured run is a child process (FemagAws scripts in pwsh, or bench/baseline.py),
started by bench/measure.py: wall time from spawn to exit, CPU (user + sys) and peak RSS from wait4's
rusage, process start included.
FemagAws and the baseline alternate, the order flipping each round, and the medians are reported.
Use bench/run.sh, which provides --endpoint, --pwsh, --work and --sandbox and cleans up afterwards.
"""
from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import botocore
from botocore.config import Config

import generate
from countproxy import CountingProxy

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results" / "latest.md"
IMPLS = ("FemagAws", "baseline")
RUN_TIMEOUT = 3600  # seconds; a hung child is killed rather than blocking the benchmark forever
W6_JOB_SECONDS = 20  # the fake FEMAG's sleep per job in W6
# W6's instances end on their own (a pool's once its queue stayed empty for the worker's IDLE_SECONDS, 60):
# this long after the pipeline, one still live is left behind.
W6_END_TIMEOUT = 300
# W6 prices its runs: assumed list prices of eu-central-1 for t2.small, On-Demand (passed to Wait-FemagJob -PricePerHour)
# and Spot (the local cloud's Spot price history, bench/run.sh --spot-price).
ON_DEMAND_PRICES = {"t2.small": 0.0268}
SPOT_PRICE = 0.0081
MIB = 1024 * 1024

# Listed in this order in the W3 table; calls not listed here follow alphabetically.
API_ORDER = [
    "RunInstances", "DescribeInstances", "TerminateInstances",
    "ListBuckets", "CreateBucket", "PutPublicAccessBlock", "PutBucketEncryption", "PutBucketTagging",
    "PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload",
    "HeadBucket", "GetBucketLocation", "GetBucketTagging", "HeadObject", "GetObject", "ListObjectsV2",
    "ListMultipartUploads", "DeleteObject", "DeleteObjects", "DeleteBucket",
]


class BenchError(Exception):
    """A run failed or its result is wrong: the benchmark stops with this message."""


@dataclass
class Sample:
    wall: float  # s
    cpu: float  # s, user + sys
    rss: float  # MiB, peak


@dataclass
class Row:
    """One FemagAws-vs-baseline comparison: the samples of every round, and notes for below the table."""
    workload: str
    step: str
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {i: [] for i in IMPLS})
    notes: list[str] = field(default_factory=list)

    def median(self, impl: str, metric: str) -> float:
        return statistics.median(getattr(s, metric) for s in self.samples[impl])


class Bench:
    def __init__(self, a):
        self.a = a
        self.region = a.region
        self.work = Path(a.work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.specs = generate.QUICK_WORKLOADS if a.quick else generate.WORKLOADS
        config = Config(max_pool_connections=16, retries={"max_attempts": 5, "mode": "standard"})
        self.s3 = boto3.client("s3", endpoint_url=a.endpoint, region_name=self.region, config=config)
        self.ec2 = {r: boto3.client("ec2", endpoint_url=a.endpoint, region_name=r, config=config) for r in ("eu-central-1", "us-east-1")}
        self.sqs = {r: boto3.client("sqs", endpoint_url=a.endpoint, region_name=r, config=config) for r in ("eu-central-1", "us-east-1")}
        self.upload_config = self.write_config("upload.ini", delete_buckets=False)
        self.pipeline_config = self.write_config("pipeline.ini", delete_buckets=True)
        self.runs = 0

    # -- child processes ---------------------------------------------------------------
    def femagaws(self, script: str, **params) -> list[str]:
        cmd = [self.a.pwsh, "-NoProfile", "-NonInteractive", "-File", str(BENCH / script)]
        for name, value in params.items():
            cmd += [f"-{name}", str(value)]
        return cmd

    def baseline(self, mode: str, *args, endpoint: str | None = None) -> list[str]:
        return [sys.executable, str(BENCH / "baseline.py"), mode, "--endpoint", endpoint or self.a.endpoint, "--region", self.region, *map(str, args)]

    def measure(self, cmd: list[str]) -> tuple[Sample, str]:
        """Runs cmd to its end through bench/measure.py; its output goes to a log that is returned, and shown when it fails."""
        self.runs += 1
        log_path, result_path = self.work / f"run-{self.runs:03d}.log", self.work / f"run-{self.runs:03d}.json"
        with open(log_path, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-I", "-S", str(BENCH / "measure.py"), str(result_path), "--", *cmd],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
            watchdog = threading.Timer(RUN_TIMEOUT, proc.terminate)
            watchdog.start()
            try:
                proc.wait()
            except BaseException:
                stop(proc)
                raise
            finally:
                watchdog.cancel()
        text = log_path.read_text(errors="replace")
        if proc.returncode != 0 or not result_path.is_file():
            raise BenchError(f"bench/measure.py {' '.join(cmd)}\nexited with {proc.returncode}; its output ends:\n{text[-4000:]}")
        result = json.loads(result_path.read_text())
        sample = Sample(result["wall"], result["cpu"], result["maxrss_kib"] / 1024)
        if result["exit"] != 0:
            raise BenchError(f"{' '.join(cmd)}\nexited with {result['exit']} after {sample.wall:.1f} s; its output ends:\n{text[-4000:]}")
        return sample, text

    def compare(self, row: Row, commands: dict[str, list[str]], after=None) -> Row:
        """Alternates the two sides for --rounds rounds; after(impl, output) checks and cleans up, unmeasured."""
        for r in range(self.a.rounds):
            for impl in IMPLS if r % 2 == 0 else IMPLS[::-1]:
                sample, output = self.measure(commands[impl])
                row.samples[impl].append(sample)
                log(f"{row.workload} {row.step} round {r + 1} {impl}: {sample.wall:.2f} s wall, {sample.cpu:.2f} s CPU, {sample.rss:.0f} MiB")
                if after:
                    after(impl, output)
        return row

    # -- the local cloud ---------------------------------------------------------------
    def write_config(self, name: str, delete_buckets: bool, extra: str = "", cloud_init: str = "cloud_init.txt") -> Path:
        path = self.work / name
        path.write_text(
            "[amazon]\n"
            "iam_instance_profile = ecsInstanceRole\n"
            "key_name = test-key-pair-eucentral-1\n"
            "security_group_ids = sg-8475b5dd,\n"
            f"server_location = {self.region}\n"
            "instance_type = t2.small\n"
            "image_id = ami-6d4ceb03\n"
            f"cloud_init = {REPO / 'examples' / cloud_init}\n"
            f"delete_buckets = {int(delete_buckets)}\n"
            + extra
        )
        return path

    def bucket_names(self) -> list[str]:
        return [b["Name"] for b in self.s3.list_buckets().get("Buckets", [])]

    def delete_all_buckets(self) -> None:
        def remove(bucket):
            for page in self.s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
                for u in page.get("Uploads", []):
                    self.s3.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                if page.get("Contents"):
                    self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": o["Key"]} for o in page["Contents"]]})
            self.s3.delete_bucket(Bucket=bucket)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(remove, self.bucket_names()))

    def job_buckets(self, count: int) -> dict[int, str]:
        """index -> bucket, after checking there is exactly one bucket '<uuid>-<index>' per job."""
        names = self.bucket_names()
        by_index = {}
        for name in names:
            m = re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-(\d+)", name)
            if not m or int(m.group(1)) in by_index:
                raise BenchError(f"unexpected or duplicate bucket {name!r}")
            by_index[int(m.group(1))] = name
        if sorted(by_index) != list(range(count)):
            raise BenchError(f"expected buckets for jobs 0..{count - 1}, found {len(names)}: {sorted(by_index)[:20]}...")
        return by_index

    def verify_uploads(self, folders: list[Path]) -> int:
        """Every job has its bucket and a gzip '<index>.tar.gz' of plausible size; returns the archive bytes."""
        buckets = self.job_buckets(len(folders))

        def check(index):
            bucket, key, raw = buckets[index], f"{index}.tar.gz", generate.folder_bytes(folders[index])
            try:
                size = self.s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
                magic = self.s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-1")["Body"].read()
            except botocore.exceptions.ClientError as e:
                raise BenchError(f"bucket {bucket}: {key}: {e}") from e
            # The model compresses to about half; anything far off means a wrong or truncated archive.
            if magic != b"\x1f\x8b" or not 0.3 * raw <= size <= raw + 65536:
                raise BenchError(f"bucket {bucket}: {key} is {size} bytes (magic {magic!r}) for a folder of {raw} bytes")
            return size

        with ThreadPoolExecutor(8) as pool:
            return sum(pool.map(check, range(len(folders))))

    def live_instances(self) -> list[str]:
        ids = []
        for ec2 in self.ec2.values():
            for page in ec2.get_paginator("describe_instances").paginate(
                    Filters=[{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]):
                ids += [i["InstanceId"] for r in page["Reservations"] for i in r["Instances"]]
        return ids

    def queue_urls(self) -> list[str]:
        return [url for sqs in self.sqs.values() for url in sqs.list_queues().get("QueueUrls", [])]

    # -- workloads ---------------------------------------------------------------------
    def workload(self, name: str) -> tuple[Path, list[Path]]:
        started = time.perf_counter()
        path = generate.cached_workload(self.specs[name], self.a.seed)
        folders = generate.job_folders(path)
        log(f"{name}: {len(folders)} folders in {path} ({time.perf_counter() - started:.1f} s)")
        return path, folders

    def describe(self, name: str, folders: list[Path]) -> str:
        total = sum(generate.folder_bytes(f) for f in folders)
        ratio = generate.gzip_ratio(folders[0] / "model.nc")
        return f"{name}: {len(folders)} folders × {size(total / len(folders))} ({size(total)} in all), model.nc gzip -6 ratio {ratio:.2f}"

    def startup(self) -> Row:
        self.delete_all_buckets()  # Get-FemagBucket's ListBuckets then costs the same on both sides
        return self.compare(Row("-", "startup + ListBuckets"), {
            "FemagAws": self.femagaws("startup.ps1", ConfigFile=self.upload_config, EndpointUrl=self.a.endpoint),
            "baseline": self.baseline("startup"),
        })

    def upload(self, name: str, path: Path, folders: list[Path], same_requests: bool = False) -> Row:
        """New-FemagBucket against the baseline; with same_requests the baseline also makes New-FemagBucket's three
        bucket set-up requests (tag, public access block, encryption), so both send the same requests."""
        row = Row(name, "upload, baseline with the same requests" if same_requests else "upload (New-FemagBucket)")
        sizes = {}

        def after(impl, _output):
            sizes[impl] = self.verify_uploads(folders)
            self.delete_all_buckets()

        self.compare(row, {
            "FemagAws": self.femagaws("upload.ps1", Parent=path, ConfigFile=self.upload_config, EndpointUrl=self.a.endpoint),
            "baseline": self.baseline("upload", path, *(["--same-requests"] if same_requests else [])),
        }, after)
        if not same_requests:  # the same archives again; noted once per workload
            row.notes.append(f"{name} archives uploaded: FemagAws {sizes['FemagAws'] / 1e6:.1f} MB, baseline {sizes['baseline'] / 1e6:.1f} MB "
                             "(.NET CompressionLevel.Optimal vs tarfile's default gzip level 9)")
        return row

    def receive(self, name: str, path: Path, folders: list[Path]) -> Row:
        """Receive-FemagResult -Force vs baseline download of buckets holding the archive and a random result.bin."""
        jobs_file = self.work / "w2-jobs.xml"
        self.measure(self.femagaws("upload.ps1", Parent=path, ConfigFile=self.upload_config,
                                               EndpointUrl=self.a.endpoint, JobsFile=jobs_file))
        self.verify_uploads(folders)
        buckets = self.job_buckets(len(folders))
        result_bytes = self.specs[name].model_bytes
        pools = generate.Pools(self.a.seed)
        rng = random.Random(f"result-{self.a.seed}")
        for bucket in buckets.values():
            self.s3.put_object(Bucket=bucket, Key="result.bin", Body=pools.random_bytes(rng, result_bytes))
        expected = {}
        for index, bucket in buckets.items():
            for obj in self.s3.list_objects_v2(Bucket=bucket)["Contents"]:
                expected[Path(str(index)) / obj["Key"]] = obj["Size"]
        dest = self.work / "received"
        # Receive-FemagResult leaves out each job's own input archive (the job remembers its ETag); the baseline,
        # like femagtools, downloads every object. The destination starts empty, so what is in it was downloaded.
        archives = {Path(str(index)) / f"{index}.tar.gz" for index in buckets}
        downloaded = {}

        def after(impl, _output):
            for rel, size in expected.items():
                want = None if impl == "FemagAws" and rel in archives else size
                got = (dest / rel).stat().st_size if (dest / rel).is_file() else None
                if got != want:
                    raise BenchError(f"{impl} receive: {dest / rel} is {got} bytes, expected {want}")
            downloaded[impl] = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
            shutil.rmtree(dest)

        row = self.compare(Row(name, "receive (Receive-FemagResult)"), {
            "FemagAws": self.femagaws("receive.ps1", JobsFile=jobs_file, Destination=dest),
            "baseline": self.baseline("receive", "--dest", dest, *buckets.values()),
        }, after)
        n = len(buckets)
        row.notes.append(f"{name} received per run: {len(expected)} objects, {sum(expected.values()) / 1e6:.1f} MB "
                         f"(each bucket: its archive and a {result_bytes / 1e6:.0f} MB random result.bin)")
        row.notes.append(f"{name} bytes downloaded per job: FemagAws {downloaded['FemagAws'] / n / 1e6:.2f} MB (every object, as before "
                         f"it skipped the input archive: {sum(expected.values()) / n / 1e6:.2f} MB), baseline {downloaded['baseline'] / n / 1e6:.2f} MB")
        self.delete_all_buckets()
        return row

    def rediscover(self, buckets: int = 1000, instances: int = 100) -> Row:
        """W4: Get-FemagJob vs a boto3 listing of the same account, both through the counting proxy."""
        self.delete_all_buckets()
        started = time.perf_counter()
        names = self.make_job_buckets(buckets, instances)
        launched = self.launch_job_instances(names[:instances])
        log(f"W4: {buckets} buckets and {instances} instances set up in {time.perf_counter() - started:.1f} s")
        # Of the buckets without an instance, every other one holds a finish file: Succeeded; the rest Uploaded.
        expected = f"SUMMARY jobs={buckets} Running={instances} Succeeded={(buckets - instances + 1) // 2} Uploaded={(buckets - instances) // 2}"
        requests = {}
        row = Row("W4", f"Get-FemagJob, {buckets} buckets, {instances} instances")
        try:
            with CountingProxy(self.a.endpoint) as proxy:
                def after(impl, output):
                    want = expected if impl == "FemagAws" else f"SUMMARY buckets={buckets} instances={instances}"
                    if want not in output:
                        raise BenchError(f"W4 {impl}: expected {want!r}, got:\n{output[-4000:]}")
                    requests[impl] = proxy.stats.snapshot()["calls"]
                    proxy.stats.reset()

                self.compare(row, {
                    "FemagAws": self.femagaws("getjob.ps1", ConfigFile=self.upload_config, EndpointUrl=proxy.url),
                    "baseline": self.baseline("listjobs", endpoint=proxy.url),
                }, after)
        finally:
            self.ec2[self.region].terminate_instances(InstanceIds=launched)
            self.delete_all_buckets()
        for impl in IMPLS:
            calls = requests[impl]
            by_api = ", ".join(f"{api} {n}" for api, n in sorted(calls.items(), key=lambda c: -c[1]))
            row.notes.append(f"W4 {impl} requests (last round): {sum(calls.values())}, {sum(calls.values()) / buckets:.2f} per bucket ({by_api})")
        row.notes.append("W4 baseline: ListBuckets, location and tags per bucket, DescribeInstances by tag, 8 threads; "
                         "Get-FemagJob also reads each archive's recorded folder and, for a bucket without a live instance, its finish file")
        return row

    def make_job_buckets(self, count: int, running: int) -> list[str]:
        """count buckets as New-FemagBucket leaves them (tagged with index and folder, the archive); every other one of
        those past the first `running` (which get instances) also holds the finish file. Returns the names, index order."""
        import uuid

        def make(index):
            name = f"{uuid.uuid4()}-{index}"
            self.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
            folder = base64.urlsafe_b64encode(f"/tmp/parvar/{index}".encode()).decode().rstrip("=")
            self.s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [
                {"Key": "femag-aws:index", "Value": str(index)}, {"Key": "femag-aws:folder:1", "Value": folder}]})
            self.s3.put_object(Bucket=name, Key=f"{index}.tar.gz", Body=b"\x1f\x8b")
            if index >= running and (index - running) % 2 == 0:
                self.s3.put_object(Bucket=name, Key="exit_code", Body=b"0\n")
            return name

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(make, range(count)))

    def launch_job_instances(self, buckets: list[str]) -> list[str]:
        """One running instance per bucket, tagged as Start-FemagInstance tags it; no user data, so it runs nothing."""
        ec2 = self.ec2[self.region]

        def launch(index_bucket):
            index, bucket = index_bucket
            tags = [{"Key": "femag-aws:bucket", "Value": bucket}, {"Key": "femag-aws:index", "Value": str(index)}]
            return ec2.run_instances(ImageId="ami-6d4ceb03", InstanceType="t2.small", MinCount=1, MaxCount=1,
                                     TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])["Instances"][0]["InstanceId"]

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(launch, enumerate(buckets)))

    def pipeline(self, name: str, folders: list[Path], config: Path | None = None, fsl: str = "", during=None, settle=None,
                 report: Path | None = None) -> dict:
        """
        The whole FemagAws pipeline once, through the counting proxy; checks every job and the clean-up. fsl is
        appended to every femag.fsl (fake FEMAG directives); during(stop_event) runs in a thread while the pipeline does;
        settle(), after the jobs are checked and before the clean-up is, returns what it read (result "settled"). With
        report, Export-FemagReport writes the run's report there, with On-Demand priced at ON_DEMAND_PRICES.
        """
        # Results land in the job folders: run on a copy, never in the cache.
        parent = self.work / name
        shutil.rmtree(parent, ignore_errors=True)
        for folder in folders:
            shutil.copytree(folder, parent / folder.name)
            if fsl:
                with open(parent / folder.name / "femag.fsl", "a") as f:
                    f.write("\n" + fsl)
        done = threading.Event()
        helper = threading.Thread(target=during, args=(done,), daemon=True) if during else None
        with CountingProxy(self.a.endpoint) as proxy:
            if helper:
                helper.start()
            try:
                extra = {"ReportPath": report, "PricePerHour": ",".join(f"{t}={p}" for t, p in ON_DEMAND_PRICES.items())} if report else {}
                sample, output = self.measure(self.femagaws("pipeline.ps1", Parent=parent, ConfigFile=config or self.pipeline_config,
                                                            EndpointUrl=proxy.url, **extra))
            finally:
                done.set()
                if helper:
                    helper.join()
            stats = proxy.stats.snapshot()
        n = len(folders)
        summary = re.search(r"^SUMMARY jobs=(\d+) succeeded=(\d+)", output, re.M)
        if not summary or summary.groups() != (str(n), str(n)):
            raise BenchError(f"{name}: not every job succeeded:\n{output[-4000:]}")
        for folder in sorted(parent.iterdir()):
            exit_code = folder / "exit_code"
            if not exit_code.is_file() or exit_code.read_text().strip() != "0" or not (folder / "femag.log").is_file():
                raise BenchError(f"{name}: {folder} has no exit_code 0 and femag.log after Receive-FemagResult")
        settled = settle() if settle else None
        live, left, queues = self.live_instances(), self.bucket_names(), self.queue_urls()
        if live or left or queues:
            raise BenchError(f"{name}: left behind: instances not terminated {live}, buckets {left}, queues {queues}")
        shutil.rmtree(parent)
        log(f"{name}: {sample.wall:.1f} s wall, {sample.cpu:.1f} s CPU, {sample.rss:.0f} MiB; {sum(stats['calls'].values())} requests")
        totals = re.search(r"^TOTALS (.*)$", output, re.M)
        billed = re.search(r"^BILLED seconds=([0-9.]*) cost=([0-9.]*)", output, re.M)
        return {"n": n, "sample": sample, "stats": stats, "succeeded": int(summary.group(2)), "settled": settled,
                "totals": totals.group(1) if totals else None,
                "module_billed": float(billed.group(1) or 0) if billed else None,
                "module_cost": float(billed.group(2) or 0) if billed else None}


    def spot(self, name: str, folders: list[Path]) -> dict:
        """
        W5: the pipeline on Spot twice, calm and with about 20 % of the instances terminated from outside while their
        job runs (a Spot reclaim as EC2 would do it); every job must succeed with at most 1.3 x N launches.
        """
        config = self.write_config("spot.ini", delete_buckets=True, extra="spot = 1\n")
        n = len(folders)
        share = max(1, round(0.2 * n))
        interrupted: list[str] = []

        def interrupt(done: threading.Event) -> None:
            # Up to two first-attempt instances a second, once each has run a few seconds and while its job has no exit_code
            # yet (mid-job, not in its final sync), until `share` are gone.
            ec2 = self.ec2[self.region]
            seen: dict[str, tuple[float, str]] = {}
            while not done.is_set() and len(interrupted) < share:
                running = set()
                for page in ec2.get_paginator("describe_instances").paginate(
                        Filters=[{"Name": "instance-state-name", "Values": ["running"]}, {"Name": "tag:femag-aws:attempt", "Values": ["1"]}]):
                    for instance in (i for r in page["Reservations"] for i in r["Instances"]):
                        bucket = next(t["Value"] for t in instance["Tags"] if t["Key"] == "femag-aws:bucket")
                        seen.setdefault(instance["InstanceId"], (time.monotonic(), bucket))
                        running.add(instance["InstanceId"])
                ripe = [i for i, (since, bucket) in seen.items() if i in running and i not in interrupted and time.monotonic() - since > 2 and
                        self.s3.list_objects_v2(Bucket=bucket, Prefix="exit_code").get("KeyCount", 0) == 0]
                for instance_id in ripe[:min(2, share - len(interrupted))]:
                    ec2.terminate_instances(InstanceIds=[instance_id])
                    interrupted.append(instance_id)
                done.wait(1)

        fsl = "-- fake-femag: sleep 30\n"
        calm = self.pipeline(f"{name}-calm", folders, config, fsl)
        stormy = self.pipeline(f"{name}-interrupted", folders, config, fsl, during=interrupt)
        launches = stormy["stats"]["calls"].get("RunInstances", 0)
        if len(interrupted) < share:
            raise BenchError(f"{name}: only {len(interrupted)} of {share} instances could be interrupted")
        if launches > 1.3 * n:
            raise BenchError(f"{name}: {launches} launches for {n} jobs, more than 1.3 x N")
        log(f"{name}: {len(interrupted)} interrupted, {launches} launches; makespan {calm['sample'].wall:.1f} s calm, {stormy['sample'].wall:.1f} s interrupted")
        return {"n": n, "interrupted": len(interrupted), "launches": launches, "calm": calm, "stormy": stormy}

    def pools(self, name: str, folders: list[Path]) -> dict:
        """
        W6: N jobs of W6_JOB_SECONDS on a local cloud that boots each instance for --boot-delay seconds, through the W3 pipeline
        four ways: an instance per job (max_instances), a pool of single-slot instances, a pool of half as many with two
        slots each, and the first pool on Spot with 20 % of its instances reclaimed mid-run. Each run's buckets are kept
        (delete_buckets = 0) so the jobs' seconds can be read from them, then deleted here.
        """
        n, boot = len(folders), boot_delay(self.a)
        wide, narrow = (3, 2) if self.a.quick else (10, 5)
        reclaim = max(1, round(0.2 * wide))
        fsl = f"-- fake-femag: sleep {W6_JOB_SECONDS}\n"
        variants = [  # label, config keys, pool instances (0: an instance per job), slots per instance, instances to reclaim
            (f"instance per job (max_instances = {wide})", f"max_instances = {wide}\n", 0, 1, 0),
            (f"pool_size = {wide}", f"pool_size = {wide}\n", wide, 1, 0),
            (f"pool_size = {narrow}, slots_per_instance = 2", f"pool_size = {narrow}\nslots_per_instance = 2\n", narrow, 2, 0),
            (f"pool_size = {wide}, spot = 1, {reclaim} reclaimed", f"pool_size = {wide}\nspot = 1\n", wide, 1, reclaim),
        ]
        runs = []
        for number, (label, keys, pool, slots, reclaims) in enumerate(variants, 1):
            config = self.write_config(f"w6-{number}.ini", delete_buckets=False, extra=keys, cloud_init="cloud_init_recommended.txt")
            before = {i["InstanceId"] for i in self.instances()}
            reclaimed: list[str] = []
            # Mid-run: an instance is reclaimed once it has run its user data for 2.5 jobs, while the pipeline still runs.
            during = self.reclaimer(reclaims, reclaimed, boot + 2.5 * W6_JOB_SECONDS) if reclaims else None

            def settle(pool=pool, before=before):
                ended, waited = self.ended_instances(before)
                job_seconds = self.taken_to_ended(n) if pool else self.user_data_seconds(ended)
                self.delete_all_buckets()
                return ended, waited, job_seconds

            report = RESULTS.parent / f"w6-{number}.html"
            RESULTS.parent.mkdir(exist_ok=True)
            result = self.pipeline(f"{name}-{number}", folders, config, fsl, during=during, settle=settle, report=report)
            if len(reclaimed) < reclaims:
                raise BenchError(f"{name} {label}: only {len(reclaimed)} of {reclaims} pool instances could be reclaimed")
            ended, waited, job_seconds = result.pop("settled")
            lifetimes = [(end - launch).total_seconds() for launch, end in ended.values()]
            billed = sum(max(60.0, lifetime) for lifetime in lifetimes)
            instances = pool or n  # each boots once
            floors = {how: seconds / slots + boot * instances
                      for how, seconds in (("nominal", W6_JOB_SECONDS * n), ("measured", sum(job_seconds)))}
            runs.append({**result, "label": label, "report": report, "pool": pool, "launched": len(ended), "reclaimed": len(reclaimed),
                         "lifetimes": sum(lifetimes), "billed": billed, "waited": waited, "job_seconds": sum(job_seconds), "floor": floors})
            log(f"{name} {label}: makespan {result['sample'].wall:.1f} s, {len(ended)} instances billed {billed:.0f} s "
                f"(floor {floors['nominal']:.0f} nominal, {floors['measured']:.0f} measured), last instance ended {waited:.0f} s after the pipeline")
        return {"n": n, "boot": boot, "runs": runs}

    def instances(self) -> list[dict]:
        return [i for page in self.ec2[self.region].get_paginator("describe_instances").paginate()
                for r in page["Reservations"] for i in r["Instances"]]

    def ended_instances(self, before: set[str]) -> tuple[dict[str, tuple[datetime.datetime, datetime.datetime]], float]:
        """
        Waits for every instance launched since `before` to end (a pool's idle instances end on their own after the
        pipeline). Returns id -> (LaunchTime, end), the end read from EC2's state transition reason, which names the time
        of the last transition to the second ('User initiated (2026-12-06 04:30:00 GMT)'), and how long it waited.
        """
        started = time.monotonic()
        while True:
            launched = [i for i in self.instances() if i["InstanceId"] not in before]
            live = [i["InstanceId"] for i in launched if i["State"]["Name"] not in ("terminated", "stopped")]
            if not live:
                break
            if time.monotonic() - started > W6_END_TIMEOUT:
                raise BenchError(f"left behind: instances still live {W6_END_TIMEOUT} s after the pipeline: {live}")
            time.sleep(1)
        ended = {}
        for i in launched:
            m = re.search(r"\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (?:GMT|UTC)\)", i.get("StateTransitionReason", ""))
            if not m:
                raise BenchError(f"instance {i['InstanceId']} ({i['State']['Name']}): no time in its state transition reason {i.get('StateTransitionReason')!r}")
            end = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
            ended[i["InstanceId"]] = (i["LaunchTime"], end)
        return ended, time.monotonic() - started

    def taken_to_ended(self, n: int) -> list[float]:
        """A pool job's seconds: from the time in its bucket's femag-aws/taken (the attempt that finished) to that in femag-aws/ended."""
        def seconds(bucket):
            times = []
            for key in ("femag-aws/taken", "femag-aws/ended"):
                try:
                    text = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
                except botocore.exceptions.ClientError as e:
                    raise BenchError(f"bucket {bucket}: {key}: {e}") from e
                m = re.search(r"^time=(\S+)$", text, re.M)
                if not m:
                    raise BenchError(f"bucket {bucket}: {key} has no time= line:\n{text}")
                times.append(datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")))
            return (times[1] - times[0]).total_seconds()

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(seconds, self.job_buckets(n).values()))

    def user_data_seconds(self, ended: dict) -> list[float]:
        """An instance-per-job job's seconds: its user data's run, from the local cloud starting it (the sandbox's
        <instance>/booted) to its `shutdown -h now` (<instance>/halt)."""
        if not self.a.sandbox:
            raise BenchError("W6 reads the jobs' seconds of an instance per job from the local cloud's --sandbox")
        seconds = []
        for instance_id in ended:
            marks = [Path(self.a.sandbox) / instance_id / mark for mark in ("booted", "halt")]
            if not all(m.is_file() for m in marks):
                raise BenchError(f"instance {instance_id}: its user data did not run to its shutdown (no {' or '.join(str(m) for m in marks if not m.is_file())})")
            seconds.append(marks[1].stat().st_mtime - marks[0].stat().st_mtime)
        return seconds

    def reclaimer(self, count: int, reclaimed: list[str], after: float):
        """A during() for pipeline(): terminates `count` running pool instances from outside (a Spot reclaim as the aws CLI or
        boto3 does it; moto reports Client.UserInitiatedShutdown, on Spot an interruption), each once seen running `after` s."""
        def reclaim(done: threading.Event) -> None:
            ec2, seen = self.ec2[self.region], {}
            while not done.is_set() and len(reclaimed) < count:
                running = set()
                for page in ec2.get_paginator("describe_instances").paginate(
                        Filters=[{"Name": "instance-state-name", "Values": ["running"]}, {"Name": "tag-key", "Values": ["femag-aws:pool"]}]):
                    for instance in (i for r in page["Reservations"] for i in r["Instances"]):
                        seen.setdefault(instance["InstanceId"], time.monotonic())
                        running.add(instance["InstanceId"])
                ripe = [i for i, since in seen.items() if i in running and i not in reclaimed and time.monotonic() - since >= after]
                for instance_id in ripe[:count - len(reclaimed)]:
                    ec2.terminate_instances(InstanceIds=[instance_id])
                    reclaimed.append(instance_id)
                    log(f"reclaimed pool instance {instance_id}")
                done.wait(1)
        return reclaim


def spot_table(result: dict) -> list[str]:
    calm, stormy = result["calm"], result["stormy"]
    rows = [
        ["makespan (wall) s", f"{calm['sample'].wall:.1f}", f"{stormy['sample'].wall:.1f}"],
        ["instances terminated from outside", "0", str(result["interrupted"])],
        ["launches (RunInstances)", str(calm["stats"]["calls"].get("RunInstances", 0)), str(result["launches"])],
        ["launches per job", f"{calm['stats']['calls'].get('RunInstances', 0) / result['n']:.2f}", f"{result['launches'] / result['n']:.2f}"],
        ["jobs succeeded", f"{calm['succeeded']}/{result['n']}", f"{stormy['succeeded']}/{result['n']}"],
    ]
    return table([f"W5 Spot, N = {result['n']}", "no interruptions", "~20 % interrupted"], rows, text_columns=1)


def pools_table(result: dict) -> list[str]:
    runs, n = result["runs"], result["n"]
    per_job = runs[0]
    rows = [
        ["jobs succeeded"] + [f"{r['succeeded']}/{n}" for r in runs],
        ["makespan (wall) s"] + [f"{r['sample'].wall:.1f}" for r in runs],
        ["instances launched"] + [str(r["launched"]) for r in runs],
        ["  of which reclaimed"] + [str(r["reclaimed"]) for r in runs],
        ["last instance ended, s after the pipeline"] + [f"{r['waited']:.0f}" for r in runs],
        ["instance lifetimes s, sum"] + [f"{r['lifetimes']:.0f}" for r in runs],
        ["instance-seconds billed"] + [f"{r['billed']:.0f}" for r in runs],
        ["  as the module counts them (BilledSeconds)"] + [f"{r['module_billed']:.0f}" for r in runs],
        ["  their cost, USD (Wait-FemagJob)"] + [f"{r['module_cost']:.4f}" for r in runs],
        ["job seconds, nominal"] + [f"{W6_JOB_SECONDS * n}" for r in runs],
        ["job seconds, measured"] + [f"{r['job_seconds']:.0f}" for r in runs],
        ["floor, nominal job s"] + [f"{r['floor']['nominal']:.0f}" for r in runs],
        ["floor, measured job s"] + [f"{r['floor']['measured']:.0f}" for r in runs],
        ["billed / floor, nominal"] + [f"{r['billed'] / r['floor']['nominal']:.2f}" for r in runs],
        ["billed / floor, measured"] + [f"{r['billed'] / r['floor']['measured']:.2f}" for r in runs],
        ["billed / instance per job"] + [f"{r['billed'] / per_job['billed']:.2f}" for r in runs],
        ["makespan / instance per job"] + [f"{r['sample'].wall / per_job['sample'].wall:.2f}" for r in runs],
    ]
    return table([f"W6, N = {n}, FEMAG {W6_JOB_SECONDS} s, boot {result['boot']} s"] + [r["label"] for r in runs], rows, text_columns=1)


def pools_targets(result: dict) -> list[str]:
    """The issue's targets for W6, each figure against its bound; printed, never a failure."""
    per_job, *pools = result["runs"]
    lines = []

    def check(what: str, value: float, bound: float) -> None:
        lines.append(f"{what}: {value:.2f}, target ≤ {bound}: {'met' if value <= bound else 'missed'}")

    for r in pools:
        bill_bound = 1.3 if r["reclaimed"] else 1.15
        for how in ("nominal", "measured"):
            check(f"{r['label']}: billed / floor ({how} job s)", r["billed"] / r["floor"][how], bill_bound)
        if not r["reclaimed"]:
            check(f"{r['label']}: billed / instance per job", r["billed"] / per_job["billed"], 0.5)
            check(f"{r['label']}: makespan / instance per job", r["sample"].wall / per_job["sample"].wall, 0.6)
        else:
            lines.append(f"{r['label']}: {r['succeeded']}/{result['n']} jobs succeeded, target all: {'met' if r['succeeded'] == result['n'] else 'missed'}")
    return lines


def stop(proc: subprocess.Popen) -> None:
    """Ends a launcher this script started: SIGTERM, which it passes on (escalating to SIGKILL after 5 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def size(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


def interrupt(*_) -> None:
    raise KeyboardInterrupt


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- report ------------------------------------------------------------------------------
def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    ram = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal:"))
    return f"nproc {len(os.sched_getaffinity(0))}, {cpu}, {ram / MIB:.1f} GiB RAM, Linux {platform.release()}"


def versions(pwsh: str) -> str:
    dotnet = subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip()
    powershell = subprocess.run([pwsh, "-NoProfile", "-NonInteractive", "-Command",
                                 '"PowerShell $($PSVersionTable.PSVersion) on .NET $([Environment]::Version)"'],
                                capture_output=True, text=True, stdin=subprocess.DEVNULL).stdout.strip()
    import moto
    return (f"{powershell} ({pwsh}), .NET SDK {dotnet}, Python {platform.python_version()}, "
            f"boto3 {boto3.__version__}, moto {moto.__version__}")


def table(header: list[str], rows: list[list[str]], text_columns: int) -> list[str]:
    """A markdown table, padded to read as plain text too; numbers (after text_columns) right-aligned."""
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) if i < text_columns else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    rule = ["-" * w if i < text_columns else "-" * (w - 1) + ":" for i, w in enumerate(widths)]
    return [line(header), "| " + " | ".join(rule) + " |"] + [line(r) for r in rows]


def comparison_table(rows: list[Row]) -> list[str]:
    header = ["workload", "step"]
    for metric in ("wall s", "CPU s", "peak RSS MiB"):
        header += [f"FemagAws {metric}", f"baseline {metric}", "ratio"]
    body = []
    for row in rows:
        cells = [row.workload, row.step]
        for metric, fmt in (("wall", "{:.2f}"), ("cpu", "{:.2f}"), ("rss", "{:.0f}")):
            f, b = row.median("FemagAws", metric), row.median("baseline", metric)
            cells += [fmt.format(f), fmt.format(b), f"{f / b:.2f}" if b else "-"]
        body.append(cells)
    return table(header, body, text_columns=2)


def pipeline_table(results: list[dict]) -> list[str]:
    header = ["W3 whole pipeline"] + [f"N = {r['n']}" for r in results]
    rows = [
        ["wall s"] + [f"{r['sample'].wall:.1f}" for r in results],
        ["client CPU s"] + [f"{r['sample'].cpu:.1f}" for r in results],
        ["client CPU s per job"] + [f"{r['sample'].cpu / r['n']:.3f}" for r in results],
        ["client peak RSS MiB"] + [f"{r['sample'].rss:.0f}" for r in results],
        ["jobs succeeded"] + [f"{r['succeeded']}/{r['n']}" for r in results],
        ["requests per job, all"] + [f"{sum(r['stats']['calls'].values()) / r['n']:.2f}" for r in results],
    ]
    apis = {api for r in results for api in r["stats"]["calls"]}
    for api in sorted(apis, key=lambda a: (API_ORDER.index(a) if a in API_ORDER else len(API_ORDER), a)):
        rows.append([f"  {api}"] + [f"{r['stats']['calls'].get(api, 0) / r['n']:.2f}" for r in results])
    errors = {e for r in results for e in r["stats"]["errors"]}
    for error in sorted(errors):
        rows.append([f"  of which {error}"] + [f"{r['stats']['errors'].get(error, 0) / r['n']:.2f}" for r in results])
    rows.append(["DescribeInstances calls"] + [str(len(r["stats"]["describe_batches"])) for r in results])
    rows.append(["  largest InstanceId batch"] + [str(max(r["stats"]["describe_batches"], default=0)) for r in results])
    rows.append(["  calls by tag filter (no ids)"] + [str(r["stats"]["describe_batches"].count(0)) for r in results])
    return table(header, rows, text_columns=1)


def boot_delay(a) -> int:
    """Seconds the local cloud lets each instance boot before its user data runs (EC2's boot and cloud-init): W6 needs it;
    bench/run.sh asks for it (--print-boot-delay) when it starts the local cloud, W6's floor counts it once per instance."""
    return (5 if a.quick else 30) if "W6" in a.only.split(",") else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", help="the local cloud (bench/run.sh starts it)")
    p.add_argument("--pwsh", help="the pwsh executable (bench/run.sh passes the one of the repository's dotnet tool)")
    p.add_argument("--work", help="scratch directory, removed by bench/run.sh")
    p.add_argument("--sandbox", help="the local cloud's sandbox, for its runner.log in error messages and W6's instance-per-job seconds")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", default="W1,W2,W3,W4", help="comma-separated subset of W1,...,W6 (W5, Spot with interruptions, and W6, "
                   "pools, run only when named)")
    p.add_argument("--quick", action="store_true", help="smaller workloads, for a smoke test")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--region", default="eu-central-1")
    p.add_argument("--print-boot-delay", action="store_true", help="print the local cloud's --boot-delay for these options and exit")
    a = p.parse_args()
    only = set(a.only.split(","))
    if not only <= {"W1", "W2", "W3", "W4", "W5", "W6"} or a.rounds < 1:
        p.error("--only takes W1, W2, W3, W4, W5 and W6; --rounds at least 1")
    if "W6" in only and only & {"W3", "W5"}:
        p.error("W6 runs on a local cloud that boots every instance for a while, which would change W3's and W5's figures: run it on its own")
    if a.print_boot_delay:
        print(boot_delay(a))
        return 0
    if not (a.endpoint and a.pwsh and a.work):
        p.error("--endpoint, --pwsh and --work are required (bench/run.sh passes them)")
    # run.sh ends us with SIGTERM (Ctrl+C goes to its trap): unwind, stopping the child being measured.
    signal.signal(signal.SIGTERM, interrupt)

    bench = Bench(a)
    started = datetime.datetime.now(datetime.timezone.utc)
    rows, pipelines, described, spot, pools = [], [], [], None, None
    try:
        rows.append(bench.startup())
        for name in ("W1", "W2"):
            if name in only:
                path, folders = bench.workload(name)
                described.append(bench.describe(name, folders))
                rows.append(bench.upload(name, path, folders))
                if name == "W1":
                    rows.append(bench.upload(name, path, folders, same_requests=True))
                if name == "W2":
                    rows.append(bench.receive(name, path, folders))
        if "W3" in only:
            for name in ("W3-20", "W3-100"):
                _, folders = bench.workload(name)
                described.append(bench.describe(name, folders))
                pipelines.append(bench.pipeline(name, folders))
        if "W4" in only:
            rows.append(bench.rediscover(100, 10) if a.quick else bench.rediscover())
        if "W5" in only:
            _, folders = bench.workload("W5")
            described.append(bench.describe("W5", folders))
            spot = bench.spot("W5", folders)
        if "W6" in only:
            _, folders = bench.workload("W6")
            described.append(bench.describe("W6", folders))
            pools = bench.pools("W6", folders)
    except BenchError as e:
        print(f"\nBENCHMARK FAILED: {e}", file=sys.stderr)
        if a.sandbox and (Path(a.sandbox) / "runner.log").is_file():
            print("local cloud log ends:\n" + (Path(a.sandbox) / "runner.log").read_text(errors="replace")[-2000:], file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nbenchmark interrupted", file=sys.stderr)
        return 130

    lines = [
        "# FemagAws benchmark",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC, {(datetime.datetime.now(datetime.timezone.utc) - started).total_seconds() / 60:.1f} min",
        f"- machine: {machine()}",
        f"- software: {versions(a.pwsh)}; the local cloud (moto + instance runner) runs on the same machine",
        f"- {'quick sizes, ' if a.quick else ''}seed {a.seed}, region {a.region}",
    ] + [f"- {d}" for d in described]
    if rows:
        lines += ["", f"## FemagAws vs boto3 baseline: median of {a.rounds} round(s), alternating, order flipped each round", ""]
        lines += comparison_table(rows)
        lines += [""] + [f"- {n}" for r in rows for n in r.notes]
        lines += ["- ratio = FemagAws / baseline (below 1: FemagAws is faster or smaller); times include process start"]
    if pipelines:
        lines += ["", "## W3: New-FemagBucket | Start-FemagInstance | Wait-FemagJob -PollInterval 2 -SettleTime 2 | Receive-FemagResult, "
                  "delete_buckets = 1, one run each", ""]
        lines += pipeline_table(pipelines)
        lines += ["", "- requests per job = requests the FemagAws process made / N (counted by bench/countproxy.py; the instances' own aws CLI traffic is not counted)",
                  "- every job Succeeded with exit_code 0 in its folder; afterwards no instance was live and no bucket was left"]
    if spot:
        lines += ["", "## W5: the W3 pipeline on Spot (spot = 1), FEMAG sleeping 30 s per job, calm and with ~20 % of the instances "
                  "terminated from outside mid-job; Wait-FemagJob relaunches them", ""]
        lines += spot_table(spot)
        lines += ["", "- every job Succeeded with its results; at most 1.3 x N launches"]
    if pools:
        lines += ["", f"## W6: the W3 pipeline (cloud_init_recommended.txt, delete_buckets = 0), FEMAG sleeping {W6_JOB_SECONDS} s per job, "
                  f"each instance booting {pools['boot']} s: an instance per job against pools", ""]
        lines += pools_table(pools)
        lines += ["", "- billed: per instance launched, max(60 s, LaunchTime to the time in its state transition reason when it ended)",
                  "- floor: job seconds / slots per instance + one boot per instance (the pool's, or each job's own); "
                  f"nominal job seconds = {W6_JOB_SECONDS} s x N, measured = per job femag-aws/taken to femag-aws/ended "
                  "(a pool) or its user data's start to its shutdown (an instance per job)",
                  "- every job Succeeded with its results; afterwards no instance was live, no bucket and no queue was left", ""]
        lines += [f"- {line}" for line in pools_targets(pools)]
        lines += ["", "Wait-FemagJob's summary line and the report Export-FemagReport wrote, for each run "
                  f"(Spot priced from the local cloud's Spot price history, t2.small {SPOT_PRICE} USD/h; On-Demand at "
                  f"{', '.join(f'{t} {p} USD/h' for t, p in ON_DEMAND_PRICES.items())}):", ""]
        lines += [f"- {r['label']}: {r['totals']} ({r['report'].relative_to(REPO)})" for r in pools["runs"]]
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(report)
    log(f"written to {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

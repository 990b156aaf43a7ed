#!/usr/bin/env python3
"""The benchmark's baseline: what New-FemagBucket and Receive-FemagResult do, written plainly with boto3.

  baseline.py upload  --endpoint URL --region R DIR          one bucket per subfolder of DIR
  baseline.py receive --endpoint URL --region R --dest DIR BUCKET...
  baseline.py startup --endpoint URL --region R              interpreter, boto3, one ListBuckets
  baseline.py listjobs --endpoint URL --region R             the module's buckets and instances in R

upload: 8 threads; each packs one folder as tar.gz in memory (tarfile "w:gz" into a BytesIO, default
settings), creates the bucket "<uuid4>-<index>" and puts "<index>.tar.gz". The index is the folder's
position in ordinal order, as in New-FemagBucket.
receive: every object of every bucket into DEST/<index>/<key>, 8 downloads at a time (download_file).
listjobs: ListBuckets, then for each bucket named "<uuid>-<index>", 8 at a time, its location and its
femag-aws:index tag; and DescribeInstances filtered by the tag key femag-aws:bucket, all pages. It does
not read the archive's folder or the finish file, which Get-FemagJob does too.
Credentials come from the environment (AWS_ACCESS_KEY_ID=testing etc. for the local cloud).
"""
from __future__ import annotations

import argparse
import io
import re
import sys
import tarfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

THREADS = 8

# One GET per object, as Receive-FemagResult does. boto3's default splits objects above 8 MB into
# ranged GETs, and moto reads the whole object for each range: the server, not the client, would be measured.
SINGLE_GET = TransferConfig(multipart_threshold=1 << 62)


def s3_client(endpoint: str, region: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name=region)


def upload_folder(s3, region: str, folder: Path, index: int, same_requests: bool = False) -> int:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=path.relative_to(folder).as_posix())
    bucket = f"{uuid.uuid4()}-{index}"
    if region == "us-east-1":  # the one region that must not be named as a LocationConstraint
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    if same_requests:
        # New-FemagBucket's bucket set-up, in its order: tag, public access block, default encryption.
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "femag-aws:index", "Value": str(index)}]})
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    archive.seek(0)
    s3.put_object(Bucket=bucket, Key=f"{index}.tar.gz", Body=archive)
    return archive.getbuffer().nbytes


def upload(a) -> None:
    s3 = s3_client(a.endpoint, a.region)
    folders = sorted(p for p in Path(a.dir).iterdir() if p.is_dir())
    with ThreadPoolExecutor(THREADS) as pool:
        sizes = list(pool.map(lambda f: upload_folder(s3, a.region, f[1], f[0], a.same_requests), enumerate(folders)))
    print(f"uploaded {len(sizes)} folders, {sum(sizes)} archive bytes")


def receive(a) -> None:
    s3 = s3_client(a.endpoint, a.region)
    downloads = []
    for bucket in a.buckets:
        target = Path(a.dest) / bucket.rsplit("-", 1)[1]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                path = target / obj["Key"]
                path.parent.mkdir(parents=True, exist_ok=True)
                downloads.append((bucket, obj["Key"], path, obj["Size"]))
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda d: s3.download_file(d[0], d[1], str(d[2]), Config=SINGLE_GET), downloads))
    print(f"received {len(downloads)} objects, {sum(d[3] for d in downloads)} bytes")


def startup(a) -> None:
    s3_client(a.endpoint, a.region).list_buckets()


JOB_BUCKET = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-\d+")


def listjobs(a) -> None:
    s3 = s3_client(a.endpoint, a.region)
    names = [b["Name"] for b in s3.list_buckets().get("Buckets", []) if JOB_BUCKET.fullmatch(b["Name"])]

    def is_module_bucket(name: str) -> bool:
        if (s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1") != a.region:
            return False
        try:
            tags = s3.get_bucket_tagging(Bucket=name)["TagSet"]
        except ClientError as e:
            if e.response["Error"]["Code"] == "NoSuchTagSet":
                return False
            raise
        return any(t["Key"] == "femag-aws:index" for t in tags)

    with ThreadPoolExecutor(THREADS) as pool:
        buckets = [n for n, ok in zip(names, pool.map(is_module_bucket, names)) if ok]
    ec2 = boto3.client("ec2", endpoint_url=a.endpoint, region_name=a.region)
    # Counted like Get-FemagJob's jobs: an ended instance of an earlier workload (W3), whose bucket is gone, is no job.
    instances = [i["InstanceId"]
                 for page in ec2.get_paginator("describe_instances").paginate(Filters=[{"Name": "tag-key", "Values": ["femag-aws:bucket"]}])
                 for r in page["Reservations"] for i in r["Instances"]
                 if i["State"]["Name"] not in ("shutting-down", "terminated")]
    print(f"SUMMARY buckets={len(buckets)} instances={len(instances)}")


def main() -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--endpoint", required=True)
    common.add_argument("--region", required=True)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = p.add_subparsers(dest="mode", required=True)
    uploading = modes.add_parser("upload", parents=[common])
    uploading.add_argument("dir", help="the folder whose subfolders are the jobs")
    uploading.add_argument("--same-requests", action="store_true",
                           help="also tag each bucket, block public access and turn on encryption, as New-FemagBucket does")
    receiving = modes.add_parser("receive", parents=[common])
    receiving.add_argument("--dest", required=True, help="where the buckets' objects go")
    receiving.add_argument("buckets", nargs="+")
    modes.add_parser("startup", parents=[common])
    modes.add_parser("listjobs", parents=[common])
    a = p.parse_args()
    {"upload": upload, "receive": receive, "startup": startup, "listjobs": listjobs}[a.mode](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The benchmark's baseline: what New-FemagBucket and Receive-FemagResult do, written plainly with boto3.

  baseline.py upload  --endpoint URL --region R DIR          one bucket per subfolder of DIR
  baseline.py receive --endpoint URL --region R --dest DIR BUCKET...
  baseline.py startup --endpoint URL --region R              interpreter, boto3, one ListBuckets

upload: 8 threads; each packs one folder as tar.gz in memory (tarfile "w:gz" into a BytesIO, default
settings), creates the bucket "<uuid4>-<index>" and puts "<index>.tar.gz". The index is the folder's
position in ordinal order, as in New-FemagBucket.
receive: every object of every bucket into DEST/<index>/<key>, 8 downloads at a time (download_file).
Credentials come from the environment (AWS_ACCESS_KEY_ID=testing etc. for the local cloud).
"""
from __future__ import annotations

import argparse
import io
import sys
import tarfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig

THREADS = 8

# One GET per object, as Receive-FemagResult does. boto3's default splits objects above 8 MB into
# ranged GETs, and moto reads the whole object for each range: the server, not the client, would be measured.
SINGLE_GET = TransferConfig(multipart_threshold=1 << 62)


def s3_client(endpoint: str, region: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name=region)


def upload_folder(s3, region: str, folder: Path, index: int) -> int:
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
    archive.seek(0)
    s3.put_object(Bucket=bucket, Key=f"{index}.tar.gz", Body=archive)
    return archive.getbuffer().nbytes


def upload(a) -> None:
    s3 = s3_client(a.endpoint, a.region)
    folders = sorted(p for p in Path(a.dir).iterdir() if p.is_dir())
    with ThreadPoolExecutor(THREADS) as pool:
        sizes = list(pool.map(lambda f: upload_folder(s3, a.region, f[1], f[0]), enumerate(folders)))
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


def main() -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--endpoint", required=True)
    common.add_argument("--region", required=True)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = p.add_subparsers(dest="mode", required=True)
    modes.add_parser("upload", parents=[common]).add_argument("dir", help="the folder whose subfolders are the jobs")
    receiving = modes.add_parser("receive", parents=[common])
    receiving.add_argument("--dest", required=True, help="where the buckets' objects go")
    receiving.add_argument("buckets", nargs="+")
    modes.add_parser("startup", parents=[common])
    a = p.parse_args()
    {"upload": upload, "receive": receive, "startup": startup}[a.mode](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())

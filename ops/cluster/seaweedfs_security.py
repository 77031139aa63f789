"""SeaweedFS's own keys for the object store: `python ops/cluster/seaweedfs_security.py FOLDER`.

Only SeaweedFS's S3 gateway checks S3 keys; its master, volume server and
filer answer whoever reaches their ports, over HTTP and gRPC. This writes,
once, FOLDER/security.toml (what `weed -config_dir=FOLDER server …` reads)
and FOLDER/tls/:

- random JWT signing keys, so the volume server reads and writes a file only
  with a token the master or filer signed for that one file, and the filer's
  HTTP API only with one of its own (the S3 gateway, in the same process,
  signs its calls);
- a certificate authority of its own and one certificate it signed, for
  mutual TLS on every gRPC port: a client without that certificate (`weed
  shell` from another user, a script that lists the filer's entries and asks
  the master for read tokens) is refused at the handshake. The authority's
  private key is deleted once the certificate is signed: nobody can make
  another one.

Everything is private (folder 0700, files 0600). Run `weed` with
`-disableHttp` too (no HTTP API on the master and filer at all). Used by
ops/cluster/s3.sh (`make cluster`) and tests/seaweedfs.py; for several
SeaweedFS machines, copy the folder to each (README "Photos on several
nodes"). An existing security.toml is kept as it is.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DAYS = 3650  # the certificate is this store's alone, and nobody can issue another
# The gRPC servers, and the client side every SeaweedFS component (and `weed shell`) dials with.
GRPC_SECTIONS = ("master", "volume", "filer", "s3", "client")


def write(folder: str | os.PathLike) -> Path:
    """Make FOLDER/security.toml and FOLDER/tls once (random keys, private); return the toml's path."""
    folder = Path(folder).resolve()
    toml = folder / "security.toml"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    if toml.is_file() and toml.stat().st_size:
        return toml
    old_umask = os.umask(0o077)
    try:
        tls = folder / "tls"
        shutil.rmtree(tls, ignore_errors=True)
        tls.mkdir(mode=0o700)
        make_certificates(tls)
        text = render(tls, {name: secrets.token_urlsafe(32) for name in ("write", "read", "filer", "filer_read")})
        with tempfile.NamedTemporaryFile("w", dir=folder, prefix=".security.", delete=False) as f:
            f.write(text)
        os.replace(f.name, toml)
    finally:
        os.umask(old_umask)
    return toml


def make_certificates(tls: Path) -> None:
    """A certificate authority and one certificate it signed (server and client), with openssl."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", str(DAYS)]
    run(
        ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=portal object store CA"]
        + ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        tls,
    )
    run(
        ["req", "-x509", *ec, "-CA", "ca.crt", "-CAkey", "ca.key", "-keyout", "weed.key", "-out", "weed.crt"]
        + ["-subj", "/CN=portal object store", "-addext", "basicConstraints=critical,CA:FALSE"]
        + ["-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=serverAuth,clientAuth"]
        + ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        tls,
    )
    (tls / "ca.key").unlink()


def run(args: list[str], cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def render(tls: Path, keys: dict[str, str]) -> str:
    """security.toml for these keys and the certificates in tls."""

    def q(value: str | Path) -> str:
        return json.dumps(str(value))  # a TOML basic string

    lines = [
        "# SeaweedFS's security of this object store, made by ops/cluster/seaweedfs_security.py: keep it private.",
        "[jwt.signing]",
        f"key = {q(keys['write'])}",
        "[jwt.signing.read]",
        f"key = {q(keys['read'])}",
        "[jwt.filer_signing]",
        f"key = {q(keys['filer'])}",
        "[jwt.filer_signing.read]",
        f"key = {q(keys['filer_read'])}",
        "[access]",
        "ui = false",
        "[filer.expose_directory_metadata]",
        "enabled = false",
        "[grpc]",
        f"ca = {q(tls / 'ca.crt')}",
    ]
    for section in GRPC_SECTIONS:
        lines += [f"[grpc.{section}]", f"cert = {q(tls / 'weed.crt')}", f"key = {q(tls / 'weed.key')}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    write(args[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())

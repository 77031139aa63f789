"""Render ops/cluster/nginx.conf.in for a set of web nodes: `python ops/cluster/nginx_conf.py --help`.

Used by `make cluster` and by the tests (which check the result with `nginx -t`
and run it in front of the portal).
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
from app.static_files import DIGEST_LENGTH, StaticDigests, hashed_name  # noqa: E402  (the portal's static names)

TEMPLATE = HERE / "nginx.conf.in"
STATIC_ROOT = HERE.parent.parent / "static"
SERVER_NAMES = ("127.0.0.1", "localhost")
# A name nginx's server_name takes as one: a host name (with a leading "*." or "." wildcard), an
# IPv4 or a bracketed IPv6 address; nothing that could end the directive.
_SERVER_NAME = re.compile(r"(\*\.|\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\]")

STATIC = """\
        # Static files from disk (app/static_files.py names them). A hashed name
        # ("css/portal.3f2a9c1b7d4e.css": the first 12 hex digits of its content's
        # SHA-256) is served from its own copy in @HASHED_ROOT@, made from the very
        # bytes that carry that digest (nginx_conf.py builds the copies), cached for
        # a year and never revalidated; old copies stay for the pages of an earlier
        # release. A hashed name without a copy here (a release's files not yet on
        # this machine, a made-up digest) goes to a node, which caches it for good
        # only when its own file has that digest. A plain name: briefly, then
        # revalidated (ETag, Last-Modified).
        location ~ "^/static/.+\\.[0-9a-f]{@HASH_LEN@}(\\.[A-Za-z0-9]+)?$" {
            root @HASHED_ROOT@;
            try_files $uri @portal;
            add_header Cache-Control "public, max-age=31536000, immutable";
            add_header X-Content-Type-Options nosniff;
        }
        location @portal {
            proxy_pass http://portal;
        }
        location /static/ {
            alias @STATIC_ROOT@/;
            add_header Cache-Control "public, max-age=600";
            add_header X-Content-Type-Options nosniff;
        }
        location = /favicon.ico {
            alias @STATIC_ROOT@/favicon.ico;
            add_header Cache-Control "public, max-age=86400";
        }"""


def build_hashed_static(static_root: str | Path = STATIC_ROOT, hashed_root: str | Path = "hashed") -> int:
    """Copy every static file to hashed_root/static/<its hashed name>, as url_for names it; the number added.

    The digests are the portal's own (app/static_files.py), computed on the copies themselves, so
    a copy always holds the bytes its name promises, whatever happens to static/ meanwhile.
    Copies already there are kept: an earlier release's pages still find their files.
    """
    out = Path(hashed_root) / "static"
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=hashed_root, prefix=".staging-"))
    added = 0
    try:
        files = staging / "static"
        shutil.copytree(static_root, files, ignore=shutil.ignore_patterns(".*"))
        digests = StaticDigests(files)
        for name in digests.names():
            target = out / hashed_name(name, digests.digest(name))
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                (files / name).chmod(0o644)
                os.replace(files / name, target)
                added += 1
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for folder in [Path(hashed_root), *(path for path in out.rglob("*") if path.is_dir())]:
        folder.chmod(0o755)  # nginx's workers read them, whatever the umask
    return added


def render(
    nodes: list[str],
    listen: str,
    prefix: str,
    static_root: str | Path = STATIC_ROOT,
    body_mb: int = 61,
    user: str | None = None,
    hash_len: int = DIGEST_LENGTH,
    server_names: Sequence[str] = SERVER_NAMES,
    hashed_root: str | Path | None = None,
    voice_nodes: Sequence[str] = (),
) -> str:
    """The nginx configuration for these node addresses ("127.0.0.1:5101"), listening on listen,
    answering the host names server_names (any other Host is refused), serving hashed static
    names from the copies in hashed_root (default <prefix>/hashed; build_hashed_static).
    Voices go to voice_nodes (the web nodes as backup), or to the web nodes when there are none."""
    if not nodes:
        raise ValueError("at least one web node")
    if not server_names or not all(_SERVER_NAME.fullmatch(name) for name in server_names):
        raise ValueError(f"server names must be host names or addresses: {list(server_names)!r}")
    upstreams = "\n".join(f"        server {node} max_fails=1 fail_timeout=5s;" for node in nodes)
    voice_upstreams = "\n".join(
        [f"        server {node} max_fails=1 fail_timeout=5s;" for node in voice_nodes]
        + [f"        server {node}{' backup' if voice_nodes else ''};" for node in nodes]
    )
    values = {
        "USER": f"user {user};" if user else "",
        "PREFIX": str(prefix),
        "LISTEN": listen,
        "BODY_MB": str(body_mb),
        "SERVER_NAME": " ".join(server_names),
        "UPSTREAMS": upstreams,
        "VOICE_UPSTREAMS": voice_upstreams,
        "STATIC": STATIC,
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    text = text.replace("@STATIC_ROOT@", str(Path(static_root).resolve())).replace("@HASH_LEN@", str(hash_len))
    text = text.replace("@HASHED_ROOT@", str(Path(hashed_root or Path(prefix) / "hashed").resolve()))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise ValueError(f"unfilled placeholders: {left}")
    return text


def default_user() -> str | None:
    """As root, nginx's workers run as Debian's www-data; otherwise as whoever runs it."""
    if os.getuid() != 0:
        return None
    try:
        pwd.getpwnam("www-data")
    except KeyError:
        return "nobody"
    return "www-data"


PRIVATE = ("logs", "temp", "temp/body", "temp/proxy", "temp/fastcgi", "temp/uwsgi", "temp/scgi")
LOGS = ("logs/access.log", "logs/error.log")


def prepare_prefix(prefix: Path, user: str | None) -> None:
    """Create the folders nginx writes to, private to it: owned by its worker user, 0700; its logs 0600.

    The error log names the paths of failed requests (tracking codes among them) and the temporary
    files hold uploads being buffered: no other user may read them. nginx's master (root) opens
    the logs; the workers, as the worker user, reopen them on `nginx -s reopen`.
    """
    for sub in PRIVATE:
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    for name in LOGS:
        (prefix / name).touch()
    entry = pwd.getpwnam(user) if user else None
    for name in PRIVATE + LOGS:
        path = prefix / name
        if entry:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        path.chmod(0o600 if name in LOGS else 0o700)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node", action="append", required=True, help="a web node, host:port (repeat)")
    parser.add_argument(
        "--voice-node", action="append", default=[], help="a node of the voice pool, host:port (repeat; optional)"
    )
    parser.add_argument("--listen", default="127.0.0.1:8080")
    parser.add_argument(
        "--server-name",
        default=" ".join(SERVER_NAMES),
        help="the host names it answers, space-separated; any other Host is refused (default: %(default)s)",
    )
    parser.add_argument("--prefix", required=True, help="nginx's own folder (pid, logs, temporary files)")
    parser.add_argument("--static-root", default=str(STATIC_ROOT))
    parser.add_argument(
        "--hashed-static",
        help="where the copies under hashed names go (default <prefix>/hashed); run again after a deploy of static/",
    )
    parser.add_argument("--max-upload-mb", type=int, default=60, help="the portal's MAX_UPLOAD_MB")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    prefix = Path(args.prefix).resolve()
    user = default_user()
    prepare_prefix(prefix, user)
    names = args.server_name.split()
    hashed = Path(args.hashed_static or prefix / "hashed").resolve()
    build_hashed_static(args.static_root, hashed)
    text = render(
        args.node,
        args.listen,
        str(prefix),
        args.static_root,
        args.max_upload_mb + 1,
        user,
        server_names=names,
        hashed_root=hashed,
        voice_nodes=args.voice_node,
    )
    Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

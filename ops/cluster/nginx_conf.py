"""Render ops/cluster/nginx.conf.in for a set of web nodes: `python ops/cluster/nginx_conf.py --help`.

Used by `make cluster` and by the tests (which check the result with `nginx -t`
and run it in front of the portal).
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "nginx.conf.in"
STATIC_ROOT = HERE.parent.parent / "static"
SERVER_NAMES = ("127.0.0.1", "localhost")
# A name nginx's server_name takes as one: a host name (with a leading "*." or "." wildcard), an
# IPv4 or a bracketed IPv6 address; nothing that could end the directive.
_SERVER_NAME = re.compile(r"(\*\.|\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\]")

STATIC = """\
        # Static files straight from disk (app/static_files.py names them). A name
        # carrying the first 12 hex digits of its content's SHA-256
        # ("css/portal.3f2a9c1b7d4e.css") is the plain file, cached for a year and
        # never revalidated; a plain name briefly, then revalidated (ETag,
        # Last-Modified). nginx does not check the digest: only a page of an
        # earlier release can ask for an old one.
        location ~ "^/static/(?<asset>.+)\\.[0-9a-f]{@HASH_LEN@}(?<ext>\\.[A-Za-z0-9]+)?$" {
            alias @STATIC_ROOT@/$asset$ext;
            add_header Cache-Control "public, max-age=31536000, immutable";
            add_header X-Content-Type-Options nosniff;
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


def render(
    nodes: list[str],
    listen: str,
    prefix: str,
    static_root: str | Path = STATIC_ROOT,
    body_mb: int = 61,
    user: str | None = None,
    hash_len: int = 12,
    server_names: Sequence[str] = SERVER_NAMES,
) -> str:
    """The nginx configuration for these node addresses ("127.0.0.1:5101"), listening on listen,
    answering the host names server_names (any other Host is refused)."""
    if not nodes:
        raise ValueError("at least one web node")
    if not server_names or not all(_SERVER_NAME.fullmatch(name) for name in server_names):
        raise ValueError(f"server names must be host names or addresses: {list(server_names)!r}")
    upstreams = "\n".join(f"        server {node} max_fails=1 fail_timeout=5s;" for node in nodes)
    values = {
        "USER": f"user {user};" if user else "",
        "PREFIX": str(prefix),
        "LISTEN": listen,
        "BODY_MB": str(body_mb),
        "SERVER_NAME": " ".join(server_names),
        "UPSTREAMS": upstreams,
        "STATIC": STATIC,
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    text = text.replace("@STATIC_ROOT@", str(Path(static_root).resolve())).replace("@HASH_LEN@", str(hash_len))
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
    parser.add_argument("--listen", default="127.0.0.1:8080")
    parser.add_argument(
        "--server-name",
        default=" ".join(SERVER_NAMES),
        help="the host names it answers, space-separated; any other Host is refused (default: %(default)s)",
    )
    parser.add_argument("--prefix", required=True, help="nginx's own folder (pid, logs, temporary files)")
    parser.add_argument("--static-root", default=str(STATIC_ROOT))
    parser.add_argument("--max-upload-mb", type=int, default=60, help="the portal's MAX_UPLOAD_MB")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    prefix = Path(args.prefix).resolve()
    user = default_user()
    prepare_prefix(prefix, user)
    names = args.server_name.split()
    text = render(
        args.node, args.listen, str(prefix), args.static_root, args.max_upload_mb + 1, user, server_names=names
    )
    Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

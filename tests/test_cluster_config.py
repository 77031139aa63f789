"""nginx in front of the portal (ops/cluster, `make cluster`): Debian's nginx accepts the configuration,
and a real nginx in front of a served portal passes each citizen's own address (limits count per
citizen; an X-Forwarded-For a citizen sends changes nothing), compresses pages and serves static files
from disk with their caching."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import port_for
import pytest
import requests
from requests.adapters import HTTPAdapter

from app import create_app
from app.redis_conn import redis
from app.storage import from_url
from tests.factories import petition_fields
from tests.seaweedfs import SeaweedFS, _die_with_parent, assert_closed_to_anyone_without_its_keys

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "ops" / "cluster"))
import nginx_conf  # noqa: E402  (ops/cluster/nginx_conf.py, the renderer `make cluster` uses)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_prefix() -> Path:
    """A folder nginx's workers (www-data, when run as root) can reach."""
    base = Path(tempfile.mkdtemp(prefix="cmts-test-nginx-"))
    base.chmod(0o755)
    return base


def write_config(prefix: Path, nodes: list[str], listen: str, static_root: Path = ROOT / "static") -> Path:
    """nginx's configuration for these nodes, as `make cluster` renders it (with the copies under hashed names)."""
    user = nginx_conf.default_user()
    nginx_conf.prepare_prefix(prefix, user)
    nginx_conf.build_hashed_static(static_root, prefix / "hashed")
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf.render(nodes, listen, str(prefix), static_root, user=user), encoding="utf-8")
    return conf


def test_nginx_accepts_the_cluster_configuration():
    prefix = nginx_prefix()
    try:
        conf = write_config(prefix, ["127.0.0.1:5101", "127.0.0.1:5102", "127.0.0.1:5103"], "127.0.0.1:8080")
        result = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "syntax is ok" in result.stderr
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def test_with_every_node_down_nginx_says_so_in_vietnamese_and_english():
    prefix = nginx_prefix()
    port, dead = port_for.select_random(), port_for.select_random()
    conf = write_config(prefix, [f"127.0.0.1:{dead}"], f"127.0.0.1:{port}")
    nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        response = wait_for(f"http://127.0.0.1:{port}/petitions/new", nginx)
        assert response.status_code == 502
        assert response.headers["Content-Type"].startswith("text/html")
        assert "Hệ thống đang tạm thời gián đoạn" in response.text and "briefly unavailable" in response.text
    finally:
        nginx.terminate()
        nginx.wait(10)
        shutil.rmtree(prefix, ignore_errors=True)


def test_nginxs_error_log_which_names_a_failed_status_pages_path_is_unreadable_to_other_users():
    prefix = nginx_prefix()
    port, dead = port_for.select_random(), port_for.select_random()
    conf = write_config(prefix, [f"127.0.0.1:{dead}"], f"127.0.0.1:{port}")
    nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", nginx)
        assert requests.get(f"http://127.0.0.1:{port}/petitions/RRY-VC7-7PX", timeout=10).status_code == 502
    finally:
        nginx.terminate()
        nginx.wait(10)
    try:
        log = prefix / "logs" / "error.log"
        assert "RRY-VC7-7PX" in log.read_text()  # nginx writes the request line of an upstream failure
        assert (prefix / "logs").stat().st_mode & 0o777 == 0o700
        for name in ("error.log", "access.log"):
            assert (prefix / "logs" / name).stat().st_mode & 0o777 == 0o600
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "cat", str(log)]
        other_user = subprocess.run(as_nobody, capture_output=True, text=True)
        assert other_user.returncode != 0 and "RRY-VC7-7PX" not in other_user.stdout
        assert "Permission denied" in other_user.stderr
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def wait_for(url: str, nginx: subprocess.Popen) -> requests.Response:
    """The first answer of a freshly started nginx."""
    for _ in range(100):
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            if nginx.poll() is not None:
                pytest.fail(f"nginx did not start: {nginx.stderr.read().decode()}")
            time.sleep(0.05)
    pytest.fail("nginx did not answer")


def named_server(name: str):
    """A node that answers every request with its own name (and the method and path it got)."""
    from werkzeug.serving import make_server

    def answer(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{name} {environ['REQUEST_METHOD']} {environ['PATH_INFO']}".encode()]

    server = make_server("127.0.0.1", 0, answer, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_voices_go_to_the_voice_pool_and_to_the_web_nodes_while_it_is_down():
    web, voices = named_server("web"), named_server("voices")
    prefix = nginx_prefix()
    port = port_for.select_random()
    user = nginx_conf.default_user()
    nginx_conf.prepare_prefix(prefix, user)
    nginx_conf.build_hashed_static(ROOT / "static", prefix / "hashed")
    conf = prefix / "nginx.conf"
    text = nginx_conf.render(
        [f"127.0.0.1:{web.server_port}"],
        f"127.0.0.1:{port}",
        str(prefix),
        user=user,
        voice_nodes=[f"127.0.0.1:{voices.server_port}"],
    )
    conf.write_text(text, encoding="utf-8")
    nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/healthz", nginx)
        voice = f"{url}/p/0123456789abcdef/support"
        assert requests.post(voice, timeout=10).text == "voices POST /p/0123456789abcdef/support"
        # everything else, the petition's own page and the form among them, stays on the web nodes
        for path in ("/p/0123456789abcdef", "/p/0123456789abcdef/support/x", "/petitions", "/api/v1/locate"):
            assert requests.post(f"{url}{path}", timeout=10).text.startswith("web "), path
        voices.shutdown()
        voices.server_close()
        assert requests.post(voice, timeout=10).text == "web POST /p/0123456789abcdef/support"
    finally:
        nginx.terminate()
        nginx.wait(10)
        web.shutdown()
        shutil.rmtree(prefix, ignore_errors=True)


class FromAddress(HTTPAdapter):
    """Connections from one loopback address: a citizen of its own."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(connections, maxsize, block, **kwargs)


def citizen(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


@pytest.fixture(scope="module")
def behind_nginx(live_server, tmp_path_factory):
    """The portal (TRUST_PROXY_HOPS=1, two petitions a minute per client) served over HTTP, nginx in front."""
    from werkzeug.serving import make_server

    app = create_app(
        {
            "SECRET_KEY": "behind-nginx",
            "SQLALCHEMY_DATABASE_URI": live_server.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": live_server.config["REDIS_URL"].rsplit("/", 1)[0] + "/3",
            "STORAGE_ROOT": str(tmp_path_factory.mktemp("behind-nginx-storage")),
            "TRUST_PROXY_HOPS": 1,
            "SUBMIT_LIMIT": "2 per minute",
            "COMPRESS_RESPONSES": False,  # as behind nginx in production: nginx compresses
        }
    )
    with app.app_context():
        redis().flushdb()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    prefix = nginx_prefix()
    port = port_for.select_random()
    conf = write_config(prefix, [f"127.0.0.1:{server.server_port}"], f"127.0.0.1:{port}")
    nginx = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/healthz", nginx)
    app.config["NGINX_URL"] = url
    yield app
    nginx.terminate()
    nginx.wait(10)
    server.shutdown()
    shutil.rmtree(prefix, ignore_errors=True)


def send_petition(session: requests.Session, url: str, headers: dict | None = None) -> int:
    """Open the form and send it, as a browser does; the status of the answer."""
    html = session.get(f"{url}/petitions/new", timeout=10).text
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html).group(1)
    fields = petition_fields(csrf_token=csrf, idempotency_key=key)
    response = session.post(f"{url}/petitions", data=fields, headers=headers or {}, allow_redirects=False, timeout=10)
    return response.status_code


def test_nginx_passes_each_citizens_own_address_and_a_forged_one_changes_nothing(behind_nginx):
    url = behind_nginx.config["NGINX_URL"]
    first, second = citizen("127.0.0.2"), citizen("127.0.0.3")

    assert [send_petition(first, url) for _ in range(2)] == [303, 303]
    assert send_petition(first, url) == 429  # the first citizen's two a minute are spent
    # Claiming to be someone else does not give him another budget.
    assert send_petition(first, url, {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}) == 429

    # The second citizen behind the same nginx has his own two, even when he claims the first one's address
    # (were that believed, the first citizen's spent budget would refuse him).
    assert send_petition(second, url, {"X-Forwarded-For": "127.0.0.2"}) == 303
    assert send_petition(second, url) == 303
    assert send_petition(second, url) == 429


def test_the_request_id_is_nginxs_never_one_a_client_sends(behind_nginx):
    url = behind_nginx.config["NGINX_URL"]
    response = citizen("127.0.0.5").get(f"{url}/healthz", headers={"X-Request-Id": "chosen-by-the-client"}, timeout=10)
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])  # nginx's $request_id


def test_nginx_refuses_host_names_it_does_not_serve_and_the_portals_links_name_nginx_itself(behind_nginx):
    url = behind_nginx.config["NGINX_URL"]
    port = url.rsplit(":", 1)[1]
    session = citizen("127.0.0.6")
    discovery = f"{url}/open311/v2/discovery.json"  # its endpoint's address is built from the Host

    for forged in ("attacker.example", f"attacker.example:{port}", "127.0.0.1.attacker.example"):
        answer = session.get(discovery, headers={"Host": forged}, timeout=10)
        assert answer.status_code == 421, forged
        assert "X-Request-Id" not in answer.headers and "attacker" not in answer.text  # no node saw it

    for host in ("127.0.0.1", "localhost"):
        answer = session.get(discovery, headers={"Host": f"{host}:{port}"}, timeout=10)
        assert answer.status_code == 200
        assert answer.json()["endpoints"][0]["url"] == f"http://{host}:{port}/open311/v2"
        # A port of the client's choosing after a served name: the links still name nginx's own.
        answer = session.get(discovery, headers={"Host": f"{host}:9999"}, timeout=10)
        assert answer.json()["endpoints"][0]["url"] == f"http://{host}:{port}/open311/v2"


def test_the_nginx_configuration_takes_only_host_names_as_server_names():
    nginx_conf.render(["127.0.0.1:5101"], "127.0.0.1:8080", "/tmp/p", server_names=["portal.example.vn", "10.0.0.5"])
    for bad in (["portal.example.vn; include /etc/shadow"], ["a b"], ["x}"], []):
        with pytest.raises(ValueError, match="server names"):
            nginx_conf.render(["127.0.0.1:5101"], "127.0.0.1:8080", "/tmp/p", server_names=bad)


def test_nginx_compresses_pages_and_serves_static_files_from_disk_with_their_caching(behind_nginx):
    url = behind_nginx.config["NGINX_URL"]
    session = citizen("127.0.0.4")
    page = session.get(f"{url}/", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Encoding"] == "gzip"
    for path in ("/api/v1/areas?parent=46", "/api/v1/boundaries?parent=46"):  # JSON, GeoJSON
        answer = session.get(f"{url}{path}", headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip", path
        assert answer.json()

    hashed = re.search(r'href="(/static/css/portal\.[0-9a-f]{12}\.css)"', page.text).group(1)
    on_disk = (ROOT / "static" / "css" / "portal.css").read_bytes()
    response = session.get(f"{url}{hashed}", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
    raw = response.raw.read()
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Encoding"] == "gzip" and gzip.decompress(raw) == on_disk
    assert "X-Request-Id" not in response.headers  # from disk: the portal never saw the request

    plain = session.get(f"{url}/static/css/portal.css", timeout=10)
    assert plain.status_code == 200 and plain.content == on_disk
    assert plain.headers["Cache-Control"] == "public, max-age=600"
    assert session.get(f"{url}/static/css/nothing-here.css", timeout=10).status_code == 404

    # A digest that is not the file's: never from disk as immutable; a node answers, with the short cache.
    made_up = session.get(f"{url}/static/css/portal.000000000000.css", timeout=10)
    assert made_up.headers["Cache-Control"] != "public, max-age=31536000, immutable"
    assert "X-Request-Id" in made_up.headers  # the portal checked it


def test_a_hashed_static_name_is_immutable_only_with_the_bytes_that_carry_its_digest():
    """static/ changes under nginx (the next release's files): an old name keeps its old bytes, a new
    name is not served from disk until its copy is made, and then without reloading nginx."""
    prefix = nginx_prefix()
    static = prefix / "checkout-static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "portal.css").write_bytes(b"body { color: #123; }\n")
    port, dead = port_for.select_random(), port_for.select_random()
    conf = write_config(prefix, [f"127.0.0.1:{dead}"], f"127.0.0.1:{port}", static_root=static)
    nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.PIPE)

    def address(content: bytes) -> str:  # the digest, computed here, not by the code under test
        return f"http://127.0.0.1:{port}/static/css/portal.{hashlib.sha256(content).hexdigest()[:12]}.css"

    try:
        old = address(b"body { color: #123; }\n")
        first = wait_for(old, nginx)
        assert first.status_code == 200 and first.content == b"body { color: #123; }\n"
        assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"

        (static / "css" / "portal.css").write_bytes(b"body { color: #456; }\n")  # static/ of the next release
        again = requests.get(old, timeout=10)
        assert again.status_code == 200 and again.content == b"body { color: #123; }\n"  # the old page's file
        new = address(b"body { color: #456; }\n")
        not_yet = requests.get(new, timeout=10)  # no copy yet: to a node (none is up here), never from disk
        assert not_yet.status_code == 502 and "immutable" not in not_yet.headers.get("Cache-Control", "")

        assert nginx_conf.build_hashed_static(static, prefix / "hashed") == 1  # the deploy makes the new copy
        served = requests.get(new, timeout=10)
        assert served.status_code == 200 and served.content == b"body { color: #456; }\n"
        assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert requests.get(old, timeout=10).content == b"body { color: #123; }\n"
        plain = requests.get(f"http://127.0.0.1:{port}/static/css/portal.css", timeout=10)
        assert plain.content == b"body { color: #456; }\n" and plain.headers["Cache-Control"] == "public, max-age=600"
    finally:
        nginx.terminate()
        nginx.wait(10)
        shutil.rmtree(prefix, ignore_errors=True)


class ClusterObjectStore(SeaweedFS):
    """ops/cluster/s3.sh, the object store of `make cluster`, started as supervisord starts it, on free ports."""

    def start(self, timeout: float = 60.0) -> ClusterObjectStore:
        ports = {}
        while not ports or not all(port_for.is_available(port) for port in ports.values()):
            base = random.randrange(20000, 50000)  # the S3 port; +1 master, +2 volume, +3 filer, gRPC +10000
            for offset, name in enumerate(("s3", "master", "volume", "filer")):
                ports[name], ports[f"{name}_grpc"] = base + offset, base + offset + 10000
        self.ports, self.port = ports, ports["s3"]
        self.instance = self.dir / "instance"
        (self.instance / "s3").mkdir(parents=True)
        self.write_identities(self.instance / "s3" / "identities.json")  # as ops/cluster.sh makes it
        self.config = self.instance / "s3" / "config"
        env = {**os.environ, "INSTANCE": str(self.instance), "SOCKDIR": str(self.dir), "CLUSTER_S3_PORT": str(base)}
        log = (self.dir / "weed.log").open("wb")
        self.process = subprocess.Popen(
            [str(ROOT / "ops" / "cluster" / "s3.sh")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self._wait_ready(timeout)
        return self


def test_the_clusters_object_store_answers_s3_with_its_keys_and_nothing_else_without_them():
    store_server = ClusterObjectStore("portal-cluster", "cluster-secret-" + os.urandom(8).hex()).start()
    try:
        s3_folder = store_server.instance / "s3"
        assert s3_folder.stat().st_mode & 0o777 == 0o700  # its data files hold the photos as they are
        assert (store_server.config / "security.toml").stat().st_mode & 0o777 == 0o600
        assert (store_server.config / "tls" / "weed.key").stat().st_mode & 0o777 == 0o600
        assert not (store_server.config / "tls" / "ca.key").exists()  # nobody can sign another certificate

        store_server.client().create_bucket(Bucket="portal")
        endpoint = store_server.endpoint
        store = from_url(f"s3://portal?endpoint={endpoint}", store_server.access_key, store_server.secret_key)
        photo = b"a citizen's photo, GPS tags and all " + os.urandom(16)
        store.put("incoming/abc.bin", photo)
        assert store.get("incoming/abc.bin") == photo

        assert_closed_to_anyone_without_its_keys(store_server, "portal", "incoming/abc.bin", photo)
        assert store.get("incoming/abc.bin") == photo
    finally:
        store_server.stop()

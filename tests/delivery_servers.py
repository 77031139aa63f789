"""Real servers the notices are delivered to: an SMTP server (aiosmtpd) that
requires STARTTLS and a login, and an HTTP server that speaks the SMS
gateway's and Zalo's notification APIs, and can be told to fail."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

SMTP_USER, SMTP_PASSWORD = "portal", "mat-khau-thu"
SMS_KEY, ZALO_TOKEN, OPEN311_KEY = "khoa-sms-thu", "zalo-token-thu", "khoa-open311-cua-so"
ZALO_TEMPLATES = {"received": "301122", "answered": "301123"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """What the SMTP server received, and the addresses it refuses (550)."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.raw: list[bytes] = []  # as received, byte for byte
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refused: set[str] = set()
        self.tls_sessions = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return f"550 5.1.1 <{address}>: No such mailbox"  # as servers do, the address echoed
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if session.ssl is not None:
            self.tls_sessions += 1
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        self.raw.append(envelope.original_content)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory) -> Path:
    """A self-signed certificate for 127.0.0.1 (the portal trusts it through SMTP_CA_FILE)."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return folder


@pytest.fixture
def smtp_server(smtp_certificate):
    """An SMTP server on 127.0.0.1 that offers STARTTLS and takes mail only after it and a login."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(smtp_certificate / "cert.pem", smtp_certificate / "key.pem")

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself

    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    mailbox.url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{port}"
    mailbox.ca_file = str(smtp_certificate / "cert.pem")
    yield mailbox
    controller.stop()


class Gateway:
    """Requests received, and how to answer the next ones: ok, 503, slow, garbage or refuse.

    Besides the SMS and Zalo APIs it speaks an agency's Open311 GeoReport v2
    (/open311/requests.json, /open311/requests/<id>.json: its answer is
    `agency_request`) and receives webhooks (/hook).
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.mode = "ok"
        self.slow_s = 2.0
        self.agency_request = {"status": "open", "status_notes": None}


def _handler(gateway: Gateway):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.server_gateway_record(body)
            mode = gateway.mode
            if mode == "slow":
                time.sleep(gateway.slow_s)
            if mode == "503":
                return self._answer(503, b"Service Unavailable", "text/plain")
            if mode == "garbage":
                return self._answer(200, b"<html><body>Maintenance</body></html>", "text/html")
            if self.path == "/hook":
                return self._answer(410 if mode == "refuse" else 204, b"", "text/plain")
            if self.path == "/open311/requests.json":
                form = parse_qs(gateway.requests[-1]["raw"].decode())
                if form.get("api_key") != [OPEN311_KEY]:
                    return self._json(403, [{"code": 403, "description": "Invalid api_key"}])
                return self._json(201, [{"service_request_id": "HUE-2026-0042", "service_notice": ""}])
            if self.path == "/sms":
                if self.headers.get("Authorization") != f"Bearer {SMS_KEY}":
                    return self._json(401, {"code": 401, "description": "bad key"})
                if mode == "refuse":  # the message echoed back, as some gateways do
                    sent = gateway.requests[-1]["json"]
                    return self._json(200, {"code": 7, "description": f"Số điện thoại không hợp lệ: {sent}"})
                return self._json(200, {"code": 0, "message_id": f"sms-{len(gateway.requests)}"})
            if self.path == "/zns/message/template":
                if self.headers.get("access_token") != ZALO_TOKEN:
                    return self._json(200, {"error": -124, "message": "Access token is invalid"})
                if mode == "refuse":
                    return self._json(200, {"error": -118, "message": "Zalo account not existed"})
                return self._json(200, {"error": 0, "message": "Success", "data": {"msg_id": "zns-1"}})
            return self._answer(404, b"not found", "text/plain")

        def do_GET(self):
            self.server_gateway_record(b"")
            path, _, query = self.path.partition("?")
            if path == "/open311/requests/HUE-2026-0042.json" and "api_key" not in parse_qs(query):  # never in a URL
                return self._json(200, [{"service_request_id": "HUE-2026-0042", **gateway.agency_request}])
            return self._json(404, [{"code": 404, "description": "not found"}])

        def server_gateway_record(self, body: bytes) -> None:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            gateway.requests.append({"path": self.path, "headers": dict(self.headers), "json": parsed, "raw": body})

        def _json(self, status: int, answer: dict):
            self._answer(status, json.dumps(answer, ensure_ascii=False).encode(), "application/json")

        def _answer(self, status: int, body: bytes, content_type: str):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def gateway():
    """One HTTP server that speaks the SMS gateway's API (/sms) and Zalo's ZNS template API."""
    state = Gateway()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    state.sms_url, state.zalo_url = f"{base}/sms", f"{base}/zns/message/template"
    state.open311_url, state.hook_url = f"{base}/open311", f"{base}/hook"
    yield state
    server.shutdown()
    server.server_close()

"""Real alert sinks on loopback for the tests: a small SMTP server (EHLO, STARTTLS, AUTH PLAIN/LOGIN, MAIL,
RCPT, DATA) and an HTTP server that records JSON POSTs. Both run in a background thread."""

from __future__ import annotations

import base64
import json
import socketserver
import ssl
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _SmtpHandler(socketserver.StreamRequestHandler):
    sink: "SmtpSink"

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def read(self) -> str:
        return self.rfile.readline(65536).decode("utf-8", "replace").rstrip("\r\n")

    def handle(self):
        sink = self.sink
        if sink.refuse:
            self.reply("554 go away")
            return
        self.reply("220 sink ESMTP")
        mail_from, rcpt, auth, tls = None, [], None, isinstance(self.request, ssl.SSLSocket)
        while True:
            line = self.read()
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                caps = ["250-sink", "250-AUTH PLAIN LOGIN"]
                if sink.tls_context and not tls:
                    caps.append("250-STARTTLS")
                self.reply("\r\n".join(caps + ["250 8BITMIME"]))
            elif verb == "STARTTLS" and sink.tls_context and not tls:
                self.reply("220 go ahead")
                self.request = sink.tls_context.wrap_socket(self.request, server_side=True)
                self.rfile, self.wfile = self.request.makefile("rb"), self.request.makefile("wb")
                tls = True
            elif verb == "AUTH":
                mech, _, initial = arg.partition(" ")
                if mech.upper() == "PLAIN":
                    if not initial:
                        self.reply("334 ")
                        initial = self.read()
                    _, user, password = base64.b64decode(initial).decode().split("\0")
                else:
                    self.reply("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self.read()).decode()
                    self.reply("334 UGFzc3dvcmQ6")
                    password = base64.b64decode(self.read()).decode()
                if sink.credentials and (user, password) != sink.credentials:
                    self.reply("535 authentication failed")
                    continue
                auth = (user, password)
                self.reply("235 ok")
            elif verb == "MAIL":
                if sink.credentials and not auth:
                    self.reply("530 authentication required")
                    continue
                mail_from, rcpt = arg.split(":", 1)[1].strip().strip("<>").split(">")[0], []
                self.reply("250 ok")
            elif verb == "RCPT":
                rcpt.append(arg.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 end with .")
                lines = []
                while True:
                    raw = self.rfile.readline(1 << 20)
                    if raw in (b".\r\n", b".\n", b""):
                        break
                    lines.append(raw[1:] if raw.startswith(b"..") else raw)
                data = b"".join(lines)
                with sink.lock:
                    sink.messages.append({"from": mail_from, "to": rcpt, "auth": auth, "tls": tls, "raw": data,
                                          "message": message_from_bytes(data, policy=policy.default)})
                self.reply("250 queued")
            elif verb == "RSET":
                mail_from, rcpt = None, []
                self.reply("250 ok")
            elif verb == "NOOP":
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            elif not verb:
                return
            else:
                self.reply("502 not implemented")


class _ThreadingTCP(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _ServedSink:
    """A server on a loopback port, served by a thread between ``with`` and its end (``server``, ``thread``)."""

    server: socketserver.BaseServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class SmtpSink(_ServedSink):
    """``with SmtpSink(credentials=("u", "p")) as smtp: smtp.port, smtp.messages``."""

    def __init__(self, credentials: tuple[str, str] | None = None, tls_context: ssl.SSLContext | None = None,
                 implicit_tls: bool = False):
        """``tls_context``: offer STARTTLS with it, or with ``implicit_tls`` speak TLS from the first byte."""
        self.credentials, self.refuse = credentials, False
        self.tls_context = None if implicit_tls else tls_context
        self.messages: list[dict] = []
        self.lock = threading.Lock()
        self.server = _ThreadingTCP(("127.0.0.1", 0), type("H", (_SmtpHandler,), {"sink": self}))
        if implicit_tls:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)


class _HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = -1
    sink: "HttpSink"

    def log_message(self, *args):
        pass

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.sink.lock:
            self.sink.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                       "raw": raw, "json": json.loads(raw or b"null")})
            status = self.sink.status
        body = b'{"ok": true}' if status < 300 else b"no thanks"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True


class HttpSink(_ServedSink):
    """``with HttpSink() as web: web.url, web.requests``; ``web.status`` is what it answers."""

    def __init__(self, status: int = 200):
        self.status = status
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.server = _HttpServer(("127.0.0.1", 0), type("H", (_HttpHandler,), {"sink": self}))
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)


def free_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed_tls(directory) -> tuple[ssl.SSLContext, str]:
    """(server context, CA file) for a certificate of 127.0.0.1 signed by itself."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, str(cert_file)

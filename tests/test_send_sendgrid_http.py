"""SendGrid's transport: one kept-alive connection, a closed one reopened, TLS certificates checked, a CONNECT proxy."""

from __future__ import annotations

import base64
import socket
import ssl
import threading
from collections import Counter

import pytest

from sendgrid_server import API_KEY, SendGridServer
from test_send import configure, ledger_counts, populate, sendgrid  # noqa: F401 — sendgrid is a fixture

pytestmark = pytest.mark.stores

SEND = ("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")


def test_one_connection_carries_every_request(run, workspace, sendgrid):  # noqa: F811
    """3,000 readers go out in three requests over one kept-alive connection."""
    configure(workspace)
    addresses = populate(workspace, 3000)
    result = run(*SEND)
    assert result.exit_code == 0, result.output
    assert Counter(sendgrid.record.recipients()) == Counter(addresses)
    assert (sendgrid.record.accepted_requests, sendgrid.record.connections) == (3, 1)


def test_a_connection_the_server_closed_is_opened_again(run, workspace, sendgrid):  # noqa: F811
    """A kept-alive connection the server closed while idle is replaced before the next request: no failed
    request, no retry, no warning about possible second copies; every reader once."""
    configure(workspace)
    addresses = populate(workspace, 3000)
    sendgrid.close_after_answer = True
    result = run(*SEND)
    assert result.exit_code == 0, result.output
    assert Counter(sendgrid.record.recipients()) == Counter(addresses)
    assert (sendgrid.record.requests, sendgrid.record.connections) == (3, 3)
    assert "0 retries" in result.stdout and "Retry" not in result.output and "no answer" not in result.output


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for the address 127.0.0.1 (not for the name localhost) and its key, as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "local SendGrid")])
    now = datetime.datetime.now(datetime.UTC)
    identifier = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(identifier, critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(identifier),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def sendgrid_tls(monkeypatch, certificate):
    """The local SendGrid server behind TLS with the self-signed certificate, and the environment pointing at it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = SendGridServer()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.start()
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    monkeypatch.setenv("SENDGRID_API_HOST", f"https://127.0.0.1:{server.server_address[1]}")
    yield server
    server.shutdown()


def test_the_certificate_is_checked(run, workspace, sendgrid_tls, certificate, monkeypatch):
    """Over https an untrusted certificate, or one for another name, stops the send at once (exit 1, nothing
    recorded as sent, no retries); once the system trusts it (SSL_CERT_FILE), the same send goes through."""
    configure(workspace)
    addresses = populate(workspace, 30)
    untrusted = run(*SEND)
    assert untrusted.exit_code == 1, untrusted.output
    assert "the SendGrid API host's certificate is not valid (self" in untrusted.stderr  # self-signed (OpenSSL 1/3)
    assert "Retry" not in untrusted.output and "Traceback" not in untrusted.output
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.setenv("SENDGRID_API_HOST", f"https://localhost:{sendgrid_tls.server_address[1]}")
    wrong_name = run(*SEND)
    assert wrong_name.exit_code == 1 and "certificate is not valid (Hostname mismatch" in wrong_name.stderr
    assert sendgrid_tls.record.requests == 0
    assert ledger_counts(run)[0]["editions"] == {"en": {"pending": 30}}
    monkeypatch.setenv("SENDGRID_API_HOST", f"https://127.0.0.1:{sendgrid_tls.server_address[1]}")
    trusted = run(*SEND)
    assert trusted.exit_code == 0, trusted.output
    assert Counter(sendgrid_tls.record.recipients()) == Counter(addresses)


class ConnectProxy:
    """A CONNECT-only HTTP proxy on loopback that records each request's head."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.heads: list[str] = []
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    def serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            head = b""
            while b"\r\n\r\n" not in head:
                head += client.recv(4096)
            self.heads.append(head.decode("latin-1"))
            host, port = head.split(b" ")[1].decode().rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def test_a_proxy_from_the_environment_is_used(run, workspace, sendgrid, monkeypatch):  # noqa: F811
    """With http(s)_proxy set, the requests go through a CONNECT tunnel, with the proxy's own credentials."""
    proxy = ConnectProxy()
    try:
        monkeypatch.setenv("http_proxy", f"http://mco:s%40cret@127.0.0.1:{proxy.port}")
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        configure(workspace)
        addresses = populate(workspace, 1500)
        result = run(*SEND)
        assert result.exit_code == 0, result.output
    finally:
        proxy.listener.close()
    assert Counter(sendgrid.record.recipients()) == Counter(addresses)
    [head] = proxy.heads  # both requests went through the one tunnel
    assert head.startswith(f"CONNECT 127.0.0.1:{sendgrid.server_address[1]} HTTP/1.")
    assert f"Proxy-Authorization: Basic {base64.b64encode(b'mco:s@cret').decode()}" in head
    assert "s%40cret" not in result.output and "cret" not in result.output

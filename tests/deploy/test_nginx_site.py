"""The nginx site that scripts/serve.py writes (deploy/nginx/dmmviz.conf.in) is one nginx accepts, plain and with
TLS, and carries what the layout relies on: websocket upgrade, the workers, the static files, the client address."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .layout import ROOT, SERVE

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def site(*args: str) -> str:
    result = subprocess.run(["python3", str(SERVE), "nginx-site", *args], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    return result.stdout


def nginx_accepts(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "site.conf").write_text(text)
    (tmp_path / "nginx.conf").write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                                         f"http {{\n    include {tmp_path}/site.conf;\n}}\n")
    return subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True)


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dmmviz.example.edu")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_plain_site_is_valid_and_proxies_websockets(tmp_path):
    text = site("--upstream", "127.0.0.1:8001,127.0.0.1:8002,127.0.0.1:8003", "--listen", "8080",
                "--static-root", "/srv/dmmviz/.staticfiles")
    checked = nginx_accepts(tmp_path, text)
    assert checked.returncode == 0, checked.stderr
    assert not re.search(r"@[A-Z_]+@", text)  # every @FIELD@ filled in
    for line in ("server 127.0.0.1:8001 max_fails=0;", "server 127.0.0.1:8003 max_fails=0;",
                 "listen 8080;", "alias /srv/dmmviz/.staticfiles/;", "proxy_set_header Upgrade $http_upgrade;",
                 "proxy_set_header Connection $dmmviz_connection;", "proxy_set_header X-Forwarded-For $remote_addr;",
                 "proxy_set_header Host $http_host;", "least_conn;"):
        assert line in text, line


def test_tls_site_is_valid_and_redirects_plain_http(tmp_path):
    cert, key = self_signed(tmp_path)
    text = site("--upstream", "127.0.0.1:8001", "--listen", "443", "--server-name", "dmmviz.example.edu",
                "--static-root", "/srv/dmmviz/.staticfiles", "--tls-cert", str(cert), "--tls-key", str(key))
    checked = nginx_accepts(tmp_path, text)
    assert checked.returncode == 0, checked.stderr
    assert "listen 443 ssl http2;" in text and f"ssl_certificate {cert};" in text
    assert "return 308 https://$host$request_uri;" in text
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text

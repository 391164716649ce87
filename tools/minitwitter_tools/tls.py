"""https in development: haproxy terminates TLS in front of the service, with a self-signed
certificate made on first use.

Web clients (Elk, Phanpy, a page in a browser test) speak https only. `make run` starts
haproxy on PORT + 443 (6986 by default; HTTPS_PORT overrides, HTTPS_PORT=0 turns it off),
forwarding to the service on 127.0.0.1:PORT with `X-Forwarded-Proto: https` and
`X-Forwarded-Host` (the Host asked), which the service trusts from loopback
(`proxy.trusted`): its absolute URLs then say https://127.0.0.1:6986. The certificate (for
localhost, 127.0.0.1 and ::1, ten years) is made by `openssl` into <var>/tls/ once and kept;
a browser warns about it until it is trusted (or the browser is told to ignore it).
"""

import logging
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

HTTPS_OFFSET = 443

CONFIG = """# Written by minitwitter_tools/tls.py: TLS in front of the development server.
global
    maxconn 1000
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend https
    bind {bind}:{https_port} ssl crt {pem}
    # What the client asked for, for the service's absolute URLs (minitwitter/web/proxy.py).
    http-request set-header X-Forwarded-Proto https
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    # and each client's address, for the per-address limits
    option forwardfor
    default_backend service
backend service
    server service {host}:{port}
"""


def https_port(port, environ):
    """The https port for a service on `port`: HTTPS_PORT, else port + 443; None when off."""
    value = environ.get("HTTPS_PORT", "").strip()
    if value in ("0", "off"):
        return None
    return int(value) if value else int(port) + HTTPS_OFFSET


def certificate(directory):
    """<directory>/dev.pem (certificate and key, as haproxy reads them), made once."""
    directory = Path(directory)
    pem = directory / "dev.pem"
    if pem.exists():
        return pem
    directory.mkdir(parents=True, exist_ok=True)
    crt, key = directory / "dev.crt", directory / "dev.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
            "-keyout", str(key), "-out", str(crt),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    pem.write_bytes(crt.read_bytes() + key.read_bytes())
    pem.chmod(0o600)
    key.unlink()
    log.info("made a self-signed certificate for localhost: %s", crt)
    return pem


def haproxy_command(directory, port, tls_port, host="127.0.0.1", bind="127.0.0.1"):
    """The command that serves https on `tls_port` in front of host:port; None (with a
    warning) when haproxy or openssl is not installed."""
    missing = [tool for tool in ("haproxy", "openssl") if shutil.which(tool) is None]
    if missing:
        log.warning("no https port: %s not installed (apt-get install %s)", " and ".join(missing), " ".join(missing))
        return None
    directory = Path(directory)
    pem = certificate(directory)
    config = directory / f"haproxy-{tls_port}.cfg"
    config.write_text(CONFIG.format(bind=bind, https_port=tls_port, pem=pem.resolve(), host=host, port=port))
    return ["haproxy", "-f", str(config), "-db"]

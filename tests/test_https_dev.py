"""The https port of `make run` (minitwitter_tools/tls.py): haproxy terminates TLS with a
self-signed certificate made once, and the service's absolute URLs say https through it."""

import subprocess

import pytest
import requests
from live_server import https_in_front, serving

from minitwitter_tools import tls


def test_the_https_port_is_port_plus_443_unless_set_or_off():
    assert tls.https_port("6543", {}) == 6986
    assert tls.https_port(7000, {"HTTPS_PORT": "7443"}) == 7443
    assert tls.https_port(6543, {"HTTPS_PORT": "0"}) is None and tls.https_port(6543, {"HTTPS_PORT": "off"}) is None


def test_the_certificate_is_made_once_for_localhost(tmp_path):
    pem = tls.certificate(tmp_path)
    made = pem.read_bytes()
    assert b"BEGIN CERTIFICATE" in made and b"PRIVATE KEY" in made and oct(pem.stat().st_mode)[-3:] == "600"
    assert tls.certificate(tmp_path).read_bytes() == made  # kept: a browser that trusted it keeps trusting it
    text = subprocess.run(
        ["openssl", "x509", "-in", str(tmp_path / "dev.crt"), "-noout", "-text"], capture_output=True, text=True
    ).stdout
    assert "DNS:localhost" in text and "IP Address:127.0.0.1" in text


def test_through_the_https_port_the_urls_say_https(make_app, tmp_path):
    with serving(make_app) as base, https_in_front(base, tmp_path) as (https, certificate):
        metadata = requests.get(f"{https}/.well-known/oauth-authorization-server", verify=certificate, timeout=30)
        assert metadata.status_code == 200
        assert metadata.json()["token_endpoint"] == f"{https}/oauth/token"
        instance = requests.get(f"{https}/api/v1/instance/", verify=certificate, timeout=30).json()
        assert instance["urls"]["streaming_api"] == "wss" + https.removeprefix("https")
        direct = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=30).json()
        assert direct["token_endpoint"] == f"{base}/oauth/token"  # plain http: public_url
        # A client's own X-Forwarded-* through the proxy do not count: haproxy sets them.
        spoofed = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
        again = requests.get(f"{https}/nodeinfo/2.0", headers=spoofed, verify=certificate, timeout=30)
        assert again.status_code == 200
        links = requests.get(f"{https}/.well-known/nodeinfo", headers=spoofed, verify=certificate, timeout=30).json()
        assert links["links"][0]["href"] == f"{https}/nodeinfo/2.0"
        with pytest.raises(requests.exceptions.SSLError):  # self-signed: only with the certificate
            requests.get(f"{https}/api/v1/instance", timeout=30)

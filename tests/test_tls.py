"""TLS without a platform in front: ``serve`` speaks HTTPS with ``tls_cert``/``tls_key``."""

from __future__ import annotations

import ipaddress
import ssl
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.config.settings import ConfigError, load_config
from tests.conftest import GITHUB_SECRET, fixture_bytes, github_headers
from tests.processes import ROOT, BotProcess


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key, as a self-hosted VM might use."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bot test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "bot.crt", folder / "bot.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def write_config(tmp_path: Path, cert: Path, key: Path) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(f"""
[server]
tls_cert = "{cert}"
tls_key = "{key}"
[store]
url = "sqlite:///{tmp_path / "bot.db"}"
[sources.github]
provider = "github"
secret = "{GITHUB_SECRET}"
""")
    return path


@pytest.mark.slow
async def test_serve_answers_https_with_the_configured_certificate(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    trusting = ssl.create_default_context(cafile=str(cert))
    bot = BotProcess(write_config(tmp_path, cert, key), tmp_path / "bot.log", tls=trusting)
    await bot.start()
    try:
        body = fixture_bytes("github/push.json")
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{bot.url}/hooks/github",
                data=body,
                headers=github_headers(body, "push", "tls-1"),
                ssl=trusting,
            ) as response:
                assert response.status == 200
                assert (await response.json())["status"] == "accepted"
            with pytest.raises(aiohttp.ClientError):
                await session.get(f"http://127.0.0.1:{bot.port}/healthz")
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(f"{bot.url}/healthz")  # the system CAs do not know it
        config = str(bot.config)
        untrusted = simulate_cli(config, "--url", bot.url)
        insecure = simulate_cli(config, "--url", bot.url, "--insecure")
        assert untrusted.returncode == 1 and "add --insecure" in untrusted.stderr
        assert insecure.returncode == 0 and "200 accepted" in insecure.stdout
    finally:
        bot.terminate()


def simulate_cli(config: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", config, "simulate", "github", "push", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_with_an_unreadable_certificate_fails_with_one_line(tmp_path):
    path = write_config(tmp_path, tmp_path / "missing.crt", tmp_path / "missing.key")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(path), "serve"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "tls_cert/tls_key cannot be loaded" in result.stderr
    assert "Traceback" not in result.stderr


def test_tls_cert_without_key_is_a_config_error(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text('[server]\ntls_cert = "bot.crt"\n')
    with pytest.raises(ConfigError, match="tls_cert and tls_key go together"):
        load_config(path)

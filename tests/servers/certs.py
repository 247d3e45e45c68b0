"""A throw-away certificate authority and the server certificates the tests need.

Everything is generated at test time (no private key is ever committed) and
written under a temporary directory. Clients are told to trust `TestCA.cafile`.

Certificate variants, by name (see `TestCA.pair`):
- "server":      from the test CA, for localhost, 127.0.0.1, ::1, example.test and
                 *.example.test (the normal case; the DNS zone points at mail.example.test);
- "wrong_host":  from the test CA, but only for wrong.example;
- "expired":     from the test CA for localhost/127.0.0.1/::1, expired a year ago;
- "untrusted":   for localhost/127.0.0.1/::1, issued by another CA the client does not trust;
- "self_signed": for localhost/127.0.0.1/::1, signed by its own key (no CA at all).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOCAL_IDENTITIES = ("localhost", "127.0.0.1", "::1")
TEST_DOMAIN_IDENTITIES = ("example.test", "*.example.test")
WRONG_HOSTNAME = "wrong.example"
VARIANTS = ("server", "wrong_host", "expired", "untrusted", "self_signed")


@dataclass(frozen=True)
class CertPair:
    """PEM files a server loads: `cert` holds the leaf then its chain, `key` the private key."""

    name: str
    cert: Path
    key: Path


class TestCA:
    """The test CA plus the certificate variants, written under `directory`."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._ca = trustme.CA(organization_name="tamago test CA")
        self.cafile = self.directory / "ca.pem"
        self._ca.cert_pem.write_to_path(str(self.cafile))
        self.cafile.chmod(0o644)

        now = dt.datetime.now(dt.timezone.utc)
        self._pairs: dict[str, CertPair] = {}
        self._write_leaf("server", self._ca.issue_cert(*LOCAL_IDENTITIES,
                                                       *TEST_DOMAIN_IDENTITIES))
        self._write_leaf("wrong_host", self._ca.issue_cert(WRONG_HOSTNAME))
        self._write_leaf("expired", self._ca.issue_cert(
            *LOCAL_IDENTITIES, not_before=now - dt.timedelta(days=400),
            not_after=now - dt.timedelta(days=365)))
        other_ca = trustme.CA(organization_name="untrusted test CA")
        self.untrusted_cafile = self.directory / "untrusted-ca.pem"
        other_ca.cert_pem.write_to_path(str(self.untrusted_cafile))
        self._write_leaf("untrusted", other_ca.issue_cert(*LOCAL_IDENTITIES))
        self._write_self_signed("self_signed", now)

    @property
    def server(self) -> CertPair:
        return self._pairs["server"]

    def pair(self, name: str) -> CertPair:
        """The certificate variant `name` (one of VARIANTS)."""
        try:
            return self._pairs[name]
        except KeyError:
            raise ValueError(f"unknown certificate variant {name!r}; pick one of {VARIANTS}") from None

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only the test CA, with hostname checks on."""
        context = ssl.create_default_context(cafile=str(self.cafile))
        assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
        return context

    def server_context(self, name: str = "server") -> ssl.SSLContext:
        pair = self.pair(name)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(pair.cert), str(pair.key))
        return context

    def _paths(self, name: str) -> tuple[Path, Path]:
        return self.directory / f"{name}.pem", self.directory / f"{name}.key"

    def _write_leaf(self, name: str, leaf: trustme.LeafCert) -> None:
        cert_path, key_path = self._paths(name)
        cert_path.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        key_path.write_bytes(leaf.private_key_pem.bytes())
        cert_path.chmod(0o644)
        key_path.chmod(0o600)
        self._pairs[name] = CertPair(name, cert_path, key_path)

    def _write_self_signed(self, name: str, now: dt.datetime) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tamago self-signed")])
        san = x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        cert_path, key_path = self._paths(name)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        cert_path.chmod(0o644)
        key_path.chmod(0o600)
        self._pairs[name] = CertPair(name, cert_path, key_path)

"""A Sigstore instance on loopback: a certificate authority with Fulcio's API, a certificate
transparency log that embeds its SCT in each certificate, and a transparency log with Rekor's
v1 API that returns the inclusion proof, signed checkpoint and signed entry timestamp that
sigstore's client verifies. `trust_config()` names them in a client trust config, the file
sigstore's own `ClientTrustConfig` loads: the action signs and verifies through the same code
as against the public instance; only the trust configuration differs.

Requests are checked as the real services check them (the OIDC token's audience and expiry,
the CSR's proof of possession, the DSSE signature against the submitted certificate), and
refusals carry their bodies: Fulcio `{"code", "message"}`, Rekor `{"code", "message"}`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.loopback import Request, Response, serve

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
_FULCIO_OID = "1.3.6.1.4.1.57264.1."
_SCT_LIST_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
_START = "2020-01-01T00:00:00Z"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key_id(key: ec.EllipticCurvePublicKey) -> bytes:
    return hashlib.sha256(_spki(key)).digest()


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _utf8_der(value: str) -> bytes:
    raw = value.encode()
    return b"\x0c" + _der_length(len(raw)) + raw


def _key_usage(**granted: bool) -> x509.KeyUsage:
    flags = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")  # fmt: skip
    return x509.KeyUsage(**{flag: granted.get(flag, False) for flag in flags})


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if not isinstance(data, dict):
        raise ValueError("no claims")
    return data


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _tree_hash(leaves: list[bytes]) -> bytes:
    """RFC 6962's Merkle tree hash over leaf hashes."""
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return _node_hash(_tree_hash(leaves[:split]), _tree_hash(leaves[split:]))


def _inclusion_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962's audit path for leaf `index`, bottom up."""
    if len(leaves) <= 1:
        return []
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < split:
        return [*_inclusion_path(index, leaves[:split]), _tree_hash(leaves[split:])]
    return [*_inclusion_path(index - split, leaves[split:]), _tree_hash(leaves[:split])]


def _github_extensions(claims: dict[str, Any]) -> list[tuple[str, str]]:
    """Fulcio's certificate extensions for a GitHub Actions token (its OID table)."""
    server = "https://github.com"
    repository = str(claims.get("repository", ""))
    return [
        ("8", str(claims.get("iss", ""))),  # Issuer (V2)
        ("9", f"{server}/{claims.get('job_workflow_ref', '')}"),  # Build Signer URI
        ("10", str(claims.get("job_workflow_sha", claims.get("sha", "")))),
        ("11", str(claims.get("runner_environment", ""))),
        ("12", f"{server}/{repository}"),  # Source Repository URI
        ("13", str(claims.get("sha", ""))),  # Source Repository Digest
        ("14", str(claims.get("ref", ""))),  # Source Repository Ref
        ("15", str(claims.get("repository_id", ""))),
        ("16", f"{server}/{claims.get('repository_owner', '')}"),
        ("17", str(claims.get("repository_owner_id", ""))),
        ("18", f"{server}/{claims.get('workflow_ref', '')}"),  # Build Config URI
        ("19", str(claims.get("sha", ""))),  # Build Config Digest
        ("20", str(claims.get("event_name", ""))),
        (
            "21",
            f"{server}/{repository}/actions/runs/{claims.get('run_id', '')}"
            f"/attempts/{claims.get('run_attempt', '')}",
        ),
    ]


@dataclass
class FakeSigstore:
    url: str = ""
    # Refusals to give, by service ("fulcio", "rekor"): (status, message), used once each.
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)
    latency: float = 0.0  # seconds added to every answer, as a network round trip would
    certificates: list[x509.Certificate] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    _leaves: list[bytes] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP384R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.rekor_key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "loopback.test"),
                x509.NameAttribute(NameOID.COMMON_NAME, "loopback-sigstore"),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key())
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(ski, critical=False)
            .sign(self.ca_key, hashes.SHA384())
        )

    # -- the client trust config --------------------------------------------------------------

    def _log_key(self, base_url: str, key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
        return {
            "baseUrl": base_url,
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": _b64(_spki(key.public_key())),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": _START},
            },
            "logId": {"keyId": _b64(_key_id(key.public_key()))},
        }

    def trust_config(self) -> dict[str, Any]:
        """sigstore's ClientTrustConfig (v0.1): the trusted root and the signing config."""
        service = {"majorApiVersion": 1, "validFor": {"start": _START}, "operator": "loopback"}
        return {
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": {
                "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
                "tlogs": [self._log_key(self.url, self.rekor_key)],
                "certificateAuthorities": [
                    {
                        "subject": {"organization": "loopback.test", "commonName": "loopback"},
                        "uri": self.url,
                        "certChain": {
                            "certificates": [
                                {"rawBytes": _b64(self.ca.public_bytes(serialization.Encoding.DER))}
                            ]
                        },
                        "validFor": {"start": _START},
                    }
                ],
                "ctlogs": [self._log_key(f"{self.url}/ct", self.ct_key)],
                "timestampAuthorities": [],
            },
            "signingConfig": {
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                "caUrls": [{"url": self.url, **service}],
                "oidcUrls": [{"url": f"{self.url}/oauth", **service}],
                "rekorTlogUrls": [{"url": self.url, **service}],
                "tsaUrls": [],
                "rekorTlogConfig": {"selector": "ANY"},
                "tsaConfig": {"selector": "ANY"},
            },
        }

    # -- Fulcio ---------------------------------------------------------------------------

    def _sct_extension(self, precert_tbs: bytes, when: dt.datetime) -> x509.UnrecognizedExtension:
        """RFC 6962's SignedCertificateTimestampList with one precertificate SCT."""
        millis = int(when.timestamp() * 1000)
        issuer_key_hash = _key_id(self.ca_key.public_key())
        signed = (
            struct.pack("!BBQH", 0, 0, millis, 1)  # v1, certificate_timestamp, time, precert
            + issuer_key_hash
            + len(precert_tbs).to_bytes(3, "big")
            + precert_tbs
            + struct.pack("!H", 0)  # no extensions
        )
        signature = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (
            b"\x00"
            + _key_id(self.ct_key.public_key())
            + struct.pack("!QH", millis, 0)
            + bytes([4, 3])
            + struct.pack("!H", len(signature))
            + signature
        )
        sct_list = struct.pack("!H", len(sct) + 2) + struct.pack("!H", len(sct)) + sct
        return x509.UnrecognizedExtension(
            _SCT_LIST_OID, b"\x04" + _der_length(len(sct_list)) + sct_list
        )

    def _issue(
        self, csr: x509.CertificateSigningRequest, claims: dict[str, Any]
    ) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        public_key = csr.public_key()
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.ca.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(minutes=10))
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.UniformResourceIdentifier(
                            f"https://github.com/{claims['job_workflow_ref']}"
                        )
                    ]
                ),
                critical=True,
            )
        )
        for suffix, value in _github_extensions(claims):
            oid = x509.ObjectIdentifier(_FULCIO_OID + suffix)
            builder = builder.add_extension(
                x509.UnrecognizedExtension(oid, _utf8_der(value)), critical=False
            )
        # The SCT signs the certificate as it is without the SCT: issue that first.
        precert = builder.sign(self.ca_key, hashes.SHA384())
        sct = self._sct_extension(precert.tbs_certificate_bytes, now)
        return builder.add_extension(sct, critical=False).sign(self.ca_key, hashes.SHA384())

    def _fulcio(self, request: Request) -> Response:
        if refusal := self.refuse.pop("fulcio", None):
            return Response.json(refusal[0], {"code": refusal[0], "message": refusal[1]})
        auth = request.headers.get("authorization", "")
        try:
            claims = _claims(auth.removeprefix("Bearer "))
        except (ValueError, IndexError):
            return Response.json(
                401, {"code": 16, "message": "There was an error processing the identity token"}
            )
        if claims.get("aud") != "sigstore" or int(claims.get("exp", 0)) < time.time():
            return Response.json(
                401, {"code": 16, "message": "There was an error processing the identity token"}
            )
        if claims.get("iss") != GITHUB_ISSUER or "job_workflow_ref" not in claims:
            return Response.json(400, {"code": 3, "message": "unsupported issuer"})
        try:
            pem = base64.b64decode(request.json()["certificateSigningRequest"])
            csr = x509.load_pem_x509_csr(pem)
        except (ValueError, KeyError, TypeError):
            return Response.json(400, {"code": 3, "message": "There was an error parsing the CSR"})
        if not csr.is_signature_valid:
            return Response.json(
                400,
                {
                    "code": 3,
                    "message": "The signature supplied in the request could not be verified",
                },
            )
        cert = self._issue(csr, claims)
        with self._lock:
            self.certificates.append(cert)
        chain = [c.public_bytes(serialization.Encoding.PEM).decode() for c in (cert, self.ca)]
        return Response.json(
            201, {"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}}
        )

    # -- Rekor ----------------------------------------------------------------------------

    def _checkpoint(self, size: int, root: bytes) -> str:
        origin = "loopback-rekor - 1"
        note = f"{origin}\n{size}\n{_b64(root)}\n"
        signature = self.rekor_key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        key_hint = _key_id(self.rekor_key.public_key())[:4]
        return f"{note}\n\u2014 {origin.split()[0]} {_b64(key_hint + signature)}\n"

    def _dsse_body(self, proposed: dict[str, Any]) -> dict[str, Any]:
        """What Rekor stores for a proposed dsse entry, after checking its signature."""
        content = proposed["spec"]["proposedContent"]
        envelope = json.loads(content["envelope"])
        pem = base64.b64decode(content["verifiers"][0])
        key = x509.load_pem_x509_certificate(pem).public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        payload = base64.b64decode(envelope["payload"])
        kind = envelope["payloadType"].encode()
        pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)
        signatures = []
        for signature in envelope["signatures"]:
            key.verify(base64.b64decode(signature["sig"]), pae, ec.ECDSA(hashes.SHA256()))
            signatures.append({"signature": signature["sig"], "verifier": content["verifiers"][0]})
        return {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(content["envelope"].encode()).hexdigest(),
                },
                "payloadHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(payload).hexdigest(),
                },
                "signatures": signatures,
            },
        }

    def _rekor(self, request: Request) -> Response:
        import rfc8785

        if refusal := self.refuse.pop("rekor", None):
            return Response.json(refusal[0], {"code": refusal[0], "message": refusal[1]})
        try:
            proposed = request.json()
            if proposed.get("kind") != "dsse":
                return Response.json(400, {"code": 400, "message": "unsupported entry kind"})
            body = self._dsse_body(proposed)
        except InvalidSignature:
            return Response.json(
                400, {"code": 400, "message": "verifying signature: invalid signature"}
            )
        except (ValueError, KeyError, TypeError, IndexError):
            return Response.json(400, {"code": 400, "message": "error processing entry: malformed"})
        canonical = rfc8785.dumps(body)
        log_id = _key_id(self.rekor_key.public_key()).hex()
        with self._lock:
            index = len(self._leaves)
            self._leaves.append(_leaf_hash(canonical))
            leaves = list(self._leaves)
        integrated = int(time.time())
        promise = rfc8785.dumps(
            {
                "body": _b64(canonical),
                "integratedTime": integrated,
                "logID": log_id,
                "logIndex": index,
            }
        )
        root = _tree_hash(leaves)
        entry = {
            "body": _b64(canonical),
            "integratedTime": integrated,
            "logID": log_id,
            "logIndex": index,
            "verification": {
                "inclusionProof": {
                    "checkpoint": self._checkpoint(len(leaves), root),
                    "hashes": [h.hex() for h in _inclusion_path(index, leaves)],
                    "logIndex": index,
                    "rootHash": root.hex(),
                    "treeSize": len(leaves),
                },
                "signedEntryTimestamp": _b64(
                    self.rekor_key.sign(promise, ec.ECDSA(hashes.SHA256()))
                ),
            },
        }
        with self._lock:
            self.entries.append(entry)
        return Response.json(201, {hashlib.sha256(canonical).hexdigest(): entry})

    def route(self, request: Request) -> Response:
        time.sleep(self.latency)
        if request.method == "POST" and request.path == "/api/v2/signingCert":
            return self._fulcio(request)
        if request.method == "POST" and request.path == "/api/v1/log/entries":
            return self._rekor(request)
        return Response.json(404, {"code": 5, "message": "Not Found"})


@contextmanager
def fake_sigstore(**config: Any) -> Iterator[FakeSigstore]:
    sigstore = FakeSigstore(**config)
    with serve(sigstore.route) as url:
        sigstore.url = url
        yield sigstore


def sign_beside(
    sigstore: FakeSigstore, dist: Path, claims: dict[str, Any], *, predicate_type: str = ""
) -> Path:
    """What an earlier workflow step does: sign `dist` with this Sigstore as the identity in
    `claims` (sigstore's and pypi-attestations' own client) and write
    `<file>.publish.attestation` beside it. `predicate_type`: a statement of another type,
    built as Attestation.sign builds its own."""
    from pypi_attestations import Attestation, Distribution
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken
    from sigstore.sign import SigningContext

    from tests.support.fake_github import make_jwt

    now = int(time.time())
    token = make_jwt({**claims, "aud": "sigstore", "iat": now, "nbf": now, "exp": now + 300})
    trust = ClientTrustConfig.from_json(json.dumps(sigstore.trust_config()))
    with SigningContext.from_trust_config(trust).signer(IdentityToken(token)) as signer:
        if not predicate_type:
            attestation = Attestation.sign(signer, Distribution.from_file(dist))
        else:
            from sigstore.dsse import DigestSet, StatementBuilder, Subject

            subject = Distribution.from_file(dist)
            statement = (
                StatementBuilder()
                .subjects(
                    [Subject(name=subject.name, digest=DigestSet(root={"sha256": subject.digest}))]
                )
                .predicate_type(predicate_type)
                .build()
            )
            attestation = Attestation.from_bundle(signer.sign_dsse(statement))
    path = dist.with_name(dist.name + ".publish.attestation")
    path.write_text(attestation.model_dump_json())
    return path

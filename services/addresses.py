"""Client IP addresses: who sent a request, and how an address is kept at rest.

An address is stored encrypted (AES-GCM) next to a keyed hash used for matching,
so a database dump holds no readable address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(value: str | None) -> IpAddress | None:
    """A valid IP address, or None (zone ids and mapped IPv4 are normalised)."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip().split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[IpNetwork]) -> str:
    """The client address: the socket peer, or the right-most untrusted X-Forwarded-For hop.

    Walking right to left skips our own proxies; the first hop not among them is
    the client. Anything left of it was written by the client and is ignored.
    """
    address = parse_ip(peer)
    if address is None:
        return "0.0.0.0"  # noqa: S104 - a placeholder for "unknown", never bound
    if not forwarded_for or not _trusted(address, trusted):
        return str(address)
    hops = [hop for hop in forwarded_for.split(",")[-32:]]
    for hop in reversed(hops):
        parsed = parse_ip(hop)
        if parsed is None:
            return str(address)  # a malformed chain: trust only what we saw ourselves
        address = parsed
        if not _trusted(address, trusted):
            break
    return str(address)


def _trusted(address: IpAddress, trusted: Sequence[IpNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


class AddressVault:
    """Encrypts addresses for storage and hashes them for matching, under the current
    key; opens values sealed under older keys too (a key rotation in progress)."""

    def __init__(self, key: bytes, older: Sequence[bytes] = ()) -> None:
        self._aead = AESGCM(_derive(key, b"ip-encryption"))
        self._hash_key = _derive(key, b"ip-matching")
        self._older = [
            (AESGCM(_derive(old, b"ip-encryption")), _derive(old, b"ip-matching")) for old in older
        ]

    def seal(self, address: str) -> str:
        """The address encrypted with a fresh nonce, as text."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, address.encode(), b"ip")
        return base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str) -> str:
        """The address inside a value made by `seal` under any of the keys (raises
        InvalidTag if tampered with or sealed under none of them)."""
        return self.unseal(sealed)[0]

    def unseal(self, sealed: str) -> tuple[str, bool]:
        """The address inside a sealed value, and whether the current key sealed it."""
        raw = base64.b64decode(sealed)
        for index, aead in enumerate([self._aead, *(old for old, _ in self._older)]):
            try:
                return aead.decrypt(raw[:12], raw[12:], b"ip").decode(), index == 0
            except InvalidTag:
                continue
        raise InvalidTag()

    def fingerprint(self, address: str) -> str:
        """A keyed hash of the address: equal addresses match, nothing reads back."""
        return hmac.new(self._hash_key, address.encode(), hashlib.sha256).hexdigest()

    @property
    def rotating(self) -> bool:
        """Are older keys listed (a key rotation not finished yet)?"""
        return bool(self._older)

    def fingerprints(self, value: str) -> list[str]:
        """The keyed hashes of a value under every key, the current one's first: what a
        lookup of a hash stored before a rotation finished matches against."""
        return [self.fingerprint(value)] + [
            hmac.new(key, value.encode(), hashlib.sha256).hexdigest() for _, key in self._older
        ]

    def fingerprints_of_sealed(self, sealed: str) -> list[str]:
        """`fingerprints` of the address inside a sealed value; none if no key opens it."""
        try:
            return self.fingerprints(self.open(sealed))
        except (InvalidTag, ValueError):
            return []

    def columns(self, address: str, user_agent: str = "") -> dict[str, str]:
        """The column values of a models.base.IpRecord row."""
        return {
            "ip_cipher": self.seal(address),
            "ip_hash": self.fingerprint(address),
            "user_agent": user_agent[:512],
        }


def _derive(key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=purpose).derive(key)

#!/usr/bin/env python3
"""Recompute every vector in vectors.json with an implementation other than Go's.

gen.go computes the vectors with package crypto itself; this script checks
them against pyca/cryptography (OpenSSL) and the Python standard library, so
that the checked-in answers are not only the package agreeing with itself.
XChaCha20-Poly1305 is built here from HChaCha20 (draft-irtf-cfrg-xchacha-03,
section 2.2) and the IETF ChaCha20-Poly1305 of pyca/cryptography.

    pip install 'cryptography>=44'
    python3 crosscheck.py vectors.json

It is not run by go test.
"""

import base64
import hashlib
import hmac
import json
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def hchacha20(key, nonce16):
    def rotl(v, n):
        return ((v << n) & 0xFFFFFFFF) | (v >> (32 - n))

    def qr(s, a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 7)

    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        qr(s, 0, 4, 8, 12); qr(s, 1, 5, 9, 13); qr(s, 2, 6, 10, 14); qr(s, 3, 7, 11, 15)
        qr(s, 0, 5, 10, 15); qr(s, 1, 6, 11, 12); qr(s, 2, 7, 8, 13); qr(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def open_sealed(key, sealed, ad):
    """Return (plaintext, error name) as package crypto's Open must."""
    if len(key) != 32:
        return None, "ErrKeySize"
    if len(sealed) < 1 + 24 + 16 or sealed[0] != 1:
        return None, "ErrMalformed"
    nonce = sealed[1:25]
    aead = ChaCha20Poly1305(hchacha20(key, nonce[:16]))
    try:
        return aead.decrypt(b"\0\0\0\0" + nonce[16:], sealed[25:], ad), ""
    except InvalidTag:
        return None, "ErrOpen"


def hkdf(ikm, purpose):
    return HKDF(hashes.SHA256(), 32, None, b"spp/v1/" + purpose.encode()).derive(ikm)


def main(path):
    with open(path, encoding="utf-8") as f:
        v = json.load(f)
    x = bytes.fromhex
    failures = 0
    checked = 0

    def check(section, comment, got, want):
        nonlocal failures, checked
        checked += 1
        if got != want:
            failures += 1
            print(f"FAIL {section}: {comment}: got {got!r}, want {want!r}")

    for t in v["argon2id"]:
        salt = x(t["salt"])
        params = "argon2id$v=19$m=%d,t=%d,p=%d$%s" % (
            t["memory"], t["time"], t["threads"], base64.b64encode(salt).decode().rstrip("="))
        check("argon2id", t["comment"], params, t["params"])
        key = Argon2id(salt=salt, length=32, iterations=t["time"], lanes=t["threads"],
                       memory_cost=t["memory"]).derive(t["password"].encode())
        check("argon2id", t["comment"], key.hex(), t["key"])
    for t in v["hkdf"]:
        check("hkdf", t["comment"], hkdf(x(t["ikm"]), t["purpose"]).hex(), t["key"])
    for t in v["keyed_hash"]:
        got = hmac.new(x(t["key"]), t["data"].encode(), hashlib.sha256).hexdigest()
        check("keyed_hash", t["comment"], got, t["hash"])
    for t in v["hash_token"]:
        check("hash_token", t["comment"], hashlib.sha256(t["token"].encode()).hexdigest(), t["out"])
    for t in v["token_index"]:
        tok, want = t["token"], hashlib.sha256(t["token"].encode()).digest()
        if len(tok) == 51:
            try:
                raw = base64.urlsafe_b64decode(tok + "=")
                # strict: the encoding of those bytes is the token itself
                if base64.urlsafe_b64encode(raw).decode().rstrip("=") == tok and len(raw) == 38:
                    want = raw[:6] + want
            except ValueError:
                pass
        check("token_index", t["comment"], want.hex(), t["out"])
    for t in v["token_key"]:
        check("token_key", t["comment"], hkdf(t["token"].encode(), "token-key").hex(), t["out"])
    for t in v["open"]:
        pt, err = open_sealed(x(t["key"]), x(t["sealed"]), x(t["ad"]))
        check("open", t["comment"], (pt.hex() if pt is not None else "", err), (t["plaintext"], t["error"]))
    for t in v["unwrap"]:
        pt, err = open_sealed(x(t["kek"]), x(t["wrapped"]), b"wrap:" + t["purpose"].encode())
        if err == "" and len(pt) != 32:
            pt, err = None, "ErrMalformed"
        check("unwrap", t["comment"], (pt.hex() if pt is not None else "", err), (t["key"], t["error"]))

    print(f"{checked} checks, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "vectors.json"))

"""The ID-token signing key: from ``SSO_SIGNING_KEY_PEM``, or generated once into a 0600 file outside git.

Several gunicorn workers may start at once: the first to link its freshly written temporary file into
place wins, the others read that file — every worker signs with the same key.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from joserfc.jwk import RSAKey

KEY_BITS = 3072


def _generate_pem() -> bytes:
    return RSAKey.generate_key(KEY_BITS, private=True).as_pem(private=True)


def _write_once(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sso-key-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, _generate_pem())
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(tmp, path)  # atomic, and refuses to replace a key another worker wrote first
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


def load_signing_key(pem: str | None, path: Path) -> RSAKey:
    """The provider's RSA private key, with its RFC 7638 thumbprint as ``kid``.

    Raises:
        ValueError: the PEM is not an RSA private key of at least 2048 bits.
    """
    if pem and pem.strip():
        data = pem.strip().encode("ascii")
    else:
        if not path.exists():
            _write_once(path)
        data = path.read_bytes()
    key = RSAKey.import_key(data)
    if not key.is_private:
        raise ValueError("SSO signing key must be a private RSA key")
    if key.raw_value.key_size < 2048:
        raise ValueError("SSO signing key must have at least 2048 bits")
    key.ensure_kid()
    return key


def public_jwks(key: RSAKey) -> dict:
    """The JWK Set published at ``/jwks``: the public half only."""
    public = key.as_dict(private=False)
    public.update({"use": "sig", "alg": "RS256", "kid": key.kid})
    return {"keys": [public]}

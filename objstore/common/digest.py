"""HMAC signatures as TempURL and FormPost take them: which digests an
operator allows, a client's signature in either of its spellings, and the
constant-time check of a message against the keys that may have signed it.

Owns the signature format only; where the keys come from and what a
valid signature grants belong to the middlewares. Pure: no I/O, no clock.
"""

import base64
import binascii
import hashlib
import hmac
import string

SUPPORTED_DIGESTS = frozenset(('sha1', 'sha256', 'sha512'))
# Still accepted when allowed (Swift's default allows it), but an operator
# is told: SHA1 HMACs are the weakest of the three.
DEPRECATED_DIGESTS = frozenset(('sha1',))
# A hex signature names no digest: its length does.
HEX_LENGTHS = {40: 'sha1', 64: 'sha256', 128: 'sha512'}
BASE64_CHARS = frozenset(string.ascii_letters + string.digits + '+/')


def allowed_digests(configured):
    """(allowed, deprecated, unsupported) frozensets from the operator's
    whitespace-separated ``allowed_digests``; empty allows every supported
    one. ValueError when none is left.

    >>> allowed, deprecated, unsupported = allowed_digests('SHA256 md5')
    >>> sorted(allowed), sorted(deprecated), sorted(unsupported)
    (['sha256'], [], ['md5'])
    >>> sorted(allowed_digests('')[0])
    ['sha1', 'sha256', 'sha512']
    """
    wanted = frozenset(name.lower() for name in configured.split())
    if not wanted:
        wanted = SUPPORTED_DIGESTS
    unsupported = wanted - SUPPORTED_DIGESTS
    allowed = wanted & SUPPORTED_DIGESTS
    if not allowed:
        raise ValueError('No valid digest algorithms are configured')
    return allowed, allowed & DEPRECATED_DIGESTS, unsupported


def _decode_base64(value):
    """Standard or URL-safe base64, padding optional; ValueError else.

    >>> _decode_base64('_-8'), _decode_base64('/+8=')
    (b'\\xff\\xef', b'\\xff\\xef')
    """
    if ('-' in value or '_' in value) and not ('+' in value or '/' in value):
        value = value.replace('-', '+').replace('_', '/')
    bare = value.rstrip('=')
    if not set(bare) <= BASE64_CHARS:
        raise ValueError('not base64')
    try:
        return base64.b64decode(bare + '=' * (-len(bare) % 4))
    except binascii.Error as err:
        raise ValueError(str(err))


def parse_signature(value):
    """(digest name, raw digest) of a client's signature: hex, whose
    length names the digest, or ``<digest>:<base64>``. ValueError when it
    is neither. The name is not checked against the allowed ones.

    >>> parse_signature('ab' * 32)[0]
    'sha256'
    >>> parse_signature('sha512:' + 'A' * 86) == ('sha512', bytes(64))
    True
    """
    if ':' in value:
        name, encoded = value.split(':', 1)
        return name, _decode_base64(encoded)
    name = HEX_LENGTHS.get(len(value))
    if name is None:
        raise ValueError('Bad digest length')
    try:
        return name, bytes.fromhex(value)
    except ValueError:
        raise ValueError('not hex')


def _as_bytes(text):
    return text if isinstance(text, bytes) else text.encode('utf-8')


def sign(key, message, digest):
    """The raw HMAC of ``message`` with ``key`` (str as UTF-8).

    >>> sign('mykey', 'GET\\n1\\n/v1/a/c/o', 'sha1').hex()[:12]
    'a7a8b4d3f3d0'
    """
    return hmac.new(_as_bytes(key), _as_bytes(message),
                    getattr(hashlib, digest)).digest()


def find_signer(signature, digest, candidates):
    """The label of the first ``(key, message, label)`` of ``candidates``
    whose HMAC is ``signature``, or None. Every candidate is tried, each
    compared in constant time, so the answer's timing tells nothing of
    the keys.

    >>> good = sign('k2', 'm', 'sha256')
    >>> find_signer(good, 'sha256', [('k1', 'm', 1), ('k2', 'm', 2)])
    2
    """
    found = None
    for key, message, label in candidates:
        if hmac.compare_digest(sign(key, message, digest), signature) \
                and found is None:
            found = label
    return found

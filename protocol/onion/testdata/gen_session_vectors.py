#!/usr/bin/env python3
"""Independent reference for the onion session frames (docs/onion.md).

Written from docs/onion.md and the package doc of protocol/onion, not from
the Go code, so that TestSessionPythonVectors compares two implementations.
It uses Python's `cryptography` (X25519, Ed25519, HKDF, ChaCha20-Poly1305,
ChaCha20); XChaCha20 is HChaCha20 (written out below from
draft-irtf-cfrg-xchacha-03 §2.2) in front of the 12-byte-nonce ChaCha20.
Every nonce is fixed here, so the output is deterministic. Run from this
directory:
    python3 gen_session_vectors.py > sessions_python.json
"""
import hashlib, hmac, json, struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

RAW = serialization.Encoding.Raw
PUB = serialization.PublicFormat.Raw
PRIV = serialization.PrivateFormat.Raw
NOENC = serialization.NoEncryption()

CLASS0 = 2048  # the smallest size class
SEAL_OVER = 24 + 16  # nonce + Poly1305 tag


# --- HKDF-SHA256 (RFC 5869), by hand: two HMAC loops ---------------------
def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, n=32):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


# --- XChaCha20 ----------------------------------------------------------
def _rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def _qr(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 7)


def hchacha20(key, nonce16):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        _qr(s, 0, 4, 8, 12); _qr(s, 1, 5, 9, 13); _qr(s, 2, 6, 10, 14); _qr(s, 3, 7, 11, 15)
        _qr(s, 0, 5, 10, 15); _qr(s, 1, 6, 11, 12); _qr(s, 2, 7, 8, 13); _qr(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


# draft-irtf-cfrg-xchacha-03 §2.2.1's test vector.
assert hchacha20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927")).hex() == \
    "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"


def xchacha_aead_seal(key, nonce24, pt):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(b"\0" * 4 + nonce24[16:], pt, b"")


def xchacha_stream(key, nonce24, data):
    sub = hchacha20(key, nonce24[:16])
    # cryptography's ChaCha20 nonce is the 4-byte LE block counter (0)
    # followed by the 12-byte nonce.
    c = Cipher(algorithms.ChaCha20(sub, b"\0" * 4 + b"\0" * 4 + nonce24[16:]), mode=None).encryptor()
    return c.update(data)


# --- the frame pieces of the package doc ---------------------------------
def jdump(obj):
    # Go's encoding/json of the wire structs: no spaces, fields in order.
    return json.dumps(obj, separators=(",", ":")).encode()


def frame(blob, obj):
    return struct.pack("<I", len(blob)) + blob + obj


def seal(key, nonce, pt, size):
    padded = pt + b"\x80" + b"\0" * (size - SEAL_OVER - len(pt) - 1)
    return nonce + xchacha_aead_seal(key, nonce, padded)


def layer_keys(prk):
    return {
        "request": hkdf_expand(prk, b"hush/1 onion layer v1"),
        "response": hkdf_expand(prk, b"hush/1 onion layer v1 response"),
        "wrap": hkdf_expand(prk, b"hush/1 onion layer v1 response wrap"),
        "session": hkdf_expand(prk, b"hush/1 onion session v1"),
    }


def full_layer(eph_priv, node_pub):
    e = X25519PrivateKey.from_private_bytes(eph_priv)
    E = e.public_key().public_bytes(RAW, PUB)
    ss = e.exchange(node_pub)
    return E, layer_keys(hkdf_extract(E + node_pub.public_bytes(RAW, PUB), ss))


def request_keys(ksession, sid, counter):
    def k(role):
        return hkdf_expand(ksession, b"hush/1 onion session v1 " + role + sid + struct.pack(">Q", counter))
    return {"request": k(b"request"), "response": k(b"response"), "wrap": k(b"wrap")}


def node(label):
    # The test nodes of helpers_test.go: keys from a label.
    seed = hashlib.sha256(b"hush onion test node " + label.encode()).digest()
    ed = Ed25519PrivateKey.from_private_bytes(seed)
    x = X25519PrivateKey.from_private_bytes(hashlib.sha256(seed + b"x").digest())
    return ed, x


def edpub(ed):
    return ed.public_key().public_bytes(RAW, PUB)


def xpub(x):
    return x.public_key()


def rep(b, n):
    return bytes([b]) * n


out = {
    "comment": "independent reference vectors for onion sessions, from testdata/gen_session_vectors.py (Python); checked by TestSessionPythonVectors",
    "kdf": [],
    "opening": [],
    "session_frames": [],
    "session_unknown": [],
}

# 1. Key schedule.
for i in (1, 2, 3, 0x7F):
    eph, npriv = rep(i, 32), rep((i + 0x40) & 0xFF, 32)
    nx = X25519PrivateKey.from_private_bytes(npriv)
    E, lk = full_layer(eph, nx.public_key())
    sid, counter = rep((i + 0x80) & 0xFF, 16), [1, 300, 1024, 129][[1, 2, 3, 0x7F].index(i)]
    rk = request_keys(lk["session"], sid, counter)
    out["kdf"].append({
        "ephemeral_private": eph.hex(), "node_private": npriv.hex(),
        "session_id": sid.hex(), "counter": counter,
        "session_key": lk["session"].hex(),
        "request_key": rk["request"].hex(), "response_key": rk["response"].hex(), "wrap_key": rk["wrap"].hex(),
    })

# 2. Opening: a full frame at hop 0 or 1 whose relay object asks for
# new_session; the node derives Ksession and forwards a full frame.
guard_ed, guard_x = node("py-guard")
mid_ed, mid_x = node("py-mid")
exit_ed, exit_x = node("py-exit")
for hop, (me_x, nxt_ed) in enumerate([(guard_x, mid_ed), (mid_x, exit_ed)]):
    eph = rep(0x10 + hop, 32)
    E, lk = full_layer(eph, xpub(me_x))
    next_eph = X25519PrivateKey.from_private_bytes(rep(0x20 + hop, 32)).public_key().public_bytes(RAW, PUB)
    sid = rep(0x30 + hop, 16)
    inner = b"inner blob for the next hop " + bytes([hop]) * 40
    ctrl = jdump({"destination": edpub(nxt_ed).hex(), "ephemeral_key": next_eph.hex(), "new_session": sid.hex()})
    header = jdump({"ephemeral_key": E.hex(), "hop": hop, "v": 1})
    blob = seal(lk["request"], rep(0x40 + hop, 24), frame(inner, ctrl), CLASS0 - 4 - len(header))
    f = frame(blob, header)
    assert len(f) == CLASS0
    nheader = jdump({"ephemeral_key": next_eph.hex(), "hop": hop + 1, "v": 1})
    nxt = frame(inner, nheader)
    nxt += b" " * (len(f) - len(nxt))
    out["opening"].append({
        "node_label": ["py-guard", "py-mid"][hop], "frame": f.hex(),
        "session_id": sid.hex(), "session_key": lk["session"].hex(),
        "next_node": edpub(nxt_ed).hex(), "inner": inner.hex(), "next_frame": nxt.hex(),
    })

# 3. Session frames: the warm request's layer at hop 0 (naming the middle
# relay's session) and at hop 1 (naming a fresh key for the last relay),
# with a response the node seals (a failure) and one it wraps.
for hop, opening in enumerate(out["opening"]):
    ks, sid = bytes.fromhex(opening["session_key"]), bytes.fromhex(opening["session_id"])
    counter = [7, 200][hop]
    rk = request_keys(ks, sid, counter)
    inner = b"warm inner blob " + bytes([0xA0 + hop]) * 33
    if hop == 0:
        nxt_sid = bytes.fromhex(out["opening"][1]["session_id"])
        ctrl = jdump({"counter": counter, "destination": edpub(mid_ed).hex(), "hold": 2500, "session": nxt_sid.hex()})
        nheader = jdump({"counter": counter, "hop": 1, "session": nxt_sid.hex(), "v": 1})
        nxt_name = edpub(mid_ed).hex()
    else:
        next_eph = X25519PrivateKey.from_private_bytes(rep(0x50, 32)).public_key().public_bytes(RAW, PUB)
        ctrl = jdump({"destination": edpub(exit_ed).hex(), "ephemeral_key": next_eph.hex()})
        nheader = jdump({"ephemeral_key": next_eph.hex(), "hop": 2, "v": 1})
        nxt_name = edpub(exit_ed).hex()
    header = jdump({"counter": counter, "hop": hop, "session": sid.hex(), "v": 1})
    # One size class up, with relay padding spaces after the header, as
    # a relay forwards it.
    size = 8192
    blob = seal(rk["request"], rep(0x60 + hop, 24), frame(inner, ctrl), size - 4 - len(header) - 17)
    f = frame(blob, header) + b" " * 17
    assert len(f) == size
    nxt = frame(inner, nheader)
    nxt += b" " * (len(f) - len(nxt))
    failure = seal(rk["response"], rep(0x70 + hop, 24), frame(b"", jdump({"error": "timeout", "status": 504, "v": 1})), CLASS0)
    passed = bytes((i * 7 + hop) & 0xFF for i in range(CLASS0))
    out["session_frames"].append({
        "session_id": sid.hex(), "session_key": ks.hex(), "counter": counter, "hop": hop,
        "frame": f.hex(), "next_node": nxt_name, "hold_ms": 2500 if hop == 0 else 0,
        "inner": inner.hex(), "next_frame": nxt.hex(),
        "failure": failure.hex(),
        "passed_back": passed.hex(), "wrapped": xchacha_stream(rk["wrap"], b"\0" * 24, passed).hex(),
    })

# 4. session_unknown: signed plaintext in the smallest class.
for label, sid, counter in [("py-guard", rep(0xAB, 16), 1), ("py-mid", bytes(range(16)), 1024)]:
    ed, _ = node(label)
    sig = ed.sign(b"hush/1 onion session_unknown v1" + sid + struct.pack(">Q", counter))
    obj = jdump({"counter": counter, "error": "session_unknown", "session": sid.hex(), "status": 410, "v": 1})
    resp = frame(sig, obj)
    resp += b" " * (CLASS0 - len(resp))
    out["session_unknown"].append({"node_label": label, "session_id": sid.hex(), "counter": counter, "response": resp.hex()})

print(json.dumps(out, indent="\t"))

#!/usr/bin/env python3
"""Independent reference for the recovery-phrase vectors in phrase_vectors.json.

Written from the published algorithm (session-desktop
ts/session/crypto/mnemonic.ts, restated in DESIGN.md §2), not from the Go code,
so that the Go tests compare two implementations. Run from this directory:
    python3 gen_phrase_vectors.py > phrase_vectors.json
"""
import json, zlib, struct

words = json.load(open("../data/mnemonic-english.json"))
n = len(words)

def encode(seed: bytes) -> str:
    out = []
    for i in range(0, 16, 4):
        (x,) = struct.unpack("<I", seed[i:i + 4])
        w1 = x % n
        w2 = (x // n + w1) % n
        w3 = (x // n // n + w2) % n
        out += [words[w1], words[w2], words[w3]]
    prefixes = "".join(w[:3] for w in out)
    out.append(out[(zlib.crc32(prefixes.encode()) & 0xffffffff) % len(out)])
    return " ".join(out)

seeds = [
    bytes(16),
    bytes([0xff] * 16),
    bytes.fromhex("0123456789abcdef0123456789abcdef"),
    bytes.fromhex("00112233445566778899aabbccddeeff"),
    bytes.fromhex("39038c8988db02c1af44e8c847bd9713"),
    bytes(range(16)),
    bytes.fromhex("deadbeefcafebabe0badf00d8badf00d"),
]
print(json.dumps([{"seed": s.hex(), "phrase": encode(s)} for s in seeds], indent=2))

#!/usr/bin/env python3
"""Writes the committed seed corpus, fuzz/seeds/<target>/. Rerun after changing a target's
input format; libFuzzer grows its own corpus (fuzz/corpus/, not committed) from these."""

import json
import random
import shutil
import struct
from pathlib import Path

HERE = Path(__file__).parent
SEEDS = HERE / "seeds"
TOKEN = "0123456789abcdef0123456789abcdef"


def write(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def j(v):
    return json.dumps(v, ensure_ascii=False)


HELLO_KIOSK = {"type": "hello", "role": "kiosk", "device_token": "$K"}
COMMANDS = [
    {"type": "issue", "service": "khai-sinh"},
    {"type": "issue", "service": "ket-hon", "priority": "elderly", "person_id": "079123456789"},
    {"type": "issue", "service": "khai-sinh", "appointment": {"from_ms": 1796004000000, "to_ms": 1796005800000}},
    {"type": "call_next", "counter": "quay-1"},
    {"type": "call_ticket", "counter": "quay-1", "number": "A001"},
    {"type": "recall", "counter": "quay-1"},
    {"type": "start", "counter": "quay-1"},
    {"type": "complete", "counter": "quay-1"},
    {"type": "no_show", "counter": "quay-1"},
    {"type": "return", "number": "A001"},
    {"type": "transfer", "counter": "quay-1", "to": {"kind": "service", "code": "ket-hon"}, "note": "chuyển"},
    {"type": "transfer", "counter": "quay-1", "to": {"kind": "counter", "code": "quay-2"}},
    {"type": "cancel", "number": "A001"},
    {"type": "cancel", "token": TOKEN},
    {"type": "open_counter", "counter": "quay-1"},
    {"type": "pause_counter", "counter": "quay-1", "reason": "họp"},
    {"type": "resume_counter", "counter": "quay-1"},
    {"type": "close_counter", "counter": "quay-1"},
    {"type": "rate", "number": "A001", "score": 4, "reason": "chậm"},
]


def proto():
    write("proto", "hello", j({"type": "hello", "role": "display", "site": "sa-huynh", "resume_from": 42}))
    write("proto", "hello-phone", j({"type": "hello", "role": "phone", "ticket_token": TOKEN}))
    for i, c in enumerate(COMMANDS):
        write("proto", f"command-{i:02}", j({"type": "command", "id": f"r{i}", "command": c}))
    events = [
        {"type": "day_opened", "day": "2026-11-30", "first_ticket_id": 1, "service_times": [{"service": "khai-sinh", "mean_s": 300, "dev_s": 60}],
         "carried": [{"number": "A007", "issued_day": "2026-11-29", "issued_at_ms": 1795900000000, "service": "khai-sinh", "channel": "kiosk", "token": TOKEN}]},
        {"type": "day_closed", "day": "2026-11-30", "expired": [1, 2], "carried": [3]},
        {"type": "ticket_issued", "ticket": 1, "number": "A001", "service": "khai-sinh", "channel": "kiosk", "token": TOKEN, "person": 7,
         "appointment": {"from_ms": 1, "to_ms": 2}, "priority": "elderly"},
        {"type": "ticket_called", "ticket": 1, "counter": "quay-1", "official": "lan", "reason": "aged", "waited_s": 5400},
        {"type": "ticket_recalled", "ticket": 1, "counter": "quay-1", "recalls": 2},
        {"type": "service_completed", "ticket": 1, "counter": "quay-1", "service_s": 300},
        {"type": "ticket_transferred", "ticket": 1, "from_counter": "quay-1", "to": {"kind": "counter", "code": "quay-2"}, "note": ""},
        {"type": "ticket_rated", "ticket": 1, "score": 3},
        {"type": "counter_paused", "counter": "quay-1", "reason": "họp"},
    ]
    for i, e in enumerate(events):
        write("proto", f"event-{i:02}", j(e))
    write("proto", "server-reply", j({"type": "reply", "v": 1, "id": "r1", "ok": False,
                                      "error": {"code": "queue_empty", "message": "x", "message_en": "x"}}))
    for i, s in enumerate(["A001", "KQ999", TOKEN, "khai-sinh", "2026-02-29", "2024-02-29"]):
        write("proto", f"string-{i}", s)


def config():
    root = HERE.parent / "config"
    shutil.copy(root / "default.toml", SEEDS / "config" / "default.toml")
    for f in sorted((root / "examples").glob("*.toml")):
        shutil.copy(f, SEEDS / "config" / f.name)


def core():
    rng = random.Random(2026)
    for i, n in enumerate([64, 256, 1024, 4096, 16384]):
        write("core", f"random-{i}", bytes(rng.randrange(256) for _ in range(n)))


def ws_text(payload):
    b = payload.encode()
    return bytes([0]) + struct.pack("<H", len(b)) + b


def ws():
    hello = ws_text(j(HELLO_KIOSK))
    cmds = b"".join(ws_text(j({"type": "command", "id": str(i), "command": c})) for i, c in enumerate(COMMANDS))
    write("ws", "kiosk", bytes([0]) + hello + cmds)
    opened = b"".join(ws_text(j({"type": "command", "id": f"o{i}", "command": c}))
                      for i, c in enumerate([COMMANDS[14], COMMANDS[0], COMMANDS[3], COMMANDS[6], COMMANDS[7]]))
    write("ws", "admin", bytes([1]) + ws_text(j({"type": "hello", "role": "counter"})) + opened + cmds)
    write("ws", "display", bytes([0]) + ws_text(j({"type": "hello", "role": "display", "device_token": "$D", "resume_from": 1})))
    write("ws", "rating", bytes([0]) + ws_text(j({"type": "hello", "role": "rating", "device_token": "$R"})))
    write("ws", "foreign-origin", bytes([2]) + hello)
    write("ws", "bad-utf8", bytes([0]) + hello + bytes([0]) + struct.pack("<H", 4) + b'"\xff\xfe"')
    write("ws", "oversized", bytes([0]) + hello + bytes([4, 140, 0, ord("x")]))  # 17 920 bytes
    write("ws", "binary", bytes([0]) + hello + bytes([4 | 8, 1, 0, 1]))
    frag = j({"type": "command", "id": "f", "command": COMMANDS[0]}).encode()
    write("ws", "fragmented", bytes([0]) + hello + bytes([6 | 16 | 32]) + struct.pack("<H", len(frag)) + frag)
    write("ws", "raw-unmasked", bytes([0]) + bytes([5 | 8, 0x81]) + struct.pack("<H", 2) + b"{}")
    write("ws", "raw-lying-length", bytes([0]) + hello + bytes([5 | 16, 0x81]) + struct.pack("<H", 3) + b"abc" + struct.pack("<Q", 1 << 40))
    write("ws", "control", bytes([0]) + hello + bytes([7, 4]) + b"ping" + bytes([7 | 16, 2]) + struct.pack(">H", 1000))
    write("ws", "bad-close", bytes([0]) + bytes([7 | 16, 3]) + struct.pack(">H", 999) + b"\xff")


def ogg_page(flags, granule, seq, packets, serial=7):
    """One Ogg page holding `packets` (each under 255 bytes), with its CRC."""
    head = b"OggS\0" + bytes([flags]) + struct.pack("<QII", granule, serial, seq) + b"\0" * 4
    page = bytearray(head + bytes([len(packets)]) + bytes(len(p) for p in packets) + b"".join(packets))
    crc = 0
    for b in page:
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    page[22:26] = struct.pack("<I", crc)
    return bytes(page)


# The real clips a center starts with (Vorbis), a few of each kind; and an Opus stream.
OGG_CLIPS = ["chime.ogg", "vi/invite.ogg", "vi/digit_7.ogg", "vi/letter_a.ogg", "en/invite.ogg"]


def ogg():
    audio = HERE.parent / "kiosk-assets" / "audio"
    for name in OGG_CLIPS:
        shutil.copy(audio / name, SEEDS / "ogg" / name.replace("/", "-"))
    head = b"OpusHead\x01\x01" + struct.pack("<HI", 312, 44100) + b"\0\0\0"
    opus = (ogg_page(0x02, 0, 0, [head]) + ogg_page(0, 0, 1, [b"OpusTags" + b"\0" * 8])
            + ogg_page(0, 48000, 2, [b"\xfc" * 40]) + ogg_page(0x04, 2 * 48000 + 312, 3, [b"\xfc" * 40]))
    write("ogg", "opus-2s", opus)
    write("ogg", "two-streams", (audio / "chime.ogg").read_bytes() + opus)


if __name__ == "__main__":
    shutil.rmtree(SEEDS, ignore_errors=True)
    for d in ["proto", "config", "core", "ogg", "ws"]:
        (SEEDS / d).mkdir(parents=True)
    proto()
    config()
    core()
    ogg()
    ws()
    for d in sorted(SEEDS.iterdir()):
        print(d.name, len(list(d.iterdir())), "files")

"""What docs/protocol.md says the gate checks in a frame's payload and
header, through a running node's gate (tests/protocol/test_gate_checks.sh):
bytes with the protobuf wire format by hand, no protobuf library.

- A request nesting messages 100 levels below its top message is
  answered; 101 levels (102 messages in a chain) is answered EBADMSG
  before the service runs, and 5000 levels too.
- The flags and reserved header fields of a frame to the gate are ignored
  (a request with them non-zero is answered as with 0), and the gate's
  frames carry 0 in them.

usage: gate_checks.py PORT
Prints one line per check and closes with "test_gate_checks: N passed,
M failed"; exit 1 on any failure.
"""
import socket
import struct
import sys

REQUEST, RESPONSE, ERROR = 1, 2, 3
EBADMSG = -5


def method_id(full_name):
    """FNV-1a, 32 bits, over the method's full name."""
    h = 2166136261
    for b in full_name.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def tree(levels):
    """A Tree with `levels` Trees nested below it (field 1, child)."""
    inner = b""
    for _ in range(levels):
        inner = b"\x0a" + varint(len(inner)) + inner
    return inner


def read_varint(data, at):
    v, shift = 0, 0
    while True:
        b = data[at]
        at += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, at


def status_code(payload):
    """sky.Status's code (field 1, int32), from its bytes."""
    at = 0
    while at < len(payload):
        key, at = read_varint(payload, at)
        if key == 0x08:
            v, at = read_varint(payload, at)
            return v - (1 << 64) if v >= 1 << 63 else v
        if key & 7 == 2:
            n, at = read_varint(payload, at)
            at += n
        else:
            _, at = read_varint(payload, at)
    return None


class Gate:
    """One connection to the gate, past the preface."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.rfile = self.sock.makefile("rb")
        self.sock.sendall(b"SKY\x01")
        if self.rfile.read(4) != b"SKY\x01":
            raise SystemExit("bad preface answer")

    def call(self, method, payload, session, flags=0, reserved=0):
        """Sends a request frame; returns the answer's kind, flags,
        reserved, session and payload."""
        head = struct.pack(">IBBHII", 12 + len(payload), REQUEST, flags, reserved, session, method_id(method))
        self.sock.sendall(head + payload)
        head = self.rfile.read(16)
        if len(head) < 16:
            raise EOFError("the gate closed the connection")
        length, kind, flags, reserved, session, _method = struct.unpack(">IBBHII", head)
        return kind, flags, reserved, session, self.rfile.read(length - 12)


passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print("ok    " + what)
    else:
        failed += 1
        print("FAIL  " + what)


def main():
    g = Gate(int(sys.argv[1]))
    count = "skytest.deep.Deep.Count"

    kind, _, _, session, payload = g.call(count, tree(100), 1)
    check(kind == RESPONSE and session == 1 and payload == b"\x08" + varint(100),
          "100 levels below the request: answered (n = 100)")

    for levels, session in ((101, 2), (5000, 3)):
        kind, _, _, s, payload = g.call(count, tree(levels), session)
        check(kind == ERROR and s == session and status_code(payload) == EBADMSG,
              "%d levels below the request: EBADMSG" % levels)

    kind, flags, reserved, session, payload = g.call(count, tree(3), 4, flags=0xFF, reserved=0xFFFF)
    check(kind == RESPONSE and session == 4 and payload == b"\x08\x03",
          "flags 0xff and reserved 0xffff in a request: ignored, answered")
    check(flags == 0 and reserved == 0, "the gate's answer has flags 0 and reserved 0")

    print("test_gate_checks: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

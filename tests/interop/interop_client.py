#!/usr/bin/env python3
"""Independent interoperability client for the shuangsui wire protocol, version 1.

Written only from docs/protocol.md (no generated code, no protobuf library, no
look at the server sources).  It contains a hand-written protobuf encoder and
decoder, the framing and session logic of the specification, and a conformance
scenario that is run against a live server.

Usage:
    interop_client.py --host 127.0.0.1 --port PORT --ca CA.crt --cert-dir DIR

DIR holds <principal_id>.crt and <principal_id>.key for the principals
city-auditor, district-a-operator and city-admin.

Output: one line per check ("ok - ..." / "not ok - ..."), then a summary line
"N passed, M failed".  Exit status 0 only if every check passed.
"""

import argparse
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import time

# ---------------------------------------------------------------------------
# Protobuf wire format (spec section 3)
# ---------------------------------------------------------------------------

WT_VARINT, WT_I64, WT_LEN, WT_SGROUP, WT_EGROUP, WT_I32 = 0, 1, 2, 3, 4, 5
MASK64 = (1 << 64) - 1


class DecodeError(Exception):
    """The bytes are not a valid protobuf message of the expected type."""


class ProtocolError(Exception):
    """The peer violated the protocol (framing, unknown reply body, ...)."""


def enc_varint(n):
    """Encode an unsigned integer (negative ints as 64-bit two's complement)."""
    if n < 0:
        n &= MASK64
    if n > MASK64:
        raise ValueError("varint out of range: %r" % n)
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def dec_varint(buf, pos):
    """Decode a varint at buf[pos:]; return (value, new_pos).  At most 10 bytes."""
    result = 0
    shift = 0
    for i in range(10):
        if pos >= len(buf):
            raise DecodeError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result & MASK64, pos
        shift += 7
    raise DecodeError("varint longer than 10 bytes")


def enc_key(field_number, wire_type):
    return enc_varint((field_number << 3) | wire_type)


def iter_fields(buf):
    """Yield (field_number, wire_type, value) for every field in buf.

    value is an int for VARINT/I64/I32 and bytes for LEN.  Wire types 3/4
    (groups) and 6/7 are treated as malformed (spec 3.1 allows this).
    """
    buf = bytes(buf)
    pos = 0
    n = len(buf)
    while pos < n:
        key, pos = dec_varint(buf, pos)
        fn, wt = key >> 3, key & 7
        if fn == 0:
            raise DecodeError("field number 0")
        if wt == WT_VARINT:
            v, pos = dec_varint(buf, pos)
        elif wt == WT_I64:
            if pos + 8 > n:
                raise DecodeError("truncated I64 field")
            v = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wt == WT_I32:
            if pos + 4 > n:
                raise DecodeError("truncated I32 field")
            v = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        elif wt == WT_LEN:
            ln, pos = dec_varint(buf, pos)
            if ln > n - pos:
                raise DecodeError("truncated LEN field")
            v = buf[pos:pos + ln]
            pos += ln
        else:
            raise DecodeError("unsupported wire type %d (field %d)" % (wt, fn))
        yield fn, wt, v


# Message schemas: field number -> (name, kind).  kind is one of
# uint32, uint64, int64, bool, enum, string, msg:<Type>, repeated:<Type>.
SCHEMAS = {
    "Error": {1: ("code", "enum"), 2: ("message_en", "string"),
              3: ("message_zh", "string"), 4: ("field", "string")},
    "Hello": {1: ("protocol_version", "uint32"), 2: ("program", "string"),
              3: ("program_version", "string")},
    "Principal": {1: ("principal_id", "string"), 2: ("office", "string"),
                  3: ("role", "string"), 4: ("jurisdiction", "string"),
                  5: ("fingerprint", "string")},
    "HelloReply": {1: ("protocol_version", "uint32"), 2: ("server_program", "string"),
                   3: ("server_version", "string"), 4: ("principal", "msg:Principal"),
                   5: ("max_frame_size", "uint32")},
    "PingRequest": {1: ("db_round_trip", "bool"), 2: ("delay_ms", "uint32")},
    "PingReply": {1: ("server_time_unix_ms", "int64"), 2: ("database_ok", "bool")},
    "WhoAmIRequest": {},
    "WhoAmIReply": {1: ("principal", "msg:Principal")},
    "AuditListRequest": {1: ("after_id", "uint64"), 2: ("limit", "uint32")},
    "AuditEvent": {1: ("id", "uint64"), 2: ("at_unix_ms", "int64"), 3: ("actor", "string"),
                   4: ("operation", "string"), 5: ("outcome", "string"),
                   6: ("reason", "string"), 7: ("request_sha256", "string"),
                   8: ("detail", "string")},
    "AuditListReply": {1: ("events", "repeated:AuditEvent"), 2: ("next_after_id", "uint64")},
    "PrincipalListRequest": {},
    "PrincipalRecord": {1: ("principal", "msg:Principal"), 2: ("status", "string"),
                        3: ("version", "uint32")},
    "PrincipalListReply": {1: ("principals", "repeated:PrincipalRecord")},
    "PrincipalSetStatusRequest": {1: ("principal_id", "string"), 2: ("status", "string"),
                                  3: ("reason", "string")},
    "PrincipalSetStatusReply": {1: ("principal", "msg:PrincipalRecord")},
}

# Envelope body oneof (spec 3.3): field number -> (body name, message type, is_request)
BODIES = {
    10: ("error", "Error", False),
    11: ("hello", "Hello", True),
    12: ("hello_reply", "HelloReply", False),
    13: ("ping", "PingRequest", True),
    14: ("ping_reply", "PingReply", False),
    15: ("whoami", "WhoAmIRequest", True),
    16: ("whoami_reply", "WhoAmIReply", False),
    17: ("audit_list", "AuditListRequest", True),
    18: ("audit_list_reply", "AuditListReply", False),
    19: ("principal_list", "PrincipalListRequest", True),
    20: ("principal_list_reply", "PrincipalListReply", False),
    21: ("principal_set_status", "PrincipalSetStatusRequest", True),
    22: ("principal_set_status_reply", "PrincipalSetStatusReply", False),
}
BODY_BY_NAME = {name: (fn, mtype) for fn, (name, mtype, _) in BODIES.items()}

ERROR_CODES = {
    0: "ERROR_CODE_UNSPECIFIED", 1: "BAD_REQUEST", 2: "UNKNOWN_MESSAGE", 3: "NOT_A_REQUEST",
    4: "HELLO_REQUIRED", 5: "UNSUPPORTED_VERSION", 6: "UNKNOWN_PRINCIPAL",
    7: "PERMISSION_DENIED", 8: "DATABASE_UNAVAILABLE", 9: "INTERNAL", 10: "SHUTTING_DOWN",
    11: "FRAME_TOO_LARGE", 12: "TOO_MANY_REQUESTS", 13: "NOT_FOUND",
    14: "IDEMPOTENCY_CONFLICT", 15: "MALFORMED_MESSAGE",
}
CODE = {name: num for num, name in ERROR_CODES.items()}

SCALAR_DEFAULTS = {"uint32": 0, "uint64": 0, "int64": 0, "bool": False, "enum": 0, "string": ""}


def encode_message(mtype, values):
    """Encode dict `values` as message `mtype`: ascending field numbers, defaults omitted."""
    schema = SCHEMAS[mtype]
    known = {name for name, _ in schema.values()}
    for k in values:
        if k not in known:
            raise ValueError("%s has no field %r" % (mtype, k))
    out = bytearray()
    for fn in sorted(schema):
        name, kind = schema[fn]
        if name not in values or values[name] is None:
            continue
        v = values[name]
        if kind in ("uint32", "uint64", "int64", "enum"):
            if v:
                out += enc_key(fn, WT_VARINT) + enc_varint(int(v))
        elif kind == "bool":
            if v:
                out += enc_key(fn, WT_VARINT) + b"\x01"
        elif kind == "string":
            b = v.encode("utf-8") if isinstance(v, str) else bytes(v)
            if b:
                out += enc_key(fn, WT_LEN) + enc_varint(len(b)) + b
        elif kind.startswith("msg:"):
            sub = encode_message(kind[4:], v)
            out += enc_key(fn, WT_LEN) + enc_varint(len(sub)) + sub
        elif kind.startswith("repeated:"):
            for item in v:
                sub = encode_message(kind[9:], item)
                out += enc_key(fn, WT_LEN) + enc_varint(len(sub)) + sub
        else:
            raise AssertionError(kind)
    return bytes(out)


def decode_message(mtype, buf):
    """Decode buf as message `mtype`; absent fields get defaults, unknown fields are skipped."""
    schema = SCHEMAS[mtype]
    result = {}
    msg_parts = {}
    for fn, (name, kind) in schema.items():
        if kind.startswith("repeated:"):
            result[name] = []
        elif kind.startswith("msg:"):
            result[name] = None
        else:
            result[name] = SCALAR_DEFAULTS[kind]
    for fn, wt, v in iter_fields(buf):
        if fn not in schema:
            continue  # unknown field: skipped (3.2 rule 2)
        name, kind = schema[fn]
        if kind in SCALAR_DEFAULTS and kind != "string":
            if wt != WT_VARINT:
                raise DecodeError("%s.%s: wire type %d, expected varint" % (mtype, name, wt))
            if kind == "uint32":
                v &= 0xFFFFFFFF
            elif kind == "int64" and v >= 1 << 63:
                v -= 1 << 64
            elif kind == "bool":
                v = v != 0
            result[name] = v  # last occurrence wins
        else:
            if wt != WT_LEN:
                raise DecodeError("%s.%s: wire type %d, expected LEN" % (mtype, name, wt))
            if kind == "string":
                try:
                    result[name] = v.decode("utf-8")
                except UnicodeDecodeError:
                    raise DecodeError("%s.%s: invalid UTF-8" % (mtype, name))
            elif kind.startswith("msg:"):
                # non-repeated message seen more than once: merge (= concatenate)
                msg_parts[name] = msg_parts.get(name, b"") + v
            else:
                result[name].append(decode_message(kind[9:], v))
    for fn, (name, kind) in schema.items():
        if kind.startswith("msg:") and name in msg_parts:
            result[name] = decode_message(kind[4:], msg_parts[name])
    return result


def encode_envelope(request_id=0, body_name=None, body=None, idempotency_key=None,
                    raw_body_field=None, raw_body=b""):
    """Encode an Envelope.  The body field is always written, even when empty (3.2 rule 4).

    raw_body_field/raw_body allow writing an arbitrary field number (for negative tests).
    """
    out = bytearray()
    if request_id:
        out += enc_key(1, WT_VARINT) + enc_varint(request_id)
    if idempotency_key:
        k = idempotency_key.encode("utf-8")
        out += enc_key(2, WT_LEN) + enc_varint(len(k)) + k
    if body_name is not None:
        fn, mtype = BODY_BY_NAME[body_name]
        b = encode_message(mtype, body or {})
        out += enc_key(fn, WT_LEN) + enc_varint(len(b)) + b
    if raw_body_field is not None:
        out += enc_key(raw_body_field, WT_LEN) + enc_varint(len(raw_body)) + raw_body
    return bytes(out)


def decode_envelope(buf):
    """Decode an Envelope.  Returns a dict with request_id, idempotency_key, body_field,
    body_name (None if no known body), body (decoded dict) and unknown_body_fields."""
    env = {"request_id": 0, "idempotency_key": "", "body_field": None, "body_name": None,
           "body": None}
    body_raw = None
    for fn, wt, v in iter_fields(buf):
        if fn == 1:
            if wt != WT_VARINT:
                raise DecodeError("Envelope.request_id: wrong wire type")
            env["request_id"] = v
        elif fn == 2:
            if wt != WT_LEN:
                raise DecodeError("Envelope.idempotency_key: wrong wire type")
            env["idempotency_key"] = v.decode("utf-8")
        elif fn in BODIES:
            if wt != WT_LEN:
                raise DecodeError("Envelope body field %d: wrong wire type" % fn)
            if env["body_field"] == fn:
                body_raw += v  # same oneof member twice: merge
            else:
                env["body_field"], body_raw = fn, v  # a different member: last one wins
        # anything else: unknown field, skipped
    if env["body_field"] is not None:
        name, mtype, _ = BODIES[env["body_field"]]
        env["body_name"] = name
        env["body"] = decode_message(mtype, body_raw)
    return env


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def request_sha256(envelope_payload_without_request_id):
    return hashlib.sha256(envelope_payload_without_request_id).hexdigest()


def hx(s):
    """Parse a hex string from the spec (spaces/newlines allowed)."""
    return bytes.fromhex("".join(s.split()))


# ---------------------------------------------------------------------------
# Connection (spec sections 1, 2, 4, 5)
# ---------------------------------------------------------------------------

class CannotConnect(Exception):
    """No session could be set up: tcp=True if not even TCP connected."""

    def __init__(self, msg, tcp=False):
        super().__init__(msg)
        self.tcp = tcp


class ServerError(Exception):
    """The server answered with an Error body where a different reply was expected."""

    def __init__(self, env):
        e = env["body"]
        self.env = env
        self.code = e["code"]
        super().__init__("server Error %s (%d), field=%r: %s / %s" % (
            ERROR_CODES.get(e["code"], "unknown code"), e["code"], e["field"],
            e["message_en"], e["message_zh"]))


def read_pem_leaf(path):
    """Return the first certificate of a PEM file (the leaf)."""
    with open(path, "r", encoding="ascii") as f:
        text = f.read()
    begin = text.find(ssl.PEM_HEADER)
    end = text.find(ssl.PEM_FOOTER, begin)
    if begin < 0 or end < 0:
        raise ValueError("%s: no PEM certificate found" % path)
    return text[begin:end + len(ssl.PEM_FOOTER)] + "\n"


def cert_fingerprint(path):
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(read_pem_leaf(path))).hexdigest()


class Connection:
    HELLO_LIMIT = 1024  # limit known before HelloReply (section 2)

    def __init__(self, args, principal_id):
        self.args = args
        self.principal_id = principal_id
        self.next_id = 1
        self.max_frame_size = None
        self.hello_reply = None
        crt = os.path.join(args.cert_dir, principal_id + ".crt")
        key = os.path.join(args.cert_dir, principal_id + ".key")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.maximum_version = ssl.TLSVersion.TLSv1_3
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=args.ca)
        ctx.load_cert_chain(crt, key)
        try:
            raw = socket.create_connection((args.host, args.port), timeout=args.timeout)
        except OSError as e:
            raise CannotConnect("cannot connect to %s:%d: %s" % (args.host, args.port, e),
                                tcp=True)
        raw.settimeout(args.timeout)
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname=args.server_name)
        except (ssl.SSLError, OSError) as e:
            raw.close()
            raise CannotConnect("TLS handshake with %s:%d failed: %s" % (args.host, args.port, e))
        self.fingerprint = cert_fingerprint(crt)

    # -- framing --------------------------------------------------------
    def _read_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed by server (after %d of %d bytes)" % (len(buf), n))
            buf += chunk
        return bytes(buf)

    def read_envelope(self):
        header = self._read_exact(4)
        (n,) = struct.unpack(">I", header)
        limit = self.max_frame_size or max(self.HELLO_LIMIT, 1 << 20)
        if n == 0 or n > limit:
            self.close()
            raise ProtocolError("server sent a frame of length %d (limit %d)" % (n, limit))
        payload = self._read_exact(n)
        env = decode_envelope(payload)
        if env["body_field"] is None:
            self.close()
            raise ProtocolError("server sent an Envelope with no known body")
        if BODIES[env["body_field"]][2]:
            self.close()
            raise ProtocolError("server sent a request body %r" % env["body_name"])
        return env

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, payload):
        self.send_raw(frame(payload))

    def new_id(self):
        rid = self.next_id
        self.next_id += 1
        return rid

    # -- request/reply ----------------------------------------------------
    def call_env(self, body_name, body=None, idempotency_key=None):
        """Send one request, wait for its reply envelope (reply or Error)."""
        rid = self.new_id()
        self.send(encode_envelope(rid, body_name, body, idempotency_key))
        return self.wait_for(rid)

    def wait_for(self, rid):
        env = self.read_envelope()
        if env["request_id"] != rid:
            if env["request_id"] == 0 and env["body_name"] == "error":
                raise ServerError(env)
            self.close()
            raise ProtocolError("reply for request_id %d while waiting for %d"
                                % (env["request_id"], rid))
        return env

    def call(self, body_name, body=None, idempotency_key=None):
        """Send one request and return the decoded reply body; raise ServerError on Error."""
        env = self.call_env(body_name, body, idempotency_key)
        if env["body_name"] == "error":
            raise ServerError(env)
        expected = body_name + "_reply"
        if env["body_name"] != expected:
            raise ProtocolError("expected %s, got %s" % (expected, env["body_name"]))
        return env["body"]

    def hello(self):
        payload = encode_envelope(self.new_id(), "hello", {
            "protocol_version": 1, "program": "shuangsui-interop-client",
            "program_version": "1.0"})
        assert len(payload) <= self.HELLO_LIMIT
        self.send(payload)
        env = self.wait_for(self.next_id - 1)
        if env["body_name"] == "error":
            raise ServerError(env)
        if env["body_name"] != "hello_reply":
            raise ProtocolError("expected hello_reply, got %s" % env["body_name"])
        self.hello_reply = env["body"]
        self.max_frame_size = env["body"]["max_frame_size"] or None
        return env["body"]

    def read_until_eof(self, timeout):
        """Read and discard until EOF; return True if the peer closed within timeout."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.1, deadline - time.monotonic()))
                if not self.sock.recv(4096):
                    return True
        except socket.timeout:
            return False
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError,
                BrokenPipeError):
            return True
        return False

    def close(self):
        try:
            self.sock.settimeout(1.0)
            self.sock.unwrap()  # TLS close_notify
        except (OSError, ValueError):
            pass
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------
# Check runner
# ---------------------------------------------------------------------------

class Failed(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Failed(msg)


def expect_eq(actual, expected, what):
    if actual != expected:
        raise Failed("%s: expected %r, got %r" % (what, expected, actual))


def expect_error(env, code_name, rid=None, field=None):
    expect(env["body_name"] == "error",
           "expected Error %s, got body %r %r" % (code_name, env["body_name"], env["body"]))
    e = env["body"]
    expect(e["code"] == CODE[code_name],
           "expected Error %s, got %s (%d) field=%r: %s" % (
               code_name, ERROR_CODES.get(e["code"], "?"), e["code"], e["field"],
               e["message_en"]))
    if rid is not None:
        expect_eq(env["request_id"], rid, "Error request_id")
    if field is not None:
        expect_eq(e["field"], field, "Error field")
    return e


class Runner:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.last_connect_error = None

    def report(self, ok, name, detail=""):
        if ok:
            self.passed += 1
            line = "ok - " + name
        else:
            self.failed += 1
            line = "not ok - " + name
        if detail:
            line += " (%s)" % detail
        print(line, flush=True)

    def run(self, name, fn):
        """Run fn(); it returns an optional detail string.  Exceptions make the check fail."""
        try:
            detail = fn()
        except CannotConnect as e:
            self.report(False, name, str(e))
            self.last_connect_error = e
            return False
        except Failed as e:
            self.report(False, name, str(e))
            return False
        except ServerError as e:
            self.report(False, name, "unexpected " + str(e))
            return False
        except (ProtocolError, DecodeError, EOFError, OSError, ssl.SSLError, ValueError,
                KeyError, TypeError) as e:
            self.report(False, name, "%s: %s" % (type(e).__name__, e))
            return False
        self.report(True, name, detail or "")
        return True


# ---------------------------------------------------------------------------
# Check 14: the worked byte examples of section 15 (and 3.1, 16)
# ---------------------------------------------------------------------------

FP_EXAMPLE = "3f1c9a0d5b7e2468ace013579bdf02468ace13579bdf0246813579bdf0246813"
PRINCIPAL_EXAMPLE = {"principal_id": "district-110101-operator", "office": "东城区住建局",
                     "role": "operator", "jurisdiction": "110101",
                     "fingerprint": FP_EXAMPLE}


def selfcheck_examples(runner):
    def varints():
        for n, h in ((1, "01"), (150, "96 01"), (250, "fa 01"), (1048576, "80 80 40")):
            expect_eq(enc_varint(n).hex(), hx(h).hex(), "varint %d" % n)
            expect_eq(dec_varint(hx(h), 0), (n, len(hx(h))), "decode varint %d" % n)
        expect_eq(enc_key(21, WT_LEN).hex(), "aa01", "key field 21 LEN")
        expect_eq(enc_varint(MASK64), b"\xff" * 9 + b"\x01", "10-byte varint")
        return "3.1 varints and two-byte key"
    runner.run("14.1 spec 3.1 varint examples", varints)

    def hello():
        f = frame(encode_envelope(1, "hello", {"protocol_version": 1, "program": "demo",
                                               "program_version": "1.0"}))
        expect_eq(f.hex(), hx("00 00 00 11 08 01 5a 0d 08 01 12 04 64 65 6d 6f 1a 03 31 2e 30")
                  .hex(), "15.1 Hello frame")
    runner.run("14.2 spec 15.1 Hello frame", hello)

    def small_requests():
        expect_eq(frame(encode_envelope(2, "whoami")).hex(), "0000000408027a00", "15.2 whoami")
        expect_eq(frame(encode_envelope(5, "principal_list")).hex(), "0000000508059a0100",
                  "15.2 principal_list")
        expect_eq(frame(encode_envelope(4, "audit_list", {})).hex(), "0000000508048a0100",
                  "15.2 audit_list defaults")
    runner.run("14.3 spec 15.2 whoami / principal_list / audit_list frames", small_requests)

    def hello_reply():
        payload = encode_envelope(1, "hello_reply", {
            "protocol_version": 1, "server_program": "shuangsuid", "server_version": "0.1.0",
            "principal": PRINCIPAL_EXAMPLE, "max_frame_size": 1048576})
        want = hx("""
0801629e010801120a736875616e67737569641a05302e312e302282010a1864697374726963742d313130
3130312d6f70657261746f721212e4b89ce59f8ee58cbae4bd8fe5bbbae5b1801a086f70657261746f7222
063131303130312a40336631633961306435623765323436386163653031333537396264663032343638616365
31333537396264663032343638313335373962646630323436383133 28808040""")
        expect_eq(payload.hex(), want.hex(), "15.3 HelloReply payload")
        expect_eq(frame(payload)[:4].hex(), "000000a3", "15.3 HelloReply length")
        env = decode_envelope(want)
        expect_eq(env["body_name"], "hello_reply", "decoded body")
        expect_eq(env["body"]["principal"], PRINCIPAL_EXAMPLE, "decoded principal")
        expect_eq(env["body"]["max_frame_size"], 1048576, "decoded max_frame_size")
        who = frame(encode_envelope(2, "whoami_reply", {"principal": PRINCIPAL_EXAMPLE}))
        expect_eq(who[:13].hex(), hx("00 00 00 8b 08 02 82 01 85 01 0a 82 01").hex(),
                  "15.3 WhoAmIReply prefix")
        expect_eq(who[13:], encode_message("Principal", PRINCIPAL_EXAMPLE), "WhoAmIReply rest")
    runner.run("14.4 spec 15.3 HelloReply payload and WhoAmIReply prefix", hello_reply)

    def error_reply():
        f = frame(encode_envelope(3, "error", {"code": CODE["UNKNOWN_MESSAGE"],
                                               "message_en": "unknown message type",
                                               "message_zh": "未知的消息类型", "field": ""}))
        want = hx("""00 00 00 33 08 03 52 2f 08 02
            12 14 75 6e 6b 6e 6f 77 6e 20 6d 65 73 73 61 67 65 20 74 79 70 65
            1a 15 e6 9c aa e7 9f a5 e7 9a 84 e6 b6 88 e6 81 af e7 b1 bb e5 9e 8b""")
        expect_eq(f.hex(), want.hex(), "15.4 Error frame")
        env = decode_envelope(want[4:])
        expect_eq((env["request_id"], env["body"]["code"], env["body"]["field"]),
                  (3, 2, ""), "decoded Error")
    runner.run("14.5 spec 15.4 Error frame", error_reply)

    def set_status():
        body = {"principal_id": "district-110101-operator", "status": "disabled",
                "reason": "left the office"}
        f = frame(encode_envelope(7, "principal_set_status", body, "set-status-0001"))
        want = hx("""00 00 00 4b 08 07
            12 0f 73 65 74 2d 73 74 61 74 75 73 2d 30 30 30 31
            aa 01 35
            0a 18 64 69 73 74 72 69 63 74 2d 31 31 30 31 30 31 2d 6f 70 65 72 61 74 6f 72
            12 08 64 69 73 61 62 6c 65 64
            1a 0f 6c 65 66 74 20 74 68 65 20 6f 66 66 69 63 65""")
        expect_eq(f.hex(), want.hex(), "15.5 set_status frame")
        hashed = encode_envelope(0, "principal_set_status", body, "set-status-0001")
        want_hashed = hx("""120f7365742d7374617475732d30303031aa01350a1864697374726963742d3131303130312d6f70657261746f72
            120864697361626c65641a0f6c65667420746865206f6666696365""")
        expect_eq(hashed.hex(), want_hashed.hex(), "15.5 hashed bytes")
        expect_eq(len(hashed), 73, "15.5 hashed length")
        expect_eq(request_sha256(hashed),
                  "088712d17d80d82f3e3fd8dd040ecfbe07515a7c6fd400d69b5dc6207d3b1c8a",
                  "15.5 request_sha256")
        expect(hashlib.sha256(f[4:]).hexdigest().startswith("73e7988d"),
               "15.5 sha256 of full payload should start 73e7988d")
    runner.run("14.6 spec 15.5 principal_set_status frame and request_sha256", set_status)

    def ping():
        req = frame(encode_envelope(3, "ping", {"db_round_trip": True, "delay_ms": 250}))
        expect_eq(req.hex(), hx("00 00 00 09 08 03 6a 05 08 01 10 fa 01").hex(), "15.6 ping")
        rep = frame(encode_envelope(3, "ping_reply", {"server_time_unix_ms": 1700000000000,
                                                      "database_ok": True}))
        expect_eq(rep.hex(), hx("00 00 00 0d 08 03 72 09 08 80 d0 95 ff bc 31 10 01").hex(),
                  "15.6 ping_reply")
    runner.run("14.7 spec 15.6 ping / ping_reply frames", ping)

    def session16():
        sent = frame(encode_envelope(1, "hello", {"protocol_version": 1, "program": "demo",
                                                  "program_version": "1.0"})) + \
            frame(encode_envelope(2, "whoami"))
        expect_eq(sent.hex(), hx("00 00 00 11 08 01 5a 0d 08 01 12 04 64 65 6d 6f 1a 03 31 2e 30"
                                 "00 00 00 04 08 02 7a 00").hex(), "16 client bytes")
    runner.run("14.8 spec 16 example session client bytes", session16)

    def decoder_rules():
        # PingReply with unknown fields of wire types 0, 1, 2 and 5 interleaved,
        # fields out of order, and a repeated scalar (last wins).
        buf = (enc_key(2, WT_VARINT) + b"\x01" +
               enc_key(50, WT_I64) + b"\x00" * 8 +
               enc_key(1, WT_VARINT) + enc_varint(5) +
               enc_key(51, WT_LEN) + b"\x03abc" +
               enc_key(52, WT_I32) + b"\xff" * 4 +
               enc_key(53, WT_VARINT) + enc_varint(MASK64) +
               enc_key(1, WT_VARINT) + enc_varint(42))
        expect_eq(decode_message("PingReply", buf),
                  {"server_time_unix_ms": 42, "database_ok": True}, "skip unknown fields")
        env = decode_envelope(enc_key(99, WT_LEN) + b"\x00" + encode_envelope(9, "whoami"))
        expect_eq((env["request_id"], env["body_name"]), (9, "whoami"), "envelope unknown field")
        expect_eq(decode_message("HelloReply", b"")["principal"], None, "absent message")
        for bad in (b"\x08", b"\x0a\x05ab", b"\x0b", b"\x08" + b"\xff" * 10 + b"\x01"):
            try:
                decode_message("PingReply", bad)
            except DecodeError:
                continue
            raise Failed("decoder accepted malformed %s" % bad.hex())
    runner.run("14.9 decoder: skip unknown wire types 0/1/2/5, any order, last wins", decoder_rules)


# ---------------------------------------------------------------------------
# Checks 1-13 against a live server
# ---------------------------------------------------------------------------

AUDITOR = "city-auditor"
OPERATOR = "district-a-operator"
ADMIN = "city-admin"
AUDITOR_OFFICE = "市审计局"
OPERATOR_OFFICE = "东城区住房和城乡建设局"


def server_checks(runner, args):
    st = {}

    def c1():
        conn = Connection(args, AUDITOR)
        st["a"] = conn
        expect_eq(conn.sock.version(), "TLSv1.3", "TLS version")
        hr = conn.hello()
        expect_eq(hr["protocol_version"], 1, "HelloReply.protocol_version")
        p = hr["principal"] or {}
        expect_eq(p.get("principal_id"), AUDITOR, "principal_id")
        expect_eq(p.get("role"), "auditor", "role")
        expect_eq(p.get("jurisdiction"), "110000", "jurisdiction")
        expect_eq(p.get("office"), AUDITOR_OFFICE, "office")
        expect_eq(p.get("fingerprint"), conn.fingerprint, "fingerprint")
        expect(hr["max_frame_size"] > 0, "max_frame_size must be > 0")
        return "%s %s, %s, max_frame_size %d" % (hr["server_program"], hr["server_version"],
                                                 conn.sock.cipher()[0], hr["max_frame_size"])
    ok1 = runner.run(SERVER_CHECKS[0], c1)
    if not ok1 and "a" in st and st["a"].hello_reply is None:
        st.pop("a").close()  # no session (e.g. certificate refused): do not use it
    if not ok1 and "a" not in st:
        err = runner.last_connect_error
        if err is not None and err.tcp:
            # nothing listens there: do not hammer it, report the rest as not run
            for name in SERVER_CHECKS[1:]:
                runner.report(False, name, "not run: %s" % err)
            return False
        # auditor connection refused: checks 2-8 need it; 9-13 use other principals
        for name in SERVER_CHECKS[1:8]:
            runner.report(False, name, "not run: no city-auditor session")
        a = None
    else:
        a = st.get("a")

    def c2():
        r = a.call("whoami")
        expect_eq(r["principal"], a.hello_reply["principal"], "WhoAmIReply.principal")
    if a is not None:
        runner.run(SERVER_CHECKS[1], c2)

    def c3():
        r = a.call("ping", {})
        now = int(time.time() * 1000)
        skew = abs(r["server_time_unix_ms"] - now)
        expect(skew <= 5 * 60 * 1000, "server time off by %d ms" % skew)
        expect_eq(r["database_ok"], False, "database_ok without db_round_trip (7.2)")
        r = a.call("ping", {"db_round_trip": True})
        expect_eq(r["database_ok"], True, "database_ok with db_round_trip")
        return "clock skew %d ms" % skew
    if a is not None:
        runner.run(SERVER_CHECKS[2], c3)

    def c4():
        r1, r2 = a.new_id(), a.new_id()
        a.send_raw(frame(encode_envelope(r1, "ping", {"db_round_trip": True, "delay_ms": 300})) +
                   frame(encode_envelope(r2, "ping", {"db_round_trip": True, "delay_ms": 0})))
        got = {}
        order = []
        while len(got) < 2:
            env = a.read_envelope()
            rid = env["request_id"]
            expect(rid in (r1, r2) and rid not in got, "unexpected reply request_id %d" % rid)
            got[rid] = env
            order.append(rid)
        for rid in (r1, r2):
            env = got[rid]
            if env["body_name"] == "error":
                raise ServerError(env)
            expect_eq(env["body_name"], "ping_reply", "reply body for %d" % rid)
            expect_eq(env["body"]["database_ok"], True, "database_ok for %d" % rid)
        return "reply order: %s" % ("as sent" if order == [r1, r2] else "reversed")
    if a is not None:
        runner.run(SERVER_CHECKS[3], c4)

    def c5():
        rid = a.new_id()
        a.send(encode_envelope(rid, raw_body_field=99, raw_body=b""))
        expect_error(a.wait_for(rid), "UNKNOWN_MESSAGE", rid=rid)
        r = a.call("whoami")
        expect_eq(r["principal"]["principal_id"], AUDITOR, "WhoAmI after UNKNOWN_MESSAGE")
    if a is not None:
        runner.run(SERVER_CHECKS[4], c5)

    def c6():
        rid = a.new_id()
        a.send(encode_envelope(rid, "ping_reply", {"server_time_unix_ms": 1}))
        expect_error(a.wait_for(rid), "NOT_A_REQUEST", rid=rid)
    if a is not None:
        runner.run(SERVER_CHECKS[5], c6)

    def c7():
        r = a.call("audit_list", {"limit": 2})
        ev = r["events"]
        ids = [e["id"] for e in ev]
        expect(len(ev) <= 2, "page has %d events" % len(ev))
        expect(ids == sorted(set(ids)), "ids not strictly ascending: %r" % ids)
        for e in ev:
            expect(e["outcome"] in ("ok", "denied", "failed"), "bad outcome %r" % e["outcome"])
            if e["detail"]:
                json.loads(e["detail"])
        nxt = r["next_after_id"]
        if nxt == 0:
            expect(len(ev) < 2, "full page (2 events) but next_after_id = 0 (7.4)")
            return "single page, ids %r" % ids
        expect(ev and nxt == ids[-1], "next_after_id %d is not the last id of %r" % (nxt, ids))
        r2 = a.call("audit_list", {"after_id": nxt, "limit": 2})
        ids2 = [e["id"] for e in r2["events"]]
        expect(len(ids2) <= 2, "second page has %d events" % len(ids2))
        expect(ids2 == sorted(set(ids2)), "second page not ascending: %r" % ids2)
        expect(all(i > max(ids) for i in ids2), "second page %r not after %r" % (ids2, ids))
        return "pages %r then %r" % (ids, ids2)
    if a is not None:
        runner.run(SERVER_CHECKS[6], c7)

    def c8():
        env = a.call_env("audit_list", {"limit": 5000})
        expect_error(env, "BAD_REQUEST", rid=a.next_id - 1, field="audit_list.limit")
    if a is not None:
        runner.run(SERVER_CHECKS[7], c8)

    def c9():
        o = Connection(args, OPERATOR)
        try:
            hr = o.hello()
            p = hr["principal"]
            expect_eq((p["principal_id"], p["role"], p["jurisdiction"], p["office"]),
                      (OPERATOR, "operator", "110101", OPERATOR_OFFICE), "operator principal")
            expect_eq(p["fingerprint"], o.fingerprint, "operator fingerprint")
            env = o.call_env("audit_list", {"limit": 1})
            e = expect_error(env, "PERMISSION_DENIED", rid=o.next_id - 1)
            expect(e["message_en"] != "" and e["message_zh"] != "", "empty message_en/zh")
            expect_eq(e["field"], "", "PERMISSION_DENIED field")
            return "%s / %s" % (e["message_en"], e["message_zh"])
        finally:
            o.close()
    runner.run(SERVER_CHECKS[8], c9)

    def c10():
        o = Connection(args, OPERATOR)
        try:
            env = o.call_env("whoami")
            expect_error(env, "HELLO_REQUIRED", rid=o.next_id - 1)
            hr = o.hello()  # 5.1: the client can still send Hello
            expect_eq(hr["principal"]["principal_id"], OPERATOR, "Hello after HELLO_REQUIRED")
        finally:
            o.close()
    runner.run(SERVER_CHECKS[9], c10)

    def c11():
        ad = Connection(args, ADMIN)
        st["admin"] = ad
        hr = ad.hello()
        expect_eq(hr["principal"]["role"], "admin", "city-admin role")
        r = ad.call("principal_list")
        recs = r["principals"]
        ids = [rec["principal"]["principal_id"] for rec in recs if rec["principal"]]
        expect(ids == sorted(ids), "principals not ordered by principal_id (7.5)")
        mine = [rec for rec in recs if rec["principal"] and
                rec["principal"]["principal_id"] == AUDITOR]
        expect(len(mine) == 1, "city-auditor appears %d times" % len(mine))
        expect_eq(mine[0]["status"], "active", "city-auditor status")
        expect(mine[0]["version"] >= 1, "city-auditor version %d < 1" % mine[0]["version"])
        return "%d principals; city-auditor version %d" % (len(recs), mine[0]["version"])
    runner.run(SERVER_CHECKS[10], c11)

    def c12():
        ad = st.get("admin")
        if ad is None:
            ad = Connection(args, ADMIN)
            st["admin"] = ad
            ad.hello()
        body = {"principal_id": "no-such-principal", "status": "disabled",
                "reason": "interop 10"}
        expect_eq(len(body["reason"]), 10, "reason length")
        key = "interop-" + os.urandom(16).hex()
        env = ad.call_env("principal_set_status", body, idempotency_key=key)
        expect_error(env, "NOT_FOUND", rid=ad.next_id - 1,
                     field="principal_set_status.principal_id")
        env = ad.call_env("principal_set_status", body)
        expect_error(env, "BAD_REQUEST", rid=ad.next_id - 1, field="idempotency_key")
    runner.run(SERVER_CHECKS[11], c12)

    def c13():
        conn = st.get("admin") or a
        expect(conn is not None, "not run: no session")
        mfs = conn.max_frame_size
        expect(mfs, "no max_frame_size known")
        # Header only: the server must answer before reading any payload (section 2).
        conn.send_raw(struct.pack(">I", mfs + 1))
        conn.sock.settimeout(args.timeout)
        env = conn.read_envelope()
        expect_error(env, "FRAME_TOO_LARGE", rid=0)
        closed = conn.read_until_eof(args.timeout)
        expect(closed, "server did not close the connection within %.0f s" % args.timeout)
        st.pop("admin", None)
        conn.close()
        return "length %d > %d" % (mfs + 1, mfs)
    runner.run(SERVER_CHECKS[12], c13)

    for key in ("a", "admin"):
        if key in st:
            st[key].close()
    return True


SERVER_CHECKS = [
    '1. TLS 1.3 handshake + Hello as city-auditor',
    '2. WhoAmI returns the Hello principal',
    '3. Ping without and with db_round_trip',
    '4. Two pipelined pings matched by request_id',
    '5. Unknown body field 99 -> UNKNOWN_MESSAGE, session continues',
    '6. Reply body (PingReply) as request -> NOT_A_REQUEST',
    '7. audit.list limit 2 and next page',
    '8. audit.list limit 5000 -> BAD_REQUEST audit_list.limit',
    '9. district-a-operator audit.list -> PERMISSION_DENIED',
    '10. WhoAmI before Hello -> HELLO_REQUIRED (Hello still possible)',
    '11. city-admin principal.list contains active city-auditor',
    '12. principal_set_status: NOT_FOUND, and BAD_REQUEST without key',
    '13. Oversized frame -> FRAME_TOO_LARGE request_id 0, then close',
]


def main(argv=None):
    ap = argparse.ArgumentParser(description="shuangsui protocol v1 interop client "
                                             "(written from docs/protocol.md only)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=7443)
    ap.add_argument("--ca", required=True, help="city CA certificate (PEM)")
    ap.add_argument("--cert-dir", required=True,
                    help="directory with <principal_id>.crt and <principal_id>.key")
    ap.add_argument("--server-name", default="localhost",
                    help="name for SNI and server certificate verification (default localhost)")
    ap.add_argument("--timeout", type=float, default=10.0, help="socket timeout in seconds")
    args = ap.parse_args(argv)

    runner = Runner()
    selfcheck_examples(runner)  # check 14 first: no server needed

    problems = []
    if not os.path.isfile(args.ca):
        problems.append("CA file not found: %s" % args.ca)
    for p in (AUDITOR, OPERATOR, ADMIN):
        for ext in (".crt", ".key"):
            path = os.path.join(args.cert_dir, p + ext)
            if not os.path.isfile(path):
                problems.append("missing %s" % path)
    if problems:
        for p in problems:
            print("# error: " + p, file=sys.stderr)
        for name in SERVER_CHECKS:
            runner.report(False, name, "not run: " + problems[0])
    else:
        server_checks(runner, args)
        if runner.last_connect_error is not None:
            print("# error: %s" % runner.last_connect_error, file=sys.stderr)

    print("%d passed, %d failed" % (runner.passed, runner.failed), flush=True)
    return 0 if runner.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""pyua: a small stdlib-only CPM Pager Mode client and its upper-tester adapter, in one file.

The runnable version of the adapter sketch in docs/upper-tester.md: it speaks the upper-tester
protocol (JSON lines, docs/upper-tester.md) on stdin/stdout and real SIP over UDP or TCP to the
proxy given in `configure` (on loopback when run by cpmconf). It registers with digest (MD5,
qop=auth) after a 401/407 challenge, sends Pager Mode messages (SIP MESSAGE with a message/cpim
body), answers incoming MESSAGEs 200 and reports them as `message_received` (a disposition
notification as `imdn_received`), declines incoming
INVITEs, and answers `sync` once everything it received so far is handled.

With `PYUA_INVITES=ring` it claims chat and group chat instead and lets an incoming INVITE ring:
180 Ringing with a To tag, a `session_invited` event, and the invitation stays pending (it has no
MSRP, so it never accepts one). A CANCEL of it is answered 200 and the INVITE 487 (RFC 3261 9.2),
and `session_ended` reports it (`completed_elsewhere` when the CANCEL's Reason is cause=200).

Deliberate deviations, for testing the suite's verdicts against a client it did not grow up
with, are switched on by `PYUA_DEVIATIONS` (comma-separated) or `--deviations LIST`:

  cpim-to-wrong-host  CPIM To: names the peer at another host (sip:bob@test -> sip:bob@test.example)
  decline-invites     claims chat, group chat and file transfer in `hello` but declines every INVITE
  no-sync-answer      never answers `sync` (no response line at all)
  no-user-agent       sends no User-Agent header
  base64-cpim         the CPIM payload's MIME part is Content-Transfer-Encoding: base64
  unencoded-icsi      the ICSI in Accept-Contact is not percent-encoded
  imdn-answers-imdn   treats a received IMDN (a read report) as a message and answers it with a
                      delivery notification of its own (RFC 5438 6.3: nothing answers an IMDN)
  from-tag-changed    its responses carry a From tag of its own instead of the request's
                      (RFC 3261 8.2.6.2: the From of a response equals the request's)
  cancel-no-487       (with PYUA_INVITES=ring) answers a CANCEL 200 but leaves the INVITE pending:
                      no 487 (RFC 3261 9.2: the UAS SHOULD answer the INVITE 487)
  cancel-486          (with PYUA_INVITES=ring) ends a cancelled INVITE with 486 Busy Here instead
                      of 487: the session ends all the same, with another code
  media-type-case     writes its media types in mixed case with a charset (Message/CPIM,
                      Text/Plain; Charset=UTF-8): a correct message, media types ignore case
                      (RFC 2045 5.1)

With `PYUA_INVITES=files` it claims file transfer and resume and receives pushed files: a file
INVITE (RFC 5547, a=sendonly with a=file-selector) is answered 200 with a=recvonly, the offer's
file-selector and file-transfer-id, and a=setup:active; it connects to the offer's MSRP path,
sends the bodiless SEND that binds the connection (RFC 4975 7.1.1), acknowledges every chunk
with 200 and puts each at its Byte-Range. A file whose last chunk brings it to the selector's
size is reported as `file_received` (size and SHA-256). A file sent CPIM-wrapped (RFC 3862) is
the wrapped content, put at the transfer's start; a delivery notification it requests
(imdn.Disposition-Notification: positive-delivery) goes by SIP MESSAGE (CR 7.4.2 item 6,
7.4.5.2 item 2). A BYE ends the transfer, keeping the bytes received. An offer to resume (a=file-range, RFC 5547 9) of a file it holds in part,
known by the selector's name and size, is answered 200 with the range; of any other file, 488
(CR 7.4.5.2 ii). It also sends files (`send_file`): an INVITE offering the file (a=sendonly,
file-selector, a=setup:passive), the chunks in pieces of `PYUA_CHUNK` bytes (default 2048),
at most `PYUA_WINDOW` (default 4; 0: no limit) unacknowledged, once the peer's MSRP connection
is bound, and a BYE once every chunk is acknowledged (CR 7.4.3); a request to resume a file it
sent (a=recvonly with a=file-range) is answered 200 with a=sendonly and the range, and the bytes
from the range's start are sent. `resume_file` resumes the latest unfinished transfer (CR
7.4.5.1): one it received in part (a=recvonly, the same file-selector, a=file-range from the
first byte missing, the sender's device in Accept-Contact, BYE once the file is complete), or
one it sent in part, interrupted by the peer closing the MSRP connection (`file_transfer_ended`;
a=sendonly from the first byte not acknowledged, the recipient's device from its 200, the rest
sent with its Byte-Range). `leave` ends the latest transfer with BYE, on either side (CR 7.4.3);
the sender sends no more chunks. Its deviations:

  file-complete-early (files) reports a resumed file as received at the first chunk of the
                      resumed part, before the chunk that ends it
  resume-by-size      (files) knows a file for a resume by its size alone, whatever its name
  abort-without-bye   (files) on `leave`, closes the MSRP connection without a BYE
  abort-keeps-sending (files) on `leave` while sending, sends the chunk it has queued (not
                      closed with `#`) before its BYE
  chunk-after-bye     (files) on `leave` while sending, sends one more chunk right after its BYE
  resume-from-start   (files) asks to resume a file it holds in part from its first byte
  resume-no-device-id (files) leaves the sender's device out of its resume INVITE
  no-bye-after-resume (files) does not end a resumed transfer once the file is complete
  bye-before-last-200 (files) sends its BYE once the last chunk is written, without waiting for
                      the chunks' 200s (a reading 7.4.3 allows: the file is complete when sent)
  bye-early           (files) sends its BYE after the first chunk is acknowledged, before the
                      last one is sent
  imdn-over-msrp      (files) sends a requested delivery notification in the file's MSRP session
  imdn-unrequested    (files) sends a delivery notification for every CPIM-wrapped file, asked
                      for or not

`PYUA_DECLINE_STATUS` (default 488) is the status incoming INVITEs are declined with.
Logs go to stderr; stdout carries protocol lines only.
"""

import base64
import hashlib
import json
import os
import random
import re
import select
import socket
import sys
import threading
import time

NAME = "pyua"
VERSION = "1"
PROTOCOL = 1
USER_AGENT = "CPM-client/OMA2.0 pyua/1"
ICSI_MSG = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.msg"
DEVIATIONS = {
    "cpim-to-wrong-host",
    "decline-invites",
    "no-sync-answer",
    "no-user-agent",
    "base64-cpim",
    "unencoded-icsi",
    "imdn-answers-imdn",
    "from-tag-changed",
    "media-type-case",
    "cancel-no-487",
    "cancel-486",
    "file-complete-early",
    "resume-by-size",
    "abort-without-bye",
    "abort-keeps-sending",
    "chunk-after-bye",
    "resume-from-start",
    "resume-no-device-id",
    "no-bye-after-resume",
    "bye-before-last-200",
    "bye-early",
    "imdn-over-msrp",
    "imdn-unrequested",
}
# RFC 3261 7.3.3 compact header forms.
COMPACT = {
    "v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
    "c": "content-type", "k": "supported", "e": "content-encoding", "s": "subject",
    "o": "event", "u": "allow-events", "a": "accept-contact",
}
T1 = 0.5


def log(*parts):
    print("pyua:", *parts, file=sys.stderr, flush=True)


def pct(s):
    """Percent-encodes `:` as in a g.3gpp.icsi-ref value (3GPP TS 24.229 7.2A.8.2)."""
    return s.replace(":", "%3A")


# ---------------------------------------------------------------------------------------------
# SIP messages
# ---------------------------------------------------------------------------------------------

class SipMessage:
    """A parsed SIP request or response: start line, ordered headers, body bytes."""

    def __init__(self, start, headers, body):
        self.start = start
        self.headers = headers  # list of (name as written, value)
        self.body = body
        parts = start.split(" ", 2)
        if parts[0].startswith("SIP/"):
            self.method = None
            self.status = int(parts[1])
            self.reason = parts[2] if len(parts) > 2 else ""
        else:
            self.method = parts[0]
            self.uri = parts[1] if len(parts) > 1 else ""
            self.status = None

    def all(self, name):
        name = name.lower()
        return [v for (n, v) in self.headers if COMPACT.get(n.lower(), n.lower()) == name]

    def get(self, name, default=None):
        v = self.all(name)
        return v[0] if v else default

    def vias(self):
        out = []
        for v in self.all("via"):
            out.extend(x.strip() for x in split_commas(v))
        return out

    def cseq(self):
        n, method = self.get("cseq", "0 X").split()
        return int(n), method

    def branch(self):
        vias = self.vias()
        return param(vias[0], "branch") if vias else None


def split_commas(value):
    """Splits a header value at commas outside quotes and angle brackets."""
    out, cur, quote, angle = [], "", False, False
    for ch in value:
        if ch == '"':
            quote = not quote
        elif ch == "<" and not quote:
            angle = True
        elif ch == ">" and not quote:
            angle = False
        if ch == "," and not quote and not angle:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def param(value, name):
    """The value of `;name=` in a header value (outside the URI in angle brackets; a quoted
    value may hold `;`, `<` and `>`, as +sip.instance="<urn:...>" does)."""
    tail = value
    if "<" in value:
        tail = value[value.find(">", value.index("<")) + 1:]
    parts, cur, quoted = [], "", False
    for ch in tail:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in parts[1:]:
        k, _, v = p.strip().partition("=")
        if k.lower() == name:
            return v.strip('"')
    return None


def uri_of(value):
    """The URI of a name-addr (`"Bob" <sip:bob@test>;tag=x`) or addr-spec."""
    if "<" in value:
        return value.split("<", 1)[1].split(">", 1)[0]
    return value.split(";", 1)[0].strip()


def parse_head(head):
    text = head.decode("utf-8", "replace")
    lines = text.split("\r\n")
    start, headers = lines[0], []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and headers:  # RFC 3261 7.3.1 folding
            n, v = headers[-1]
            headers[-1] = (n, v + " " + line.strip())
            continue
        n, _, v = line.partition(":")
        headers.append((n.strip(), v.strip()))
    return start, headers


def parse_datagram(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no end of headers")
    start, headers = parse_head(head)
    msg = SipMessage(start, headers, body)
    cl = msg.get("content-length")
    if cl is not None:
        msg.body = body[: int(cl)]
    return msg


class StreamFramer:
    """RFC 3261 18.3: on a stream, Content-Length frames each message."""

    def __init__(self):
        self.buf = b""

    def push(self, data):
        self.buf += data
        out = []
        while True:
            self.buf = self.buf.lstrip(b"\r\n")  # keep-alive CRLFs
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return out
            start, headers = parse_head(self.buf[:end])
            msg = SipMessage(start, headers, b"")
            length = int(msg.get("content-length", "0"))
            total = end + 4 + length
            if len(self.buf) < total:
                return out
            msg.body = self.buf[end + 4: total]
            self.buf = self.buf[total:]
            out.append(msg)

    def empty(self):
        return not self.buf.strip(b"\r\n")


def serialise(start, headers, body=b""):
    lines = [start] + ["%s: %s" % (n, v) for (n, v) in headers]
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


# ---------------------------------------------------------------------------------------------
# CPIM (RFC 3862)
# ---------------------------------------------------------------------------------------------

def unwrap_cpim(body):
    """(cpim headers dict, inner content type, text) of a message/cpim body; the inner part is
    decoded by its Content-Transfer-Encoding."""
    text = body.replace(b"\r\n", b"\n")
    cpim_head, _, rest = text.partition(b"\n\n")
    mime_head, _, content = rest.partition(b"\n\n")
    cpim = header_fields(cpim_head.decode("utf-8", "replace").split("\n"))
    mime = header_fields(mime_head.decode("utf-8", "replace").split("\n"), lower=True)
    cte = mime.get("content-transfer-encoding", "").lower()
    if cte == "base64":
        content = base64.b64decode(content)
    ctype = mime.get("content-type", "text/plain").split(";")[0].strip()
    return cpim, ctype, content.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------------------------

class Client:
    """SIP side of pyua: one socket towards the proxy, a receive thread, client transactions."""

    def __init__(self, emit, deviations):
        self.emit = emit
        self.dev = deviations
        self.rng = random.Random(0)
        self.scale = 1.0
        self.sock = None
        self.transport = "udp"
        self.framer = StreamFramer()
        self.handling = threading.Lock()  # held while a received message is handled
        self.send_lock = threading.Lock()
        self.pending = {}  # branch -> list of responses, guarded by cond
        self.cond = threading.Condition()
        self.replies_pending = 0  # deviation imdn-answers-imdn: replies not yet answered
        self.server_tx = {}  # (branch, method) of a request we answered -> the response bytes
        self.ringing = {}  # branch of a pending INVITE -> (the INVITE, its To tag, session id)
        self.files = {}  # (name, size) of a file received in part or whole -> bytearray
        self.accept_files = True  # set_policy accept_files (files mode)
        self.sent_files = {}  # (name, size) of a file sent -> its bytes
        self.received_meta = {}  # (name, size) of a file received -> selector, peer, device
        self.sent_meta = {}  # (name, size) of a file sent -> selector, peer, device, acked
        self.unfinished = []  # ("recv" or "send", key) of transfers not complete, oldest first
        self.transfers = {}  # Call-ID of an accepted file INVITE -> FileTransfer
        self.sessions = 0
        self.closed = False
        self.reg_call_id = None
        self.reg_cseq = 0
        self.reg_from_tag = None
        self.challenge = None
        self.nc = 0
        self.registered = False

    # --- configuration --------------------------------------------------------------------

    def seed(self, seed, scale):
        self.rng = random.Random(seed)
        self.scale = scale if scale and scale > 0 else 1.0

    def token(self, n=10):
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))

    def uuid(self):
        h = "%032x" % self.rng.getrandbits(128)
        return "%s-%s-4%s-a%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:32])

    def configure(self, args):
        host, _, port = args["proxy"].rpartition(":")
        self.proxy = (host.strip("[]"), int(port))
        self.transport = args.get("transport", "udp")
        ident = args["identity"]
        self.aor = ident["public_user_identity"]
        self.domain = ident["domain"]
        self.password = ident["password"]
        self.instance = ident["instance_id"]
        user = self.aor.split(":", 1)[1].split("@", 1)[0]
        self.username = ident.get("private_user_identity") or user
        self.user = user
        self.close()
        family = socket.AF_INET6 if ":" in self.proxy[0] else socket.AF_INET
        if self.transport == "tcp":
            self.sock = socket.socket(family, socket.SOCK_STREAM)
            self.sock.settimeout(10 * self.scale)
            self.sock.connect(self.proxy)
            self.sock.settimeout(None)
        elif self.transport == "udp":
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.bind((self.proxy[0], 0))
        else:
            raise ValueError("transport %r not supported" % self.transport)
        self.framer = StreamFramer()
        self.local = self.sock.getsockname()[:2]
        self.closed = False
        threading.Thread(target=self.receive_loop, daemon=True).start()

    def close(self):
        if self.sock is not None:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def hostport(self):
        host, port = self.local
        return ("[%s]:%d" % (host, port)) if ":" in host else ("%s:%d" % (host, port))

    def contact(self, icsis):
        c = "<sip:%s@%s;transport=%s>;+sip.instance=\"<%s>\"" % (
            self.user, self.hostport(), self.transport, self.instance)
        if icsis:
            c += ';+g.3gpp.icsi-ref="%s"' % ",".join(pct(i) for i in icsis)
        return c

    # --- transport ------------------------------------------------------------------------

    def send_bytes(self, data):
        with self.send_lock:
            if self.sock is None:
                raise OSError("not configured")
            if self.transport == "tcp":
                self.sock.sendall(data)
            else:
                self.sock.sendto(data, self.proxy)

    def receive_loop(self):
        sock = self.sock
        while not self.closed:
            try:
                ready, _, _ = select.select([sock], [], [], 0.2)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            with self.handling:
                try:
                    if self.transport == "tcp":
                        data = sock.recv(65536)
                        if not data:
                            log("connection closed by the proxy")
                            return
                        msgs = self.framer.push(data)
                    else:
                        data, _ = sock.recvfrom(65536)
                        msgs = [parse_datagram(data)]
                except (OSError, ValueError) as e:
                    if not self.closed:
                        log("receive:", e)
                    continue
                for m in msgs:
                    try:
                        self.dispatch(m)
                    except Exception as e:  # report, keep receiving
                        log("handling %s: %r" % (m.start, e))

    def quiescent(self):
        """Everything received so far is handled: the socket has nothing unread (checked while
        the receive thread is not inside a message)."""
        with self.cond:
            if self.replies_pending:
                return False
        with self.handling:
            if self.sock is None:
                return True
            ready, _, _ = select.select([self.sock], [], [], 0)
            return not ready and self.framer.empty()

    # --- client transactions --------------------------------------------------------------

    def request(self, method, uri, headers, body=b"", timeout=None):
        """Sends a request (retransmitted over UDP, RFC 3261 17.1.2.2) and returns its final
        response, or None after timer F."""
        branch = "z9hG4bK" + self.token(16)
        via = "SIP/2.0/%s %s;branch=%s;rport" % (self.transport.upper(), self.hostport(), branch)
        hdrs = [("Via", via), ("Max-Forwards", "70")] + headers
        if "no-user-agent" not in self.dev:
            hdrs.append(("User-Agent", USER_AGENT))
        data = serialise("%s %s SIP/2.0" % (method, uri), hdrs, body)
        with self.cond:
            self.pending[branch] = []
        deadline = time.monotonic() + (timeout or 64 * T1 * self.scale)
        interval = T1 * self.scale
        next_send = time.monotonic()
        seen = 0
        try:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    return None
                if next_send is not None and now >= next_send:
                    self.send_bytes(data)
                    if self.transport == "udp":
                        next_send = now + interval
                        interval = min(interval * 2, 4.0 * self.scale)
                    else:
                        next_send = None
                with self.cond:
                    wake = deadline if next_send is None else min(deadline, next_send)
                    self.cond.wait_for(lambda: len(self.pending[branch]) > seen,
                                       timeout=max(0, wake - time.monotonic()))
                    responses = self.pending[branch]
                    final = [r for r in responses if r.status >= 200]
                    if final:
                        return final[0]
                    if len(responses) > seen:
                        seen = len(responses)
                        next_send = None  # a provisional response stops retransmission
        finally:
            with self.cond:
                self.pending.pop(branch, None)

    # --- digest (RFC 2617 / RFC 3261 22.4) -------------------------------------------------

    def authorization(self, method, uri):
        ch = self.challenge
        if ch is None:
            return []
        realm, nonce = ch.get("realm", self.domain), ch.get("nonce", "")
        algorithm = ch.get("algorithm", "MD5")
        if algorithm.upper() != "MD5":
            raise ValueError("digest algorithm %s not supported" % algorithm)
        md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
        ha1 = md5("%s:%s:%s" % (self.username, realm, self.password))
        ha2 = md5("%s:%s" % (method, uri))
        fields = 'username="%s", realm="%s", nonce="%s", uri="%s"' % (
            self.username, realm, nonce, uri)
        qops = [q.strip() for q in ch.get("qop", "").split(",") if q.strip()]
        if "auth" in qops:
            self.nc += 1
            nc = "%08x" % self.nc
            cnonce = self.token(16)
            resp = md5("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))
            fields += ', response="%s", algorithm=MD5, cnonce="%s", qop=auth, nc=%s' % (
                resp, cnonce, nc)
        else:
            resp = md5("%s:%s:%s" % (ha1, nonce, ha2))
            fields += ', response="%s", algorithm=MD5' % resp
        if "opaque" in ch:
            fields += ', opaque="%s"' % ch["opaque"]
        header = "Authorization" if ch["_header"] == "www" else "Proxy-Authorization"
        return [(header, "Digest " + fields)]

    def take_challenge(self, resp):
        value = resp.get("www-authenticate") if resp.status == 401 else resp.get("proxy-authenticate")
        if not value or not value.lower().startswith("digest"):
            return False
        ch = {"_header": "www" if resp.status == 401 else "proxy"}
        for part in split_commas(value[len("digest"):]):
            k, _, v = part.strip().partition("=")
            ch[k.strip().lower()] = v.strip().strip('"')
        self.challenge = ch
        self.nc = 0
        return True

    # --- registration ---------------------------------------------------------------------

    def register(self, expires):
        uri = "sip:" + self.domain
        if self.reg_call_id is None:
            self.reg_call_id = "%s@%s" % (self.token(16), self.local[0])
            self.reg_from_tag = self.token()
        icsis = [ICSI_MSG]
        for attempt in range(3):
            self.reg_cseq += 1
            headers = [
                ("From", "<%s>;tag=%s" % (self.aor, self.reg_from_tag)),
                ("To", "<%s>" % self.aor),
                ("Call-ID", self.reg_call_id),
                ("CSeq", "%d REGISTER" % self.reg_cseq),
                ("Contact", self.contact(icsis)),
                ("Expires", str(expires)),
                ("Supported", "path, gruu"),
            ] + self.authorization("REGISTER", uri)
            resp = self.request("REGISTER", uri, headers)
            if resp is None:
                return None, "no final response to REGISTER"
            if resp.status in (401, 407) and attempt < 2 and self.take_challenge(resp):
                continue
            if 200 <= resp.status < 300:
                return resp, None
            return None, "%d %s" % (resp.status, resp.reason)
        return None, "still challenged after credentials"

    def do_register(self):
        try:
            resp, err = self.register(3600)
        except Exception as e:
            resp, err = None, str(e)
        if resp is None:
            self.emit_event("error", {"message": "registration failed: %s" % err})
            return
        expires = 3600
        for c in resp.all("contact"):
            e = param(c, "expires")
            if e is not None:
                expires = int(e)
        self.registered = True
        self.emit_event("registered", {"expires": expires})

    def do_unregister(self):
        try:
            resp, err = self.register(0)
        except Exception as e:
            resp, err = None, str(e)
        if resp is None:
            self.emit_event("error", {"message": "de-registration failed: %s" % err})
            return
        self.registered = False
        self.emit_event("unregistered", {"reason": "user"})

    # --- Pager Mode -----------------------------------------------------------------------

    def pager(self, to, text, content_type, imdn):
        """Builds the MESSAGE of a Pager Mode standalone message; returns (message id, send fn)."""
        message_id = self.token(12)
        cpim_to = to
        if "cpim-to-wrong-host" in self.dev and "@" in to:
            cpim_to = to + ".example"
        payload = text.encode("utf-8")
        mixed_case = "media-type-case" in self.dev
        if mixed_case:
            content_type = "/".join(p.capitalize() for p in content_type.split("/"))
            content_type += "; Charset=UTF-8"
        mime = ["Content-Type: %s" % content_type]
        if "base64-cpim" in self.dev:
            payload = base64.b64encode(payload)
            mime.append("Content-Transfer-Encoding: base64")
        cpim = [
            "From: <%s>" % self.aor,
            "To: <%s>" % cpim_to,
            "DateTime: %s" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "NS: imdn <urn:ietf:params:imdn>",
            "imdn.Message-ID: %s" % message_id,
        ]
        if imdn:
            cpim.append("imdn.Disposition-Notification: %s" % ", ".join(imdn))
        body = ("\r\n".join(cpim) + "\r\n\r\n" + "\r\n".join(mime) + "\r\n\r\n").encode() + payload
        icsi = ICSI_MSG if "unencoded-icsi" in self.dev else pct(ICSI_MSG)
        headers = [
            ("From", "<%s>;tag=%s" % (self.aor, self.token())),
            ("To", "<%s>" % to),
            ("Call-ID", "%s@%s" % (self.token(16), self.local[0])),
            ("CSeq", "1 MESSAGE"),
            ("Accept-Contact", '*;+g.3gpp.icsi-ref="%s"' % icsi),
            ("P-Preferred-Service", ICSI_MSG),
            ("Contact", self.contact([ICSI_MSG])),
            ("Conversation-ID", self.uuid()),
            ("Contribution-ID", self.uuid()),
            ("Content-Type", "Message/CPIM" if mixed_case else "message/cpim"),
        ]

        def send():
            try:
                resp = self.request("MESSAGE", to, headers, body)
                if resp is not None and resp.status in (401, 407) and self.take_challenge(resp):
                    hdrs = [(n, "2 MESSAGE") if n == "CSeq" else (n, v) for (n, v) in headers]
                    resp = self.request("MESSAGE", to, hdrs + self.authorization("MESSAGE", to), body)
                if resp is None or resp.status >= 300:
                    why = "no final response" if resp is None else "%d %s" % (resp.status, resp.reason)
                    self.emit_event("error", {"message": "MESSAGE to %s failed: %s" % (to, why)})
            except Exception as e:
                self.emit_event("error", {"message": "MESSAGE to %s failed: %s" % (to, e)})

        return message_id, send

    # --- incoming -------------------------------------------------------------------------

    def emit_event(self, name, data):
        self.emit({"event": name, "data": data})

    def dispatch(self, m):
        if m.status is not None:
            branch = m.branch()
            with self.cond:
                if branch in self.pending:
                    self.pending[branch].append(m)
                    self.cond.notify_all()
            return
        if m.method == "ACK":
            return
        answered = self.server_tx.get((m.branch(), m.method))
        if answered is not None:  # a retransmission (RFC 3261 17.2): repeat the answer only
            self.send_response_bytes(m, answered)
            return
        if m.method == "MESSAGE":
            self.respond(m, 200, "OK")
            self.on_message(m)
        elif m.method == "INVITE":
            self.on_invite(m)
        elif m.method == "CANCEL":
            known = (m.branch(), "INVITE") in self.server_tx
            self.respond(m, 200 if known else 481, "OK" if known else "Call/Transaction Does Not Exist")
            pending = self.ringing.pop(m.branch(), None)
            if pending is not None and "cancel-no-487" not in self.dev:
                invite, tag, session = pending
                if "cancel-486" in self.dev:
                    self.respond(invite, 486, "Busy Here", to_tag=tag)
                else:
                    self.respond(invite, 487, "Request Terminated", to_tag=tag)
                reason = m.get("reason")
                data = {"session": session, "completed_elsewhere":
                        reason is not None and param(reason, "cause") == "200"}
                if reason is not None:
                    data["reason"] = reason
                self.emit_event("session_ended", data)
        elif m.method == "OPTIONS":
            self.respond(m, 200, "OK", [("Allow", "INVITE, ACK, CANCEL, BYE, MESSAGE, OPTIONS")])
        elif m.method == "BYE" and m.get("call-id") in self.transfers:
            self.respond(m, 200, "OK")
            self.transfers.pop(m.get("call-id")).close()
        elif m.method in ("BYE", "NOTIFY", "UPDATE", "INFO", "PRACK"):
            self.respond(m, 481, "Call/Transaction Does Not Exist")
        else:
            self.respond(m, 405, "Method Not Allowed",
                         [("Allow", "INVITE, ACK, CANCEL, BYE, MESSAGE, OPTIONS")])

    def on_message(self, m):
        ctype = m.get("content-type", "text/plain").split(";")[0].strip().lower()
        sender = uri_of(m.get("from", ""))
        message_id = None
        if ctype == "message/cpim":
            cpim, inner, text = unwrap_cpim(m.body)
            if "From" in cpim:
                sender = uri_of(cpim["From"])
            message_id = cpim.get("imdn.Message-ID")
            ctype = inner
        else:
            text = m.body.decode("utf-8", "replace")
        accept = " ".join(m.all("accept-contact"))
        data = {
            "from": sender,
            "text": text,
            "content_type": ctype,
            "deferred": "cpm.deferred" in accept,
        }
        for key, header in (("conversation_id", "conversation-id"),
                            ("contribution_id", "contribution-id")):
            if m.get(header):
                data[key] = m.get(header)
        if message_id:
            data["message_id"] = message_id
        if ctype == "message/imdn+xml":
            # A disposition notification (RFC 5438): shown as the state of the message it is
            # about, never answered with one of its own (6.3); the deviation does answer it.
            about = re.search(r"<(?:\w+:)?message-id>([^<]*)<", text)
            status = re.search(r"<(?:\w+:)?status>\s*<(?:\w+:)?([\w-]+)", text)
            if about and status:
                self.emit_event("imdn_received", {"message_id": about.group(1).strip(),
                                                  "status": status.group(1), "from": sender})
            if "imdn-answers-imdn" in self.dev and message_id:
                self.answer_imdn(sender, message_id)
            return
        self.emit_event("message_received", data)

    def answer_imdn(self, to, message_id):
        """A delivery notification for `message_id` by SIP MESSAGE (a received file's, or with
        deviation imdn-answers-imdn a received IMDN's)."""
        _, send = self.pager(to, self.imdn_xml(message_id), "message/imdn+xml", [])
        with self.cond:
            self.replies_pending += 1

        def run():
            try:
                send()
            finally:
                with self.cond:
                    self.replies_pending -= 1

        threading.Thread(target=run, daemon=True).start()

    def on_invite(self, m):
        if files_mode():
            self.on_file_invite(m)
            return
        if ringing_mode():
            tag = self.token()
            self.sessions += 1
            session = "s%d" % self.sessions
            self.ringing[m.branch()] = (m, tag, session)
            self.respond(m, 180, "Ringing", to_tag=tag)
            contact = m.get("contact", "")
            group = param(contact, "isfocus") is not None
            self.emit_event("session_invited", {
                "session": session, "from": uri_of(m.get("from", "")),
                "kind": "group" if group else "chat",
                "deferred": "cpm.deferred" in " ".join(m.all("accept-contact"))})
            return
        status = int(os.environ.get("PYUA_DECLINE_STATUS", "488"))
        reasons = {486: "Busy Here", 488: "Not Acceptable Here", 603: "Decline",
                   415: "Unsupported Media Type", 480: "Temporarily Unavailable"}
        self.respond(m, status, reasons.get(status, "Declined"))

    def on_file_invite(self, m):
        """PYUA_INVITES=files: a file push or a resume offer (RFC 5547)."""
        offer = parse_sdp(m.body)
        selector = offer.get("file-selector")
        if m.get("content-type", "").split(";")[0].strip().lower() == "application/sdp" \
                and selector is not None and offer.get("direction") == "recvonly":
            self.serve_resume(m, offer, selector)
            return
        if m.get("content-type", "").split(";")[0].strip().lower() != "application/sdp" \
                or selector is None or offer.get("direction") != "sendonly":
            self.respond(m, 488, "Not Acceptable Here")
            return
        name, size = selector_key(selector)
        resume = offer.get("file-range")
        if not self.accept_files and resume is None:
            self.respond(m, 603, "Decline")
            return
        start = 1
        if resume is not None:
            start = int(resume.split("-", 1)[0])
            known = [k for k in self.files if k == (name, size)
                     or ("resume-by-size" in self.dev and k[1] == size)]
            if not known or start < 2:
                self.respond(m, 488, "Not Acceptable Here")
                return
            key = known[0]
        else:
            key = (name, size)
            self.files[key] = bytearray()
            # What a resume of it needs (CR 7.4.5.1 item 1): the file, the sender and its device.
            self.received_meta[key] = {
                "selector": selector, "peer": uri_of(m.get("from", "")),
                "device": param(m.get("contact", ""), "+sip.instance")}
            self.unfinished.append(("recv", key))
        self.take_transfer(m, offer, key, start, "recvonly", selector, resume)

    def serve_resume(self, m, offer, selector):
        """A request to resume a file pyua sent (RFC 5547 9, CR 7.4.5.2 item 1): 200 with
        a=sendonly and the range, then the bytes from its start; 488 for a file it never sent
        (ii)."""
        key = selector_key(selector)
        data = self.sent_files.get(key)
        rng = offer.get("file-range")
        if data is None or rng is None:
            self.respond(m, 488, "Not Acceptable Here")
            return
        start = int(rng.split("-", 1)[0])
        self.take_transfer(m, offer, key, start, "sendonly", selector, rng, data[start - 1:])

    def take_transfer(self, m, offer, key, start, direction, selector, rng, outgoing=None):
        """Answers a file INVITE 200 (a=setup:active: pyua connects to the offer's path) and
        runs the transfer: receiving, or sending `outgoing` from byte `start`."""
        listener, ours = self.msrp_listener()
        body = self.file_sdp(ours, listener, "active", direction, selector,
                             offer.get("file-transfer-id"), rng)
        bye = self.answer_file_invite(m, body)
        t = FileTransfer(self, key, start, uri_of(m.get("from", "")), offer["path"], ours,
                         listener)
        t.bye = bye
        t.outgoing = outgoing
        self.transfers[m.get("call-id")] = t
        threading.Thread(target=t.run, daemon=True).start()

    def msrp_listener(self):
        """A TCP socket bound for MSRP and the a=path URI naming it."""
        host = self.local[0]
        listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        listener.bind((host, 0))
        ours = "msrp://%s:%d/%s;tcp" % (("[%s]" % host) if ":" in host else host,
                                         listener.getsockname()[1], self.token(12))
        return listener, ours

    def file_sdp(self, ours, listener, setup, direction, selector, ftid, rng=None):
        host = self.local[0]
        ip = "IP6" if ":" in host else "IP4"
        sdp = ["v=0", "o=pyua %d 1 IN %s %s" % (self.rng.getrandbits(31), ip, host),
               "s=-", "c=IN %s %s" % (ip, host), "t=0 0",
               "m=message %d TCP/MSRP *" % listener.getsockname()[1],
               "a=accept-types:*", "a=path:" + ours, "a=setup:" + setup, "a=" + direction,
               "a=file-selector:" + selector]
        if ftid:
            sdp.append("a=file-transfer-id:" + ftid)
        if rng is not None:
            sdp.append("a=file-range:" + rng)
        return ("\r\n".join(sdp) + "\r\n").encode()

    def answer_file_invite(self, m, body):
        """200 with the SDP answer; returns the function that ends the dialog with BYE (the
        UAS side, RFC 3261 12.1.1: the route set is the Record-Route in order, the remote
        target the INVITE's Contact)."""
        icsi = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.filetransfer"
        # RFC 3261 12.1.1: a 2xx that makes a dialog copies the request's Record-Route.
        routes = [("Record-Route", v) for v in m.all("record-route")]
        tag = self.token()
        self.respond(m, 200, "OK", routes + [("Contact", self.contact([icsi])),
                                             ("Content-Type", "application/sdp")],
                     to_tag=tag, body=body)
        remote = uri_of(m.get("contact", "")) or uri_of(m.get("from", ""))
        dialog = [("From", "%s;tag=%s" % (m.get("to", "").split(";tag=")[0], tag)),
                  ("To", m.get("from", "")), ("Call-ID", m.get("call-id", ""))]
        dialog += [("Route", "<%s>" % uri_of(r)) for r in m.all("record-route")]
        return lambda: self.bye(remote, dialog, 1)

    def file_offer(self, to, selector, direction, rng=None, device=None):
        """An INVITE offering a file transfer (RFC 5547, a=setup:passive: the peer connects):
        (Call-ID, headers, SDP, MSRP listener, our a=path URI). `device`: the peer's
        +sip.instance, asked for in Accept-Contact (RFC 3841, CR 7.4.5.1 items 1 a and 2 a)."""
        listener, ours = self.msrp_listener()
        listener.listen(4)
        body = self.file_sdp(ours, listener, "passive", direction, selector, self.token(12), rng)
        icsi = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.filetransfer"
        accept = '*;+g.3gpp.icsi-ref="%s"' % pct(icsi)
        if device and "resume-no-device-id" not in self.dev:
            accept += ';+sip.instance="%s";require;explicit' % device
        call_id = "%s@%s" % (self.token(16), self.local[0])
        headers = [
            ("From", "<%s>;tag=%s" % (self.aor, self.token())), ("To", "<%s>" % to),
            ("Call-ID", call_id), ("CSeq", "1 INVITE"), ("Accept-Contact", accept),
            ("P-Preferred-Service", icsi), ("Contact", self.contact([icsi])),
            ("Content-Type", "application/sdp"),
        ]
        return call_id, headers, body, listener, ours

    def send_file(self, to, name, content_type, size):
        """send_file: (transfer id, the function that sends it)."""
        data = bytes(97 + i % 26 for i in range(size))
        key = (name, size)
        selector = 'name:"%s" type:%s size:%d' % (name, content_type, size)
        self.sent_files[key] = data
        transfer_id = self.token(12)
        self.sent_meta[key] = {"selector": selector, "peer": to, "device": None, "acked": 0,
                               "transfer_id": transfer_id}
        self.unfinished.append(("send", key))
        return transfer_id, self.sending(key, 1)

    def sending(self, key, start, device=None, rng=None):
        """The function that offers `key` from byte `start` and sends it; BYE once every chunk
        is acknowledged (CR 7.4.3; 7.4.5.1 item 6 for a resumed one)."""
        meta = self.sent_meta[key]
        to = meta["peer"]
        call_id, headers, body, listener, ours = self.file_offer(
            to, meta["selector"], "sendonly", rng, device)

        def prepare(t, resp):
            # The recipient's device, for a resume (CR 7.4.5.1 item 2 a).
            meta["device"] = param(resp.get("contact", ""), "+sip.instance")
            t.outgoing = self.sent_files[key][start - 1:]
            t.on_sent = t.bye

        return self.offered(to, call_id, headers, body, listener, ours, key, start, prepare)

    def offered(self, to, call_id, headers, body, listener, ours, key, start, prepare):
        """The function that sends a file INVITE of ours and, on its 2xx, runs the transfer
        (pyua passive: the peer connects); `prepare(transfer, 2xx)` sets what it is to do."""

        def run():
            try:
                dialog = self.invite(to, headers, body)
                if dialog is None:
                    return
                remote, route, cseq, resp = dialog
                t = FileTransfer(self, key, start, to, parse_sdp(resp.body).get("path", ""),
                                 ours, listener)
                t.bye = lambda: self.bye(remote, route, cseq + 1)
                prepare(t, resp)
                self.transfers[call_id] = t
                t.serve()
            except Exception as e:
                self.emit_event("error", {"message": "file transfer failed: %s" % e})

        return run

    def resume_file(self):
        """resume_file: the latest unfinished transfer (CR 7.4.5.1). As original receiver a
        new INVITE with a=recvonly, the same file-selector and a=file-range from the first byte
        missing, the sender's device in Accept-Contact, and BYE once the file is complete; as
        original sender a=sendonly from the first byte not acknowledged, the recipient's device,
        and the rest sent. Returns (transfer id, the function that does it)."""
        if not self.unfinished:
            raise ValueError("no unfinished file transfer to resume")
        kind, key = self.unfinished[-1]
        if kind == "send":
            meta = self.sent_meta[key]
            start = 1 if "resume-from-start" in self.dev else meta["acked"] + 1
            return meta["transfer_id"], self.sending(key, start, meta["device"],
                                                     "%d-%d" % (start, key[1]))
        meta = self.received_meta[key]
        have = len(self.files[key])
        if "resume-from-start" in self.dev:
            have = 0
            self.files[key] = bytearray()
        to = meta["peer"]
        call_id, headers, body, listener, ours = self.file_offer(
            to, meta["selector"], "recvonly", "%d-%d" % (have + 1, key[1]), meta["device"])

        def prepare(t, resp):
            if "no-bye-after-resume" not in self.dev:
                t.on_complete = t.bye

        return self.token(12), self.offered(to, call_id, headers, body, listener, ours, key,
                                            have + 1, prepare)

    def leave(self):
        """leave: the user ends the latest file transfer (CR 7.4.3: a BYE, whichever side; the
        sender stops sending)."""
        live = [t for t in self.transfers.values() if not t.closed and t.bye is not None]
        if not live:
            raise ValueError("no file transfer to leave")
        t = live[-1]
        if "abort-keeps-sending" in self.dev:
            t.flush_next = True  # the chunk it had queued goes out before the BYE
            deadline = time.monotonic() + 2 * self.scale
            while t.flush_next and time.monotonic() < deadline:
                time.sleep(0.005)
        t.aborted = True
        if "abort-without-bye" in self.dev:
            t.close()
            return
        bye, t.bye, t.on_sent, t.on_complete = t.bye, None, None, None
        bye()
        if "chunk-after-bye" in self.dev:
            # One more chunk (not closed with `#`) goes out at once after its BYE.
            body = b"x" * 64
            with t.send_lock:
                t.sock.sendall(t.frame(self.token(8), "SEND", [
                    ("To-Path", t.theirs), ("From-Path", t.ours), ("Message-ID", self.token(10)),
                    ("Byte-Range", "1-%d/%d" % (len(body), len(body))),
                    ("Content-Type", "text/plain")], body, "$"))
        t.close()

    def invite(self, to, headers, body):
        """Sends an INVITE (with credentials after a challenge) and ACKs its 2xx: (remote
        target, dialog headers, CSeq, the 2xx), or None after an error event."""
        resp = self.request("INVITE", to, headers, body)
        if resp is not None and resp.status >= 300:
            self.ack_failure(to, headers, resp)
        if resp is not None and resp.status in (401, 407) and self.take_challenge(resp):
            hdrs = [(n, "2 INVITE") if n == "CSeq" else (n, v) for (n, v) in headers]
            resp = self.request("INVITE", to, hdrs + self.authorization("INVITE", to), body)
            if resp is not None and resp.status >= 300:
                self.ack_failure(to, hdrs, resp)
        if resp is None or not 200 <= resp.status < 300:
            why = "no final response" if resp is None else "%d %s" % (resp.status, resp.reason)
            self.emit_event("error", {"message": "INVITE to %s failed: %s" % (to, why)})
            return None
        cseq = resp.cseq()[0]
        remote = uri_of(resp.get("contact", "")) or to
        routes = [uri_of(r) for r in reversed(resp.all("record-route"))]
        dialog = [(n, v) for (n, v) in headers if n in ("From", "Call-ID")]
        dialog += [("To", resp.get("to", ""))] + [("Route", "<%s>" % r) for r in routes]
        self.ack(remote, dialog, cseq)
        return remote, dialog, cseq, resp

    def ack_failure(self, uri, headers, resp):
        """The ACK of a non-2xx final response (RFC 3261 17.1.1.3): part of the INVITE's
        transaction (its Via, branch included), the response's To (with its tag)."""
        keep = [(n, v) for (n, v) in headers if n in ("From", "Call-ID")]
        hdrs = [("Via", resp.vias()[0]), ("Max-Forwards", "70")] + keep + [
            ("To", resp.get("to", "")), ("CSeq", "%d ACK" % resp.cseq()[0])]
        if "no-user-agent" not in self.dev:
            hdrs.append(("User-Agent", USER_AGENT))
        self.send_bytes(serialise("ACK %s SIP/2.0" % uri, hdrs))

    def ack(self, remote, dialog, cseq):
        """The ACK of a 2xx (RFC 3261 13.2.2.4): a request of its own, not retransmitted."""
        branch = "z9hG4bK" + self.token(16)
        via = "SIP/2.0/%s %s;branch=%s;rport" % (self.transport.upper(), self.hostport(), branch)
        hdrs = [("Via", via), ("Max-Forwards", "70")] + dialog + [("CSeq", "%d ACK" % cseq)]
        if "no-user-agent" not in self.dev:
            hdrs.append(("User-Agent", USER_AGENT))
        self.send_bytes(serialise("ACK %s SIP/2.0" % remote, hdrs))

    def bye(self, remote, dialog, cseq):
        resp = self.request("BYE", remote, dialog + [("CSeq", "%d BYE" % cseq)])
        if resp is not None and resp.status in (401, 407) and self.take_challenge(resp):
            hdrs = dialog + [("CSeq", "%d BYE" % (cseq + 1))] + self.authorization("BYE", remote)
            self.request("BYE", remote, hdrs)

    def file_progress(self, t, flag, content_type, message):
        """A chunk of transfer `t` arrived (end-line flag `flag`); `message` holds the bytes of
        its MSRP message so far (by Byte-Range)."""
        data = self.files.get(t.key)
        if data is None:
            return
        cpim = content_type.split(";")[0].strip().lower() == "message/cpim"
        headers = {}
        if cpim:
            if flag != "$":
                return
            headers, content = split_cpim(bytes(message))
            at = t.start - 1
            if len(data) < at:
                data.extend(b"\0" * (at - len(data)))
            data[at:at + len(content)] = content
        early = "file-complete-early" in self.dev and t.start > 1
        if not ((flag == "$" and len(data) == t.key[1]) or early):
            return
        if ("recv", t.key) in self.unfinished:
            self.unfinished.remove(("recv", t.key))
        self.emit_event("file_received", {
            "name": t.key[0], "size": len(data),
            "sha256": hashlib.sha256(bytes(data)).hexdigest(), "from": t.peer})
        if t.on_complete is not None:
            done, t.on_complete = t.on_complete, None
            threading.Thread(target=done, daemon=True).start()
        message_id = headers.get("imdn.Message-ID")
        asked = "positive-delivery" in headers.get("imdn.Disposition-Notification", "")
        if message_id and (asked or "imdn-unrequested" in self.dev):
            sender = uri_of(headers.get("From", t.peer))
            if "imdn-over-msrp" in self.dev:
                t.send_imdn(sender, message_id, self.imdn_xml(message_id))
            else:
                self.answer_imdn(sender, message_id)

    def imdn_xml(self, message_id):
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>%s</message-id>'
                '<datetime>%s</datetime><delivery-notification><status><delivered/></status>'
                '</delivery-notification></imdn>\n'
                % (message_id, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))

    def respond(self, req, status, reason, extra=(), to_tag=None, body=b""):
        to = req.get("to", "")
        if status > 100 and param(to, "tag") is None:
            to += ";tag=" + (to_tag or self.token())
        headers = [("Via", v) for v in req.all("via")]
        frm = req.get("from", "")
        if "from-tag-changed" in self.dev and status > 100:
            frm = frm.split(";tag=")[0] + ";tag=" + self.token()
        headers += [("From", frm), ("To", to),
                    ("Call-ID", req.get("call-id", "")), ("CSeq", req.get("cseq", ""))]
        headers += list(extra)
        data = serialise("SIP/2.0 %d %s" % (status, reason), headers, body)
        self.server_tx[(req.branch(), req.method)] = data
        self.send_response_bytes(req, data)
        return data

    def send_response_bytes(self, req, data):
        # Responses go back the way the request came: the connection, or the proxy's address
        # (every request reaches pyua through the proxy).
        self.send_bytes(data)


# ---------------------------------------------------------------------------------------------
# File transfer (PYUA_INVITES=files): SDP (RFC 5547) and MSRP (RFC 4975) receiving
# ---------------------------------------------------------------------------------------------

def parse_sdp(body):
    """The attributes pyua reads from a file offer: direction, path, file-selector,
    file-transfer-id and file-range."""
    out = {"direction": "sendrecv"}
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.startswith("a="):
            continue
        name, _, value = line[2:].partition(":")
        if name in ("sendonly", "recvonly", "inactive", "sendrecv"):
            out["direction"] = name
        elif name in ("path", "file-selector", "file-transfer-id", "file-range"):
            out[name] = value.strip()
    return out


def selector_key(selector):
    """(name, size) of an RFC 5547 file-selector (`name:"a.txt" type:text/plain size:32`)."""
    name = re.search(r'name:"([^"]*)"', selector)
    size = re.search(r"size:(\d+)", selector)
    return (name.group(1) if name else "", int(size.group(1)) if size else -1)


class FileTransfer:
    """One accepted file INVITE: the MSRP connection pyua opens (a=setup:active) and the chunks
    it receives on it."""

    def __init__(self, client, key, start, peer, theirs, ours, listener):
        self.client = client
        self.key = key
        self.start = start
        self.peer = peer
        self.theirs = theirs
        self.ours = ours
        self.listener = listener
        self.sock = None
        self.closed = False
        self.message = bytearray()  # the MSRP message being received, by Byte-Range
        self.send_lock = threading.Lock()
        self.outgoing = None  # bytes to send once bound (a file sent, or a resume served)
        self.on_sent = None  # called once every chunk sent is acknowledged (or per deviation)
        self.on_complete = None  # called once the file received is complete (a resume's BYE)
        self.bye = None  # ends the transfer's dialog (leave, completion)
        self.aborted = False  # the user left: no more chunks
        self.flush_next = False  # deviation abort-keeps-sending: send the next chunk now
        self.chunk_tids = []  # transaction ids of the chunks sent, in order
        self.chunk_ends = {}  # transaction id -> the last byte its chunk carries
        self.acked_tids = set()
        self.acked = 0

    def send_imdn(self, to, message_id, xml):
        """Deviation imdn-over-msrp: the delivery notification as an MSRP SEND in this session."""
        c = self.client
        body = ("From: <%s>\r\nTo: <%s>\r\nNS: imdn <urn:ietf:params:imdn>\r\n"
                "imdn.Message-ID: %s\r\n\r\nContent-Type: message/imdn+xml\r\n"
                "Content-Disposition: notification\r\n\r\n%s"
                % (c.aor, to, c.token(12), xml)).encode()
        with self.send_lock:
            self.sock.sendall(self.frame(c.token(8), "SEND", [
                ("To-Path", self.theirs), ("From-Path", self.ours), ("Message-ID", c.token(10)),
                ("Byte-Range", "1-%d/%d" % (len(body), len(body))),
                ("Content-Type", "message/cpim")], body))

    def close(self):
        self.closed = True
        for s in (self.sock, self.listener):
            try:
                if s is not None:
                    s.close()
            except OSError:
                pass

    def frame(self, tid, start, headers, body=None, flag="$"):
        lines = ["MSRP %s %s" % (tid, start)] + ["%s: %s" % h for h in headers]
        head = "\r\n".join(lines) + "\r\n"
        if body is not None:
            head += "\r\n"
        end = ("\r\n" if body is not None else "") + "-------%s%s\r\n" % (tid, flag)
        return head.encode() + (body or b"") + end.encode()

    def serve(self):
        """The passive side (our offer said a=setup:passive): the peer connects and binds with
        its first SEND; then the file goes out."""
        self.listener.settimeout(10 * self.client.scale)
        try:
            self.sock, _ = self.listener.accept()
            self.sock.settimeout(None)
            # Each write is a whole MSRP frame: Nagle would only hold it back.
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.read_loop()
        except OSError as e:
            if not self.closed:
                log("file transfer:", e)

    def peer_closed(self):
        """The peer closed the MSRP connection: a file being sent is interrupted."""
        meta = self.client.sent_meta.get(self.key)
        if self.chunk_tids and meta is not None and ("send", self.key) in self.client.unfinished:
            self.client.emit_event("file_transfer_ended", {
                "transfer_id": meta["transfer_id"], "completed": False, "bytes": meta["acked"],
                "reason": "the MSRP connection closed"})

    def start_sending(self):
        """Sends what is to be sent, once: taken here, so a second trigger finds nothing."""
        with self.send_lock:
            data, self.outgoing = self.outgoing, None
        if data is not None:
            threading.Thread(target=self.send_outgoing, args=(data,), daemon=True).start()

    def send_outgoing(self, data):
        """The file (or the rest of it) in chunks of `PYUA_CHUNK` bytes (2048), Byte-Range from
        `self.start`."""
        c = self.client
        total = self.key[1]
        message_id = c.token(10)
        size = int(os.environ.get("PYUA_CHUNK", "2048"))
        chunks = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
        at = self.start
        # Every chunk's transaction is known before the first goes out: the 200s are counted
        # against all of them, however soon they come.
        tids = [c.token(8) for _ in chunks]
        end = self.start - 1
        for chunk, tid in zip(chunks, tids):
            end += len(chunk)
            self.chunk_ends[tid] = end
        self.chunk_tids.extend(tids)
        window = int(os.environ.get("PYUA_WINDOW", "4"))
        for n, (chunk, tid) in enumerate(zip(chunks, tids)):
            last = n == len(chunks) - 1
            # Paced: at most `window` chunks unacknowledged (0: all at once).
            deadline = time.monotonic() + 10 * c.scale
            while window and n - self.acked >= window and not self.aborted \
                    and not self.flush_next and time.monotonic() < deadline:
                time.sleep(0.005)
            if self.aborted or self.closed:
                return
            with self.send_lock:
                self.sock.sendall(self.frame(tid, "SEND", [
                    ("To-Path", self.theirs), ("From-Path", self.ours),
                    ("Message-ID", message_id),
                    ("Byte-Range", "%d-%d/%d" % (at, at + len(chunk) - 1, total)),
                    ("Content-Type", "application/octet-stream")], chunk,
                    "$" if last else "+"))
            self.flush_next = False
            at += len(chunk)
            if "bye-early" in c.dev and n == 0 and len(chunks) > 1:
                # Waits for the first chunk's 200, then ends the session before the rest.
                deadline = time.monotonic() + 5 * c.scale
                while self.acked == 0 and time.monotonic() < deadline:
                    time.sleep(0.005)
                self.finish()
                return
        if "bye-before-last-200" in c.dev:
            self.finish()

    def note_acknowledged(self):
        """7.4.5: how much of a file sent the recipient acknowledged (a prefix of chunks)."""
        upto = self.start - 1
        for tid in self.chunk_tids:
            if tid not in self.acked_tids:
                break
            upto = self.chunk_ends[tid]
        meta = self.client.sent_meta.get(self.key)
        if meta is not None:
            meta["acked"] = max(meta["acked"], upto)
            if upto == self.key[1] and ("send", self.key) in self.client.unfinished:
                self.client.unfinished.remove(("send", self.key))

    def finish(self):
        if self.on_sent is not None:
            done, self.on_sent = self.on_sent, None
            threading.Thread(target=done, daemon=True).start()

    def run(self):
        m = re.match(r"msrp://\[?([^\]/]*?)\]?:(\d+)/", self.theirs)
        if m is None:
            log("file transfer: no MSRP path in the offer")
            return
        try:
            self.sock = socket.create_connection((m.group(1), int(m.group(2))), 10)
            self.sock.settimeout(None)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c = self.client
            # RFC 4975 7.1.1: the active end's first SEND binds the connection (no body).
            with self.send_lock:
                self.sock.sendall(self.frame(c.token(8), "SEND", [
                    ("To-Path", self.theirs), ("From-Path", self.ours),
                    ("Message-ID", c.token(10)), ("Byte-Range", "1-0/0")]))
            self.read_loop()
        except OSError as e:
            if not self.closed:
                log("file transfer:", e)

    def read_loop(self):
        buf = b""
        while not self.closed:
            data = self.sock.recv(65536)
            if not data:
                self.peer_closed()
                return
            buf += data
            while True:
                frame, buf = take_msrp_frame(buf)
                if frame is None:
                    break
                self.on_frame(*frame)

    def on_frame(self, tid, start, headers, body, flag):
        words = start.split()
        if words and words[0].isdigit():
            # A response: to our binding SEND (then a resumed part may go), or to a chunk.
            if tid in self.chunk_tids and words[0].startswith("2"):
                self.acked_tids.add(tid)  # a 200 repeated counts once
                self.acked = len(self.acked_tids)
                self.note_acknowledged()
                if self.acked == len(self.chunk_tids) and self.outgoing is None:
                    self.finish()
            elif not self.chunk_tids:
                self.start_sending()
            return
        if not words or words[0] != "SEND":
            return  # another request: nothing to do
        h = {k.lower(): v for (k, v) in headers}
        # RFC 4975 7.1.2: with Failure-Report "no" no response, with "partial" only negative ones.
        if h.get("failure-report", "yes").lower() not in ("no", "partial"):
            with self.send_lock:
                self.sock.sendall(self.frame(tid, "200 OK", [
                    ("To-Path", h.get("from-path", "")), ("From-Path", self.ours)]))
        if body is None:
            if self.outgoing is not None and not self.chunk_tids:
                # The peer's binding SEND (we are passive): the file goes now.
                self.theirs = h.get("from-path", self.theirs)
                self.start_sending()
            return
        first = 1
        rng = re.match(r"(\d+)-", h.get("byte-range", ""))
        if rng:
            first = int(rng.group(1))
        content_type = h.get("content-type", "")
        cpim = content_type.split(";")[0].strip().lower() == "message/cpim"
        # A plain file's chunks are file bytes; a wrapped one's are the CPIM message's.
        data = self.message if cpim else self.client.files.setdefault(self.key, bytearray())
        at = first - 1
        if len(data) < at:
            data.extend(b"\0" * (at - len(data)))
        data[at:at + len(body)] = body
        self.client.file_progress(self, flag, content_type, self.message)
        if flag in "$#":
            self.message = bytearray()


def split_cpim(body):
    """(CPIM headers, content bytes) of a message/cpim body (RFC 3862: the message headers, a
    blank line, the MIME headers of the content, a blank line, the content)."""
    head, _, rest = body.partition(b"\r\n\r\n")
    _, _, content = rest.partition(b"\r\n\r\n")
    return header_fields(head.decode("utf-8", "replace").split("\r\n")), content


def header_fields(lines, lower=False):
    """`Name: value` lines as a dict (the first of a repeated name wins)."""
    fields = {}
    for line in lines:
        n, _, v = line.partition(":")
        if n:
            fields.setdefault(n.strip().lower() if lower else n.strip(), v.strip())
    return fields


def take_msrp_frame(buf):
    """((tid, start, headers, body or None, flag), rest) of the first whole MSRP frame in `buf`,
    or (None, buf)."""
    line_end = buf.find(b"\r\n")
    if line_end < 0:
        return None, buf
    first = buf[:line_end].decode("utf-8", "replace").split(" ", 2)
    if len(first) < 3 or first[0] != "MSRP":
        raise OSError("not an MSRP frame: %r" % buf[:line_end])
    tid = first[1]
    marker = ("-------%s" % tid).encode()
    at = buf.find(b"\r\n" + marker, line_end)
    if at < 0 or len(buf) < at + 2 + len(marker) + 3:
        return None, buf
    flag = buf[at + 2 + len(marker): at + 3 + len(marker)].decode()
    rest = buf[at + 2 + len(marker) + 3:]
    section = buf[line_end + 2: at + 2]
    head, sep, body = section.partition(b"\r\n\r\n")
    if sep:
        body = body[:-2] if body.endswith(b"\r\n") else body
    else:
        head, body = section, None
    _, headers = parse_head(b"x\r\n" + head)
    return (tid, first[2], headers, body, flag), rest


# ---------------------------------------------------------------------------------------------
# The adapter
# ---------------------------------------------------------------------------------------------

class Adapter:
    """Upper-tester side: JSON lines on the protocol stream, commands mapped to the client."""

    def __init__(self, out, deviations):
        self.out = out
        self.out_lock = threading.Lock()
        self.dev = deviations
        self.client = Client(self.send, deviations)

    def send(self, obj):
        line = json.dumps(obj, separators=(",", ":")) + "\n"
        with self.out_lock:
            self.out.write(line)
            self.out.flush()

    def capabilities(self):
        caps = ["pager"]
        if ringing_mode():
            caps += ["chat", "group-chat"]
        if files_mode():
            caps += ["file-transfer", "file-resume", "imdn"]
        if "decline-invites" in self.dev:
            # Claims sessions it will never accept: the deviation under test.
            caps += ["chat", "group-chat", "deferred-group", "file-transfer", "file-resume"]
        return caps

    def background(self, fn):
        threading.Thread(target=fn, daemon=True).start()

    def handle(self, cmd, args):
        c = self.client
        if cmd == "hello":
            settings = args.get("settings", {})
            c.seed(settings.get("seed", 0), settings.get("time_scale", 1.0))
            return {"name": NAME, "version": VERSION, "protocol": PROTOCOL,
                    "capabilities": self.capabilities()}
        if cmd == "configure":
            c.configure(args)
            return {}
        if cmd == "register":
            self.background(c.do_register)
            return {}
        if cmd == "unregister":
            self.background(c.do_unregister)
            return {}
        if cmd == "send_pager":
            message_id, send = c.pager(args["to"], args["text"],
                                       args.get("content_type") or "text/plain",
                                       args.get("imdn") or [])
            self.background(send)
            return {"message_id": message_id}
        if cmd == "set_policy" and "decline-invites" in self.dev:
            return {}  # accepted and ignored: every INVITE is declined anyway
        if cmd == "send_file" and files_mode():
            if args.get("path") or args.get("size") is None:
                raise ValueError("pyua (files) sends generated files only: give `size`")
            transfer_id, run = c.send_file(args["to"], args["name"], args["content_type"],
                                           int(args["size"]))
            self.background(run)
            return {"transfer_id": transfer_id}
        if cmd == "leave" and files_mode():
            if args.get("session"):
                raise ValueError("pyua (files) leaves the latest file transfer only")
            c.leave()
            return {}
        if cmd == "resume_file" and files_mode():
            if args.get("transfer_id"):
                raise ValueError("pyua (files) resumes the latest unfinished file only")
            transfer_id, run = c.resume_file()
            self.background(run)
            return {"transfer_id": transfer_id}
        if cmd == "set_policy" and files_mode():
            # The user takes every file, or none (accept_files: false, answered 603 as 7.4.2
            # item 4 says); resume is supported. Anything else it cannot do, and says so.
            for key, value in args.items():
                if key == "accept_files":
                    c.accept_files = bool(value)
                elif not (key == "auto_accept_sessions" and value) \
                        and not (key == "resume_supported" and value):
                    raise ValueError("pyua (files) cannot set %s to %r" % (key, value))
            return {}
        if cmd == "set_policy" and ringing_mode() and not args.get("auto_accept_sessions"):
            return {}  # invitations ring and stay pending: never accepted automatically
        if cmd == "sync":
            deadline = time.monotonic() + 10 * c.scale
            while not c.quiescent():
                if time.monotonic() > deadline:
                    raise RuntimeError("still handling received messages")
                time.sleep(0.005)
            return {}
        if cmd == "shutdown":
            c.close()
            return {}
        raise ValueError("command %s not supported by pyua" % cmd)

    def run(self, inp):
        for line in inp:
            line = line.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
            except ValueError as e:
                log("not JSON:", e)
                continue
            cmd = req.get("cmd")
            if cmd == "sync" and "no-sync-answer" in self.dev:
                log("deviation no-sync-answer: not answering sync")
                continue
            try:
                result = self.handle(cmd, req.get("args") or {})
                self.send({"id": req["id"], "ok": True, "result": result})
            except Exception as e:  # report, do not crash
                self.send({"id": req["id"], "ok": False, "error": str(e)})
            if cmd == "shutdown":
                return


def ringing_mode():
    return os.environ.get("PYUA_INVITES", "decline") == "ring"


def files_mode():
    return os.environ.get("PYUA_INVITES", "decline") == "files"


def deviations(argv):
    names = os.environ.get("PYUA_DEVIATIONS", "")
    if "--deviations" in argv:
        i = argv.index("--deviations")
        if i + 1 < len(argv):
            names += "," + argv[i + 1]
    chosen = {n.strip() for n in names.split(",") if n.strip()}
    unknown = chosen - DEVIATIONS
    if unknown:
        sys.exit("pyua: unknown deviation(s) %s; known: %s"
                 % (", ".join(sorted(unknown)), ", ".join(sorted(DEVIATIONS))))
    return chosen


def main():
    dev = deviations(sys.argv[1:])
    if dev:
        log("deviations:", ", ".join(sorted(dev)))
    Adapter(sys.stdout, dev).run(sys.stdin)


if __name__ == "__main__":
    main()

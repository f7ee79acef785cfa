#!/usr/bin/env python3
"""Upper-tester adapter for PJSIP's pjsua2 (PyPI `pjsua2-python`): a real, plain SIP UA.

It maps the upper-tester protocol (JSON lines, docs/upper-tester.md) onto pjsua2 as a client
team would without writing any CPM on top: `register`/`unregister` drive the account's
registration (pjsip answers the digest challenge), `send_pager` is pjsua2's instant message
(a SIP MESSAGE with a text/plain body), an incoming MESSAGE is reported as `message_received`
with the body pjsua2 hands over, `sync` answers once pjsip's event queue is empty. Everything
else is answered `ok: false`. Incoming INVITEs are declined 488 (no media is set up).

pjlib prints to stdout before its logging is configured, so the protocol stream is a duplicate
of the real stdout taken before pjsua2 is imported, and fd 1 is pointed at stderr: whatever
pjlib writes lands in the harness's stderr tail.

Needs pjsua2 in the interpreter running this file:
  python3 -m venv /opt/cpmconf-venv && /opt/cpmconf-venv/bin/pip install pjsua2-python
and a profile whose command runs /opt/cpmconf-venv/bin/python (fixtures/clients/pjsua2.yaml
runs `python3`: activate the venv first, or let the tests substitute $CPMCONF_PYTHON).
"""

import json
import os
import select
import sys

# The protocol stream: the real stdout, before anything else can write to it.
PROTO = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr

INSTALL = ("python3 -m venv /opt/cpmconf-venv && /opt/cpmconf-venv/bin/pip install pjsua2-python,"
           " then run this adapter with /opt/cpmconf-venv/bin/python (tests: export"
           " CPMCONF_PYTHON=/opt/cpmconf-venv/bin/python)")

try:
    import pjsua2 as pj
except ImportError as e:
    sys.stderr.write("pjsua2_adapter: cannot import pjsua2 (%s) with %s; install it: %s\n"
                     % (e, sys.executable, INSTALL))
    sys.exit(3)


def send(obj):
    PROTO.write(json.dumps(obj, separators=(",", ":")) + "\n")
    PROTO.flush()


def event(name, data):
    send({"event": name, "data": data})


def uri_of(value):
    """The URI of a name-addr (`"Bob" <sip:bob@test>`) or addr-spec."""
    if "<" in value:
        return value.split("<", 1)[1].split(">", 1)[0]
    return value.strip()


class Account(pj.Account):
    """Reports registration outcomes and incoming messages as upper-tester events."""

    def __init__(self, adapter):
        pj.Account.__init__(self)
        self.adapter = adapter
        self.want_registered = False

    def onRegState(self, prm):
        info = self.getInfo()
        if self.want_registered:
            if prm.code // 100 == 2 and info.regIsActive:
                event("registered", {"expires": int(info.regExpiresSec)})
            elif prm.code >= 300 or prm.code == 0:
                event("error", {"message": "registration failed: %d %s" % (prm.code, prm.reason)})
        else:
            if prm.code // 100 == 2:
                event("unregistered", {"reason": "user"})
            else:
                event("error", {"message": "de-registration failed: %d %s" % (prm.code, prm.reason)})

    def onInstantMessage(self, prm):
        event("message_received", {
            "from": uri_of(prm.fromUri),
            "text": prm.msgBody,
            "content_type": prm.contentType or "text/plain",
            "deferred": False,
        })

    def onInstantMessageStatus(self, prm):
        if prm.code >= 300:
            event("error", {"message": "MESSAGE to %s failed: %d %s" % (prm.toUri, prm.code, prm.reason)})

    def onIncomingCall(self, prm):
        call = pj.Call(self, prm.callId)
        op = pj.CallOpParam()
        op.statusCode = 488
        call.hangup(op)
        self.adapter.calls.append(call)  # pjsua2 needs the object alive until the call ends


class Adapter:
    def __init__(self):
        self.lib = pj.Endpoint()
        self.lib.libCreate()
        self.ep = None  # the endpoint once configured (libInit, transport, libStart)
        self.acc = None
        self.buddies = {}
        self.calls = []
        self.sent = 0
        self.done = False

    def start(self, args):
        self.ep = self.lib
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.logConfig.level = 4
        cfg.logConfig.consoleLevel = 4
        self.ep.libInit(cfg)
        self.ep.audDevManager().setNullDev()
        host, _, port = args["proxy"].rpartition(":")
        host = host.strip("[]")
        transport = args.get("transport", "udp")
        tcfg = pj.TransportConfig()
        tcfg.port = 0
        tcfg.boundAddress = host
        tcfg.publicAddress = host
        kind = pj.PJSIP_TRANSPORT_TCP if transport == "tcp" else pj.PJSIP_TRANSPORT_UDP
        if ":" in host:
            kind = pj.PJSIP_TRANSPORT_TCP6 if transport == "tcp" else pj.PJSIP_TRANSPORT_UDP6
        self.ep.transportCreate(kind, tcfg)
        self.ep.libStart()
        ident = args["identity"]
        aor = ident["public_user_identity"]
        user = aor.split(":", 1)[1].split("@", 1)[0]
        acfg = pj.AccountConfig()
        acfg.idUri = aor
        acfg.regConfig.registrarUri = "sip:" + ident["domain"]
        acfg.regConfig.registerOnAdd = False
        acfg.regConfig.timeoutSec = 3600
        hostport = "[%s]:%s" % (host, port) if ":" in host else "%s:%s" % (host, port)
        acfg.sipConfig.proxies.append("sip:%s;transport=%s;lr" % (hostport, transport))
        acfg.sipConfig.authCreds.append(pj.AuthCredInfo(
            "digest", "*", ident.get("private_user_identity") or user, 0, ident["password"]))
        acfg.natConfig.contactRewriteUse = 0
        acfg.natConfig.viaRewriteUse = 0
        acfg.natConfig.sdpNatRewriteUse = 0
        acfg.natConfig.sipOutboundUse = 0
        self.acc = Account(self)
        self.acc.create(acfg)

    def handle(self, cmd, args):
        if cmd == "hello":
            return {"name": "pjsua2", "version": self.version(), "protocol": 1,
                    "capabilities": ["pager"]}
        if cmd == "configure":
            if self.ep is not None:
                raise ValueError("configure twice is not supported")
            self.start(args)
            return {}
        if cmd in ("register", "unregister"):
            self.need_account()
            self.acc.want_registered = cmd == "register"
            self.acc.setRegistration(cmd == "register")
            return {}
        if cmd == "send_pager":
            self.need_account()
            to = args["to"]
            buddy = self.buddies.get(to)
            if buddy is None:
                bcfg = pj.BuddyConfig()
                bcfg.uri = to
                bcfg.subscribe = False
                buddy = pj.Buddy()
                buddy.create(self.acc, bcfg)
                self.buddies[to] = buddy
            prm = pj.SendInstantMessageParam()
            prm.content = args["text"]
            prm.contentType = args.get("content_type") or "text/plain"
            buddy.sendInstantMessage(prm)
            self.sent += 1
            return {"message_id": "pj%d" % self.sent}
        if cmd == "sync":
            if self.ep is not None:
                # Everything that reached pjsip's sockets is handled once a poll finds nothing.
                for _ in range(1000):
                    if self.ep.libHandleEvents(0) == 0:
                        break
            return {}
        if cmd == "shutdown":
            self.done = True
            return {}
        raise ValueError("command %s not supported by the pjsua2 adapter" % cmd)

    def version(self):
        return self.lib.libVersion().full

    def need_account(self):
        if self.acc is None:
            raise ValueError("not configured")

    def run(self):
        buf = b""
        stdin = sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, "raw") else sys.stdin.buffer
        fd = stdin.fileno()
        eof = False
        while not self.done and not eof:
            ready, _, _ = select.select([fd], [], [], 0 if self.ep else 0.05)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    eof = True
                buf += chunk
                while b"\n" in buf and not self.done:
                    line, buf = buf.split(b"\n", 1)
                    self.line(line)
            if self.ep is not None:
                self.ep.libHandleEvents(10)
        self.stop()

    def line(self, raw):
        raw = raw.strip()
        if not raw:
            return
        try:
            req = json.loads(raw)
        except ValueError as e:
            sys.stderr.write("pjsua2_adapter: not JSON: %s\n" % e)
            return
        try:
            result = self.handle(req.get("cmd"), req.get("args") or {})
            send({"id": req["id"], "ok": True, "result": result})
        except Exception as e:  # report, do not crash
            send({"id": req["id"], "ok": False, "error": str(e)})

    def stop(self):
        if self.lib is not None:
            try:
                self.buddies.clear()
                self.calls.clear()
                self.acc = None
                self.lib.libDestroy()
            except Exception as e:
                sys.stderr.write("pjsua2_adapter: libDestroy: %s\n" % e)


if __name__ == "__main__":
    Adapter().run()

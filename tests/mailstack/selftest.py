#!/usr/bin/env python3
"""End-to-end check of a running mail stack (python3 stdlib only).

    python3 selftest.py STATE_DIR

Prints one line per check and `N passed, N failed`; exits non-zero on failure.
"""
import email
import email.policy
import imaplib
import io
import os
import secrets
import smtplib
import socket
import ssl
import sys
import time
import zipfile
from email.message import EmailMessage
from email.utils import make_msgid

SUBJECT = "关于开放大学学籍材料的报送 (测试)"
ATTACH_NAME = "学籍材料.docx"
DOCX_TYPE = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")

results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'ok  ' if ok else 'FAIL'} {name}{(' -- ' + detail) if detail else ''}", flush=True)
    return ok


def run(name, fn):
    """Run one check; an exception counts as a failure."""
    try:
        ok, detail = fn()
    except Exception as e:  # noqa: BLE001 - report every kind of failure
        ok, detail = False, f"{type(e).__name__}: {e}"
    return check(name, ok, detail)


def load_env(state):
    env = {}
    with open(os.path.join(state, "env"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    return env


def minimal_docx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?>'
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/word/document.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="UTF-8"?>'
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                   'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
        z.writestr("word/document.xml",
                   '<?xml version="1.0" encoding="UTF-8"?>'
                   '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                   '<w:body><w:p><w:r><w:t>学籍材料 测试</w:t></w:r></w:p></w:body></w:document>')
    return buf.getvalue()


class Stack:
    def __init__(self, state):
        self.env = load_env(state)
        e = self.env
        self.host = e["MAILSTACK_HOST"]
        self.tls_name = e.get("MAILSTACK_TLS_NAME", "localhost")
        self.password = e.get("MAILSTACK_PASSWORD", "secret")
        self.ctx = ssl.create_default_context(cafile=e["MAILSTACK_CA"])
        run_id = secrets.token_hex(4)
        if e.get("MAILSTACK_ANY_USER") == "1":
            self.lndx = f"lndx-{run_id}@ouchn.test"
            self.sender = f"sender-{run_id}@bj.test"
        else:
            users = e["MAILSTACK_USERS"].split(",")
            self.lndx = next((u for u in users if u.endswith("@ouchn.test")), users[0])
            self.sender = next((u for u in users if u != self.lndx), users[0])
        self.run_id = run_id

    def port(self, name):
        return int(self.env[f"MAILSTACK_{name}_PORT"])

    def imap(self, user=None, mode="plain"):
        if mode == "imaps":
            c = imaplib.IMAP4_SSL(self.host, self.port("IMAPS"), ssl_context=self.ctx, timeout=10)
        else:
            c = imaplib.IMAP4(self.host, self.port("IMAP"), timeout=10)
            if mode == "starttls":
                c.starttls(ssl_context=self.ctx)
        c.login(user or self.lndx, self.password)
        return c

    def wait_for(self, c, msgid, mailbox="INBOX", timeout=10.0):
        """Poll SEARCH HEADER Message-ID until the message shows up; return its UID."""
        deadline = time.monotonic() + timeout
        while True:
            c.select(mailbox)
            typ, data = c.uid("SEARCH", None, "HEADER", "Message-ID", msgid)
            uids = data[0].split() if typ == "OK" and data and data[0] else []
            if uids:
                return uids[-1]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{msgid} not in {mailbox} after {timeout}s")
            time.sleep(0.05)

    def fetch(self, c, uid, what="(RFC822)"):
        typ, data = c.uid("FETCH", uid, what)
        assert typ == "OK", data
        return data


def make_message(st, to, subject=SUBJECT, attach=None):
    m = EmailMessage()
    m["From"] = st.sender
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = make_msgid(domain="bj.test")
    m.set_content("这是一封测试邮件。\nThis is a test message.\n")
    if attach is not None:
        m.add_attachment(attach, maintype=DOCX_TYPE[0], subtype=DOCX_TYPE[1], filename=ATTACH_NAME)
    return m


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def main():
    if len(sys.argv) != 2:
        print("usage: selftest.py STATE_DIR", file=sys.stderr)
        return 2
    st = Stack(sys.argv[1])
    docx = minimal_docx()
    t_start = time.monotonic()
    shared = {}

    # 1. MX port: no auth from loopback, Chinese subject + attachment, no SMTPUTF8.
    def smtp_mx():
        m = make_message(st, st.lndx, attach=docx)
        shared["mx_msgid"] = m["Message-ID"]
        with smtplib.SMTP(st.host, st.port("SMTP"), timeout=10) as s:
            s.ehlo("selftest.bj.test")
            assert not s.has_extn("smtputf8"), "SMTPUTF8 is advertised"
            refused = s.send_message(m)
        shared["mx_sent"] = time.monotonic()
        return not refused, f"{st.sender} -> {st.lndx}, no SMTPUTF8 advertised"
    run("SMTP (MX port, no auth) accepts a message with a Chinese subject and attachment", smtp_mx)

    # 2. Read it back over plain IMAP.
    def imap_plain():
        with st.imap() as c:
            uid = st.wait_for(c, shared["mx_msgid"])
            latency = time.monotonic() - shared["mx_sent"]
            msg = parse(st.fetch(c, uid)[0][1])
        atts = list(msg.iter_attachments())
        assert str(msg["Subject"]) == SUBJECT, f"subject {msg['Subject']!r}"
        assert len(atts) == 1 and atts[0].get_filename() == ATTACH_NAME, "attachment name"
        assert atts[0].get_content() == docx, "attachment bytes differ"
        assert msg["Delivered-To"] and msg["Received"], "Delivered-To/Received missing"
        return True, f"subject, filename and {len(docx)} attachment bytes intact, visible after {latency:.2f}s"
    run("IMAP (plain) reads it back byte-exact", imap_plain)

    # 3. Same over IMAPS, verifying the server cert with the private CA.
    def imaps():
        with st.imap(mode="imaps") as c:
            uid = st.wait_for(c, shared["mx_msgid"])
            msg = parse(st.fetch(c, uid)[0][1])
            cipher = c.sock.version()
        # The cert also verifies under the name tests use (connecting to 127.0.0.1).
        with socket.create_connection((st.host, st.port("IMAPS")), timeout=10) as raw:
            with st.ctx.wrap_socket(raw, server_hostname=st.tls_name) as tls:
                greeting = tls.recv(100)
        ok = str(msg["Subject"]) == SUBJECT and greeting.startswith(b"* OK")
        return ok, f"{cipher}, cert verified for {st.host} and {st.tls_name}"
    run("IMAPS (CA-verified) reads it back", imaps)

    # 4. IMAP STARTTLS + capabilities (IDLE, ID).
    def imap_caps():
        with st.imap(mode="starttls") as c:
            caps = c.capabilities
            imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))
            typ, data = c._simple_command("ID", '("name" "mailstack-selftest")')
            idresp = c._untagged_response(typ, data, "ID")
        ok = "IDLE" in caps and "ID" in caps and typ == "OK"
        return ok, f"IDLE and ID advertised; ID answer {idresp[1][0][:60]!r}"
    run("IMAP STARTTLS, IDLE and ID extension", imap_caps)

    # 5. Raw 8-bit UTF-8 Subject (no RFC 2047) is delivered unchanged.
    def raw_utf8():
        msgid = make_msgid(domain="bj.test")
        raw = (f"From: {st.sender}\r\nTo: {st.lndx}\r\nSubject: 原始 UTF-8 主题 {st.run_id}\r\n"
               f"Message-ID: {msgid}\r\nMIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
               "正文\r\n").encode("utf-8")
        with smtplib.SMTP(st.host, st.port("SMTP"), timeout=10) as s:
            s.sendmail(st.sender, [st.lndx], raw, mail_options=["BODY=8BITMIME"])
        with st.imap() as c:
            uid = st.wait_for(c, msgid)
            got = st.fetch(c, uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[0][1]
        want = f"Subject: 原始 UTF-8 主题 {st.run_id}".encode()
        return got.strip() == want, got.strip().decode("utf-8", "replace")
    run("raw 8-bit UTF-8 Subject delivered unchanged", raw_utf8)

    # 6. Submission: STARTTLS + AUTH; the reply reaches the sender's mailbox.
    def submission():
        m = make_message(st, st.sender, subject="回复: " + SUBJECT, attach=docx)
        m.replace_header("From", st.lndx)
        m["In-Reply-To"] = shared["mx_msgid"]
        m["References"] = shared["mx_msgid"]
        with smtplib.SMTP(st.host, st.port("SUBMISSION"), timeout=10) as s:
            s.ehlo("lndx.test")
            no_auth_before_tls = not s.has_extn("auth")
            s.starttls(context=st.ctx)
            s.ehlo("lndx.test")
            s.login(st.lndx, st.password)
            refused = s.send_message(m)
        with st.imap(user=st.sender, mode="starttls") as c:
            uid = st.wait_for(c, m["Message-ID"])
            got = parse(st.fetch(c, uid)[0][1])
        ok = not refused and got["In-Reply-To"] == shared["mx_msgid"] and str(got["Subject"]) == m["Subject"]
        return ok, ("AUTH only after STARTTLS; " if no_auth_before_tls else "AUTH offered before TLS; ") + \
            "reply read back with IMAP STARTTLS"
    run("submission: STARTTLS + AUTH, reply delivered", submission)

    # 7. Submission refuses unauthenticated mail.
    def submission_noauth():
        with smtplib.SMTP(st.host, st.port("SUBMISSION"), timeout=10) as s:
            s.starttls(context=st.ctx)
            s.ehlo("anon.test")
            s.mail(st.sender)
            code, resp = s.rcpt(st.lndx)
        return 500 <= code < 600, f"RCPT -> {code} {resp.decode()[:60]}"
    run("submission refuses unauthenticated mail", submission_noauth)

    # 8. SMTPS (implicit TLS) + AUTH, read back over IMAPS.
    def smtps():
        m = make_message(st, st.sender, subject="SMTPS " + SUBJECT)
        m.replace_header("From", st.lndx)
        with smtplib.SMTP_SSL(st.host, st.port("SMTPS"), context=st.ctx, timeout=10) as s:
            s.login(st.lndx, st.password)
            s.send_message(m)
        with st.imap(user=st.sender, mode="imaps") as c:
            st.wait_for(c, m["Message-ID"])
        return True, "sent and read back"
    run("SMTPS + AUTH, read back over IMAPS", smtps)

    # 9. APPEND with an INTERNALDATE in 2021 (APPENDUID), read back.
    def append_date():
        msgid = make_msgid(domain="ouchn.test")
        raw = (f"From: {st.lndx}\r\nTo: {st.sender}\r\nSubject: 已发送 {st.run_id}\r\n"
               f"Message-ID: {msgid}\r\nDate: Thu, 04 Mar 2021 05:06:07 +0800\r\n"
               "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\n\r\n存档\r\n").encode()
        with st.imap() as c:
            typ, data = c.append("Sent", None, '"04-Mar-2021 05:06:07 +0800"', raw)
            assert typ == "OK", data
            appenduid = b"APPENDUID" in data[0]
            uid = st.wait_for(c, msgid, mailbox="Sent", timeout=2)
            fd = st.fetch(c, uid, "(INTERNALDATE)")[0]
            date = imaplib.Internaldate2tuple(fd if isinstance(fd, bytes) else fd[0])
            body = st.fetch(c, uid, "(BODY.PEEK[])")[0][1]
        want = time.gmtime(time.mktime(time.strptime("2021-03-03 21:06:07", "%Y-%m-%d %H:%M:%S")) - time.timezone)
        got_utc = time.gmtime(time.mktime(date))
        ok = appenduid and body == raw and got_utc[:6] == want[:6]
        return ok, f"INTERNALDATE {fd!r}"[:110]
    run("APPEND into Sent with a 2021 INTERNALDATE, preserved", append_date)

    # 10. IDLE sees EXISTS after an SMTP delivery.
    def idle():
        sock = socket.create_connection((st.host, st.port("IMAP")), timeout=10)
        f = sock.makefile("rwb")

        def cmd(tag, line):
            f.write(f"{tag} {line}\r\n".encode())
            f.flush()
            while True:
                r = f.readline()
                if not r:
                    raise ConnectionError("connection closed")
                if r.startswith(tag.encode() + b" "):
                    assert b" OK" in r, r
                    return
        try:
            f.readline()  # greeting
            cmd("a1", f'LOGIN "{st.lndx}" "{st.password}"')
            cmd("a2", "SELECT INBOX")
            f.write(b"a3 IDLE\r\n")
            f.flush()
            assert f.readline().startswith(b"+"), "no IDLE continuation"
            m = make_message(st, st.lndx, subject="IDLE " + st.run_id)
            with smtplib.SMTP(st.host, st.port("SMTP"), timeout=10) as s:
                s.send_message(m)
            t0 = time.monotonic()
            sock.settimeout(10)
            while True:
                r = f.readline()
                if not r:
                    raise ConnectionError("connection closed during IDLE")
                if r.startswith(b"* ") and r.rstrip().endswith(b"EXISTS"):
                    break
            dt = time.monotonic() - t0
            f.write(b"DONE\r\n")
            f.flush()
            while not f.readline().startswith(b"a3 "):
                pass
            cmd("a4", "LOGOUT")
        finally:
            sock.close()
        return True, f"{r.strip().decode()} {dt:.2f}s after the SMTP send"
    run("IDLE gets * N EXISTS after an SMTP delivery", idle)

    # 11. Foreign domain refused at RCPT (MX port and authenticated submission).
    def foreign():
        with smtplib.SMTP(st.host, st.port("SMTP"), timeout=10) as s:
            s.mail(st.sender)
            c1, r1 = s.rcpt("someone@example.com")
        with smtplib.SMTP(st.host, st.port("SUBMISSION"), timeout=10) as s:
            s.starttls(context=st.ctx)
            s.login(st.lndx, st.password)
            s.mail(st.lndx)
            c2, _ = s.rcpt("someone@example.com")
        return c1 >= 500 and c2 >= 500, f"MX {c1}, submission {c2}: {r1.decode()[:70]}"
    run("unknown domain refused at RCPT", foreign)

    # 12. Wrong password refused fast, and the next correct login is fast too.
    def wrong_pw():
        t0 = time.monotonic()
        c = imaplib.IMAP4(st.host, st.port("IMAP"), timeout=10)
        try:
            c.login(st.lndx, "wrong-" + st.password)
            refused = False
        except imaplib.IMAP4.error:
            refused = True
        finally:
            try:
                c.logout()
            except Exception:  # noqa: BLE001
                pass
        t1 = time.monotonic()
        with st.imap():
            pass
        t2 = time.monotonic()
        return refused and t2 - t0 < 3, f"refused in {t1 - t0:.2f}s, then login in {t2 - t1:.2f}s"
    run("wrong IMAP password refused quickly (no auth penalty)", wrong_pw)

    # 13. Large-ish message (5 MB) accepted; limit advertised.
    def size():
        with smtplib.SMTP(st.host, st.port("SMTP"), timeout=10) as s:
            s.ehlo("selftest.bj.test")
            limit = int(s.esmtp_features.get("size", "0"))
        return limit >= 60 * 1024 * 1024, f"SIZE {limit}"
    run("SMTP SIZE limit is at least 60 MB", size)

    passed = sum(results)
    failed = len(results) - passed
    print(f"# {time.monotonic() - t_start:.2f}s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

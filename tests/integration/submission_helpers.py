"""Helpers for the submission and notification tests: the submission plugin's configuration,
a recording SMTP sink, and a raw SMTP client that shows the exact reply lines on the wire.

Standard library plus Debian's python3-aiosmtpd (run with /usr/bin/python3, as tests/run does).
"""

import base64
import email
import email.policy
import os
import socket
import threading
import time

import sandbox

PLUGIN_FILE = "lib95_account_guard_plugin.so"

# README "What it does"; Dovecot puts "<path> " in front of the text.
REFUSED_TEXT = "Recipient limit exceeded, try again later"
TEMPFAIL_TEXT = "Recipient limit cannot be checked now, try again later"

SUBMISSION_CONF = """\
protocol submission {
  mail_plugins = $mail_plugins account_guard
}
"""


def plugin_dir():
    """The directory holding lib95_account_guard_plugin.so, for mail_plugin_dir.

    AG_PLUGIN_DIR if set; else the build directory the linked auth module comes from (the
    submission plugin is built beside it, so both come from the same build); else Dovecot's
    own module directory (an installed package)."""
    candidates = []
    if os.environ.get("AG_PLUGIN_DIR"):
        candidates.append(os.environ["AG_PLUGIN_DIR"])
    if os.path.exists(sandbox.AUTH_MODULE):
        candidates.append(os.path.dirname(os.path.realpath(sandbox.AUTH_MODULE)))
    candidates.append("/usr/lib/dovecot/modules")
    for d in candidates:
        if os.path.exists(os.path.join(d, PLUGIN_FILE)):
            return d
    raise RuntimeError(f"{PLUGIN_FILE} not found in any of {candidates} (build it, or set "
                       "AG_PLUGIN_DIR)")


def start_submission(make_dovecot, settings=None, extra_conf="", **kwargs):
    """A sandboxed Dovecot whose submission service loads the account_guard plugin."""
    d = make_dovecot(settings=settings, mail_plugin_dir=plugin_dir(),
                     extra_conf=SUBMISSION_CONF + extra_conf, **kwargs)
    # The sandbox creates the relay sink's Maildir directory but not its tmp/new/cur, and
    # aiosmtpd's Mailbox handler only creates them for a directory that does not exist yet:
    # without them every relayed DATA fails with a 500.
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(d.relay_maildir, sub), exist_ok=True)
    return d


# ---------------------------------------------------------------------------------------------
# A recording SMTP sink
# ---------------------------------------------------------------------------------------------

class Received:
    """One message as the sink got it."""

    def __init__(self, mail_from, rcpt_tos, data):
        self.mail_from = mail_from      # "<>" for the null sender (aiosmtpd's spelling)
        self.rcpt_tos = list(rcpt_tos)
        self.data = data                # bytes, exactly as received (dot-unstuffed)
        self.message = email.message_from_bytes(data, policy=email.policy.default)

    @property
    def text(self):
        """The decoded text body."""
        return self.message.get_content()


class Sink:
    """An SMTP server on 127.0.0.1 (aiosmtpd in a thread) that records every message."""

    def __init__(self):
        from aiosmtpd.controller import Controller  # Debian's python3-aiosmtpd

        self.port = sandbox.free_port()
        self.messages = []
        self._cond = threading.Condition()
        # A loaded machine can take seconds to start the sink's thread: its readiness is
        # waited for, generously (aiosmtpd's default gives up after 1 s).
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                      ready_timeout=60)

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope):
        with self._cond:
            self.messages.append(Received(envelope.mail_from, envelope.rcpt_tos,
                                          envelope.original_content or envelope.content))
            self._cond.notify_all()
        return "250 OK"

    def start(self):
        self._controller.start()
        return self

    def stop(self):
        self._controller.stop()

    def wait_for(self, count, timeout=30.0):
        """Waits until at least count messages arrived; returns all of them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return list(self.messages)

    def settle(self, seconds=0.5):
        """All messages after a short wait (to prove nothing more arrives)."""
        time.sleep(seconds)
        with self._cond:
            return list(self.messages)


def relayed(dovecot, count, timeout=30.0):
    """The messages the sandbox's submission relay sink stored, once there are count of them
    (or after timeout)."""
    sandbox.wait_until(lambda: len(read_maildir(dovecot.relay_maildir)) >= count, timeout)
    return read_maildir(dovecot.relay_maildir)


def relayed_rcpts(msg):
    """The envelope recipients of a relayed message (X-RcptTo, added by the sink)."""
    return [a.strip() for a in str(msg["X-RcptTo"]).split(",") if a.strip()]


def read_maildir(path):
    """Messages in the sandbox's relay Maildir (aiosmtpd's Mailbox handler adds X-MailFrom and
    X-RcptTo); returns a list of email.message.EmailMessage."""
    result = []
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                result.append(email.message_from_binary_file(f, policy=email.policy.default))
    return result


# ---------------------------------------------------------------------------------------------
# A raw SMTP client: exact reply lines
# ---------------------------------------------------------------------------------------------

class SmtpError(Exception):
    pass


class SmtpClient:
    """Line-level SMTP client. Every command returns its reply as a list of the exact lines
    received (without CRLF), so tests can assert what went over the wire."""

    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.greeting = self.reply()

    def reply(self):
        lines = []
        while True:
            raw = self.file.readline()
            if not raw:
                raise SmtpError(f"connection closed after {lines!r}")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines

    @staticmethod
    def code(lines):
        return int(lines[-1][:3])

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def cmd(self, line):
        self.send(line)
        return self.reply()

    def expect(self, line, code):
        lines = self.cmd(line)
        if self.code(lines) != code:
            raise SmtpError(f"{line.split()[0]}: expected {code}, got {lines!r}")
        return lines

    def login(self, user, password, rip=None):
        """EHLO, XCLIENT ADDR=rip (loopback is trusted), EHLO again, AUTH PLAIN."""
        self.expect("EHLO client.test", 250)
        if rip is not None:
            self.expect(f"XCLIENT ADDR={rip}", 220)
            self.expect("EHLO client.test", 250)
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        self.expect(f"AUTH PLAIN {token}", 235)
        return self

    def mail_from(self, address):
        return self.expect(f"MAIL FROM:<{address}>", 250)

    def rcpt(self, address):
        """The reply lines of RCPT TO:<address> (any code)."""
        return self.cmd(f"RCPT TO:<{address}>")

    def data(self, message):
        """DATA with message (str, LF or CRLF lines; dot-stuffed here). Returns the final
        reply lines."""
        self.expect("DATA", 354)
        body = message.replace("\r\n", "\n").split("\n")
        if body and body[-1] == "":
            body.pop()
        payload = "".join(("." + line if line.startswith(".") else line) + "\r\n"
                          for line in body)
        self.sock.sendall(payload.encode() + b".\r\n")
        return self.reply()

    def quit(self):
        try:
            self.cmd("QUIT")
        except (OSError, SmtpError):
            pass
        self.close()

    def close(self):
        try:
            self.file.close()
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()


def session(dovecot, user, password, rip="192.0.2.10", timeout=30):
    """An authenticated submission session (SmtpClient) as user, from client address rip;
    timeout: how long a reply may take (socket timeout)."""
    client = SmtpClient(dovecot.submission_port, timeout=timeout)
    try:
        return client.login(user, password, rip)
    except BaseException:
        client.close()
        raise


def message(sender, recipients, subject="test", body="Hello.\n"):
    return (f"From: <{sender}>\r\nTo: {', '.join(f'<{r}>' for r in recipients)}\r\n"
            f"Subject: {subject}\r\n\r\n{body}")


def send(dovecot, user, password, recipients, rip="192.0.2.10", sender=None):
    """One transaction: MAIL, one RCPT per recipient, DATA if any was accepted.
    Returns (list of RCPT reply lines (one reply per recipient, as lists), DATA reply or None).
    """
    sender = sender or f"{user}@example.com"
    with session(dovecot, user, password, rip) as c:
        c.mail_from(sender)
        replies = [c.rcpt(r) for r in recipients]
        accepted = [r for r, rep in zip(recipients, replies) if SmtpClient.code(rep) == 250]
        data_reply = c.data(message(sender, accepted)) if accepted else None
        return replies, data_reply


def refused_line(address):
    """The exact 451 line a refused recipient gets on the wire."""
    return f"451 4.7.1 <{address}> {REFUSED_TEXT}"


def recipients(count, domain="example.net", prefix="r"):
    return [f"{prefix}{i}@{domain}" for i in range(1, count + 1)]


def blackhole():
    """A listening socket on 127.0.0.1 that accepts connections and never says anything:
    a relay that hangs. Returns (socket, port); close the socket when done."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s, s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Events, through Dovecot's own metrics
# ---------------------------------------------------------------------------------------------

EVENT_METRICS = """\
metric ag_notification_sent {
  filter = event=account_guard_notification_sent
  group_by = reason
}
metric ag_backend_failed {
  filter = event=account_guard_backend_failed
  group_by = reason
}
metric ag_rcpt_refused {
  filter = event=account_guard_rcpt_refused
  fields = recipients
}
"""


def metric_counts(dovecot):
    """{metric name: count} from `doveadm stats dump` (group_by sub-metrics included, e.g.
    ag_notification_sent_recipients)."""
    code, out, err = dovecot.doveadm("-f", "tab", "stats", "dump")
    if code != 0:
        raise RuntimeError(f"doveadm stats dump: exit {code}: {out}{err}")
    counts = {}
    lines = out.splitlines()
    for line in lines[1:]:
        cols = line.split("\t")
        if len(cols) >= 3 and cols[1] == "duration":
            counts[cols[0]] = int(cols[2])
    return counts


def wait_for_metrics(dovecot, expected, timeout=30.0):
    """metric_counts() once every metric in expected ({name: count}; 0 also matches a missing
    metric) has its count - events reach the stats process asynchronously - or after timeout.
    """
    def reached():
        counts = metric_counts(dovecot)
        return all(counts.get(k, 0) == v for k, v in expected.items())
    sandbox.wait_until(reached, timeout, interval=0.1)
    return metric_counts(dovecot)

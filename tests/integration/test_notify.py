"""Postmaster notifications (issue 4): one mail per incident - the first refused recipient of
an account in a window (submission), every account lock (the auth process) - sent with Dovecot's
smtp-submit to account_guard_notify_relay. A recording aiosmtpd sink on 127.0.0.1 stands in for
the relay; a real Dovecot and memcached do the rest.
"""

import email.utils
import os
import re
import socket
import time

import pytest

import sandbox
import submission_helpers as h
from conftest import PASSWORDS
from submission_helpers import refused_line, send

ALICE, BOB, CAROL = PASSWORDS["alice"], PASSWORDS["bob"], PASSWORDS["carol"]
NOTIFY = "postmaster@example.org"
NOTIFY_FROM = "guard@mx.example.org"


@pytest.fixture
def sink():
    s = h.Sink().start()
    yield s
    s.stop()


def notify_settings(relay, **more):
    settings = {"account_guard_recipient_limit": "5/1h",
                "account_guard_notify": NOTIFY,
                "account_guard_notify_from": NOTIFY_FROM,
                "account_guard_notify_relay": relay}
    settings.update(more)
    return settings


def start(make_dovecot, settings, extra_conf="", **kwargs):
    return h.start_submission(make_dovecot, settings, extra_conf=h.EVENT_METRICS + extra_conf,
                              **kwargs)


def codes(replies):
    return [h.SmtpClient.code(r) for r in replies]


def assert_notification_headers(msg, subject, message_id_domain):
    # Null envelope sender, to account_guard_notify only.
    assert msg.mail_from == "<>", msg.mail_from
    assert msg.rcpt_tos == [NOTIFY]
    m = msg.message
    assert m["To"] == NOTIFY
    assert m["Subject"] == subject
    assert m["Auto-Submitted"] == "auto-generated"
    assert m["MIME-Version"] == "1.0"
    assert m.get_content_type() == "text/plain"
    assert m.get_content_charset() == "utf-8"
    assert email.utils.parsedate_to_datetime(m["Date"]) is not None
    assert re.fullmatch(r"<account-guard\.[0-9a-f]{32}@" + re.escape(message_id_domain) + ">",
                        m["Message-ID"]), m["Message-ID"]
    # CRLF line ends throughout.
    assert b"\n" not in msg.data.replace(b"\r\n", b"")


# ---- recipient limit (submission) --------------------------------------------------------------

def test_one_notification_per_incident(make_dovecot, sink):
    d = start(make_dovecot, notify_settings(sink.address))
    replies, _ = send(d, "alice", ALICE, h.recipients(8))
    assert codes(replies) == [250] * 5 + [451] * 3
    # More refusals in the same window, from other sessions and networks: still one incident.
    send(d, "alice", ALICE, ["x@example.net", "y@example.net"], rip="203.0.113.7")
    send(d, "alice", ALICE, ["z@example.net"], rip="198.51.100.7")

    msgs = sink.wait_for(1)
    msgs = sink.settle()
    assert len(msgs) == 1, [m.message["Subject"] for m in msgs]
    msg = msgs[0]
    assert_notification_headers(msg, "Recipient limit reached: alice", "test.invalid")
    assert msg.message["From"] == NOTIFY_FROM
    body = msg.text
    assert "Account:          alice" in body
    assert "Limit reached:    5/1h (5 recipients already)" in body
    assert "Recipients:       5/1h" in body
    assert "192.0.2.0/24" in body                   # the network the account sent from
    assert "doveadm account-unlock -R 'alice'" in body
    assert "doveadm account-lock -r 'sent spam' 'alice'" in body

    log = d.wait_for_log("Notification sent")
    assert f"account_guard: Notification sent to {NOTIFY} via {sink.address}: " \
           "Recipient limit reached: alice" in log
    expected = {"ag_notification_sent_recipients": 1, "ag_rcpt_refused": 6,
                "ag_backend_failed": 0}
    counts = h.wait_for_metrics(d, expected)
    assert {k: counts.get(k, 0) for k in expected} == expected, counts


def test_notification_does_not_change_the_replies(make_dovecot, sink):
    d = start(make_dovecot, notify_settings(sink.address))
    replies, data = send(d, "alice", ALICE, h.recipients(6))
    assert replies[5] == [refused_line("r6@example.net")]
    assert h.SmtpClient.code(data) == 250
    assert len(sink.wait_for(1)) == 1


def test_each_account_gets_its_own_notification(make_dovecot, sink):
    d = start(make_dovecot, notify_settings(sink.address))
    send(d, "alice", ALICE, h.recipients(6))
    send(d, "bob", BOB, h.recipients(7))
    msgs = sink.wait_for(2)
    msgs = sink.settle()
    assert sorted(m.message["Subject"] for m in msgs) == [
        "Recipient limit reached: alice", "Recipient limit reached: bob"]


def test_two_instances_send_one_notification(make_dovecot, sink):
    a = start(make_dovecot, notify_settings(sink.address))
    b = start(make_dovecot, notify_settings(sink.address))
    assert codes(send(a, "alice", ALICE, h.recipients(6))[0]) == [250] * 5 + [451]
    assert codes(send(b, "alice", ALICE, h.recipients(2, prefix="b"))[0]) == [451, 451]
    msgs = sink.wait_for(1)
    msgs = sink.settle(1.0)
    assert len(msgs) == 1, [m.message["Subject"] for m in msgs]


def test_unlock_r_starts_a_new_incident(make_dovecot, sink):
    d = start(make_dovecot, notify_settings(sink.address))
    send(d, "alice", ALICE, h.recipients(6))
    assert len(sink.wait_for(1)) == 1
    code, out, err = d.doveadm("account-unlock", "-R", "alice")
    assert code == 0, out + err
    assert codes(send(d, "alice", ALICE, h.recipients(6))[0]) == [250] * 5 + [451]
    assert len(sink.wait_for(2)) == 2


def test_no_notification_without_notify_address(make_dovecot, sink):
    settings = notify_settings(sink.address)
    del settings["account_guard_notify"]
    d = start(make_dovecot, settings)
    assert codes(send(d, "alice", ALICE, h.recipients(6))[0]) == [250] * 5 + [451]
    assert sink.settle() == []


def test_utf8_account_is_encoded(make_dovecot, sink):
    user, password = "jörg", "Joerg-pw-3Tq8-Mast"
    users = dict(PASSWORDS)
    users[user] = password
    d = start(make_dovecot, notify_settings(sink.address, account_guard_recipient_limit="1/1h"),
              users=users, extra_conf="auth_username_chars =\n")
    replies, _ = send(d, user, password, h.recipients(2), sender="joerg@example.com")
    assert codes(replies) == [250, 451]
    msg = sink.wait_for(1)[0]
    raw = msg.data.decode("ascii")                   # 7-bit clean on the wire
    assert "Subject: Recipient limit reached: =?utf-8?q?j=C3=B6rg?=" in raw
    assert "Content-Transfer-Encoding: quoted-printable" in raw
    assert msg.message["Subject"] == "Recipient limit reached: jörg"
    assert "Account:          jörg" in msg.text
    assert "doveadm account-unlock -R 'jörg'" in msg.text


# ---- failures never break the session ----------------------------------------------------------

def test_relay_down_is_logged_and_the_session_goes_on(make_dovecot):
    dead = sandbox.free_port()                      # nothing listens there
    d = start(make_dovecot, notify_settings(f"127.0.0.1:{dead}"))
    replies, data = send(d, "alice", ALICE, h.recipients(7))
    assert codes(replies) == [250] * 5 + [451, 451]
    assert replies[5] == [refused_line("r6@example.net")]
    assert h.SmtpClient.code(data) == 250
    assert len(h.relayed(d, 1)) == 1
    log = d.wait_for_log("Sending the notification")
    line = next(x for x in log.splitlines() if "Sending the notification" in x)
    assert f"Error: account_guard: Sending the notification to {NOTIFY} via 127.0.0.1:{dead} " \
           "failed: " in line
    assert "(it was: Recipient limit reached: alice)" in line
    expected = {"ag_backend_failed_notification": 1, "ag_notification_sent": 0}
    counts = h.wait_for_metrics(d, expected)
    assert {k: counts.get(k, 0) for k in expected} == expected, counts


def test_hanging_relay_costs_at_most_the_send_timeout(make_dovecot):
    hole, port = h.blackhole()
    try:
        d = start(make_dovecot, notify_settings(f"127.0.0.1:{port}"))
        with h.session(d, "alice", ALICE, timeout=120) as c:
            c.mail_from("alice@example.com")
            for r in h.recipients(5):
                assert h.SmtpClient.code(c.rcpt(r)) == 250
            started = time.monotonic()
            assert c.rcpt("r6@example.net") == [refused_line("r6@example.net")]
            elapsed = time.monotonic() - started
            # The send gives up after its 10 s timeout and the reply is what it would have
            # been: the hung relay was given up on. The bound is about that, not about speed
            # (a loaded machine adds seconds; a send that never gives up adds forever).
            assert elapsed < 60, elapsed
            assert h.SmtpClient.code(c.data(h.message("alice@example.com",
                                                      h.recipients(5)))) == 250
        assert "Sending the notification" in d.wait_for_log("Sending the notification")
    finally:
        hole.close()


@pytest.mark.skipif(os.path.exists("/usr/sbin/sendmail"),
                    reason="a real sendmail would really send the notification")
def test_empty_relay_uses_sendmail(make_dovecot):
    settings = notify_settings("")
    d = start(make_dovecot, settings)
    replies, _ = send(d, "alice", ALICE, h.recipients(6))
    assert replies[5] == [refused_line("r6@example.net")]
    log = d.wait_for_log("Sending the notification")
    assert f"Sending the notification to {NOTIFY} via /usr/sbin/sendmail failed" in log, \
        d.log_tail()


# ---- account lock (auth process) ----------------------------------------------------------------

def lock_settings(relay, **more):
    settings = {"account_guard_ip_limit": "2/1h",
                "account_guard_notify": NOTIFY,
                "account_guard_notify_relay": relay}
    settings.update(more)
    return settings


def test_lock_sends_one_notification(make_dovecot, sink):
    d = start(make_dovecot, lock_settings(sink.address))
    assert d.smtp_login("alice", ALICE, "192.0.2.1")[0] == 235
    assert d.smtp_login("alice", ALICE, "198.51.100.1")[0] == 235
    code, text = d.smtp_login("alice", ALICE, "203.0.113.1")
    assert (code, text) == (535, "5.7.8 " + sandbox.DEFAULT_LOCK_MESSAGE)
    msgs = sink.wait_for(1)

    # Refused logins of the locked account are not new incidents.
    assert d.smtp_login("alice", ALICE, "198.18.0.1")[0] == 535
    assert d.smtp_login("alice", ALICE, "198.18.1.1")[0] == 535
    msgs = sink.settle()
    assert len(msgs) == 1, [m.message["Subject"] for m in msgs]
    msg = msgs[0]
    # auth has no hostname setting: the system's name, as in the default From.
    assert_notification_headers(msg, "Account locked: alice", socket.gethostname())
    assert msg.message["From"] == "postmaster@" + socket.gethostname()
    body = msg.text
    assert "Account:          alice" in body
    assert "3 networks within 1h (limit 2/1h)" in body
    for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"):
        assert net in body
    assert "doveadm account-unlock 'alice'" in body

    log = d.wait_for_log("Notification sent")
    line = next(x for x in log.splitlines() if "Notification sent" in x)
    assert " auth: " in line and "account_guard(alice,203.0.113.1" in line, line
    assert f"Notification sent to {NOTIFY} via {sink.address}: Account locked: alice" in line
    counts = h.wait_for_metrics(d, {"ag_notification_sent_lock": 1})
    assert counts.get("ag_notification_sent_lock") == 1, counts


def test_every_lock_is_an_incident(make_dovecot, sink):
    d = start(make_dovecot, lock_settings(sink.address))
    for rip in ("192.0.2.1", "198.51.100.1", "203.0.113.1"):
        d.auth_test("alice", ALICE, rip)
    assert len(sink.wait_for(1)) == 1
    code, out, err = d.doveadm("account-unlock", "alice")
    assert code == 0, out + err
    for rip in ("198.18.0.1", "198.18.1.1", "198.18.2.1"):
        d.auth_test("alice", ALICE, rip)
    msgs = sink.wait_for(2)
    assert [m.message["Subject"] for m in msgs] == ["Account locked: alice"] * 2


def test_lock_with_relay_down_still_refuses_the_login(make_dovecot):
    dead = sandbox.free_port()
    d = start(make_dovecot, lock_settings(f"127.0.0.1:{dead}"))
    assert d.smtp_login("alice", ALICE, "192.0.2.1")[0] == 235
    assert d.smtp_login("alice", ALICE, "198.51.100.1")[0] == 235
    assert d.smtp_login("alice", ALICE, "203.0.113.1") == \
        (535, "5.7.8 " + sandbox.DEFAULT_LOCK_MESSAGE)
    log = d.wait_for_log("Sending the notification")
    line = next(x for x in log.splitlines() if "Sending the notification" in x)
    assert " auth: " in line and "Error:" in line, line
    assert f"via 127.0.0.1:{dead} failed" in line
    # The lock itself holds.
    assert d.smtp_login("alice", ALICE, "198.18.0.1")[0] == 535

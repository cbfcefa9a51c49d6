"""A submission session that logged in before its account was locked (a thief's long-lived
session) gets no further recipients: every RCPT asks whether the account is locked (free: the
lock is in the item the recipient count reads), and is refused with 451 4.7.1 and the lock
message."""

import submission_helpers as h
from conftest import PASSWORDS
from submission_helpers import session

import sandbox

ALICE = PASSWORDS["alice"]
MSG = sandbox.DEFAULT_LOCK_MESSAGE


def lock_alice(d):
    """Logins from new networks until one is refused: the account is then locked."""
    for n in range(10):
        if d.auth_test("alice", ALICE, f"198.18.{n}.1")[0] == sandbox.EX_AUTH_FAILED:
            return
    raise AssertionError("the account was not locked")


def test_open_session_gets_no_recipients_once_the_account_is_locked(make_dovecot):
    d = h.start_submission(make_dovecot, {"account_guard_ip_limit": "3/1h"})
    with session(d, "alice", ALICE) as c:
        c.mail_from("alice@example.com")
        assert c.rcpt("first@example.net")[-1].startswith("250")
        c.expect("RSET", 250)
        # Meanwhile the thief's logins from other networks lock the account.
        lock_alice(d)
        c.mail_from("alice@example.com")
        assert c.rcpt("spam1@example.net") == [f"451 4.7.1 <spam1@example.net> {MSG}"]
        assert c.rcpt("spam2@example.net") == [f"451 4.7.1 <spam2@example.net> {MSG}"]
    assert "recipient refused: account locked since" in d.wait_for_log("account locked since")
    # Unlocked, the same kind of session sends again.
    assert d.doveadm("account-unlock", "alice")[0] == 0
    with session(d, "alice", ALICE) as c:
        c.mail_from("alice@example.com")
        assert c.rcpt("friend@example.net")[-1].startswith("250")


def test_a_lock_stops_the_transaction_under_way(make_dovecot):
    d = h.start_submission(make_dovecot, {"account_guard_ip_limit": "3/1h"})
    with session(d, "alice", ALICE) as c:
        c.mail_from("alice@example.com")
        assert c.rcpt("first@example.net")[-1].startswith("250")
        lock_alice(d)
        # The same transaction: its next recipient is refused already.
        assert c.rcpt("spam1@example.net") == [f"451 4.7.1 <spam1@example.net> {MSG}"]

"""The guard passdb inside Dovecot's passdb chain (README "Install and enable"), through a real Dovecot:
what happens when the guard is reached without a verified password (a configuration without
`skip = unauthenticated`), and when a master user logs in as an account.

The guard never verifies a password itself: it must never turn an unverified login into a
successful one, and a master user's password says nothing about the account's own, so such a
login is neither recorded, nor refused, nor does it lift a lock.
"""

import sandbox
from conftest import PASSWORDS
from test_lock_lifecycle import (assert_auth_ok, assert_auth_refused, lock_by_networks,
                                 networks_of, status, v4, v4net)

ALICE, BOB = PASSWORDS["alice"], PASSWORDS["bob"]
MASTER, MASTER_PW = "admin", "Admin-master-pw-8Kd3-Vane"


# ---- the guard reached without skip = unauthenticated -------------------------------------------

def test_without_skip_unauthenticated_a_wrong_password_is_still_refused(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "10/1h"}, guard_skip=None)
    # passwd-file fails the password, its result_failure (continue) goes on to the guard,
    # which did not verify anything: the login must fail, on every path a client takes.
    code, out = d.auth_test("alice", "not-the-password", v4(1))
    assert code == sandbox.EX_AUTH_FAILED and "auth succeeded" not in out, \
        f"an unverified password logged in: exit {code}\n{out}"
    code, msg = d.smtp_login("alice", "not-the-password", v4(2))
    assert code == 535, f"SMTP AUTH with a wrong password: {code} {msg}"
    ok, text = d.imap_login("alice", "not-the-password", v4(3))
    assert not ok, f"IMAP LOGIN with a wrong password: {text}"
    code, out = d.auth_test("nobody-at-all", "whatever-password", v4(4))
    assert code != 0 and "auth succeeded" not in out, out
    # The misconfiguration is named in the log.
    log = d.wait_for_log("skip = unauthenticated")
    assert "set skip = unauthenticated on this passdb" in log, d.log_tail()
    # Nothing of the failed attempts was recorded; the right password still works and is.
    assert networks_of(status(d, "alice")) == set()
    assert_auth_ok(d, "alice", ALICE, v4(5))
    assert networks_of(status(d, "alice")) == {v4net(5)}


# ---- master users --------------------------------------------------------------------------------

def master_dovecot(make_dovecot, **settings):
    return make_dovecot(settings={"account_guard_ip_limit": "3/1h", **settings},
                        master_users={MASTER: MASTER_PW})


def as_master(user):
    return f"{user}*{MASTER}"


def test_master_user_login_is_not_recorded(make_dovecot):
    d = master_dovecot(make_dovecot)
    # More networks than the limit: a master user's logins are no evidence against bob.
    for n in range(1, 7):
        assert_auth_ok(d, as_master("bob"), MASTER_PW, v4(n))
    code, msg = d.smtp_login(as_master("bob"), MASTER_PW, v4(7))
    assert code == 235, msg
    row = status(d, "bob")
    assert row["locked"] == "no" and networks_of(row) == set(), row
    # bob's own logins are recorded as ever (the guard runs in this configuration).
    assert_auth_ok(d, "bob", BOB, v4(8))
    assert networks_of(status(d, "bob")) == {v4net(8)}
    # A wrong master password is refused.
    code, out = d.auth_test(as_master("bob"), "not-the-master-pw", v4(9))
    assert code == sandbox.EX_AUTH_FAILED, out


def test_master_user_login_neither_refused_nor_unlocks(make_dovecot):
    d = master_dovecot(make_dovecot)
    lock_by_networks(d, limit=3)
    # The master user gets into the locked account (support looking at a phished mailbox)...
    assert_auth_ok(d, as_master("alice"), MASTER_PW, v4(10))
    ok, text = d.imap_login(as_master("alice"), MASTER_PW, v4(11))
    assert ok, text
    # ...and its password, different from alice's, is not a password change: still locked.
    row = status(d, "alice")
    assert row["locked"] == "yes", row
    assert_auth_refused(d, "alice", ALICE, v4(12))

"""The account lock lifecycle (issue 2) end to end: a real Dovecot with the account_guard
passdb and doveadm modules built from this tree, and a real memcached, on 127.0.0.1.

Client addresses are simulated from the trusted loopback network (doveadm auth test -x rip=,
SMTP XCLIENT ADDR=, IMAP ID x-originating-ip); nothing is ever sent to them. Many distinct
IPv4 /24 networks are needed, more than the three TEST-NET /24s hold, so those come from
198.18.0.0/15 (RFC 2544 benchmarking range, never routed); IPv6 ones from 2001:db8::/32.

Dovecot's anvil auth penalty delays the next login from an address that just failed (per IPv4
address, per IPv6 /48): every refused attempt in a test uses an address not used before.
"""

import datetime
import json
import re

import sandbox
from conftest import PASSWORDS

MSG = sandbox.DEFAULT_LOCK_MESSAGE
ALICE, BOB, CAROL = PASSWORDS["alice"], PASSWORDS["bob"], PASSWORDS["carol"]


def v4(net, host=1):
    """Address `host` in the net-th distinct /24 of 198.18.0.0/15."""
    assert 0 <= net < 512 and 1 <= host <= 254
    return f"198.{18 + net // 256}.{net % 256}.{host}"


def v4net(net):
    return f"198.{18 + net // 256}.{net % 256}.0/24"


def reason_of(output):
    """The reason= extra field that `doveadm auth test` printed, or None."""
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("reason="):
            return line[len("reason="):]
    return None


def assert_auth_ok(d, user, password, rip, service="smtp"):
    code, out = d.auth_test(user, password, rip, service)
    assert code == 0, f"login of {user} from {rip} ({service}) should pass: exit {code}\n{out}"


def assert_auth_refused(d, user, password, rip, service="smtp", message=MSG):
    code, out = d.auth_test(user, password, rip, service)
    assert code == sandbox.EX_AUTH_FAILED, \
        f"login of {user} from {rip} ({service}) should be refused: exit {code}\n{out}"
    assert reason_of(out) == message, out


def login_from_networks(d, user, password, nets, service="smtp"):
    for n in nets:
        assert_auth_ok(d, user, password, v4(n), service)


def status(d, user):
    code, out, err = d.account_status(user, "json")
    assert code == 0, f"doveadm account-status {user}: exit {code}\n{out}{err}"
    rows = json.loads(out)
    assert isinstance(rows, list) and len(rows) == 1, out
    return rows[0]


def networks_of(row):
    return {n.strip() for n in re.split(r"[,\s]+", row["networks"]) if n.strip()}


def lock_by_networks(d, user="alice", password=ALICE, limit=10):
    """limit logins from distinct networks pass; the next one is refused (account locked)."""
    login_from_networks(d, user, password, range(1, limit + 1))
    assert_auth_refused(d, user, password, v4(limit + 1))


# ---- (a) doveadm auth test ------------------------------------------------------------------

def test_eleventh_network_locks_account_via_auth_test(dovecot):
    login_from_networks(dovecot, "alice", ALICE, range(1, 11))
    assert_auth_refused(dovecot, "alice", ALICE, v4(11))
    # Locked: refused from any network, also from the first one again.
    assert_auth_refused(dovecot, "alice", ALICE, v4(1, host=2))
    assert_auth_refused(dovecot, "alice", ALICE, v4(5, host=3))
    # Another account is unaffected, even from the networks that locked alice.
    assert_auth_ok(dovecot, "bob", BOB, v4(11, host=4))
    assert_auth_ok(dovecot, "bob", BOB, v4(1, host=5))


def test_lock_message_is_configurable(make_dovecot):
    message = "Locked. Call support at 555-0100 to unlock."
    d = make_dovecot(settings={"account_guard_ip_limit": "2/1h",
                               "account_guard_lock_message": message})
    login_from_networks(d, "alice", ALICE, [1, 2])
    assert_auth_refused(d, "alice", ALICE, v4(3), message=message)
    code, msg = d.smtp_login("alice", ALICE, v4(4))
    assert (code, msg) == (535, f"5.7.8 {message}")


def test_wrong_password_is_not_recorded(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "2/1h"})
    for n in range(1, 6):
        code, out = d.auth_test("alice", "not-the-password", v4(n))
        assert code == sandbox.EX_AUTH_FAILED and reason_of(out) is None, out
    assert networks_of(status(d, "alice")) == set()
    # Verified logins are recorded: the third network locks.
    login_from_networks(d, "alice", ALICE, [11, 12])
    assert_auth_refused(d, "alice", ALICE, v4(13))


# ---- (b) SMTP AUTH on submission-login -------------------------------------------------------

def test_eleventh_network_locks_account_via_smtp_auth(dovecot):
    for n in range(1, 11):
        code, msg = dovecot.smtp_login("alice", ALICE, v4(n))
        assert code == 235, f"SMTP AUTH from {v4(n)}: {code} {msg}"
    code, msg = dovecot.smtp_login("alice", ALICE, v4(11))
    assert (code, msg) == (535, f"5.7.8 {MSG}")
    code, msg = dovecot.smtp_login("alice", ALICE, v4(1, host=2))
    assert (code, msg) == (535, f"5.7.8 {MSG}")
    code, msg = dovecot.smtp_login("bob", BOB, v4(11, host=3))
    assert code == 235, msg


# ---- (c) IMAP LOGIN on imap-login --------------------------------------------------------------

def test_eleventh_network_locks_account_via_imap_login(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "10/1h",
                               "account_guard_record_services": "imap"})
    for n in range(1, 11):
        ok, text = d.imap_login("alice", ALICE, v4(n))
        assert ok, f"IMAP LOGIN from {v4(n)}: {text}"
    assert d.imap_login("alice", ALICE, v4(11)) == (False, f"[ALERT] {MSG}")
    assert d.imap_login("alice", ALICE, v4(1, host=2)) == (False, f"[ALERT] {MSG}")
    ok, text = d.imap_login("bob", BOB, v4(11, host=3))
    assert ok, text


def test_locked_account_refused_on_every_lock_service(dovecot):
    """Locked through SMTP logins, refused by IMAP too (lock_services default '*')."""
    lock_by_networks(dovecot)
    assert dovecot.imap_login("alice", ALICE, v4(20)) == (False, f"[ALERT] {MSG}")
    assert dovecot.smtp_login("alice", ALICE, v4(21)) == (535, f"5.7.8 {MSG}")
    assert_auth_refused(dovecot, "alice", ALICE, v4(22), service="pop3")


# ---- (d) aggregation ---------------------------------------------------------------------------

def test_addresses_in_one_ipv4_slash24_count_once(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "2/1h"})
    for host in range(1, 13):
        assert_auth_ok(d, "alice", ALICE, f"192.0.2.{host}")
    # IPv4-mapped IPv6 counts as IPv4: still the same network.
    assert_auth_ok(d, "alice", ALICE, "::ffff:192.0.2.99")
    assert_auth_ok(d, "alice", ALICE, "198.51.100.7")
    assert networks_of(status(d, "alice")) == {"192.0.2.0/24", "198.51.100.0/24"}
    assert_auth_refused(d, "alice", ALICE, "203.0.113.9")


def test_ipv4_prefix_setting_changes_the_aggregation(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "2/1h",
                               "account_guard_ipv4_prefix": "16"})
    # 198.18.x.y are all one /16 here.
    for n in range(1, 8):
        assert_auth_ok(d, "alice", ALICE, v4(n))
    assert_auth_ok(d, "alice", ALICE, "192.0.2.1")
    assert_auth_refused(d, "alice", ALICE, "203.0.113.9")


def test_addresses_in_one_ipv6_slash64_count_once(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "2/1h"})
    for addr in ("2001:db8:1:1::1", "2001:db8:1:1::2", "2001:db8:1:1:ffff:ffff:ffff:fffe",
                 "2001:db8:1:1:1234::9"):
        assert_auth_ok(d, "alice", ALICE, addr)
    assert_auth_ok(d, "alice", ALICE, "2001:db8:1:2::1")
    assert len(networks_of(status(d, "alice"))) == 2
    assert_auth_refused(d, "alice", ALICE, "2001:db8:2:3::1")


# ---- (e) doveadm account-status ---------------------------------------------------------------

def test_account_status_shows_the_lock(dovecot):
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    lock_by_networks(dovecot)
    after = datetime.datetime.now(datetime.timezone.utc)

    row = status(dovecot, "alice")
    for field in ("user", "locked", "reason", "since", "networks", "countries", "recipients"):
        assert field in row, f"field {field} missing: {row}"
    assert row["user"] == "alice"
    assert row["locked"] == "yes"
    assert row["reason"].strip() != ""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|\+00:00)", row["since"])
    assert m, f"since is not ISO 8601 UTC: {row['since']!r}"
    since = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc)
    assert before - datetime.timedelta(seconds=2) <= since <= after, row["since"]
    nets = networks_of(row)
    assert {v4net(n) for n in range(1, 11)} <= nets, row["networks"]

    # The other formatters work too.
    code, out, err = dovecot.account_status("alice", "table")
    assert code == 0, err
    header = out.splitlines()[0].split()
    assert header[:2] == ["user", "locked"] and "networks" in header, out
    assert "yes" in out.splitlines()[1].split()
    code, out, err = dovecot.account_status("alice", "flow")
    assert code == 0 and "locked=yes" in out, out + err

    bob = status(dovecot, "bob")
    assert (bob["user"], bob["locked"], bob["since"]) == ("bob", "no", "")


def test_account_status_of_unknown_account(dovecot):
    row = status(dovecot, "nobody-ever-logged-in")
    assert row["locked"] == "no" and row["since"] == "" and networks_of(row) == set()


# ---- (f) doveadm account-unlock / account-lock -------------------------------------------------

def test_unlock_lifts_the_lock_and_forgets_the_history(dovecot):
    lock_by_networks(dovecot)
    code, out, err = dovecot.doveadm("account-unlock", "alice")
    assert code == 0, out + err
    row = status(dovecot, "alice")
    assert row["locked"] == "no" and networks_of(row) == set(), row
    # The next login passes, and a new network does not lock again: 10 old networks are gone.
    assert_auth_ok(dovecot, "alice", ALICE, v4(30))
    assert_auth_ok(dovecot, "alice", ALICE, v4(31))
    assert networks_of(status(dovecot, "alice")) == {v4net(30), v4net(31)}
    # Unlocking an account that is not locked succeeds.
    code, out, err = dovecot.doveadm("account-unlock", "bob")
    assert code == 0, out + err
    code, out, err = dovecot.doveadm("account-unlock", "-R", "alice")
    assert code == 0, out + err
    assert status(dovecot, "alice")["locked"] == "no"


def test_admin_lock_with_reason(dovecot):
    assert_auth_ok(dovecot, "bob", BOB, v4(1))
    code, out, err = dovecot.doveadm("account-lock", "-r", "some reason", "bob")
    assert code == 0, out + err
    row = status(dovecot, "bob")
    assert row["locked"] == "yes" and "some reason" in row["reason"], row
    assert row["since"] != ""
    assert_auth_refused(dovecot, "bob", BOB, v4(2))
    assert dovecot.smtp_login("bob", BOB, v4(3)) == (535, f"5.7.8 {MSG}")
    # alice is not affected
    assert_auth_ok(dovecot, "alice", ALICE, v4(4))
    code, out, err = dovecot.doveadm("account-unlock", "bob")
    assert code == 0, out + err
    assert_auth_ok(dovecot, "bob", BOB, v4(5))


def test_admin_lock_without_reason(dovecot):
    code, out, err = dovecot.doveadm("account-lock", "carol")
    assert code == 0, out + err
    row = status(dovecot, "carol")
    assert row["locked"] == "yes", row
    assert_auth_refused(dovecot, "carol", CAROL, v4(1))


def test_admin_lock_of_a_locked_account_keeps_the_first_lock(dovecot):
    """account-lock on an account that is already locked changes nothing: the lock's time,
    reason and password fingerprint stay those of the first lock."""
    lock_by_networks(dovecot)
    first = status(dovecot, "alice")
    assert first["locked"] == "yes" and "11 networks within 1h" in first["reason"], first
    # A second later, so that a new lock would show another time.
    sandbox.wait_until(lambda: datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S") > first["since"][:19], what="the clock to pass the lock's second")
    code, out, err = dovecot.doveadm("account-lock", "-r", "second opinion", "alice")
    assert code == 0, out + err
    again = status(dovecot, "alice")
    assert (again["locked"], again["since"], again["reason"]) == \
        ("yes", first["since"], first["reason"]), (first, again)
    # The fingerprint too: the lock still knows the password in use when it was set, so the
    # first login with a changed password lifts it (an administrator's fresh lock would
    # instead learn the new password from that login and refuse it).
    new_password = "Alice-new-pw-3Rt8-Moss"
    dovecot.set_password("alice", new_password)
    assert_auth_ok(dovecot, "alice", new_password, v4(41))
    assert status(dovecot, "alice")["locked"] == "no"


# ---- (g) unlock by password change -------------------------------------------------------------

def test_password_change_lifts_the_lock(dovecot):
    lock_by_networks(dovecot)
    # Same (unchanged) password from a fresh network: still refused.
    assert_auth_refused(dovecot, "alice", ALICE, v4(40))
    new_password = "Alice-new-pw-3Rt8-Moss"
    dovecot.set_password("alice", new_password)
    assert_auth_ok(dovecot, "alice", new_password, v4(41))
    row = status(dovecot, "alice")
    assert row["locked"] == "no", row
    # The thief's networks are forgotten: more new networks do not lock again.
    assert_auth_ok(dovecot, "alice", new_password, v4(42))
    code, msg = dovecot.smtp_login("alice", new_password, v4(43))
    assert code == 235, msg
    # Exactly the logins since the change (smtp and submission are recorded by default):
    # none of the thief's networks, and not nothing either.
    assert networks_of(status(dovecot, "alice")) == {v4net(41), v4net(42), v4net(43)}


def test_password_change_does_not_unlock_when_disabled(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "2/1h",
                               "account_guard_unlock_on_password_change": "no"})
    lock_by_networks(d, limit=2)
    d.set_password("alice", "Alice-new-pw-3Rt8-Moss")
    assert_auth_refused(d, "alice", "Alice-new-pw-3Rt8-Moss", v4(40))
    assert status(d, "alice")["locked"] == "yes"


# ---- (h) exempt networks -----------------------------------------------------------------------

def test_exempt_networks_are_never_counted(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "2/1h",
                               "account_guard_exempt_networks": "198.19.0.0/16, 2001:db8:ee::/48"})
    # 15 distinct /24s inside the exempt /16 (v4(256+n) is 198.19.n.1), and IPv6 ones.
    for n in range(15):
        assert_auth_ok(d, "alice", ALICE, v4(256 + n))
    assert_auth_ok(d, "alice", ALICE, "2001:db8:ee:1::1")
    assert_auth_ok(d, "alice", ALICE, "2001:db8:ee:2::1")
    row = status(d, "alice")
    assert row["locked"] == "no" and networks_of(row) == set(), row
    # Networks outside still count.
    login_from_networks(d, "alice", ALICE, [1, 2])
    assert_auth_refused(d, "alice", ALICE, v4(3))
    # A locked account is refused from an exempt address too.
    assert_auth_refused(d, "alice", ALICE, v4(256 + 100))


# ---- (i) NAT networks --------------------------------------------------------------------------

def test_nat_network_counts_as_one(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "2/1h",
                               "account_guard_nat_networks": "100.64.0.0/10"})
    # 20 addresses in distinct /24s of the carrier-grade NAT range.
    for i in range(20):
        assert_auth_ok(d, "alice", ALICE, f"100.{64 + i * 3}.{i * 7}.{i + 1}")
    row = status(d, "alice")
    assert row["locked"] == "no" and len(networks_of(row)) == 1, row
    assert_auth_ok(d, "alice", ALICE, v4(1))
    assert_auth_refused(d, "alice", ALICE, v4(2))


# ---- (j) mode = log ----------------------------------------------------------------------------

def test_log_mode_never_refuses(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "2/1h",
                               "account_guard_mode": "log"})
    for n in range(1, 7):
        assert_auth_ok(d, "alice", ALICE, v4(n))
    code, msg = d.smtp_login("alice", ALICE, v4(7))
    assert code == 235, msg
    log = d.log()
    decision = [line for line in log.splitlines()
                if "account_guard" in line and "alice" in line and "would lock" in line]
    assert decision, "no lock decision for alice in the log:\n" + d.log_tail()
    # A dry run stores no lock: the account is not locked, its logins are still counted.
    row = status(d, "alice")
    assert row["locked"] == "no" and row["since"] == "" and row["reason"] == "", row
    nets = networks_of(row)
    assert v4net(7) in nets and nets <= {v4net(n) for n in range(1, 8)}, row


# ---- (k) memcached outage ----------------------------------------------------------------------

def test_memcached_down_fail_open(dovecot, memcached):
    assert_auth_ok(dovecot, "alice", ALICE, v4(1))
    memcached.stop()
    assert_auth_ok(dovecot, "alice", ALICE, v4(2))
    code, msg = dovecot.smtp_login("alice", ALICE, v4(3))
    assert code == 235, msg
    ok, text = dovecot.imap_login("bob", BOB, v4(4))
    assert ok, text
    warnings = [line for line in dovecot.log().splitlines()
                if "account_guard" in line and "Warning" in line and "memcached" in line.lower()]
    assert warnings, "no account_guard warning about memcached:\n" + dovecot.log_tail()

    memcached.start()
    wait_until_recorded(dovecot, "alice", v4(5))


def wait_until_recorded(d, user, rip, timeout=60):
    """After memcached came back: logins pass and are recorded again (the client may skip a
    failed server for a retry period)."""
    hosts = iter(range(1, 255))

    def recorded():
        addr = rip.rsplit(".", 1)[0] + f".{next(hosts)}"
        code, out = d.auth_test(user, PASSWORDS[user], addr)
        assert code == 0, out
        code, sout, _ = d.account_status(user, "json")
        return code == 0 and addr.rsplit(".", 1)[0] + ".0/24" in sout

    sandbox.wait_until(recorded, timeout, interval=0.5,
                       what="logins recorded again after memcached restarted")


def test_memcached_down_fail_closed(make_dovecot, memcached):
    d = make_dovecot(settings={"account_guard_ip_limit": "10/1h",
                               "account_guard_fail_mode": "closed"},
                     guard_passdb_extra="result_internalfail = return-fail")
    assert_auth_ok(d, "alice", ALICE, v4(1))
    memcached.stop()
    # doveadm auth test: "auth failed", exit 77, with the extra field code=temp_fail
    # (a refusal has code=user_disabled and a reason instead).
    code, out = d.auth_test("alice", ALICE, v4(2))
    assert code != 0 and "auth succeeded" not in out, out
    assert "code=temp_fail" in [line.strip() for line in out.splitlines()], out
    assert reason_of(out) is None, out
    code, msg = d.smtp_login("alice", ALICE, v4(3))
    assert code == 454, msg
    ok, text = d.imap_login("bob", BOB, v4(4))
    assert not ok and "[UNAVAILABLE]" in text, text

    memcached.start()
    nets = iter(range(10, 200))   # a fresh address per attempt (anvil penalty)
    sandbox.wait_until(lambda: d.auth_test("alice", ALICE, v4(next(nets)))[0] == 0,
                       timeout=60, interval=0.5, what="logins pass after memcached restart")
    code, msg = d.smtp_login("alice", ALICE, v4(next(nets)))
    assert code == 235, msg


def test_fail_closed_without_result_internalfail_is_refused_at_start(make_dovecot):
    d = make_dovecot(settings={"account_guard_fail_mode": "closed"})
    code, out = d.auth_test("alice", ALICE, v4(1))
    assert code != 0, out
    log = d.wait_for_log("result_internalfail")
    assert "result_internalfail = return-fail" in log, d.log_tail()


# ---- (l) bad settings --------------------------------------------------------------------------

def test_bad_setting_fails_login_and_is_named_in_the_log(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "10/1x"})
    code, out = d.auth_test("alice", ALICE, v4(1))
    assert code != 0, out
    assert "auth succeeded" not in out, out
    log = d.wait_for_log("10/1x")
    lines = [line for line in log.splitlines()
             if "account_guard_ip_limit" in line and "10/1x" in line]
    assert lines, "the log does not name the setting and its value:\n" + d.log_tail()
    # doveadm reads the same plugin {} and refuses too, naming it.
    code, out, err = d.account_status("alice")
    assert code != 0, out
    assert "account_guard_ip_limit" in out + err and "10/1x" in out + err, out + err


def test_limit_without_a_unit_is_refused(make_dovecot):
    """`10/60` is not ten per minute: a window needs its unit. Refused by auth (the log names
    setting and value) and by doveadm (exit 78, EX_CONFIG, with the same message)."""
    d = make_dovecot(settings={"account_guard_ip_limit": "10/60"})
    code, out = d.auth_test("alice", ALICE, v4(1))
    assert code != 0 and "auth succeeded" not in out, out
    log = d.wait_for_log("account_guard_ip_limit: invalid limit '10/60'")
    assert "account_guard_ip_limit: invalid limit '10/60'" in log, d.log_tail()
    code, out, err = d.account_status("alice")
    assert code == 78, f"exit {code}: {out}{err}"
    assert "account_guard_ip_limit: invalid limit '10/60'" in out + err, out + err


def test_bad_per_user_override_does_not_let_login_through_silently(make_dovecot, memcached):
    users = dict(PASSWORDS)
    users["carol"] = (CAROL, "account_guard_ip_limit=2/1q")
    d = make_dovecot(settings={"account_guard_ip_limit": "10/1h"}, users=users)
    code, out = d.auth_test("carol", CAROL, v4(1))
    # An invalid override is a failure for fail_mode to decide, like a backend failure:
    # open (the default) lets the login through - but not silently (the log below).
    assert code == 0, f"exit {code}\n{out}"
    log = d.wait_for_log("2/1q")
    assert any("account_guard_ip_limit" in line and "2/1q" in line
               for line in log.splitlines()), d.log_tail()
    assert_auth_ok(d, "alice", ALICE, v4(2))
    # fail_mode = closed: the same login gets a temporary failure, never a success.
    closed = make_dovecot(settings={"account_guard_ip_limit": "10/1h",
                                    "account_guard_fail_mode": "closed"},
                          users=users, guard_passdb_extra="result_internalfail = return-fail")
    code, out = closed.auth_test("carol", CAROL, v4(3))
    assert code != 0 and "code=temp_fail" in [l.strip() for l in out.splitlines()], out
    assert_auth_ok(closed, "alice", ALICE, v4(4))


# ---- (m) doveadm with memcached down ------------------------------------------------------------

def test_doveadm_commands_exit_75_when_memcached_is_down(dovecot, memcached):
    memcached.stop()
    code, out, err = dovecot.account_status("alice")
    assert code == sandbox.EX_TEMPFAIL, f"exit {code}: {out}{err}"
    code, out, err = dovecot.doveadm("account-lock", "alice")
    assert code == sandbox.EX_TEMPFAIL, f"exit {code}: {out}{err}"
    code, out, err = dovecot.doveadm("account-unlock", "alice")
    assert code == sandbox.EX_TEMPFAIL, f"exit {code}: {out}{err}"


# ---- (n) record_services / lock_services ---------------------------------------------------------

def test_services_outside_record_services_are_not_counted(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "2/1h",
                               "account_guard_record_services": "smtp"})
    for n in range(1, 6):
        ok, text = d.imap_login("alice", ALICE, v4(n))
        assert ok, f"IMAP from {v4(n)}: {text}"
    # submission (SMTP AUTH on submission-login) is not "smtp" either.
    code, msg = d.smtp_login("alice", ALICE, v4(6))
    assert code == 235, msg
    row = status(d, "alice")
    assert row["locked"] == "no" and networks_of(row) == set(), row
    # smtp is recorded: the third smtp network locks, and IMAP (lock_services '*') is refused.
    assert_auth_ok(d, "alice", ALICE, v4(10))
    assert_auth_ok(d, "alice", ALICE, v4(11))
    assert_auth_refused(d, "alice", ALICE, v4(12))
    assert d.imap_login("alice", ALICE, v4(13)) == (False, f"[ALERT] {MSG}")


def test_services_outside_lock_services_are_not_refused(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "10/1h",
                               "account_guard_lock_services": "smtp submission"})
    code, out, err = d.doveadm("account-lock", "-r", "test", "alice")
    assert code == 0, out + err
    assert_auth_refused(d, "alice", ALICE, v4(1))
    assert d.smtp_login("alice", ALICE, v4(2)) == (535, f"5.7.8 {MSG}")
    ok, text = d.imap_login("alice", ALICE, v4(3))
    assert ok, text


def test_record_services_star_records_imap(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "2/1h",
                               "account_guard_record_services": "*"})
    for n in (1, 2):
        ok, text = d.imap_login("alice", ALICE, v4(n))
        assert ok, text
    assert d.imap_login("alice", ALICE, v4(3)) == (False, f"[ALERT] {MSG}")


# ---- per-user override -------------------------------------------------------------------------

def test_per_user_ip_limit_from_passdb_extra_field(make_dovecot):
    users = dict(PASSWORDS)
    users["carol"] = (CAROL, "account_guard_ip_limit=2/1h")
    d = make_dovecot(settings={"account_guard_ip_limit": "10/1h"}, users=users)
    login_from_networks(d, "carol", CAROL, [1, 2])
    assert_auth_refused(d, "carol", CAROL, v4(3))
    # Others keep the global limit (addresses not used by a refused login: anvil penalty).
    login_from_networks(d, "alice", ALICE, range(11, 21))
    assert_auth_refused(d, "alice", ALICE, v4(21))


# ---- limit lists -------------------------------------------------------------------------------

def test_every_item_of_a_limit_list_is_its_own_window(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "10/1h 3/10m"})
    login_from_networks(d, "alice", ALICE, [1, 2, 3])
    assert_auth_refused(d, "alice", ALICE, v4(4))


def test_empty_ip_limit_disables_the_check(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "0"})
    login_from_networks(d, "alice", ALICE, range(1, 16))
    assert status(d, "alice")["locked"] == "no"
    # The guard is still active: a lock still refuses.
    code, out, err = d.doveadm("account-lock", "alice")
    assert code == 0, out + err
    assert_auth_refused(d, "alice", ALICE, v4(16))


# ---- memcached is the shared state -------------------------------------------------------------

def test_state_lives_in_memcached(dovecot, memcached):
    before = int(memcached.stats()["curr_items"])
    assert_auth_ok(dovecot, "alice", ALICE, v4(1))
    assert int(memcached.stats()["curr_items"]) > before
    # A second Dovecot on the same memcached (a cluster node) sees the lock.
    lock_by_networks(dovecot, limit=10)
    other = sandbox.Dovecot(memcached, settings={"account_guard_ip_limit": "10/1h"},
                            users=dict(PASSWORDS))
    try:
        other.start()
        code, out = other.auth_test("alice", ALICE, v4(50))
        assert code == sandbox.EX_AUTH_FAILED and reason_of(out) == MSG, out
    finally:
        other.cleanup()


def test_key_prefix_separates_namespaces(make_dovecot, memcached):
    d = make_dovecot(settings={"account_guard_ip_limit": "10/1h",
                               "account_guard_key_prefix": "tenantA:"})
    lock_by_networks(d)
    other = sandbox.Dovecot(memcached, settings={"account_guard_ip_limit": "10/1h",
                                                 "account_guard_key_prefix": "tenantB:"},
                            users=dict(PASSWORDS))
    try:
        other.start()
        assert_auth_ok(other, "alice", ALICE, v4(60))
    finally:
        other.cleanup()


# ---- passwords never logged -------------------------------------------------------------------

def test_passwords_never_appear_in_the_log(make_dovecot):
    d = make_dovecot(settings={"account_guard_ip_limit": "2/1h",
                               "account_guard_record_services": "*"},
                     auth_debug=True)
    login_from_networks(d, "alice", ALICE, [1, 2])
    assert_auth_refused(d, "alice", ALICE, v4(3))
    d.smtp_login("alice", ALICE, v4(4))
    d.imap_login("alice", ALICE, v4(5))
    d.auth_test("bob", "wrong-Bob-pw-guess", v4(6))
    d.imap_login("bob", BOB, v4(7))
    d.doveadm("account-lock", "-r", "test", "bob")
    d.smtp_login("bob", BOB, v4(8))
    new_password = "Alice-new-pw-3Rt8-Moss"
    d.set_password("alice", new_password)
    assert_auth_ok(d, "alice", new_password, v4(9))
    log = d.log()
    assert "account_guard" in log
    for pw in list(PASSWORDS.values()) + [new_password, "wrong-Bob-pw-guess"]:
        assert pw not in log, "a password appears in the Dovecot log"

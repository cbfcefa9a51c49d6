"""account-guard-replay (INTERFACE.md §9) on a real Dovecot's own log: the same decisions the
live guard took.

A login the live guard refuses is no `Login:` line in Dovecot's log (the client sees an auth
failure), so the log of an enforcing guard lacks the logins its locks were set on. Here the
live guard records every service but refuses only submission while an account is locked
(`account_guard_lock_services = submission`): the IMAP login that crosses the limit is
recorded and sets the lock exactly as in production, and is still a `Login:` line. The
replay, run over that log with the same configuration, must lock the same accounts at that
line, with the same reason `doveadm account-status` shows, and refuse nothing the live guard
accepted.

Client addresses are simulated from the trusted loopback network (IMAP ID x-originating-ip,
SMTP XCLIENT ADDR=); nothing is sent anywhere else.
"""

import calendar
import gzip
import json
import os
import re
import subprocess
import time

import pytest

import sandbox
from conftest import PASSWORDS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALICE, BOB = PASSWORDS["alice"], PASSWORDS["bob"]
SETTINGS = {
    "account_guard_ip_limit": "3/1h",
    "account_guard_record_services": "*",
    "account_guard_lock_services": "submission",
}
LOGIN_LINE = re.compile(r"^(\w{3} +\d+ \d\d:\d\d:\d\d) (imap|submission|pop3)-login: Info: Login: "
                        r"user=<([^>]*)>.*rip=([0-9a-f.:]+)")


def replay_binary():
    build = os.environ.get("AG_BUILD_DIR") or os.path.join(ROOT, "build")
    path = os.path.join(build, "replay", "account-guard-replay")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built (meson compile -C {build})", pytrace=False)
    return path


def replay(d, *args):
    """account-guard-replay -c <the sandbox's config> ARGS: (exit code, stdout, stderr)."""
    p = subprocess.run([replay_binary(), "-c", d.config_path, *args],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def decisions(out):
    """The --json output: (decision objects, summary)."""
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and "summary" in rows[-1], out
    return rows[:-1], rows[-1]["summary"]


def status(d, user):
    code, out, err = d.account_status(user, "json")
    assert code == 0, f"doveadm account-status {user}: exit {code}\n{out}{err}"
    return json.loads(out)[0]


def login_lines(d):
    """(line number, service, user, rip, epoch) of every Login: line of the sandbox's log.
    Dovecot's default log_timestamp has no year and no zone: the replay takes it as UTC in
    the file's year, and so does this."""
    year = time.gmtime(os.stat(d.log_path).st_mtime).tm_year
    out = []
    with open(d.log_path, errors="replace") as f:
        for number, line in enumerate(f, 1):
            m = LOGIN_LINE.match(line)
            if m:
                stamp = time.strptime(f"{year} {m.group(1)}", "%Y %b %d %H:%M:%S")
                out.append((number, m.group(2), m.group(3), m.group(4), calendar.timegm(stamp)))
    return out


def imap_ok(d, user, password, rip):
    ok, text = d.imap_login(user, password, rip)
    assert ok, f"IMAP login of {user} from {rip}: {text}"


def wait_for_logins(d, count):
    sandbox.wait_until(lambda: len(login_lines(d)) >= count, what=f"{count} Login: lines in the log")


@pytest.fixture
def live(make_dovecot):
    """A live run: alice logs in by IMAP and POP3 from four /24s (the fourth crosses 3/1h and
    locks), then is refused on submission; bob reaches three networks (at the limit, not
    across it) by IMAP, POP3 and submission."""
    d = make_dovecot(settings=SETTINGS, pop3=True)
    for n in range(4):
        if n == 2:
            ok, text = d.pop3_login("alice", ALICE, f"198.18.{n}.7")
            assert ok, f"POP3 login of alice: {text}"
        else:
            imap_ok(d, "alice", ALICE, f"198.18.{n}.7")
    code, text = d.smtp_login("alice", ALICE, "198.18.0.7")
    assert code == 535, f"submission login of locked alice: {code} {text}"
    imap_ok(d, "bob", BOB, "198.18.10.7")
    ok, text = d.pop3_login("bob", BOB, "198.18.12.7")
    assert ok, f"POP3 login of bob: {text}"
    code, text = d.smtp_login("bob", BOB, "198.18.11.7")
    assert code == 235, f"submission login of bob: {code} {text}"
    wait_for_logins(d, 7)
    return d


def test_replay_of_the_live_log_locks_whom_the_live_guard_locked(live):
    alice, bob = status(live, "alice"), status(live, "bob")
    assert alice["locked"] == "yes" and bob["locked"] == "no"

    code, out, err = replay(live, "--json", live.log_path)
    assert code == 0, err
    rows, summary = decisions(out)
    locks = [r for r in rows if r["decision"] == "lock"]
    assert [r["user"] for r in locks] == ["alice"], rows
    lock = locks[0]
    # At the line of the login that crossed: alice's fourth distinct network.
    alice_logins = [entry for entry in login_lines(live) if entry[2] == "alice"]
    assert [entry[3] for entry in alice_logins] == [f"198.18.{n}.7" for n in range(4)]
    assert lock["line"] == alice_logins[3][0]
    assert lock["file"] == live.log_path and lock["event"] == "login"
    assert lock["rule"] == "account_guard_ip_limit"
    # The same lock as the live one: its reason is what account-status shows.
    assert lock["reason"] == "account locked: " + alice["reason"], (lock, alice)
    assert sorted(e["line"] for e in lock["evidence"]) == [entry[0] for entry in alice_logins]
    # Nothing the live guard accepted is refused: IMAP is no lock service here, and the
    # refused submission login is no Login: line.
    assert [r for r in rows if r["decision"] != "lock"] == []
    assert summary["events"]["login"] == 7
    services = {(entry[2], entry[1]) for entry in login_lines(live)}
    assert {("alice", "pop3"), ("bob", "pop3"), ("bob", "submission")} <= services
    assert summary["accounts_locked"] == 1 and summary["accounts_still_locked"] == 1
    assert summary["rules"]["account_guard_ip_limit"]["lock"] == 1


def test_replay_reads_a_gzip_log_to_the_same_decisions(live, tmp_path):
    gz = tmp_path / "dovecot.log.gz"
    with open(live.log_path, "rb") as f, gzip.open(gz, "wb") as g:
        g.write(f.read())
    code, plain, err = replay(live, "--json", live.log_path)
    assert code == 0, err
    code, packed, err = replay(live, "--json", str(gz))
    assert code == 0, err
    strip = lambda rows: [dict(r, file=None, evidence=None) for r in rows]  # noqa: E731
    assert strip(decisions(plain)[0]) == strip(decisions(packed)[0])
    assert decisions(plain)[0], "the log should have produced a lock"


def test_a_password_change_unlocks_in_the_replay_as_it_did_live(live, tmp_path):
    new_password = "Alice-new-pw-9Qe3-Harp"
    live.set_password("alice", new_password)
    # The first login with the changed password lifts the live lock.
    imap_ok(live, "alice", new_password, "198.18.0.7")
    wait_for_logins(live, 8)
    assert status(live, "alice")["locked"] == "no"
    code, text = live.smtp_login("alice", new_password, "198.18.0.7")
    assert code == 235, f"submission login of unlocked alice: {code} {text}"
    wait_for_logins(live, 9)

    # The password backend's log: the change, at the time of that first login.
    changed_at = [e for e in login_lines(live) if e[2] == "alice"][4][4]
    changes = tmp_path / "password-changes.jsonl"
    changes.write_text(json.dumps({"time": changed_at, "event": "password_change", "user": "alice"}) + "\n")
    # The changes file first: at the same second, its event comes before the log's login.
    code, out, err = replay(live, "--json", str(changes), live.log_path)
    assert code == 0, err
    rows, summary = decisions(out)
    assert [(r["decision"], r["user"]) for r in rows] == [("lock", "alice"), ("unlock", "alice")], rows
    unlock = rows[1]
    assert unlock["file"] == str(changes) and unlock["line"] == 1
    assert unlock["event"] == "password_change"
    assert unlock["rule"] == "account_guard_unlock_on_password_change"
    assert summary["accounts_still_locked"] == 0
    assert summary["events"] == dict(summary["events"], login=9, password_change=1)


def test_the_readable_report_and_bad_input(live, tmp_path):
    code, out, err = replay(live, live.log_path)
    assert code == 0, err
    line = [e for e in login_lines(live) if e[2] == "alice"][3][0]
    assert "Accounts locked: 1" in out
    assert re.search(r"^  alice$", out, re.M), out
    assert f"account_guard_ip_limit: account locked: 4 networks within 1h (limit 3/1h)" in out
    assert f"({live.log_path}:{line})" in out

    # Hostile lines are counted, never fatal.
    copy = tmp_path / "dovecot.log"
    with open(live.log_path, "rb") as f:
        text = f.read()
    copy.write_bytes(text + b"Dec 03 10:00:00 imap-login: Info: Login: user=<>, method=PLAIN\n"
                     + b"\xff\xfe garbage \x00 line\n" + b"Dec 03 10:00:01 imap-login: Info: Login: user=<x" * 500 + b"\n")
    code, out, err = replay(live, "--json", str(copy))
    assert code == 0, err
    rows, summary = decisions(out)
    assert [r["user"] for r in rows if r["decision"] == "lock"] == ["alice"]
    assert summary["unparsable"] >= 1

    code, out, err = replay(live, "-o", "account_guard_ip_limit=10/1x", live.log_path)
    assert code == 2 and "account_guard_ip_limit: invalid limit '10/1x'" in err, (code, err)
    code, out, err = replay(live, str(tmp_path / "missing.log"))
    assert code == 2 and "missing.log" in err, (code, err)
    code, out, err = replay(live, "--format", "xml", live.log_path)
    assert code == 2 and "--format" in err, (code, err)

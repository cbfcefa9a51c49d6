"""account-guard-replay (INTERFACE.md §9) on a real Dovecot's own log: the same decisions the
live guard took.

The design. A login the live guard refuses is no `Login:` line in Dovecot's log (the client
sees an auth failure), so the log of a guard that refuses every service while an account is
locked lacks the very login its lock was set on. Here the live guard records every service
(`account_guard_record_services = *`) but refuses only submission while an account is locked
(`account_guard_lock_services = submission`): the IMAP login that crosses the limit is
recorded and sets the lock exactly as in production, and, IMAP being no lock service, it and
the locked account's later IMAP and POP3 logins still succeed and are `Login:` lines; the
locked account's submission login is refused (535) and is no `Login:` line. The log then holds
every login the live guard decided on, and the replay, run over it with the sandbox's own
configuration (`-c`, the same `plugin {}`), must lock the same accounts at the line of the
crossing login, with the reason `doveadm account-status` shows, and refuse nothing the live
guard accepted (every `Login:` line is a login it accepted).

Client addresses are simulated from the trusted loopback network (IMAP ID x-originating-ip,
SMTP and POP3 XCLIENT ADDR=); nothing is sent anywhere else.
"""

import calendar
import collections
import datetime
import gzip
import json
import os
import re
import subprocess
import time

import pytest

import sandbox
from conftest import PASSWORDS

ALICE, BOB = PASSWORDS["alice"], PASSWORDS["bob"]
SETTINGS = {
    "account_guard_ip_limit": "3/1h",
    "account_guard_record_services": "*",
    "account_guard_lock_services": "submission",
}
# alice's networks in order; the fourth distinct /24 crosses 3/1h.
ALICE_NETS = ["198.18.0.7", "198.18.1.7", "198.18.2.7", "198.18.3.7"]
# Logins of the locked alice that succeed live (IMAP, POP3 are no lock services).
ALICE_LOCKED = [("imap", "198.18.0.7"), ("pop3", "198.18.4.7")]
# bob: three networks, at the limit and not across it.
BOB_LOGINS = [("imap", "198.18.10.7"), ("pop3", "198.18.12.7"), ("submission", "198.18.11.7")]
LOGINS = len(ALICE_NETS) + len(ALICE_LOCKED) + len(BOB_LOGINS)
DECISIONS = ("lock", "refuse_login", "refuse_rcpt", "probation", "notify", "unlock")

LOGIN_LINE = re.compile(r"^(\w{3} +\d+ \d\d:\d\d:\d\d) (imap|submission|pop3)-login: Info: Login: "
                        r"user=<([^>]*)>.*rip=([0-9a-f.:]+).* session=<([^>]*)>")
Login = collections.namedtuple("Login", "line service user rip time session")
# The live guard's own log lines (auth process): account_guard(user,rip,<session>): message
GUARD_LINE = re.compile(r"^\w{3} +\d+ \d\d:\d\d:\d\d auth: \w+: account_guard\(([^,]*),([^,]*),<([^>]*)>\): "
                        r"(.*)$")
Guarded = collections.namedtuple("Guarded", "user rip session message")


def replay(d, *args, stdin=None):
    """account-guard-replay -c <the sandbox's config> ARGS: (exit code, stdout, stderr)."""
    p = subprocess.run([sandbox.built("replay", "account-guard-replay"), "-c", d.config_path, *args],
                       input=stdin, capture_output=True, text=stdin is None or isinstance(stdin, str),
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


def decisions(out):
    """The --json output: (decision objects, summary)."""
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and "summary" in rows[-1], out
    assert all(r["decision"] in DECISIONS for r in rows[:-1]), rows
    return rows[:-1], rows[-1]["summary"]


def replay_json(d, *args):
    code, out, err = replay(d, "--json", *args)
    assert code == 0, f"account-guard-replay --json {' '.join(args)}: exit {code}\n{err}"
    return decisions(out)


def status(d, user):
    code, out, err = d.account_status(user, "json")
    assert code == 0, f"doveadm account-status {user}: exit {code}\n{out}{err}"
    return json.loads(out)[0]


def epoch(iso):
    """ISO 8601 UTC (the replay's "time", account-status's "since") as epoch seconds."""
    return int(datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def login_lines(d):
    """Every Login: line of the sandbox's log, as Login tuples. Dovecot's default
    log_timestamp has no year and no zone: the replay takes it as UTC in the file's year
    (the machine's zone is UTC), and so does this."""
    year = time.gmtime(os.stat(d.log_path).st_mtime).tm_year
    out = []
    with open(d.log_path, errors="replace") as f:
        for number, line in enumerate(f, 1):
            m = LOGIN_LINE.match(line)
            if m:
                stamp = time.strptime(f"{year} {m.group(1)}", "%Y %b %d %H:%M:%S")
                out.append(Login(number, m.group(2), m.group(3), m.group(4), calendar.timegm(stamp),
                                 m.group(5)))
    return out


def guard_lines(d, prefix):
    """The live guard's log lines whose message starts with prefix, as Guarded tuples."""
    found = (GUARD_LINE.match(line) for line in d.log().splitlines())
    return [Guarded(*m.groups()) for m in found if m and m.group(4).startswith(prefix)]


def logins_of(d, user):
    return [entry for entry in login_lines(d) if entry.user == user]


def wait_for_logins(d, count):
    sandbox.wait_until(lambda: len(login_lines(d)) >= count, what=f"{count} Login: lines in the log")


def login_ok(d, service, user, password, rip):
    if service == "imap":
        ok, text = d.imap_login(user, password, rip)
    elif service == "pop3":
        ok, text = d.pop3_login(user, password, rip)
    else:
        code, text = d.smtp_login(user, password, rip)
        ok = code == 235
    assert ok, f"{service} login of {user} from {rip}: {text}"


@pytest.fixture
def live(make_dovecot):
    """The live run: alice logs in by IMAP and POP3 from four /24s (the fourth, an IMAP
    login, crosses 3/1h and locks), then, locked, by IMAP and POP3 again (accepted) and by
    submission (refused); bob reaches three networks by IMAP, POP3 and submission."""
    d = make_dovecot(settings=SETTINGS, pop3=True)
    for n, rip in enumerate(ALICE_NETS):
        assert status(d, "alice")["locked"] == "no", f"alice locked before login {n + 1}"
        login_ok(d, "pop3" if n == 2 else "imap", "alice", ALICE, rip)
    # The lock was set by the crossing IMAP login, which itself succeeded.
    assert status(d, "alice")["locked"] == "yes"
    for service, rip in ALICE_LOCKED:
        login_ok(d, service, "alice", ALICE, rip)
    code, text = d.smtp_login("alice", ALICE, "198.18.0.7")
    assert code == 535 and sandbox.DEFAULT_LOCK_MESSAGE in text, \
        f"submission login of locked alice: {code} {text}"
    for service, rip in BOB_LOGINS:
        login_ok(d, service, "bob", BOB, rip)
    wait_for_logins(d, LOGINS)
    return d


def test_replay_of_the_live_log_locks_whom_the_live_guard_locked(live):
    live_locked = {u for u in PASSWORDS if status(live, u)["locked"] == "yes"}
    assert live_locked == {"alice"}

    rows, summary = replay_json(live, live.log_path)
    locks = [r for r in rows if r["decision"] == "lock"]
    assert len(locks) == 1 and {r["user"] for r in locks} == live_locked, rows
    lock = locks[0]
    alice = logins_of(live, "alice")
    assert [(e.service, e.rip) for e in alice] == \
        [("pop3" if n == 2 else "imap", rip) for n, rip in enumerate(ALICE_NETS)] + ALICE_LOCKED
    crossing = alice[len(ALICE_NETS) - 1]
    # At the line of the login that crossed, alice's fourth distinct network, at its time.
    assert (lock["file"], lock["line"], lock["event"]) == (live.log_path, crossing.line, "login"), lock
    assert epoch(lock["time"]) == crossing.time, (lock, crossing)
    assert lock["rule"] == "account_guard_ip_limit"
    # The same lock as the live one: its stored reason is the event's text after
    # "account locked: ", and it was set (account-status's since) when that line was written.
    shown = status(live, "alice")
    assert lock["reason"] == "account locked: " + shown["reason"], (lock, shown)
    assert lock["reason"].startswith("account locked: 4 networks within 1h (limit 3/1h): ")
    assert abs(epoch(shown["since"]) - crossing.time) <= 2, (shown, crossing)
    # The live guard logged its lock on the very session of that Login line, in the same words.
    live_locks = guard_lines(live, "account locked: ")
    assert [(g.user, g.session, g.message) for g in live_locks] == \
        [("alice", crossing.session, lock["reason"])], live_locks
    # The evidence: alice's Login lines that brought the four networks.
    assert all(e["file"] == live.log_path for e in lock["evidence"]), lock
    assert sorted(e["line"] for e in lock["evidence"]) == [e.line for e in alice[:len(ALICE_NETS)]]
    # bob, at the limit, is locked in neither.
    assert status(live, "bob")["locked"] == "no"
    assert not [r for r in rows if r["user"] != "alice"], rows
    assert summary["accounts_locked"] == 1 and summary["accounts_still_locked"] == 1


def test_the_replay_refuses_nothing_the_live_guard_accepted(live):
    """Every Login: line is a login the live guard accepted: the replay refuses none. The
    refused submission login of the locked alice is no Login: line."""
    rows, summary = replay_json(live, live.log_path)
    assert [r["decision"] for r in rows] == ["lock"], rows
    assert not [e for e in logins_of(live, "alice") if e.service == "submission"]
    live_refusals = guard_lines(live, "login refused: ")
    assert [(g.user, g.rip) for g in live_refusals] == [("alice", "198.18.0.7")], live_refusals
    assert re.search(r"^.* submission-login: Info: (?!Login: ).*user=<alice>.*session=<"
                     + re.escape(live_refusals[0].session) + ">", live.log(), re.M), live.log_tail()

    # The summary agrees with the decisions and with the log.
    with open(live.log_path, "rb") as f:
        lines = f.read().count(b"\n")
    assert summary["lines"] == lines
    assert summary["unparsable"] == 0
    assert summary["events"]["login"] == LOGINS == len(login_lines(live))
    assert summary["ignored"] + summary["events"]["login"] == lines
    counted = collections.Counter(r["decision"] for r in rows)
    assert summary["decisions"] == {k: counted.get(k, 0) for k in DECISIONS}
    assert summary["rules"] == {"account_guard_ip_limit": {k: counted.get(k, 0) for k in DECISIONS}}
    assert summary["accounts_locked"] == 1 and summary["accounts_still_locked"] == 1
    assert summary["accounts_refused"] == 0

    # What if every service had been a lock service (the default): the crossing login and
    # the locked alice's later IMAP and POP3 logins would have been refused, bob's not.
    rows, summary = replay_json(live, "-o", "account_guard_lock_services=*", live.log_path)
    alice = logins_of(live, "alice")
    refused = [r for r in rows if r["decision"] == "refuse_login"]
    assert [r["line"] for r in rows if r["decision"] == "lock"] == [alice[len(ALICE_NETS) - 1].line]
    assert [(r["user"], r["line"]) for r in refused] == \
        [("alice", e.line) for e in alice[len(ALICE_NETS) - 1:]], rows
    assert all(r["rule"] == "account_guard_ip_limit" for r in refused), refused
    # In the words the live guard refused alice's submission login with.
    assert [r["reason"] for r in refused[1:]] == [live_refusals[0].message] * len(ALICE_LOCKED)
    assert summary["decisions"]["refuse_login"] == len(refused) == 1 + len(ALICE_LOCKED)
    assert summary["accounts_refused"] == 1


def test_a_password_change_unlocks_in_the_replay_as_it_did_live(live, tmp_path):
    new_password = "Alice-new-pw-9Qe3-Harp"
    live.set_password("alice", new_password)
    # set_password returns in a second after the one it wrote the file in: the change is
    # later than the lock's second, and not later than the next login's.
    changed_at = int(time.time())
    # The first login with the changed password lifts the live lock...
    login_ok(live, "imap", "alice", new_password, "198.18.0.7")
    wait_for_logins(live, LOGINS + 1)
    assert status(live, "alice")["locked"] == "no"
    # ...and submission (the lock service) accepts alice again.
    login_ok(live, "submission", "alice", new_password, "198.18.0.7")
    wait_for_logins(live, LOGINS + 2)
    alice = logins_of(live, "alice")
    crossing, first_new, submission = alice[len(ALICE_NETS) - 1], alice[-2], alice[-1]
    assert (first_new.service, submission.service) == ("imap", "submission")
    assert crossing.time < changed_at <= first_new.time
    live_unlocks = guard_lines(live, "account unlocked: ")
    assert [(g.user, g.session) for g in live_unlocks] == [("alice", first_new.session)], live_unlocks

    # The password backend's log: the change as a JSON line, merged with Dovecot's log (given
    # first: at the same second, the change comes before the login made with the new password).
    changes = tmp_path / "password-changes.jsonl"
    changes.write_text(json.dumps({"time": changed_at, "event": "password_change", "user": "alice"}) + "\n")
    rows, summary = replay_json(live, str(changes), live.log_path)
    assert [(r["decision"], r["user"]) for r in rows] == [("lock", "alice"), ("unlock", "alice")], rows
    lock, unlock = rows
    assert lock["line"] == crossing.line
    assert (unlock["file"], unlock["line"], unlock["event"]) == (str(changes), 1, "password_change")
    assert unlock["rule"] == "account_guard_unlock_on_password_change"
    assert epoch(unlock["time"]) == changed_at
    assert unlock["reason"] == "account unlocked: password changed"
    assert live_unlocks[0].message.startswith(unlock["reason"])
    # Later logins, the submission one among them, are not refused (no decision after it).
    assert summary["accounts_still_locked"] == 0 and summary["accounts_refused"] == 0
    assert summary["events"]["login"] == LOGINS + 2 and summary["events"]["password_change"] == 1

    # Without the change, or with unlock_on_password_change = no, the replay keeps the lock,
    # and alice's submission login after the change is refused.
    for args in ([live.log_path], ["-o", "account_guard_unlock_on_password_change=no",
                                   live.log_path, str(changes)]):
        rows, summary = replay_json(live, *args)
        assert [(r["decision"], r["line"]) for r in rows] == \
            [("lock", crossing.line), ("refuse_login", submission.line)], (args, rows)
        assert summary["accounts_still_locked"] == 1


def test_a_gzip_log_and_standard_input_replay_to_the_same_decisions(live, tmp_path):
    gz = tmp_path / "dovecot.log.gz"
    with open(live.log_path, "rb") as f:
        text = f.read()
    with gzip.open(gz, "wb") as g:
        g.write(text)
    plain_rows, plain_summary = replay_json(live, live.log_path)
    assert plain_rows, "the log should have produced a lock"

    def strip(rows):
        return [dict(r, file=None, evidence=[e["line"] for e in r.get("evidence", [])]) for r in rows]

    rows, summary = replay_json(live, str(gz))
    assert strip(rows) == strip(plain_rows)
    assert all(r["file"] == str(gz) for r in rows)
    assert summary == plain_summary

    code, out, err = replay(live, "--json", "-", stdin=text)
    assert code == 0, err
    rows, summary = decisions(out.decode())
    assert strip(rows) == strip(plain_rows)
    assert summary == plain_summary


def test_the_readable_report(live):
    code, out, err = replay(live, live.log_path)
    assert code == 0, err
    crossing = logins_of(live, "alice")[len(ALICE_NETS) - 1]
    assert "Accounts locked: 1\n" in out
    assert re.search(r"^  alice$", out, re.M), out
    assert not re.search(r"^  bob$", out, re.M), out
    assert "account_guard_ip_limit: account locked: 4 networks within 1h (limit 3/1h)" in out
    assert f"({live.log_path}:{crossing.line})" in out
    assert f"{LOGINS} logins" in out


def test_bad_input_is_counted_never_fatal_and_bad_usage_exits_2(live, tmp_path):
    plain_rows, plain_summary = replay_json(live, live.log_path)
    copy = tmp_path / "dovecot.log"
    with open(live.log_path, "rb") as f:
        text = f.read()
    day = time.strftime("%b %d", time.gmtime())
    bad = [f"{day} 10:00:00 imap-login: Info: Login: user=<>, method=PLAIN, rip=198.18.9.9".encode(),
           b"\xff\xfe garbage \x00 line",
           f"{day} 10:00:01 imap-login: Info: Login: user=<x".encode() * 500,
           b"not a log line at all"]
    copy.write_bytes(text + b"\n".join(bad) + b"\n")
    rows, summary = replay_json(live, str(copy))
    assert [(r["decision"], r["user"], r["line"]) for r in rows] == \
        [(r["decision"], r["user"], r["line"]) for r in plain_rows]
    assert summary["lines"] == plain_summary["lines"] + len(bad)
    assert summary["unparsable"] + summary["ignored"] == \
        plain_summary["unparsable"] + plain_summary["ignored"] + len(bad)
    assert summary["unparsable"] >= 2  # the Login lines without a (whole) user
    assert summary["events"] == plain_summary["events"]
    code, out, err = replay(live, str(copy))
    assert code == 0, err
    assert "unparsable lines:" in out and f"{copy}:{plain_summary['lines'] + 1}" in out

    code, out, err = replay(live, "-o", "account_guard_ip_limit=10/1x", live.log_path)
    assert code == 2 and "account_guard_ip_limit" in err and "10/1x" in err, (code, err)
    missing = tmp_path / "missing.log"
    code, out, err = replay(live, str(missing))
    assert code == 2 and str(missing) in err, (code, err)
    code, out, err = replay(live, "--format", "xml", live.log_path)
    assert code == 2 and "--format" in err, (code, err)

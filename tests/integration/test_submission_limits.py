"""Recipient limits on submission (README "What it does") end to end: a real Dovecot whose
submission service loads lib95_account_guard_plugin.so and relays to a local aiosmtpd sink, a
real memcached, everything on 127.0.0.1. Reply lines are read raw off the socket, so the
assertions are about exactly what a client sees.
"""

import json

import sandbox
import submission_helpers as h
from conftest import PASSWORDS
from submission_helpers import REFUSED_TEXT, TEMPFAIL_TEXT, refused_line, send, session

ALICE, BOB, CAROL = PASSWORDS["alice"], PASSWORDS["bob"], PASSWORDS["carol"]


def codes(replies):
    return [h.SmtpClient.code(r) for r in replies]


def status(d, user):
    code, out, err = d.account_status(user, "json")
    assert code == 0, f"doveadm account-status {user}: exit {code}\n{out}{err}"
    return json.loads(out)[0]


# ---- the limit ---------------------------------------------------------------------------------

def test_sixth_recipient_refused_while_first_five_are_delivered(make_dovecot):
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "5/1h"})
    rcpts = h.recipients(6)
    replies, data = send(d, "alice", ALICE, rcpts)

    for r in replies[:5]:
        assert h.SmtpClient.code(r) == 250, replies
    # Exactly this line on the wire: Dovecot adds "<path> " to our text.
    assert replies[5] == [f"451 4.7.1 <r6@example.net> {REFUSED_TEXT}"]
    assert replies[5] == [refused_line(rcpts[5])]
    assert data is not None and h.SmtpClient.code(data) == 250, data

    msgs = h.relayed(d, 1)
    assert len(msgs) == 1, msgs
    assert h.relayed_rcpts(msgs[0]) == rcpts[:5]
    log = d.wait_for_log("recipient refused")
    assert "account_guard: recipient refused: 5 recipients within 1h (limit 5/1h)" in log


def test_refused_recipient_is_not_counted(make_dovecot):
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "5/1h 100/24h"})
    replies, _ = send(d, "alice", ALICE, h.recipients(9))
    assert codes(replies) == [250] * 5 + [451] * 4
    # Four refusals later the counts still say 5: a refused RCPT costs the account nothing.
    assert status(d, "alice")["recipients"] == "5/1h 5/24h"


def test_second_transaction_in_the_window_is_refused_from_its_first_rcpt(make_dovecot):
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "5/1h"})
    replies, _ = send(d, "alice", ALICE, h.recipients(5))
    assert codes(replies) == [250] * 5

    # A new transaction in the same session ...
    with session(d, "alice", ALICE) as c:
        c.mail_from("alice@example.com")
        assert c.rcpt("late@example.net") == [refused_line("late@example.net")]
        c.expect("RSET", 250)
        c.mail_from("alice@example.com")
        assert c.rcpt("later@example.net") == [refused_line("later@example.net")]
    # ... and in a new session, from another network.
    replies, data = send(d, "alice", ALICE, ["again@example.net"], rip="203.0.113.5")
    assert replies == [[refused_line("again@example.net")]]
    assert data is None
    assert len(h.relayed(d, 1)) == 1


def test_other_accounts_are_not_affected(make_dovecot):
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "2/1h"})
    assert codes(send(d, "alice", ALICE, h.recipients(3))[0]) == [250, 250, 451]
    assert codes(send(d, "bob", BOB, h.recipients(2))[0]) == [250, 250]


def test_every_window_of_the_limit_list_counts(make_dovecot):
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "10/1h 3/24h"})
    replies, _ = send(d, "alice", ALICE, h.recipients(4))
    assert codes(replies) == [250, 250, 250, 451]
    assert status(d, "alice")["recipients"] == "3/1h 3/24h"


def test_window_slides_and_sending_works_again(make_dovecot):
    # A 12 s window moves in 1 s steps (1/12 of the window): what was sent ages out.
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "2/12s"})
    assert codes(send(d, "alice", ALICE, h.recipients(3))[0]) == [250, 250, 451]
    def slid():
        replies, _ = send(d, "alice", ALICE, ["after@example.net"])
        if codes(replies) == [250]:
            return True
        assert replies == [[refused_line("after@example.net")]]
        return False
    sandbox.wait_until(slid, timeout=60, interval=1, what="the window slid")


def test_two_instances_share_one_count(make_dovecot):
    settings = {"account_guard_recipient_limit": "5/1h"}
    a = h.start_submission(make_dovecot, settings)
    b = h.start_submission(make_dovecot, settings)
    assert a.instance != b.instance and a.submission_port != b.submission_port

    assert codes(send(a, "alice", ALICE, h.recipients(3, prefix="a"))[0]) == [250] * 3
    replies, _ = send(b, "alice", ALICE, h.recipients(3, prefix="b"), rip="203.0.113.9")
    assert codes(replies) == [250, 250, 451]
    assert replies[2] == [refused_line("b3@example.net")]
    assert send(a, "alice", ALICE, ["c@example.net"])[0] == [[refused_line("c@example.net")]]
    assert status(a, "alice")["recipients"] == "5/1h"
    assert status(b, "alice")["recipients"] == "5/1h"


# ---- per-user limits, modes --------------------------------------------------------------------

def test_per_user_limit_from_userdb_field(make_dovecot):
    users = dict(PASSWORDS)
    users["carol"] = (CAROL, "userdb_account_guard_recipient_limit=2/1h")
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "5/1h"}, users=users)
    replies, _ = send(d, "carol", CAROL, h.recipients(3))
    assert codes(replies) == [250, 250, 451]
    assert replies[2] == [refused_line("r3@example.net")]
    assert "limit 2/1h" in d.wait_for_log("limit 2/1h")
    # Everyone else keeps the plugin {} limit.
    assert codes(send(d, "alice", ALICE, h.recipients(6))[0]) == [250] * 5 + [451]


def test_per_user_limit_can_be_higher_than_the_default(make_dovecot):
    users = dict(PASSWORDS)
    users["bob"] = (BOB, "userdb_account_guard_recipient_limit=8/1h")
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "2/1h"}, users=users)
    assert codes(send(d, "bob", BOB, h.recipients(9))[0]) == [250] * 8 + [451]


def test_log_mode_counts_but_never_refuses(make_dovecot):
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "2/1h",
                                          "account_guard_mode": "log"})
    replies, data = send(d, "alice", ALICE, h.recipients(5))
    assert codes(replies) == [250] * 5
    assert h.SmtpClient.code(data) == 250
    assert h.relayed_rcpts(h.relayed(d, 1)[0]) == h.recipients(5)
    log = d.wait_for_log("dry run")
    assert "account_guard: dry run: would refuse recipient: 2 recipients within 1h" in log
    assert status(d, "alice")["recipients"] == "5/1h"


def test_empty_limit_disables_counting(make_dovecot, memcached):
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": ""})
    assert codes(send(d, "alice", ALICE, h.recipients(20))[0]) == [250] * 20


# ---- memcached down ---------------------------------------------------------------------------

def test_memcached_down_fail_open_lets_recipients_through(make_dovecot, memcached):
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "2/1h"})
    with session(d, "alice", ALICE) as c:
        memcached.stop()
        c.mail_from("alice@example.com")
        for r in h.recipients(4):
            assert h.SmtpClient.code(c.rcpt(r)) == 250
        assert h.SmtpClient.code(c.data(h.message("alice@example.com", h.recipients(4)))) == 250
    log = d.wait_for_log("fail_mode=open")
    assert "recipient allowed, fail_mode=open" in log, d.log_tail()
    assert len(h.relayed(d, 1)) == 1


def test_memcached_down_fail_closed_tempfails(make_dovecot, memcached):
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "5/1h",
                                          "account_guard_fail_mode": "closed"},
                           guard_passdb_extra="result_internalfail = return-fail")
    # Logged in while memcached answers (fail-closed would refuse the login too), then it dies.
    with session(d, "alice", ALICE) as c:
        c.mail_from("alice@example.com")
        assert h.SmtpClient.code(c.rcpt("first@example.net")) == 250
        memcached.stop()
        assert c.rcpt("second@example.net") == [
            f"451 4.7.1 <second@example.net> {TEMPFAIL_TEXT}"]
        # The recipient accepted before the outage is still delivered.
        assert h.SmtpClient.code(c.data(h.message("alice@example.com",
                                                  ["first@example.net"]))) == 250
    log = d.log()
    assert "recipient refused temporarily, fail_mode=closed" in log, d.log_tail()
    memcached.start()
    assert codes(send(d, "alice", ALICE, ["third@example.net"])[0]) == [250]


# ---- configuration errors ----------------------------------------------------------------------

def test_invalid_setting_tempfails_and_names_setting_and_value(make_dovecot):
    # No guard passdb here: auth would (rightly) refuse to start with this setting.
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "5/1x"}, guard=False)
    replies, data = send(d, "alice", ALICE, h.recipients(2))
    assert replies == [["451 4.3.5 <r1@example.net> Server configuration error, try again later"],
                       ["451 4.3.5 <r2@example.net> Server configuration error, try again later"]]
    log = d.wait_for_log("5/1x")
    lines = [line for line in log.splitlines() if "5/1x" in line]
    # One error per session, naming the setting, its value and where it came from.
    assert len(lines) == 1, log
    assert "Error: account_guard: Invalid setting in plugin {}: " \
           "account_guard_recipient_limit: invalid limit '5/1x'" in lines[0]


def test_invalid_per_user_setting_tempfails_only_that_user(make_dovecot):
    users = dict(PASSWORDS)
    users["carol"] = (CAROL, "userdb_account_guard_recipient_limit=5/1x")
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "5/1h"}, users=users)
    replies, _ = send(d, "carol", CAROL, ["x@example.net"])
    assert replies == [["451 4.3.5 <x@example.net> Server configuration error, try again later"]]
    assert "Invalid setting in a userdb field of this user: account_guard_recipient_limit: " \
           "invalid limit '5/1x'" in d.wait_for_log("5/1x")
    assert codes(send(d, "alice", ALICE, ["y@example.net"])[0]) == [250]


# ---- doveadm -----------------------------------------------------------------------------------

def test_account_status_shows_counts_and_unlock_r_resets_them(make_dovecot):
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "5/1h 50/24h"})
    assert status(d, "alice")["recipients"] == "0/1h 0/24h"
    send(d, "alice", ALICE, h.recipients(3))
    assert status(d, "alice")["recipients"] == "3/1h 3/24h"
    send(d, "alice", ALICE, h.recipients(4, prefix="s"))
    assert status(d, "alice")["recipients"] == "5/1h 5/24h"
    code, out, _ = d.doveadm("account-status", "alice")
    assert code == 0 and "recipients=5/1h 5/24h" in out, out

    # Without -R the counts stay.
    code, out, err = d.doveadm("account-unlock", "alice")
    assert code == 0, out + err
    assert status(d, "alice")["recipients"] == "5/1h 5/24h"
    assert codes(send(d, "alice", ALICE, ["x@example.net"])[0]) == [451]

    code, out, err = d.doveadm("account-unlock", "-R", "alice")
    assert code == 0, out + err
    assert status(d, "alice")["recipients"] == "0/1h 0/24h"
    assert codes(send(d, "alice", ALICE, h.recipients(6))[0]) == [250] * 5 + [451]


# ---- loading ----------------------------------------------------------------------------------

def test_plugin_is_loaded_only_by_submission(make_dovecot):
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "1/1h"})
    ok, text = d.imap_login("alice", ALICE, "192.0.2.20")
    assert ok, text
    assert codes(send(d, "alice", ALICE, h.recipients(2))[0]) == [250, 451]
    assert "Error" not in d.log(), d.log_tail()


# ---- pipelined recipients ----------------------------------------------------------------------

def test_pipelined_recipients_are_decided_in_order_and_counted_exactly(make_dovecot):
    """A client that pipelines its RCPTs (RFC 2920) gets them decided together - one memcached
    read and write for what Dovecot reads at once - with the same verdicts, in the same order,
    as one at a time."""
    d = h.start_submission(make_dovecot, {"account_guard_recipient_limit": "3/1h"})
    rcpts = h.recipients(5)
    with session(d, "alice", ALICE) as c:
        c.mail_from("alice@example.com")
        c.sock.sendall("".join(f"RCPT TO:<{r}>\r\n" for r in rcpts).encode())
        replies = [c.reply() for _ in rcpts]
        assert codes(replies) == [250, 250, 250, 451, 451], replies
        assert replies[3] == [refused_line(rcpts[3])]
        data = c.data(h.message("alice@example.com", rcpts[:3]))
        assert h.SmtpClient.code(data) == 250, data
    msgs = h.relayed(d, 1)
    assert h.relayed_rcpts(msgs[0]) == rcpts[:3]
    assert status(d, "alice")["recipients"] == "3/1h"

"""Scoring on small hand-made truth and decisions (a stand-in for account-guard-replay)."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import score  # noqa: E402

T0 = 1711929600  # 2024-04-01T00:00:00Z
H = 3600


def iso(t):
    import datetime
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def account(user, kind="phone", thief=None, theft=None, first=None, discovered=None,
            legit_recipients=10):
    return {"user": user, "kind": kind, "thief": thief, "theft_time": theft, "first_abuse": first,
            "discovered": discovered, "abusive_messages": 0, "abusive_recipients": 0,
            "legit_messages": 5, "legit_recipients": legit_recipients}


def write_case(tmp_path, truth, abuse, decisions):
    d = tmp_path / "truth"
    d.mkdir()
    (d / "truth.jsonl").write_text("".join(json.dumps(t) + "\n" for t in truth))
    (d / "abuse.jsonl").write_text("".join(json.dumps(a) + "\n" for a in abuse))
    f = tmp_path / "decisions.jsonl"
    lines = [json.dumps(x) for x in decisions] + [json.dumps({"summary": {"lock": 1}})]
    f.write_text("\n".join(lines) + "\n")
    return score.score(str(d), str(f))


def msg(line, user, t, n):
    return {"line": line, "user": user, "time": t, "event": "message", "n": n}


def dec(line, user, t, decision, rule="account_guard_ip_limit", **kw):
    d = {"file": "events.jsonl", "line": line, "time": iso(t), "user": user, "event": "login",
         "decision": decision, "rule": rule, "reason": "test"}
    d.update(kw)
    return d


def test_lock_30_min_after_first_abuse_is_stopped_within_1h(tmp_path):
    u = "t@x"
    abuse = [msg(10, u, T0 + 100, 20), msg(20, u, T0 + 1000, 30), msg(30, u, T0 + 2 * H, 40)]
    decisions = [dec(25, u, T0 + 100 + 1800, "lock"),
                 dec(30, u, T0 + 2 * H, "refuse_rcpt", rule="account_guard_ip_limit",
                     event="message", accepted=0, refused=40)]
    r = write_case(tmp_path, [account(u, thief="botnet", theft=T0, first=T0 + 100)], abuse, decisions)
    k = r["thieves"]["botnet"]
    assert (k["with_abuse"], k["stopped_1h"], k["stopped_24h"], k["locked"]) == (1, 1, 1, 1)
    # recipients before the lock got through; the refused ones did not
    assert k["delivered_total"] == 50 and k["attempted"] == 90
    assert r["kinds"]["phone"]["locked"] == 0  # a lock after the theft is the thief's


def test_lock_before_theft_is_a_false_lock(tmp_path):
    a, b = "a@x", "b@x"
    truth = [account(a, kind="traveller"), account(b, kind="traveller", thief="slow",
                                                   theft=T0 + 10 * H, first=T0 + 11 * H)]
    decisions = [dec(5, a, T0 + H, "lock", rule="account_guard_country_limit"),
                 dec(6, b, T0 + 2 * H, "lock", rule="account_guard_country_limit")]
    r = write_case(tmp_path, truth, [msg(50, b, T0 + 11 * H, 3)], decisions)
    k = r["kinds"]["traveller"]
    assert k["accounts"] == 2 and k["locked"] == 2
    assert k["locked_rules"] == {"account_guard_country_limit": 2}
    assert r["thieves"]["slow"]["locked"] == 0  # that lock came before the theft


def test_refused_then_retried_later_is_not_stopped(tmp_path):
    u = "v@x"
    abuse = [msg(1, u, T0, 500), msg(2, u, T0 + 600, 100), msg(3, u, T0 + 2 * H, 100)]
    decisions = [dec(2, u, T0 + 600, "refuse_rcpt", rule="account_guard_recipient_limit",
                     event="message", accepted=0, refused=100)]
    r = write_case(tmp_path, [account(u, thief="vps", theft=T0 - H, first=T0)], abuse, decisions)
    k = r["thieves"]["vps"]
    assert k["stopped"] == 0 and k["stopped_1h"] == 0
    assert k["delivered_total"] == 600 and k["delivered_median"] == 600


def test_refused_on_every_later_message_is_stopped(tmp_path):
    u = "s@x"
    abuse = [msg(1, u, T0, 5), msg(2, u, T0 + 20 * H, 5), msg(3, u, T0 + 21 * H, 5)]
    decisions = [dec(2, u, T0 + 20 * H, "refuse_rcpt", event="message", accepted=0, refused=5),
                 dec(3, u, T0 + 21 * H, "refuse_rcpt", event="message", accepted=0, refused=5)]
    r = write_case(tmp_path, [account(u, thief="slow", theft=T0 - H, first=T0)], abuse, decisions)
    k = r["thieves"]["slow"]
    assert (k["stopped"], k["stopped_1h"], k["stopped_24h"]) == (1, 0, 1)
    assert k["delivered_total"] == 5


def test_partly_refused_message_counts_its_accepted_recipients(tmp_path):
    u = "p@x"
    abuse = [msg(1, u, T0, 50)]
    decisions = [dec(1, u, T0, "refuse_rcpt", rule="account_guard_recipient_limit",
                     event="message", accepted=20, refused=30)]
    r = write_case(tmp_path, [account(u, thief="botnet", theft=T0, first=T0)], abuse, decisions)
    k = r["thieves"]["botnet"]
    assert k["delivered_total"] == 20 and k["stopped"] == 0


def test_lock_at_login_before_first_message_is_stopped(tmp_path):
    u = "b@x"
    abuse = [{"line": 1, "user": u, "time": T0, "event": "login"}, msg(2, u, T0 + 5, 40)]
    decisions = [dec(1, u, T0, "lock"),
                 dec(2, u, T0 + 5, "refuse_rcpt", rule="account_guard_ip_limit", event="message",
                     accepted=0, refused=40)]
    r = write_case(tmp_path, [account(u, thief="botnet", theft=T0, first=T0 + 5)], abuse, decisions)
    k = r["thieves"]["botnet"]
    assert k["stopped_1h"] == 1 and k["delivered_total"] == 0
    assert r["thief_logins_refused"] == 0


def test_legitimate_refusals_counted_per_kind(tmp_path):
    n, t = "n@x", "t@x"
    truth = [account(n, kind="newsletter", legit_recipients=800),
             account(t, kind="phone", thief="hijacker", theft=T0, first=T0 + 600)]
    abuse = [{"line": 7, "user": t, "time": T0, "event": "login"}, msg(8, t, T0 + 600, 30)]
    decisions = [dec(3, n, T0, "refuse_rcpt", rule="account_guard_recipient_limit",
                     event="message", accepted=200, refused=300),
                 dec(7, t, T0, "refuse_login", rule="lock"),   # the thief's login
                 dec(9, t, T0 + 700, "refuse_login", rule="lock")]  # the customer's own
    r = write_case(tmp_path, truth, abuse, decisions)
    nl = r["kinds"]["newsletter"]
    assert (nl["rcpt_refused_accounts"], nl["rcpts_refused"]) == (1, 300)
    ph = r["kinds"]["phone"]
    assert (ph["login_refused_accounts"], ph["logins_refused"]) == (1, 1)
    assert r["thief_logins_refused"] == 1
    h = r["thieves"]["hijacker"]
    assert h["delivered_total"] == 30 and h["stopped"] == 0  # delivered up to its last attempt


def test_checker_reported_apart(tmp_path):
    u = "c@x"
    abuse = [{"line": 1, "user": u, "time": T0, "event": "login"}]
    r = write_case(tmp_path, [account(u, thief="checker", theft=T0)], abuse, [])
    c = r["thieves"]["checker"]
    assert c["stolen"] == 1 and c["with_abuse"] == 0
    tot = score.totals(r)
    assert tot["with_abuse"] == 0 and tot["stolen"] == 1
    md = score.markdown(r)
    assert "Credential checkers" in md and "| checker |" not in md


def test_p90_and_time_parsing():
    assert score.p90([]) == 0
    assert score.p90(list(range(1, 11))) == 9
    assert score.p90([5]) == 5
    assert score.parse_time("2024-04-01T00:00:00Z") == T0
    assert score.parse_time("2024-04-01T02:00:00+02:00") == T0
    assert score.parse_time(T0) == T0
    assert score.parse_time(str(T0)) == T0


def test_command_line(tmp_path, capsys):
    u = "t@x"
    write_case(tmp_path, [account(u, thief="botnet", theft=T0, first=T0)], [msg(1, u, T0, 10)], [])
    score.main(["--truth", str(tmp_path / "truth"), "--decisions", str(tmp_path / "decisions.jsonl")])
    out = capsys.readouterr().out
    assert "| botnet | 1 | 1 | 0 (0%)" in out

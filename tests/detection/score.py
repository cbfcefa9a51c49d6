#!/usr/bin/python3
"""Scores account-guard-replay's decisions on a generated month against its ground truth.

    score.py --truth DIR --decisions FILE [--json]

DIR is generate.py's output (truth.jsonl, abuse.jsonl); FILE is the replay's --json output
(one decision per line, then {"summary": ...}). Decisions are joined with the truth by their
line in events.jsonl. Definitions (also in RESULTS.md):

- A lock is a *false lock* if the account is never stolen, or the lock comes before the theft
  (the thief's first event). Locks from the theft on are the thief's.
- A refused recipient or login is *legitimate* unless its line is a thief's event (abuse.jsonl).
- Delivered abusive recipients of a message: its recipients minus those the replay refused.
- A thief is *stopped* at S, the first moment after which it can no longer send: let L be its
  last abusive message with a recipient delivered; S is the earliest of (a) a lock of the
  account at or after L (after the theft if nothing was delivered) and (b) the first abusive
  message after L, provided that it and every later abusive message are refused entirely. A
  thief whose refusals are followed by delivered recipients later (a 451 it retries) is not
  stopped then; one that delivered up to its last attempt is not stopped at all. Stopped
  within 1 h / 24 h: S - first abuse <= 1 h / 24 h (S may precede the first abuse: a lock at
  the login).
"""

import argparse
import collections
import datetime
import json
import math
import os
import statistics
import sys


def parse_time(v):
    if isinstance(v, (int, float)):
        return int(v)
    s = str(v).strip()
    if s.isdigit():
        return int(s)
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    d = datetime.datetime.fromisoformat(s)
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp())


def p90(values):
    """Nearest-rank 90th percentile (0 for no values)."""
    if not values:
        return 0
    v = sorted(values)
    return v[max(0, math.ceil(0.9 * len(v)) - 1)]


def load_truth(truth_dir):
    truth = {}
    with open(os.path.join(truth_dir, "truth.jsonl")) as f:
        for line in f:
            if line.strip():
                t = json.loads(line)
                truth[t["user"]] = t
    abuse = {}
    with open(os.path.join(truth_dir, "abuse.jsonl")) as f:
        for line in f:
            if line.strip():
                a = json.loads(line)
                abuse[a["line"]] = a
    return truth, abuse


def load_decisions(path):
    decisions, summary = [], None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except ValueError:
                raise SystemExit(f"{path}:{n}: not JSON: {line[:80]!r}")
            if "summary" in d:
                summary = d["summary"]
                continue
            d["t"] = parse_time(d["time"])
            decisions.append(d)
    return decisions, summary


def stopped_at(messages, locks, theft_time):
    """messages: [(time, n, refused)] of one thief, sorted by time; locks: lock times.
    Returns S (see the module's docstring) or None."""
    last = None
    for i, (_t, n, refused) in enumerate(messages):
        if n - refused > 0:
            last = i
    after = messages[last][0] if last is not None else theft_time
    cands = [t for t in locks if t >= after]
    trailing = messages[last + 1:] if last is not None else messages
    if trailing:
        cands.append(trailing[0][0])
    return min(cands) if cands else None


def score(truth_dir, decisions_path):
    truth, abuse = load_truth(truth_dir)
    decisions, summary = load_decisions(decisions_path)
    locks = collections.defaultdict(list)      # user -> lock times
    lock_rules = collections.defaultdict(list)  # user -> (time, rule)
    refused_abusive = collections.defaultdict(int)  # line -> recipients refused
    legit_rcpt_refused = collections.defaultdict(int)  # user -> recipients
    legit_login_refused = collections.defaultdict(int)
    thief_login_refused = collections.defaultdict(int)
    unknown_users = 0
    for d in decisions:
        user, dec, line = d.get("user"), d.get("decision"), d.get("line")
        if user not in truth:
            unknown_users += 1
            continue
        if dec == "lock":
            locks[user].append(d["t"])
            lock_rules[user].append((d["t"], d.get("rule", "")))
        elif dec == "refuse_rcpt":
            a = abuse.get(line)
            if a is not None and a["event"] == "message":
                n = a["n"]
                r = d.get("refused")
                if r is None:
                    r = n - d["accepted"] if "accepted" in d else n
                refused_abusive[line] = min(n, max(refused_abusive[line], int(r)))
            else:
                r = d.get("refused")
                legit_rcpt_refused[user] += int(r) if r is not None else 1
        elif dec == "refuse_login":
            if line in abuse:
                thief_login_refused[user] += 1
            else:
                legit_login_refused[user] += 1

    # --- legitimate accounts, per kind ---------------------------------------------------
    kinds = collections.OrderedDict()
    for user, t in truth.items():
        k = kinds.setdefault(t["kind"], {"accounts": 0, "locked": 0, "locked_rules": collections.Counter(),
                                          "rcpt_refused_accounts": 0, "rcpts_refused": 0,
                                          "legit_recipients": 0, "login_refused_accounts": 0,
                                          "logins_refused": 0})
        k["accounts"] += 1
        k["legit_recipients"] += t["legit_recipients"]
        theft = t["theft_time"] if t["thief"] else None
        false_locks = [(lt, rule) for lt, rule in lock_rules.get(user, ()) if theft is None or lt < theft]
        if false_locks:
            k["locked"] += 1
            k["locked_rules"][min(false_locks)[1]] += 1
        if legit_rcpt_refused.get(user):
            k["rcpt_refused_accounts"] += 1
            k["rcpts_refused"] += legit_rcpt_refused[user]
        if legit_login_refused.get(user):
            k["login_refused_accounts"] += 1
            k["logins_refused"] += legit_login_refused[user]

    # --- thieves, per kind ---------------------------------------------------------------
    per_thief_msgs = collections.defaultdict(list)
    for line, a in abuse.items():
        if a["event"] == "message":
            per_thief_msgs[a["user"]].append((a["time"], line, a["n"], refused_abusive.get(line, 0)))
    thieves = collections.OrderedDict()
    for user, t in truth.items():
        if not t["thief"]:
            continue
        k = thieves.setdefault(t["thief"], {"stolen": 0, "with_abuse": 0, "stopped_1h": 0,
                                             "stopped_24h": 0, "stopped": 0, "locked": 0,
                                             "delivered": [], "attempted": 0})
        k["stolen"] += 1
        theft = t["theft_time"]
        end = t["discovered"]
        tlocks = [lt for lt in locks.get(user, ()) if lt >= theft and (end is None or lt <= end)]
        if tlocks:
            k["locked"] += 1
        msgs = sorted(per_thief_msgs.get(user, ()))
        if not msgs:
            continue
        k["with_abuse"] += 1
        first = t["first_abuse"] if t["first_abuse"] is not None else msgs[0][0]
        simple = [(mt, n, r) for mt, _line, n, r in msgs]
        delivered = sum(n - r for _mt, n, r in simple)
        k["delivered"].append(delivered)
        k["attempted"] += sum(n for _mt, n, _r in simple)
        s = stopped_at(simple, tlocks, theft)
        if s is not None:
            k["stopped"] += 1
            if s - first <= 3600:
                k["stopped_1h"] += 1
            if s - first <= 86400:
                k["stopped_24h"] += 1

    for k in thieves.values():
        d = k.pop("delivered")
        k["delivered_total"] = sum(d)
        k["delivered_median"] = statistics.median(d) if d else 0
        k["delivered_p90"] = p90(d)
        k["delivered_list"] = d

    return {"kinds": kinds, "thieves": thieves, "summary": summary,
            "decisions": len(decisions), "unknown_users": unknown_users,
            "thief_logins_refused": sum(thief_login_refused.values())}


def totals(result):
    """The all-abusive-thieves row and the legitimate totals."""
    th = [k for name, k in result["thieves"].items()]
    abusive = [k for name, k in result["thieves"].items() if name != "checker"]
    all_d = [x for k in abusive for x in k["delivered_list"]]
    legit = result["kinds"].values()
    return {
        "with_abuse": sum(k["with_abuse"] for k in abusive),
        "stopped_1h": sum(k["stopped_1h"] for k in abusive),
        "stopped_24h": sum(k["stopped_24h"] for k in abusive),
        "stolen": sum(k["stolen"] for k in th),
        "locked_stolen": sum(k["locked"] for k in th),
        "attempted": sum(k["attempted"] for k in abusive),
        "delivered_total": sum(all_d),
        "delivered_median": statistics.median(all_d) if all_d else 0,
        "delivered_p90": p90(all_d),
        "accounts": sum(k["accounts"] for k in legit),
        "locked": sum(k["locked"] for k in legit),
        "rcpt_refused_accounts": sum(k["rcpt_refused_accounts"] for k in legit),
        "rcpts_refused": sum(k["rcpts_refused"] for k in legit),
        "legit_recipients": sum(k["legit_recipients"] for k in legit),
        "login_refused_accounts": sum(k["login_refused_accounts"] for k in legit),
        "logins_refused": sum(k["logins_refused"] for k in legit),
    }


def pct(a, b, digits=1):
    return "–" if not b else f"{100.0 * a / b:.{digits}f}%"


def markdown(result, title=None):
    out = []
    if title:
        out.append(f"### {title}\n")
    tot = totals(result)
    out.append("Legitimate accounts (a lock before the theft counts here; a stolen account's "
               "customer stays in its kind):\n")
    out.append("| kind | accounts | locked | share locked (by rule) | any recipient refused | "
               "recipients refused | login refused |")
    out.append("|---|---:|---:|---|---:|---:|---:|")
    for name, k in result["kinds"].items():
        rules = ", ".join(f"{r or '?'} {c}" for r, c in sorted(k["locked_rules"].items()))
        out.append(f"| {name} | {k['accounts']} | {k['locked']} | {pct(k['locked'], k['accounts'], 2)}"
                   f"{' (' + rules + ')' if rules else ''} | "
                   f"{k['rcpt_refused_accounts']} ({pct(k['rcpt_refused_accounts'], k['accounts'], 2)}) | "
                   f"{k['rcpts_refused']} of {k['legit_recipients']} | "
                   f"{k['login_refused_accounts']} accounts, {k['logins_refused']} logins |")
    out.append(f"| **all** | {tot['accounts']} | {tot['locked']} | {pct(tot['locked'], tot['accounts'], 2)} | "
               f"{tot['rcpt_refused_accounts']} ({pct(tot['rcpt_refused_accounts'], tot['accounts'], 2)}) | "
               f"{tot['rcpts_refused']} of {tot['legit_recipients']} | "
               f"{tot['login_refused_accounts']} accounts, {tot['logins_refused']} logins |")
    out.append("")
    out.append("Stolen accounts:\n")
    out.append("| thief | stolen | abusing | stopped ≤ 1 h | stopped ≤ 24 h | locked | "
               "abusive recipients delivered: median | p90 | total | share of attempted |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, k in result["thieves"].items():
        if name == "checker":
            continue
        out.append(f"| {name} | {k['stolen']} | {k['with_abuse']} | "
                   f"{k['stopped_1h']} ({pct(k['stopped_1h'], k['with_abuse'], 0)}) | "
                   f"{k['stopped_24h']} ({pct(k['stopped_24h'], k['with_abuse'], 0)}) | "
                   f"{k['locked']} | {k['delivered_median']:g} | {k['delivered_p90']} | "
                   f"{k['delivered_total']} | {pct(k['delivered_total'], k['attempted'])} |")
    out.append(f"| **all abusing** | | {tot['with_abuse']} | "
               f"{tot['stopped_1h']} ({pct(tot['stopped_1h'], tot['with_abuse'], 0)}) | "
               f"{tot['stopped_24h']} ({pct(tot['stopped_24h'], tot['with_abuse'], 0)}) | | "
               f"{tot['delivered_median']:g} | {tot['delivered_p90']} | {tot['delivered_total']} | "
               f"{pct(tot['delivered_total'], tot['attempted'])} |")
    c = result["thieves"].get("checker")
    if c:
        out.append("")
        out.append(f"Credential checkers (stolen, never abuse; first abuse undefined): "
                   f"{c['stolen']}, locked {c['locked']} ({pct(c['locked'], c['stolen'], 0)}).")
    out.append("")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--truth", required=True, help="generate.py's output directory")
    ap.add_argument("--decisions", required=True, help="account-guard-replay --json output")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)
    r = score(args.truth, args.decisions)
    if args.json:
        for k in r["thieves"].values():
            k.pop("delivered_list", None)
        json.dump(r, sys.stdout, indent=1, default=dict)
        print()
    else:
        print(markdown(r))
    if r["unknown_users"]:
        print(f"score: {r['unknown_users']} decisions name users not in the truth", file=sys.stderr)


if __name__ == "__main__":
    main()

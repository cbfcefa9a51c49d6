#!/usr/bin/python3
"""A stand-in for account-guard-replay, for smoke-testing tests/detection/run only. It is NOT
the guard: a few-line model of the network, country and recipient limits (INTERFACE.md §2)
over the simulated Internet's networks.tsv (found next to the configured GeoIP database),
writing decisions in the replay's --json format (§9).

    standin_replay.py -c CONFIG --format jsonl --json EVENTS.jsonl
"""

import argparse
import bisect
import collections
import datetime
import ipaddress
import json
import os
import re

DEFAULTS = {"account_guard_ip_limit": "10/1h", "account_guard_country_limit": "3/24h",
            "account_guard_recipient_limit": "500/1h 2000/24h",
            "account_guard_record_services": "smtp submission", "account_guard_geoip_db": "",
            "account_guard_exempt_networks": "", "account_guard_exempt_asns": "",
            "account_guard_nat_asns": ""}
UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def limits(v):
    return [(int(c), int(d[:-1]) * UNIT[d[-1]]) for c, d in
            (item.split("/") for item in v.split())] if v.strip() not in ("", "0") else []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-c", required=True)
    ap.add_argument("--format")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    s = dict(DEFAULTS)
    for m in re.finditer(r"^\s*(account_guard_\w+)\s*=\s*(.*?)\s*$", open(a.c).read(), re.M):
        s[m.group(1)] = m.group(2)
    geo = {}
    if s["account_guard_geoip_db"]:
        for line in open(os.path.join(os.path.dirname(s["account_guard_geoip_db"]), "networks.tsv")):
            if not line.startswith("#"):
                cidr, cc, asn, _ = line.rstrip("\n").split("\t")
                geo[ipaddress.ip_network(cidr)] = (cc, int(asn))
    by16 = {}
    for n, v in geo.items():
        by16[(n.version, int(n.network_address) >> (16 if n.version == 4 else 96))] = v
    ipl, ccl, rcl = (limits(s[k]) for k in ("account_guard_ip_limit", "account_guard_country_limit",
                                            "account_guard_recipient_limit"))
    rec = s["account_guard_record_services"].split()
    exempt_nets = [ipaddress.ip_network(x) for x in s["account_guard_exempt_networks"].replace(",", " ").split()]
    exempt_asns = {int(x) for x in s["account_guard_exempt_asns"].split()}
    nat_asns = {int(x) for x in s["account_guard_nat_asns"].split()}
    seen = collections.defaultdict(dict)      # user -> network -> last time
    cseen = collections.defaultdict(dict)     # user -> country -> last time
    rcpts = collections.defaultdict(collections.deque)  # user -> recipient times
    locked = {}
    totals = collections.Counter()

    def out(fname, n, e, decision, rule, **kw):
        d = {"file": fname, "line": n, "time": datetime.datetime.fromtimestamp(
            e["time"], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "user": e["user"],
            "event": e["event"], "decision": decision, "rule": rule, "reason": "stand-in"}
        d.update(kw)
        totals[decision] += 1
        print(json.dumps(d))

    for fname in a.files:
        for n, line in enumerate(open(fname), 1):
            e = json.loads(line)
            u, t = e["user"], e["time"]
            if e["event"] == "password_change":
                if u in locked:
                    del locked[u]
                    seen.pop(u, None)
                    cseen.pop(u, None)
                    out(fname, n, e, "unlock", "lock")
                continue
            if e["event"] == "message":
                k = len(e["to"])
                if u in locked:
                    out(fname, n, e, "refuse_rcpt", locked[u], accepted=0, refused=k)
                    continue
                q = rcpts[u]
                longest = max((w for _c, w in rcl), default=0)
                while q and q[0] <= t - longest:
                    q.popleft()
                # q is in time order: the count in a window is its length past bisect
                room = min((c - (len(q) - bisect.bisect_right(q, t - w)) for c, w in rcl),
                           default=k)
                acc = max(0, min(k, room))
                q.extend([t] * acc)
                if acc < k:
                    out(fname, n, e, "refuse_rcpt", "account_guard_recipient_limit",
                        accepted=acc, refused=k - acc)
                continue
            if u in locked:
                out(fname, n, e, "refuse_login", locked[u])
                continue
            if e["service"] not in rec and "*" not in rec:
                continue
            ip = ipaddress.ip_address(e["ip"])
            cc, asn = by16.get((ip.version, int(ip) >> (16 if ip.version == 4 else 96)), ("", 0))
            if asn in exempt_asns or any(ip in x for x in exempt_nets if x.version == ip.version):
                continue
            netkey = f"AS{asn}" if asn in nat_asns else str(ipaddress.ip_network(
                f"{ip}/{24 if ip.version == 4 else 64}", strict=False))
            seen[u][netkey] = t
            if cc:
                cseen[u][cc] = t
            for rule, lim, store in (("account_guard_ip_limit", ipl, seen[u]),
                                     ("account_guard_country_limit", ccl, cseen[u])):
                if any(sum(1 for x in store.values() if x > t - w) > c for c, w in lim):
                    locked[u] = rule
                    out(fname, n, e, "lock", rule)
                    break
    print(json.dumps({"summary": dict(totals)}))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Generates one simulated month of an ISP's mail accounts, with ground truth.

    generate.py --seed N --accounts N [--days 30] --out DIR [--no-geo]

Writes
  DIR/events.jsonl  every event of every account, sorted by time (INTERFACE.md §9 JSON lines:
                    login, message, password_change)
  DIR/truth.jsonl   one object per account: user, kind, thief (null or its kind), theft_time
                    (the thief's first event), first_abuse (its first abusive message; null for
                    checkers), discovered (the password change that ends the thief's access),
                    abusive_messages, abusive_recipients, legit_messages, legit_recipients
  DIR/abuse.jsonl   one object per thief event: {"line": N, "user": U, "time": T, "event":
                    "login"|"message", "n": recipients (messages)} — N is its line in
                    events.jsonl (from 1); every other line is the customer's own
  DIR/manifest.json seed, accounts, days, counts
  DIR/geo/          networks.tsv and the MaxMind databases country.mmdb, asn.mmdb (make-geo.pl)
"""

import argparse
import gc
import json
import operator
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import population as P  # noqa: E402


def generate(seed, accounts, days, out, geo=True, log=None):
    os.makedirs(out, exist_ok=True)
    net = P.Internet()
    kinds = P.assign_kinds(seed, accounts)
    events = []
    truth = []
    counts = {"events": 0, "logins": 0, "messages": 0, "password_changes": 0, "thief_events": 0}
    gc.disable()  # millions of small objects that are never garbage: 2x faster
    try:
        for i, (kind, thief) in enumerate(kinds):
            a = P.generate_account(i, seed, kind, thief, days, net)
            events.extend(a.events)
            counts["logins"] += a.logins
            counts["messages"] += a.legit_messages + a.abusive_messages
            counts["password_changes"] += a.password_changes
            truth.append({
                "user": a.user, "kind": kind, "thief": thief, "theft_time": a.theft_time,
                "first_abuse": a.first_abuse, "discovered": a.discovered,
                "abusive_messages": a.abusive_messages,
                "abusive_recipients": a.abusive_recipients,
                "legit_messages": a.legit_messages, "legit_recipients": a.legit_recipients,
            })
        # A stable sort by time alone: ties stay in account order, then in the order the
        # account wrote them (deterministic, and 5x faster than comparing tuples).
        events.sort(key=operator.itemgetter(0))
    finally:
        gc.enable()
    with open(os.path.join(out, "events.jsonl"), "w") as ev, \
            open(os.path.join(out, "abuse.jsonl"), "w") as ab:
        users = [t["user"] for t in truth]
        buf = []
        for n, (t, i, _seq, line, mark) in enumerate(events, 1):
            buf.append(line)
            if mark is not None:
                counts["thief_events"] += 1
                if mark[0] == "message":
                    ab.write(f'{{"line": {n}, "user": "{users[i]}", "time": {t}, '
                             f'"event": "message", "n": {mark[1]}}}\n')
                else:
                    ab.write(f'{{"line": {n}, "user": "{users[i]}", "time": {t}, "event": "login"}}\n')
            if len(buf) >= 65536:
                ev.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            ev.write("\n".join(buf) + "\n")
    counts["events"] = len(events)
    with open(os.path.join(out, "truth.jsonl"), "w") as f:
        for t in truth:
            f.write(json.dumps(t, sort_keys=True) + "\n")
    manifest = {"seed": seed, "accounts": accounts, "days": days, "start": P.MONTH_START,
                "counts": counts, "webmail_network": net.webmail_net,
                "carrier_asns": list(P.CARRIER_ASNS), "google_asn": P.GOOGLE_ASN}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    geo_dir = os.path.join(out, "geo")
    os.makedirs(geo_dir, exist_ok=True)
    with open(os.path.join(geo_dir, "networks.tsv"), "w") as f:
        f.write("# CIDR\tcountry\tASN\tAS name (the simulated Internet of tests/detection)\n")
        for cidr, cc, asn, org in net.networks:
            f.write(f"{cidr}\t{cc}\t{asn}\t{org}\n")
    if geo:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-geo.pl")
        subprocess.run(["perl", script, os.path.join(geo_dir, "networks.tsv"),
                        os.path.join(geo_dir, "country.mmdb"), os.path.join(geo_dir, "asn.mmdb")],
                       check=True)
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-geo", action="store_true", help="skip writing the MaxMind databases")
    args = ap.parse_args(argv)
    if args.accounts < 1 or args.days < 4:
        ap.error("--accounts must be >= 1 and --days >= 4")
    t0 = time.monotonic()
    m = generate(args.seed, args.accounts, args.days, args.out, geo=not args.no_geo)
    c = m["counts"]
    print(f"generate: {args.accounts} accounts, {args.days} days, seed {args.seed}: "
          f"{c['events']} events ({c['logins']} logins, {c['messages']} messages, "
          f"{c['password_changes']} password changes; {c['thief_events']} by thieves) "
          f"in {time.monotonic() - t0:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()

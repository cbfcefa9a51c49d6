"""The generator: deterministic, shares as declared, truth complete and consistent."""

import collections
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generate  # noqa: E402
import population as P  # noqa: E402

ACCOUNTS, DAYS = 700, 8


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "a"
    generate.generate(7, ACCOUNTS, DAYS, str(out), geo=False)
    events = [json.loads(line) for line in open(out / "events.jsonl")]
    truth = [json.loads(line) for line in open(out / "truth.jsonl")]
    abuse = [json.loads(line) for line in open(out / "abuse.jsonl")]
    return out, events, truth, abuse


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_deterministic_for_a_seed(month, tmp_path):
    out = month[0]
    generate.generate(7, ACCOUNTS, DAYS, str(tmp_path / "b"), geo=False)
    generate.generate(8, ACCOUNTS, DAYS, str(tmp_path / "c"), geo=False)
    for f in ("events.jsonl", "truth.jsonl", "abuse.jsonl", "manifest.json"):
        assert digest(out / f) == digest(tmp_path / "b" / f), f
    assert digest(out / "events.jsonl") != digest(tmp_path / "c" / "events.jsonl")


def test_deterministic_across_processes(month, tmp_path):
    # hash randomisation differs between processes: the output must not depend on it
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), "--seed", "7", "--accounts",
                    str(ACCOUNTS), "--days", str(DAYS), "--out", str(tmp_path / "d"), "--no-geo"],
                   check=True, env=env, capture_output=True)
    assert digest(month[0] / "events.jsonl") == digest(tmp_path / "d" / "events.jsonl")


def test_events_sorted_and_well_formed(month):
    _out, events, truth, _abuse = month
    users = {t["user"] for t in truth}
    times = [e["time"] for e in events]
    assert times == sorted(times)
    assert times[0] >= P.MONTH_START - P.DAY and times[-1] <= P.MONTH_START + (DAYS + 1) * P.DAY
    for e in events:
        assert e["user"] in users
        assert e["event"] in ("login", "message", "password_change")
        if e["event"] == "login":
            assert e["service"] in ("imap", "pop3", "submission")
            ipaddress.ip_address(e["ip"])
        elif e["event"] == "message":
            assert e["to"] and all("@" in r for r in e["to"]) and e["from"] == e["user"]
            ipaddress.ip_address(e["ip"])


def test_every_address_is_in_the_simulated_internet(month):
    nets = [ipaddress.ip_network(n[0]) for n in P.Internet().networks]
    seen = set()
    for e in month[1][::37]:
        if "ip" in e and e["ip"] not in seen:
            seen.add(e["ip"])
            ip = ipaddress.ip_address(e["ip"])
            assert any(ip.version == n.version and ip in n for n in nets), e["ip"]
    assert len(seen) > 500


def test_shares_within_tolerance():
    n = 40000
    kinds = P.assign_kinds(3, n)
    c = collections.Counter(k for k, _ in kinds)
    for name, (share, _desc) in P.CUSTOMER_KINDS.items():
        assert abs(c[name] / n - share) < 0.01, name
    thieves = [t for _, t in kinds if t]
    assert abs(len(thieves) / n - P.THIEF_SHARE) < 0.005
    tc = collections.Counter(thieves)
    for name, (share, _desc) in P.THIEF_KINDS.items():
        assert abs(tc[name] / len(thieves) - share) < 0.04, name
    assert abs(sum(s for s, _ in P.CUSTOMER_KINDS.values()) - 1) < 1e-9
    assert abs(sum(s for s, _ in P.THIEF_KINDS.values()) - 1) < 1e-9


def test_every_number_has_a_source_or_says_assumption():
    for name, v in P.BEHAVIOUR.items():
        note = v[-1]
        assert isinstance(note, str) and re.search(r"assumption|\d{4}|Cequence", note), name


def test_every_thief_has_truth_and_abusive_messages_are_referenced(month):
    _out, events, truth, abuse = month
    by_user = {t["user"]: t for t in truth}
    thieves = [t for t in truth if t["thief"]]
    assert thieves
    per_user = collections.defaultdict(lambda: [0, 0])
    for a in abuse:
        e = events[a["line"] - 1]
        assert e["user"] == a["user"] and e["time"] == a["time"] and e["event"] == a["event"]
        t = by_user[a["user"]]
        assert t["thief"] and e["time"] >= t["theft_time"]
        assert t["discovered"] is None or e["time"] <= t["discovered"] + 600
        if a["event"] == "message":
            assert len(e["to"]) == a["n"]
            per_user[a["user"]][0] += 1
            per_user[a["user"]][1] += a["n"]
    for t in thieves:
        assert t["theft_time"] is not None
        m, r = per_user[t["user"]]
        assert (m, r) == (t["abusive_messages"], t["abusive_recipients"])
        if t["thief"] == "checker":
            assert m == 0 and t["first_abuse"] is None
        elif m:
            assert t["first_abuse"] >= t["theft_time"]
    for t in truth:
        if not t["thief"]:
            assert t["abusive_messages"] == 0 and t["theft_time"] is None


def test_thieves_end_with_a_password_change(month):
    _out, events, truth, _abuse = month
    changes = collections.defaultdict(list)
    for e in events:
        if e["event"] == "password_change":
            changes[e["user"]].append(e["time"])
    for t in truth:
        if t["discovered"] is not None:
            assert t["discovered"] in changes[t["user"]]


def thief_events(kind, accounts=1500, days=30, seed=5):
    net = P.Internet()
    kinds = P.assign_kinds(seed, accounts)
    for i, (k, th) in enumerate(kinds):
        if th == kind:
            a = P.generate_account(i, seed, k, th, days, net)
            yield a, sorted(e for e in a.events if e[4] is not None)


def test_slow_sender_stays_under_the_default_recipient_limits():
    found = 0
    for a, evs in thief_events("slow"):
        found += 1
        msgs = [(e[0], e[4][1]) for e in evs if e[4][0] == "message"]
        ips = {json.loads(e[3])["ip"] for e in evs[1:]}
        assert len(ips) == 1  # one address after the check
        for t0, _ in msgs:
            assert sum(n for t, n in msgs if t0 <= t < t0 + 3600) <= 500
            assert sum(n for t, n in msgs if t0 <= t < t0 + 86400) <= 2000
    assert found


def test_hijacker_mails_the_address_book():
    found = 0
    for a, evs in thief_events("hijacker"):
        rcpts = set()
        for e in evs:
            if e[4][0] == "message":
                rcpts.update(json.loads(e[3])["to"])
        if rcpts:
            found += 1
            assert rcpts == set(a.contacts)
        assert len({json.loads(e[3])["ip"] for e in evs}) == 1
    assert found


def test_botnet_uses_many_countries():
    net = P.Internet()
    owner = [(ipaddress.ip_network(c), cc) for c, cc, _a, _o in net.networks]
    for a, evs in thief_events("botnet"):
        ccs = set()
        for e in evs[:200]:
            ip = ipaddress.ip_address(json.loads(e[3])["ip"])
            ccs.update(cc for n, cc in owner if ip.version == n.version and ip in n)
        assert len(ccs) >= 5
        break


def test_phones_hop_across_carrier_24s_and_gmail_fetches_from_google(month):
    _out, events, truth, _abuse = month
    kind = {t["user"]: t["kind"] for t in truth}
    carrier_nets = collections.defaultdict(set)
    google = collections.defaultdict(int)
    for e in events:
        if e["event"] != "login":
            continue
        if kind[e["user"]] == "phone" and ":" not in e["ip"]:
            carrier_nets[e["user"]].add(e["ip"].rsplit(".", 1)[0])
        if kind[e["user"]] == "gmail" and e["service"] in ("pop3", "imap") and (
                e["ip"].startswith("209.85.") or e["ip"].startswith("2a00:1450:")):
            google[e["user"]] += 1
    assert max(len(s) for s in carrier_nets.values()) >= 20
    assert min(google.values()) >= DAYS * 20


def test_isp_conf_names_the_simulated_networks():
    conf = open(os.path.join(HERE, "isp.conf")).read()
    net = P.Internet()
    assert net.webmail_net in conf
    assert re.search(r"account_guard_exempt_asns\s*=\s*%d\b" % P.GOOGLE_ASN, conf)
    nat = re.search(r"account_guard_nat_asns\s*=\s*([0-9 ]+)", conf).group(1).split()
    assert sorted(map(int, nat)) == sorted(P.CARRIER_ASNS)


@pytest.mark.skipif(shutil.which("perl") is None or subprocess.run(
    ["perl", "-MMaxMind::DB::Writer::Tree", "-e1"], capture_output=True).returncode != 0,
    reason="MaxMind::DB::Writer (libmaxmind-db-writer-perl) not installed")
def test_geo_databases_written(tmp_path):
    out = tmp_path / "g"
    generate.generate(1, 20, 4, str(out), geo=True)
    for name, typ in (("country.mmdb", b"GeoLite2-Country"), ("asn.mmdb", b"GeoLite2-ASN")):
        data = open(out / "geo" / name, "rb").read()
        assert b"\xab\xcd\xefMaxMind.com" in data and typ in data


def test_run_end_to_end_with_the_real_replay(tmp_path):
    """tests/detection/run with the built account-guard-replay ($AG_BUILD_DIR or build/): the
    pipeline generates, replays both configurations with the guard's own decisions, scores
    them and writes RESULTS.md."""
    if subprocess.run(["perl", "-MMaxMind::DB::Writer::Tree", "-e1"], capture_output=True).returncode:
        pytest.skip("MaxMind::DB::Writer not installed")
    build = os.environ.get("AG_BUILD_DIR") or os.path.join(os.path.dirname(os.path.dirname(HERE)), "build")
    replay = os.path.join(build, "replay", "account-guard-replay")
    if not os.access(replay, os.X_OK):
        pytest.fail(f"{replay} is not built (meson compile -C {build})", pytrace=False)
    results = tmp_path / "RESULTS.md"
    subprocess.run([sys.executable, os.path.join(HERE, "run"), "--replay", replay,
                    "--accounts", "150", "--days", "5",
                    "--work", str(tmp_path / "w"), "--results", str(results)],
                   check=True, capture_output=True)
    md = results.read_text()
    assert "#### default:" in md and "#### isp:" in md
    assert md.count("| **all abusing** |") == 2 and "## Population" in md
    # The replay's own summary closes each decisions file.
    for name in ("default", "isp"):
        last = open(tmp_path / "w" / f"decisions-{name}.jsonl").read().splitlines()[-1]
        assert json.loads(last)["summary"]["events"]["login"] > 0

"""Countries and network owners (issue 3) against a real Dovecot and memcached: GeoIP
country limits, exempt and NAT ASNs, and a database replaced while Dovecot runs.

The MaxMind-format test databases are generated here by tests/data/make-test-mmdb.pl
(libmaxmind-db-writer-perl): documentation and benchmark ranges only.
  192.0.2.0/24 DE AS64496 | 198.51.100.0/24 FR AS64497 | 203.0.113.0/24 BR AS64498
  198.18.0.0/15 US AS64499 | 100.64.0.0/10 NL AS64500 | 233.252.0.0/24 IT AS64502
  2001:db8::/32 JP AS64501 | everything else: unknown
"""

import json
import os
import shutil
import tempfile
import subprocess

import pytest

import sandbox
from conftest import PASSWORDS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE_MMDB = os.path.join(ROOT, "tests", "data", "make-test-mmdb.pl")
ALICE = PASSWORDS["alice"]


@pytest.fixture
def geo_dbs():
    # Where geoipupdate keeps them (/var/lib/GeoIP): readable by the auth process's
    # unprivileged user, which re-opens a replaced file; pytest's own tmp_path is not.
    where = tempfile.mkdtemp(prefix="ag-geo-")
    os.chmod(where, 0o755)
    country, asn = os.path.join(where, "country.mmdb"), os.path.join(where, "asn.mmdb")
    subprocess.run(["perl", MAKE_MMDB, country, asn], check=True)
    yield country, asn
    shutil.rmtree(where, ignore_errors=True)


def status(d, user):
    code, out, err = d.account_status(user)
    assert code == 0, err
    return json.loads(out)[0]


def ok(d, user, password, rip):
    code, out = d.auth_test(user, password, rip)
    assert code == 0, f"{user} from {rip} should pass:\n{out}"


def refused(d, user, password, rip):
    code, out = d.auth_test(user, password, rip)
    assert code == sandbox.EX_AUTH_FAILED, f"{user} from {rip} should be refused:\n{out}"
    return out


def test_fourth_country_locks_with_3_per_24h(make_dovecot, geo_dbs):
    d = make_dovecot(settings={"account_guard_geoip_db": geo_dbs[0],
                               "account_guard_country_limit": "3/24h",
                               "account_guard_ip_limit": "100/1h"})
    ok(d, "alice", ALICE, "192.0.2.10")        # DE
    ok(d, "alice", ALICE, "198.51.100.10")     # FR
    ok(d, "alice", ALICE, "2001:db8:1::10")    # JP
    ok(d, "alice", ALICE, "192.0.2.11")        # DE again: still three
    ok(d, "alice", ALICE, "10.20.30.40")       # unknown to the database: no country
    assert sorted(status(d, "alice")["countries"].split(",")) == ["DE", "FR", "JP"]
    refused(d, "alice", ALICE, "203.0.113.10")  # BR: the fourth
    st = status(d, "alice")
    assert st["locked"] == "yes"
    assert st["reason"].startswith("4 countries within 24h (limit 3/24h): ")
    for cc in ("BR", "JP", "FR", "DE"):
        assert cc in st["reason"]
    assert "account locked: 4 countries within 24h" in d.log()
    # Bob, from one country only, is unaffected.
    ok(d, "bob", PASSWORDS["bob"], "192.0.2.99")


def test_exempt_asn_is_never_recorded(make_dovecot, geo_dbs):
    d = make_dovecot(settings={"account_guard_geoip_db": geo_dbs[0],
                               "account_guard_asn_db": geo_dbs[1],
                               "account_guard_exempt_asns": "AS64499",
                               "account_guard_ip_limit": "3/1h"})
    for n in range(12):  # twelve /24s of AS64499 (198.18.0.0/15)
        ok(d, "alice", ALICE, f"198.18.{n}.7")
    st = status(d, "alice")
    assert st["locked"] == "no"
    assert st["networks"] == "" and st["countries"] == ""


def test_nat_asn_counts_as_one_network(make_dovecot, geo_dbs):
    d = make_dovecot(settings={"account_guard_asn_db": geo_dbs[1],
                               "account_guard_nat_asns": "64500",
                               "account_guard_ip_limit": "3/1h"})
    for n in range(12):  # a carrier handing out addresses all over 100.64.0.0/10
        ok(d, "alice", ALICE, f"100.{64 + n}.{n}.9")
    st = status(d, "alice")
    assert st["locked"] == "no"
    assert st["networks"] == "AS64500"


def test_replaced_database_is_used_without_restart(make_dovecot, geo_dbs):
    country, asn = geo_dbs
    d = make_dovecot(settings={"account_guard_geoip_db": country,
                               "account_guard_country_limit": "10/24h"})
    ok(d, "alice", ALICE, "192.0.2.20")
    assert status(d, "alice")["countries"] == "DE"
    # geoipupdate style: a new file renamed over the old one.
    where = os.path.dirname(country)
    new_country, new_asn = os.path.join(where, "new-country.mmdb"), os.path.join(where, "new-asn.mmdb")
    subprocess.run(["perl", MAKE_MMDB, new_country, new_asn, "moved"], check=True)
    os.rename(new_country, country)
    # Processes look at the file at most every 5 seconds, never per login: log in until the
    # new database says AT for the address the old one placed in DE.
    def switched():
        ok(d, "alice", ALICE, "192.0.2.21")
        return status(d, "alice")["countries"] == "AT,DE"
    sandbox.wait_until(switched, timeout=60, interval=0.5, what="the new database in use")
    assert "switched to the new" in d.log()


def test_missing_database_stops_startup_with_a_clear_error(make_dovecot, tmp_path):
    missing = str(tmp_path / "nope.mmdb")
    d = make_dovecot(settings={"account_guard_geoip_db": missing})
    code, out = d.auth_test("alice", ALICE, "192.0.2.30")
    assert code != 0
    needle = f"account_guard_geoip_db: cannot open '{missing}'"
    assert needle in d.wait_for_log(needle), d.log_tail()


def test_asn_settings_without_asn_database_are_refused(make_dovecot):
    d = make_dovecot(settings={"account_guard_exempt_asns": "AS15169"})
    code, out = d.auth_test("alice", ALICE, "192.0.2.31")
    assert code != 0
    needle = "account_guard_exempt_asns: needs account_guard_asn_db to be set"
    assert needle in d.wait_for_log(needle), d.log_tail()

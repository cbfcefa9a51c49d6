#include "login-policy.hh"

#include "fingerprint.hh"

#include <catch2/catch.hpp>

#include <map>
#include <memory>

using namespace account_guard;

namespace {

Settings settings(std::map<std::string, std::string> values = {})
{
	auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(values));
	return parse_settings([shared](const char *name) -> const char * {
		auto it = shared->find(name);
		return it == shared->end() ? nullptr : it->second.c_str();
	});
}

// Drives decide_login like AccountService does, keeping the record between logins.
struct Account {
	explicit Account(Settings settings) : s(std::move(settings)) {}
	Settings s;
	std::optional<AccountRecord> stored;
	std::string password = "correct horse battery staple";
	std::uint32_t writes = 0;

	LoginDecision login(const std::string &ip, std::uint32_t now, const char *service = "smtp",
			    std::optional<std::string> country = std::nullopt,
			    std::optional<std::uint32_t> asn = std::nullopt)
	{
		LoginInput in;
		in.user = "alice@example.com";
		in.service = service;
		in.ip = parse_ip(ip);
		in.password = std::string_view(password);
		in.now = now;
		in.new_salt = 42 + now;
		if (country)
			in.country = parse_country(*country);
		in.asn = asn;
		LoginDecision d = decide_login(s, stored, in);
		// What the login operation stores: the record when its history changed, the lock
		// item when the lock changed (set, learned a fingerprint, lifted).
		if (d.write || d.learned_fingerprint) {
			stored = d.record;
			writes++;
		}
		return d;
	}
};

std::string nth_net(int i) { return "198.51." + std::to_string(i) + ".7"; }

bool has_event(const LoginDecision &d, const char *name)
{
	for (const Event &e : d.events) {
		if (std::string(e.name ? e.name : "") == name)
			return true;
	}
	return false;
}

const Event &event(const LoginDecision &d, const char *name)
{
	for (const Event &e : d.events) {
		if (std::string(e.name ? e.name : "") == name)
			return e;
	}
	FAIL("no event " << name);
	throw;
}

constexpr std::uint32_t t0 = 1790000000;

} // namespace

TEST_CASE("login-policy: the 11th network within an hour locks with 10/1h and is refused")
{
	Account a(settings({{"account_guard_ip_limit", "10/1h"}}));
	for (int i = 0; i < 10; i++) {
		LoginDecision d = a.login(nth_net(i), t0 + i * 60);
		CHECK(d.verdict == Verdict::allow);
		CHECK(has_event(d, "account_guard_login_recorded"));
	}
	REQUIRE(a.stored);
	REQUIRE_FALSE(a.stored->lock);
	LoginDecision d = a.login(nth_net(10), t0 + 700);
	CHECK(d.verdict == Verdict::refuse);
	REQUIRE(a.stored->lock);
	CHECK(a.stored->lock->since == t0 + 700);
	CHECK(a.stored->lock->reason.find("11 networks within 1h (limit 10/1h)") == 0);
	CHECK(a.stored->lock->reason.find("198.51.10.0/24") != std::string::npos);
	CHECK(d.locked_now);
	CHECK(d.expires == record_expiry(a.s, t0 + 700)); // the record; the lock item never expires
	const Event &locked = event(d, "account_guard_account_locked");
	CHECK(locked.limit == "10/1h");
	CHECK(locked.window == "1h");
	CHECK(locked.count == 11);
	CHECK(locked.networks.find("198.51.0.0/24") != std::string::npos);
	CHECK(has_event(d, "account_guard_login_refused"));

	// Locked: refused from a known network too, and nothing more is recorded.
	std::uint32_t writes = a.writes;
	d = a.login(nth_net(0), t0 + 800);
	CHECK(d.verdict == Verdict::refuse);
	CHECK(event(d, "account_guard_login_refused").reason == "locked");
	CHECK(a.writes == writes);
}

TEST_CASE("login-policy: networks that slid out of the window no longer count")
{
	Account a(settings({{"account_guard_ip_limit", "3/1h"}}));
	a.login(nth_net(1), t0);
	a.login(nth_net(2), t0 + 100);
	a.login(nth_net(3), t0 + 200);
	// One hour after the first login, it has slid out: a 4th network makes only 3.
	CHECK(a.login(nth_net(4), t0 + 3600).verdict == Verdict::allow);
	REQUIRE(a.stored);
	CHECK_FALSE(a.stored->lock);
	// Within the hour of the other three, a 5th network crosses.
	CHECK(a.login(nth_net(5), t0 + 3650).verdict == Verdict::refuse);
}

TEST_CASE("login-policy: every window of a limit list is checked")
{
	Account a(settings({{"account_guard_ip_limit", "3/1h 5/1d"}}));
	// Two networks per hour never crosses 3/1h, but the 6th of the day crosses 5/1d.
	for (int i = 0; i < 5; i++)
		CHECK(a.login(nth_net(i), t0 + i * 2000).verdict == Verdict::allow);
	LoginDecision d = a.login(nth_net(5), t0 + 5 * 2000);
	CHECK(d.verdict == Verdict::refuse);
	CHECK(event(d, "account_guard_account_locked").limit == "5/1d");
}

TEST_CASE("login-policy: addresses aggregate to the configured prefixes")
{
	Account a(settings({{"account_guard_ip_limit", "2/1h"}}));
	a.login("192.0.2.1", t0);
	a.login("192.0.2.200", t0 + 1);
	a.login("::ffff:192.0.2.9", t0 + 2);
	a.login("2001:db8:0:1::1", t0 + 3);
	a.login("2001:db8:0:1:ffff::2", t0 + 4);
	REQUIRE(a.stored);
	CHECK_FALSE(a.stored->lock);
	CHECK(a.stored->networks.size() == 2);
	CHECK(a.login("2001:db8:0:2::1", t0 + 5).verdict == Verdict::refuse);

	Account wide(settings({{"account_guard_ip_limit", "2/1h"}, {"account_guard_ipv4_prefix", "16"}}));
	wide.login("192.0.2.1", t0);
	wide.login("192.0.3.1", t0);
	wide.login("192.0.200.1", t0);
	REQUIRE(wide.stored);
	CHECK(wide.stored->networks.size() == 1);
}

TEST_CASE("login-policy: exempt networks are never recorded, but a lock still applies")
{
	Account a(settings({{"account_guard_ip_limit", "2/1h"}, {"account_guard_exempt_networks", "203.0.113.0/24 2001:db8:ff::/48"}}));
	LoginDecision d = a.login("203.0.113.5", t0);
	CHECK(d.verdict == Verdict::allow);
	CHECK_FALSE(d.write);
	a.login("2001:db8:ff:1::1", t0);
	a.login("2001:db8:ff:2::1", t0);
	a.login("2001:db8:ff:3::1", t0);
	CHECK_FALSE(a.stored);
	a.login(nth_net(1), t0);
	a.login(nth_net(2), t0);
	CHECK(a.login(nth_net(3), t0).verdict == Verdict::refuse);
	CHECK(a.login("203.0.113.5", t0 + 10).verdict == Verdict::refuse);
}

TEST_CASE("login-policy: a NAT network counts as one network")
{
	Account a(settings({{"account_guard_ip_limit", "2/1h"}, {"account_guard_nat_networks", "100.64.0.0/10"}}));
	for (int i = 0; i < 20; i++)
		CHECK(a.login("100." + std::to_string(64 + i) + ".1.1", t0 + i).verdict == Verdict::allow);
	REQUIRE(a.stored);
	REQUIRE(a.stored->networks.size() == 1);
	CHECK(a.stored->networks[0].network.to_string() == "100.64.0.0/10");
}

TEST_CASE("login-policy: an unknown client address counts as one network, never crashes")
{
	Account a(settings({{"account_guard_ip_limit", "1/1h"}}));
	CHECK(a.login("", t0).verdict == Verdict::allow);
	CHECK(a.login("not an address", t0 + 1).verdict == Verdict::allow);
	REQUIRE(a.stored);
	REQUIRE(a.stored->networks.size() == 1);
	CHECK(a.stored->networks[0].network.to_string() == "unknown");
	CHECK(a.login(nth_net(1), t0 + 2).verdict == Verdict::refuse);
}

TEST_CASE("login-policy: services outside record_services and lock_services")
{
	Settings s = settings({{"account_guard_ip_limit", "1/1h"}, {"account_guard_lock_services", "smtp submission"}});
	CHECK_FALSE(login_needs_state(s, "imap"));
	CHECK(login_needs_state(settings(), "imap")); // lock_services defaults to *
	CHECK(login_needs_state(s, "submission"));
	Account a(s);
	// imap is neither recorded (default record_services) nor locked here.
	for (int i = 0; i < 5; i++)
		CHECK(a.login(nth_net(i), t0 + i, "imap").verdict == Verdict::allow);
	CHECK_FALSE(a.stored);
	a.login(nth_net(1), t0, "smtp");
	CHECK(a.login(nth_net(2), t0, "smtp").verdict == Verdict::refuse);
	// Locked, but imap is not in lock_services.
	CHECK(a.login(nth_net(3), t0 + 1, "imap").verdict == Verdict::allow);
	CHECK(a.login(nth_net(3), t0 + 1, "submission").verdict == Verdict::refuse);
}

TEST_CASE("login-policy: a changed password lifts the lock and forgets the history")
{
	Account a(settings({{"account_guard_ip_limit", "2/1h"}}));
	a.login(nth_net(1), t0);
	a.login(nth_net(2), t0 + 1);
	CHECK(a.login(nth_net(3), t0 + 2).verdict == Verdict::refuse);
	// Same password: still locked.
	CHECK(a.login(nth_net(1), t0 + 3).verdict == Verdict::refuse);
	a.password = "a brand new passphrase nobody knows";
	LoginDecision d = a.login(nth_net(4), t0 + 4);
	CHECK(d.verdict == Verdict::allow);
	const Event &unlocked = event(d, "account_guard_account_unlocked");
	CHECK(unlocked.reason == "password changed");
	CHECK(unlocked.networks.find("198.51.3.0/24") != std::string::npos); // evidence kept in the event
	REQUIRE(a.stored);
	CHECK_FALSE(a.stored->lock);
	CHECK(a.stored->networks.size() == 1); // only this login; the thief's entries are gone
	CHECK(d.expires > t0);
}

TEST_CASE("login-policy: unlock_on_password_change = no keeps the lock")
{
	Account a(settings({{"account_guard_ip_limit", "1/1h"}, {"account_guard_unlock_on_password_change", "no"}}));
	a.login(nth_net(1), t0);
	a.login(nth_net(2), t0);
	a.password = "another password entirely";
	CHECK(a.login(nth_net(1), t0 + 5).verdict == Verdict::refuse);
}

TEST_CASE("login-policy: an administrator's lock learns the password from the next login")
{
	Account a(settings());
	AccountRecord r;
	Lock lock;
	lock.since = t0;
	lock.reason = "locked by administrator";
	r.lock = lock;
	a.stored = r;
	// First login after the admin lock: refused, and the fingerprint is stored.
	LoginDecision d = a.login(nth_net(1), t0 + 10);
	CHECK(d.verdict == Verdict::refuse);
	CHECK(d.learned_fingerprint);
	CHECK_FALSE(d.write); // the lock item learns it (append); the history is not touched
	REQUIRE(a.stored);
	REQUIRE(a.stored->lock);
	CHECK(a.stored->lock->has_fingerprint);
	CHECK(a.login(nth_net(1), t0 + 20).verdict == Verdict::refuse);
	a.password = "changed after the admin lock";
	CHECK(a.login(nth_net(1), t0 + 30).verdict == Verdict::allow);
}

TEST_CASE("login-policy: without the account's own password (master user) nothing unlocks")
{
	Settings s = settings({{"account_guard_ip_limit", "1/1h"}});
	Account a(s);
	a.login(nth_net(1), t0);
	a.login(nth_net(2), t0);
	LoginInput in;
	in.user = "alice@example.com";
	in.service = "imap";
	in.ip = parse_ip(nth_net(1));
	in.now = t0 + 5;
	LoginDecision d = decide_login(s, a.stored, in);
	CHECK(d.verdict == Verdict::refuse);
	CHECK_FALSE(d.write);
}

TEST_CASE("login-policy: log mode decides and reports but never refuses or locks")
{
	Account a(settings({{"account_guard_ip_limit", "2/1h"}, {"account_guard_mode", "log"}}));
	a.login(nth_net(1), t0);
	a.login(nth_net(2), t0);
	LoginDecision d = a.login(nth_net(3), t0 + 1);
	CHECK(d.verdict == Verdict::allow);
	CHECK(event(d, "account_guard_account_locked").message.find("dry run: would lock") == 0);
	REQUIRE(a.stored);
	CHECK_FALSE(a.stored->lock);
	CHECK(a.stored->networks.size() == 3); // still counted
}

TEST_CASE("login-policy: a known network seen recently needs no write")
{
	Account a(settings({{"account_guard_ip_limit", "10/1h"}}));
	CHECK(a.login(nth_net(1), t0).write);
	CHECK_FALSE(a.login(nth_net(1), t0 + 30).write);
	CHECK_FALSE(a.login("198.51.1.200", t0 + 59).write);
	// Past the refresh interval (1/60 of the shortest window) the last-seen time is rewritten.
	CHECK(refresh_interval(a.s) == 60);
	CHECK(a.login(nth_net(1), t0 + 61).write);
	REQUIRE(a.stored);
	CHECK(a.stored->networks[0].last_seen == t0 + 61);
}

TEST_CASE("login-policy: an unlocked record expires after its longest window")
{
	// The profile shares the item: by default it is the longest-lived part.
	CHECK(record_expiry(settings({}), t0) == t0 + 60 * 86400);
	Settings s = settings({{"account_guard_ip_limit", "10/1h 20/1d"}, {"account_guard_country_limit", "3/2d"},
			       {"account_guard_profile_period", "1d"}, {"account_guard_profile_learning", "1h"}});
	CHECK(record_expiry(s, t0) == t0 + 2 * 86400 + 60);
	Account a(s);
	CHECK(a.login(nth_net(1), t0).expires == t0 + 2 * 86400 + 60);
	// The recipient counts share the item: a longer recipient window keeps it longer.
	Settings longer = settings({{"account_guard_ip_limit", "10/1h"}, {"account_guard_country_limit", "0"},
				    {"account_guard_recipient_limit", "100/1h 1000/7d"},
				    {"account_guard_profile_period", "1d"}, {"account_guard_profile_learning", "1h"}});
	CHECK(record_expiry(longer, t0) == t0 + 7 * 86400);
}

TEST_CASE("login-policy: logins carry the recipient counts through, a password change too")
{
	Account a(settings({{"account_guard_ip_limit", "2/1h"}}));
	AccountRecord r;
	r.recipients.window(3600).add(t0 - 10, 7);
	a.stored = r;
	CHECK(a.login(nth_net(1), t0).write);
	REQUIRE(a.stored);
	CHECK(a.stored->recipients.find(3600)->total(t0) == 7);
	a.login(nth_net(2), t0);
	CHECK(a.login(nth_net(3), t0).verdict == Verdict::refuse); // locks
	REQUIRE(a.stored->lock);
	CHECK(a.stored->recipients.find(3600)->total(t0) == 7);
	a.password = "a brand new password";
	LoginDecision d = a.login(nth_net(1), t0 + 5);
	CHECK(d.verdict == Verdict::allow);
	CHECK_FALSE(a.stored->lock);
	CHECK(a.stored->networks.size() == 1);
	CHECK(a.stored->recipients.find(3600)->total(t0 + 5) == 7);
}

TEST_CASE("login-policy: countries lock like networks when a country is known")
{
	Account a(settings({{"account_guard_country_limit", "2/1d"}, {"account_guard_ip_limit", "0"}}));
	CHECK(a.login(nth_net(1), t0, "smtp", "DE").verdict == Verdict::allow);
	CHECK(a.login(nth_net(2), t0 + 1, "smtp", "FR").verdict == Verdict::allow);
	CHECK(a.login(nth_net(3), t0 + 2, "smtp", "FR").verdict == Verdict::allow);
	CHECK(a.login(nth_net(4), t0 + 3).verdict == Verdict::allow); // no country known: never counts
	LoginDecision d = a.login(nth_net(5), t0 + 4, "smtp", "BR");
	CHECK(d.verdict == Verdict::refuse);
	const Event &e = event(d, "account_guard_account_locked");
	CHECK(e.reason == "countries");
	CHECK(e.countries.find("BR") != std::string::npos);
	REQUIRE(a.stored);
	REQUIRE(a.stored->lock);
	CHECK(a.stored->lock->reason.find("3 countries within 1d (limit 2/1d): BR,FR,DE") == 0);
}

TEST_CASE("login-policy: both limits off records no recent history, only the profile")
{
	Account a(settings({{"account_guard_ip_limit", "0"}, {"account_guard_country_limit", ""}}));
	for (int i = 0; i < 50; i++)
		CHECK(a.login(nth_net(i), t0 + i * 3600).verdict == Verdict::allow);
	REQUIRE(a.stored);
	CHECK(a.stored->networks.empty());
	CHECK(a.stored->countries.empty());
	CHECK_FALSE(a.stored->lock);
	CHECK(a.stored->profile.since == t0);
	CHECK_FALSE(a.stored->profile.owners.empty());
}

TEST_CASE("login-policy: the fingerprint depends on salt, user and password")
{
	std::uint16_t fp = password_fingerprint(1, "alice", "secret one");
	CHECK(fp < (1u << fingerprint_bits));
	CHECK(fp == password_fingerprint(1, "alice", "secret one"));
	// Different inputs almost always differ; count collisions over many salts.
	int same_pw = 0, other_pw = 0, other_user = 0;
	for (std::uint32_t salt = 0; salt < 2000; salt++) {
		std::uint16_t a = password_fingerprint(salt, "alice", "secret one");
		same_pw += a == password_fingerprint(salt, "alice", "secret one");
		other_pw += a == password_fingerprint(salt, "alice", "secret two");
		other_user += a == password_fingerprint(salt, "bob", "secret one");
	}
	CHECK(same_pw == 2000);
	CHECK(other_pw < 10);
	CHECK(other_user < 10);
}

TEST_CASE("login-policy: exempt ASNs are never recorded")
{
	Account a(settings({{"account_guard_ip_limit", "2/1h"}, {"account_guard_asn_db", "/x.mmdb"},
			    {"account_guard_exempt_asns", "AS64499"}}));
	for (int i = 0; i < 10; i++)
		CHECK(a.login(nth_net(i), t0 + i, "smtp", std::nullopt, 64499).verdict == Verdict::allow);
	CHECK_FALSE(a.stored);
	a.login(nth_net(1), t0, "smtp", std::nullopt, 1);
	a.login(nth_net(2), t0, "smtp", std::nullopt, 1);
	CHECK(a.login(nth_net(3), t0, "smtp", std::nullopt, 1).verdict == Verdict::refuse);
	// A lock still applies to logins from an exempt AS.
	CHECK(a.login(nth_net(4), t0 + 1, "smtp", std::nullopt, 64499).verdict == Verdict::refuse);
}

TEST_CASE("login-policy: all addresses of a NAT ASN count as one network")
{
	Account a(settings({{"account_guard_ip_limit", "2/1h"}, {"account_guard_asn_db", "/x.mmdb"},
			    {"account_guard_nat_asns", "64500"}}));
	for (int i = 0; i < 10; i++)
		CHECK(a.login(nth_net(i), t0 + i, "smtp", std::nullopt, 64500).verdict == Verdict::allow);
	REQUIRE(a.stored);
	REQUIRE(a.stored->networks.size() == 1);
	CHECK(a.stored->networks[0].network.to_string() == "AS64500");
	auto back = decode(encode(*a.stored));
	REQUIRE(back);
	CHECK(back->networks[0].network.to_string() == "AS64500");
}

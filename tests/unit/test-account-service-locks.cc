// AccountService's lock: one item per account, replicated to another server, never lost to a
// restarted or unreachable server, a full store or a routine write.

#include "account-service.hh"
#include "account-service-fixture.hh"

#include "keys.hh"
#include "memory-store.hh"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>

using namespace account_guard;
using namespace account_guard::service_test;

TEST_CASE("account-service: a lock survives a restart of the account record's server")
{
	Cluster c;
	c.lock_by_logins();
	REQUIRE(c.replica() != c.primary());
	c.store.wipe_server(c.primary());
	CHECK(c.locked());
	CHECK(c.login("192.0.2.1") == Verdict::refuse);
	// ...and is written back into a fresh lock item.
	c.store.wipe_server(c.replica());
	CHECK(c.login("192.0.2.1") == Verdict::refuse);
}

TEST_CASE("account-service: a lock holds while the account record's server is down")
{
	Cluster c;
	c.lock_by_logins();
	c.store.set_server_down(c.primary(), true);
	CHECK(c.login("192.0.2.1") == Verdict::refuse);
	// Without a lock, a down server is a backend failure for fail_mode to decide: an account
	// whose record lives on the down server (not left to chance: the first such name).
	std::string other;
	for (int i = 0; i < 1000 && other.empty(); i++) {
		std::string name = "bob" + std::to_string(i);
		if (c.store.server_of(account_key("ag:", KeyKind::account, name)) == c.primary())
			other = name;
	}
	REQUIRE_FALSE(other.empty());
	LoginInput in;
	in.user = other;
	in.service = "smtp";
	in.now = static_cast<std::uint32_t>(c.now);
	CHECK_THROWS_AS(c.service.login(c.s, in), StoreError);
}

TEST_CASE("account-service: losing the replica's server loses no lock")
{
	Cluster c;
	c.lock_by_logins();
	unsigned int replica = c.replica();
	c.store.wipe_server(replica);
	CHECK(c.login("192.0.2.1") == Verdict::refuse);
	c.store.set_server_down(replica, true);
	CHECK(c.login("192.0.2.1") == Verdict::refuse);
}

TEST_CASE("account-service: an unlock removes the replica, so no lock comes back")
{
	Cluster c;
	c.lock_by_logins();
	unsigned int primary = c.primary();
	CHECK(c.login("192.0.2.1", "a new password") == Verdict::allow); // password changed
	c.store.wipe_server(primary);
	CHECK(c.login("192.0.2.1", "a new password") == Verdict::allow);
	CHECK_FALSE(c.locked());

	c.lock_by_logins();
	c.service.unlock(c.s, "alice", false, static_cast<std::uint32_t>(c.now));
	c.store.wipe_server(primary);
	CHECK_FALSE(c.locked());
	CHECK(c.login("192.0.2.1", "a new password") == Verdict::allow);
}

TEST_CASE("account-service: an administrator's lock is replicated too")
{
	Cluster c;
	c.service.lock("alice", "abuse desk", static_cast<std::uint32_t>(c.now));
	c.store.wipe_server(c.primary());
	CHECK(c.locked());
	CHECK(c.service.status(c.s, "alice", static_cast<std::uint32_t>(c.now)).reason == "abuse desk");
}

TEST_CASE("account-service: replication costs nothing on the login of a known account")
{
	Cluster c;
	c.login("192.0.2.1");
	std::size_t before = c.store.operations();
	c.login("192.0.2.1");
	CHECK(c.store.operations() - before == 1);
	// The first login of an account in its window (the record expired with the longest
	// window, 24h of the default country limit) also asks the replica: one read more.
	c.now += 86400 + 3600;
	before = c.store.operations();
	c.login("192.0.2.1");
	CHECK(c.store.operations() - before == 3); // account gets, replica gets, add
}

TEST_CASE("account-service: the first RCPT of a transaction finds a lock set after login")
{
	Fixture f;
	f.s.recipient_limit = parse_limit_list("n", "100/1h");
	auto now = [&] { return static_cast<std::uint32_t>(f.now); };
	std::size_t before = f.store.operations();
	CHECK(f.service.rcpt(f.s, "alice", now(), true).allowed);
	CHECK(f.store.operations() - before == 2); // gets + add: the lock check is the same read
	before = f.store.operations();
	CHECK(f.service.rcpt(f.s, "alice", now(), true).allowed);
	CHECK(f.store.operations() - before == 2); // gets + cas
	f.service.lock("alice", "phished", now());
	before = f.store.operations();
	RcptResult r = f.service.rcpt(f.s, "alice", now(), true);
	CHECK_FALSE(r.allowed);
	CHECK(r.locked);
	CHECK(f.store.operations() - before == 1); // the lock read only; nothing counted
	// Later RCPTs of the transaction do not read the lock again.
	before = f.store.operations();
	CHECK(f.service.rcpt(f.s, "alice", now(), false).allowed);
	CHECK(f.store.operations() - before == 2);
	// Not for services outside lock_services.
	f.s.lock_services = parse_service_list("n", "imap");
	CHECK(f.service.rcpt(f.s, "alice", now(), true).allowed);
}

TEST_CASE("account-service: one item per account holds lock, history and recipient counts")
{
	Fixture f;
	auto now = [&] { return static_cast<std::uint32_t>(f.now); };
	const std::string key = account_key("ag:", KeyKind::account, "alice");
	f.login("alice", net(1));
	CHECK(f.service.rcpt(f.s, "alice", now()).allowed);
	CHECK(f.service.rcpt(f.s, "alice", now()).allowed);
	CHECK(f.store.size() == 1);
	// A login carries the counts through, a RCPT the history.
	f.now += 120;
	f.login("alice", net(2));
	AccountStatus st = f.service.status(f.s, "alice", now());
	CHECK(st.networks == "203.0.2.0/24,203.0.1.0/24");
	CHECK(st.recipients == "2/1h 2/24h");
	CHECK(f.service.rcpt(f.s, "alice", now()).allowed);
	st = f.service.status(f.s, "alice", now());
	CHECK(st.networks == "203.0.2.0/24,203.0.1.0/24");
	CHECK(st.recipients == "3/1h 3/24h");
	// The item outlives both the login history (3/1h, country 3/24h: 24h + 60s) and the
	// recipient counts (2000/24h).
	CHECK(f.store.expiry_of(key) == f.now + 86400 + 60);
	f.s.recipient_limit = parse_limit_list("n", "10/2d");
	CHECK(f.service.rcpt(f.s, "alice", now()).allowed);
	CHECK(f.store.expiry_of(key) == f.now + 2 * 86400);
}

TEST_CASE("account-service: a RCPT that counts leaves the lock item alone")
{
	Fixture f;
	auto now = [&] { return static_cast<std::uint32_t>(f.now); };
	const std::string key = account_key("ag:", KeyKind::account, "alice");
	f.login("alice", net(1));
	f.service.lock("alice", "phished", now());
	// A session that logged in before the lock, past the first RCPT of its transaction.
	CHECK(f.service.rcpt(f.s, "alice", now(), false).allowed);
	CHECK(f.store.expiry_of(account_key("ag:", KeyKind::lock, "alice")) == 0);
	CHECK(f.store.expiry_of(key) == f.now + 86400 + 60); // the record expires as ever
	AccountStatus st = f.service.status(f.s, "alice", now());
	CHECK(st.locked);
	CHECK(st.reason == "phished");
	CHECK(st.networks == "203.0.1.0/24");
	CHECK(st.recipients == "1/1h 1/24h");
}

TEST_CASE("account-service: unlock keeps the recipient counts unless told to reset them")
{
	Fixture f;
	auto now = [&] { return static_cast<std::uint32_t>(f.now); };
	const std::string key = account_key("ag:", KeyKind::account, "alice");
	for (int i = 0; i < 4; i++)
		f.login("alice", net(i));
	f.service.rcpt(f.s, "alice", now());
	f.service.rcpt(f.s, "alice", now());
	REQUIRE(f.service.status(f.s, "alice", now()).locked);

	f.service.unlock(f.s, "alice", false, now());
	AccountStatus st = f.service.status(f.s, "alice", now());
	CHECK_FALSE(st.locked);
	CHECK(st.networks.empty());
	CHECK(st.recipients == "2/1h 2/24h");
	CHECK(f.store.expiry_of(key) == f.now + 86400 + 60); // no longer locked: it expires

	f.service.unlock(f.s, "alice", true, now());
	CHECK(f.service.status(f.s, "alice", now()).recipients == "0/1h 0/24h");
	CHECK(f.store.size() == 0);
}

TEST_CASE("account-service: a password change lifts the lock and keeps the recipient counts")
{
	Fixture f;
	auto now = [&] { return static_cast<std::uint32_t>(f.now); };
	f.service.rcpt(f.s, "alice", now());
	for (int i = 0; i < 4; i++)
		f.login("alice", net(i));
	REQUIRE(f.service.status(f.s, "alice", now()).locked);
	CHECK(f.login("alice", net(1), "a new password").verdict == Verdict::allow);
	AccountStatus st = f.service.status(f.s, "alice", now());
	CHECK_FALSE(st.locked);
	CHECK(st.networks == "203.0.1.0/24");
	CHECK(st.recipients == "1/1h 1/24h");
}

TEST_CASE("account-service: logins and RCPTs racing on the one item lose nothing")
{
	Fixture f;
	auto now = [&] { return static_cast<std::uint32_t>(f.now); };
	f.s.recipient_limit = parse_limit_list("n", "100/1h");
	AccountService node2(f.store, "ag:", [](int) {});
	f.login("alice", net(1));
	// Another node counts a recipient between each login's read and its write...
	f.store.set_before_cas([&] {
		f.store.set_before_cas(nullptr);
		node2.rcpt(f.s, "alice", now());
	});
	f.login("alice", net(2));
	// ...and logs in from a new network between each RCPT's read and its write.
	f.store.set_before_cas([&] {
		f.store.set_before_cas(nullptr);
		LoginInput in;
		const std::string ip = net(3);
		in.user = "alice";
		in.service = "smtp";
		in.ip = parse_ip(ip);
		in.password = "pw-one";
		in.now = now();
		node2.login(f.s, in);
	});
	CHECK(f.service.rcpt(f.s, "alice", now()).allowed);
	AccountStatus st = f.service.status(f.s, "alice", now());
	CHECK(st.networks == "203.0.3.0/24,203.0.2.0/24,203.0.1.0/24");
	CHECK(st.recipients == "2/1h");
}

TEST_CASE("account-service: a RCPT after the record's server restarted does not hide the lock")
{
	Cluster c;
	c.s.recipient_limit = parse_limit_list("n", "100/1h");
	c.lock_by_logins();
	c.store.wipe_server(c.primary());
	// A session that logged in before the lock: its first RCPT of a transaction finds the
	// lock in the replica...
	RcptResult r = c.service.rcpt(c.s, "alice", static_cast<std::uint32_t>(c.now), true);
	CHECK_FALSE(r.allowed);
	CHECK(r.locked);
	// ...and puts the lock item back, so that a later RCPT writing the record cannot hide it
	// from the next login (which reads the replica only when record and lock are missing).
	CHECK(c.service.rcpt(c.s, "alice", static_cast<std::uint32_t>(c.now), false).allowed);
	CHECK(c.store.expiry_of(account_key("ag:", KeyKind::lock, "alice")) == 0);
	c.store.wipe_server(c.replica());
	CHECK(c.login("192.0.2.1") == Verdict::refuse);
}

// ---- a lock is never lost by a routine write (memcached -M, full; a server unreachable)

TEST_CASE("account-service: a full store refuses a locked account's logins and keeps the lock")
{
	Fixture f;
	f.login("alice", net(1));
	f.service.lock("alice", "phished, ticket 4711", static_cast<std::uint32_t>(f.now));
	f.store.set_full(true);
	// The first login would append the password's fingerprint (it cannot: out of memory) and
	// record nothing: refused all the same, and reported.
	LoginResult r = f.login("alice", net(2));
	CHECK(r.verdict == Verdict::refuse);
	CHECK(std::any_of(r.events.begin(), r.events.end(), [](const Event &e) {
		return std::string(e.name) == "account_guard_backend_failed" &&
		       e.message.find("fingerprint could not be stored") != std::string::npos;
	}));
	for (int i = 3; i < 8; i++)
		CHECK(f.login("alice", net(i)).verdict == Verdict::refuse);
	f.store.set_full(false);
	AccountStatus st = f.service.status(f.s, "alice", static_cast<std::uint32_t>(f.now));
	CHECK(st.locked);
	CHECK(st.reason == "phished, ticket 4711");
	CHECK(f.login("alice", net(1)).verdict == Verdict::refuse);
}

TEST_CASE("account-service: a login-set lock survives a full store deleting the account record")
{
	Fixture f;
	for (int i = 1; i <= 3; i++)
		f.login("alice", net(i));
	REQUIRE(f.login("alice", net(4)).verdict == Verdict::refuse);
	f.store.set_full(true);
	// A RCPT's compare-and-swap of the record fails, and memcached deletes the record...
	f.s.recipient_limit = parse_limit_list("n", "100/1h");
	CHECK_THROWS_AS(f.service.rcpt(f.s, "alice", static_cast<std::uint32_t>(f.now)), StoreError);
	CHECK_FALSE(f.store.expiry_of(account_key("ag:", KeyKind::account, "alice")));
	// ...but not the lock item.
	CHECK(f.login("alice", net(1)).verdict == Verdict::refuse);
	CHECK(f.service.status(f.s, "alice", static_cast<std::uint32_t>(f.now)).locked);
}

TEST_CASE("account-service: locking an account that is locked keeps the original lock")
{
	Fixture f;
	for (int i = 1; i <= 3; i++)
		f.login("alice", net(i));
	REQUIRE(f.login("alice", net(4)).verdict == Verdict::refuse);
	const AccountStatus before = f.service.status(f.s, "alice", static_cast<std::uint32_t>(f.now));
	const std::string lock_key = account_key("ag:", KeyKind::lock, "alice");
	const std::string item = f.store.gets(lock_key)->value;
	f.now += 600;
	auto events = f.service.lock("alice", "second opinion", static_cast<std::uint32_t>(f.now));
	REQUIRE(events.size() == 1);
	CHECK(events[0].reason == "already locked");
	const AccountStatus after = f.service.status(f.s, "alice", static_cast<std::uint32_t>(f.now));
	CHECK(after.reason == before.reason);
	CHECK(after.since == before.since);
	CHECK(f.store.gets(lock_key)->value == item); // fingerprint included
	// The thief's password still does not unlock it, a changed one does.
	CHECK(f.login("alice", net(1)).verdict == Verdict::refuse);
	CHECK(f.login("alice", net(1), "pw-two").verdict == Verdict::allow);
}

TEST_CASE("account-service: unlock -R forgets the notification marker")
{
	Fixture f;
	f.s.recipient_limit = parse_limit_list("n", "1/1h");
	f.s.notify = "postmaster@example.com";
	const auto now = static_cast<std::uint32_t>(f.now);
	CHECK(f.service.rcpt(f.s, "alice", now).allowed);
	CHECK(f.service.rcpt(f.s, "alice", now).notification);
	CHECK_FALSE(f.service.rcpt(f.s, "alice", now).notification); // one per window
	f.service.unlock(f.s, "alice", false, now);
	CHECK_FALSE(f.service.rcpt(f.s, "alice", now).notification); // counts and marker kept
	f.service.unlock(f.s, "alice", true, now);
	CHECK(f.service.rcpt(f.s, "alice", now).allowed);
	CHECK(f.service.rcpt(f.s, "alice", now).notification); // a new incident
}

TEST_CASE("account-service: with the record's server down an administrator sees and lifts the lock")
{
	Cluster c;
	c.lock_by_logins();
	const unsigned int primary = c.primary();
	c.store.set_server_down(primary, true);
	// The replica keeps refusing the account...
	CHECK(c.login("192.0.2.1") == Verdict::refuse);
	AccountStatus st = c.service.status(c.s, "alice", static_cast<std::uint32_t>(c.now));
	CHECK(st.locked);
	CHECK(st.reason.find("3 networks within 1h") == 0);
	// ...and an unlock lifts it through the replica.
	auto events = c.service.unlock(c.s, "alice", false, static_cast<std::uint32_t>(c.now));
	REQUIRE(events.size() == 1);
	CHECK(events[0].message.find("through its lock replica") != std::string::npos);
	CHECK_FALSE(c.service.status(c.s, "alice", static_cast<std::uint32_t>(c.now)).locked);
	CHECK_THROWS_AS(c.service.login(c.s, LoginInput{"alice", "smtp", parse_ip("192.0.2.1"), "pw-one",
							 static_cast<std::uint32_t>(c.now), {}, {}, 9, true}),
			StoreError); // no lock to enforce: fail_mode decides
	// The server comes back with the old lock item: the first login deletes it and the
	// thief's history with it.
	c.now += 60;
	c.store.set_server_down(primary, false);
	CHECK(c.login("192.0.2.1") == Verdict::allow);
	CHECK_FALSE(c.store.gets(account_key("ag:", KeyKind::lock, "alice")));
	st = c.service.status(c.s, "alice", static_cast<std::uint32_t>(c.now));
	CHECK_FALSE(st.locked);
	CHECK(st.networks == "192.0.2.0/24");
	CHECK(c.login("198.51.100.1") == Verdict::allow);
}

TEST_CASE("account-service: a password change marks the replica lifted before the lock item goes")
{
	Cluster c;
	c.lock_by_logins();
	std::vector<std::string> order;
	const std::string replica_key = [&] {
		for (int i = 0; i < 32; i++) {
			std::string base = account_key("ag:", KeyKind::lock_replica, "alice");
			std::string key = i == 0 ? base : base + "." + std::to_string(i);
			if (c.store.gets(key))
				return key;
		}
		return std::string();
	}();
	REQUIRE_FALSE(replica_key.empty());
	CHECK(c.login("192.0.2.1", "pw-two") == Verdict::allow);
	LockItem replica = decode_lock(c.store.gets(replica_key)->value);
	CHECK(replica.lifted);
	CHECK_FALSE(c.store.gets(account_key("ag:", KeyKind::lock, "alice")));
	// The record and the lock lost with their server: the tombstone brings no lock back.
	c.store.wipe_server(c.primary());
	CHECK(c.login("198.51.100.1", "pw-two") == Verdict::allow);
}

#include "account-service.hh"

#include "keys.hh"
#include "memory-store.hh"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace account_guard;

namespace {

struct Fixture {
	std::time_t now = 1790000000;
	MemoryStore store{[this] { return now; }};
	Settings s = parse_settings([](const char *name) -> const char * {
		return std::string(name) == "account_guard_ip_limit" ? "3/1h" : nullptr;
	});
	AccountService service{store, "ag:"};

	LoginResult login(std::string_view user, const std::string &ip, std::string_view password = "pw-one")
	{
		LoginInput in;
		in.user = user;
		in.service = "smtp";
		in.ip = parse_ip(ip);
		in.password = password;
		in.now = static_cast<std::uint32_t>(now);
		in.new_salt = 7;
		return service.login(s, in);
	}
};

std::string net(int i) { return "203.0." + std::to_string(i) + ".1"; }

} // namespace

TEST_CASE("account-service: a login costs one read, plus one write when something changed")
{
	Fixture f;
	f.login("alice", net(1));
	CHECK(f.store.operations() == 2); // gets + add
	f.login("alice", net(1));
	CHECK(f.store.operations() == 3); // known network, seen just now: gets only
	f.login("alice", net(2));
	CHECK(f.store.operations() == 5); // gets + cas
}

TEST_CASE("account-service: a concurrent write between read and CAS is never lost")
{
	Fixture f;
	f.login("alice", net(1));
	// Another node records net(2) for alice right between our gets and our cas.
	f.store.set_before_cas([&] {
		const std::string other_ip = net(2);
		LoginInput in;
		in.user = "alice";
		in.service = "smtp";
		in.ip = parse_ip(other_ip);
		in.password = "pw-one";
		in.now = static_cast<std::uint32_t>(f.now);
		AccountService other(f.store, "ag:");
		other.login(f.s, in);
	});
	f.login("alice", net(3));
	AccountStatus st = f.service.status(f.s, "alice", static_cast<std::uint32_t>(f.now));
	CHECK(st.networks.find("203.0.1.0/24") != std::string::npos);
	CHECK(st.networks.find("203.0.2.0/24") != std::string::npos);
	CHECK(st.networks.find("203.0.3.0/24") != std::string::npos);
	// The 4th network crosses 3/1h exactly once.
	CHECK(f.login("alice", net(4)).verdict == Verdict::refuse);
}

TEST_CASE("account-service: accounts are independent")
{
	Fixture f;
	for (int i = 0; i < 4; i++)
		f.login("alice", net(i));
	CHECK(f.login("alice", net(0)).verdict == Verdict::refuse);
	CHECK(f.login("bob", net(9)).verdict == Verdict::allow);
	CHECK_FALSE(f.service.status(f.s, "bob", static_cast<std::uint32_t>(f.now)).locked);
}

TEST_CASE("account-service: status shows lock, since and networks in the longest window")
{
	Fixture f;
	for (int i = 0; i < 4; i++)
		f.login("alice", net(i));
	AccountStatus st = f.service.status(f.s, "alice", static_cast<std::uint32_t>(f.now));
	CHECK(st.locked);
	CHECK(st.since == "2026-09-21T14:13:20Z");
	CHECK(st.reason.find("4 networks within 1h (limit 3/1h)") == 0);
	CHECK(st.networks == "203.0.3.0/24,203.0.2.0/24,203.0.1.0/24,203.0.0.0/24");
	CHECK(st.countries.empty());
}

TEST_CASE("account-service: admin lock and unlock")
{
	Fixture f;
	f.login("alice", net(1));
	auto events = f.service.lock("alice", "spam complaint #123", static_cast<std::uint32_t>(f.now));
	REQUIRE(events.size() == 1);
	CHECK(std::string(events[0].name) == "account_guard_account_locked");
	AccountStatus st = f.service.status(f.s, "alice", static_cast<std::uint32_t>(f.now));
	CHECK(st.locked);
	CHECK(st.reason == "spam complaint #123");
	CHECK(f.login("alice", net(1)).verdict == Verdict::refuse);
	// A lock has no expiry: its own item, apart from the record that expires with its windows.
	CHECK(f.store.expiry_of(account_key("ag:", KeyKind::lock, "alice")) == 0);
	CHECK(f.store.expiry_of(account_key("ag:", KeyKind::account, "alice")) != 0);

	events = f.service.unlock(f.s, "alice", false, static_cast<std::uint32_t>(f.now));
	REQUIRE(events.size() == 1);
	CHECK(std::string(events[0].name) == "account_guard_account_unlocked");
	CHECK(events[0].networks == "203.0.1.0/24");
	st = f.service.status(f.s, "alice", static_cast<std::uint32_t>(f.now));
	CHECK_FALSE(st.locked);
	CHECK(st.networks.empty()); // history forgotten
	CHECK(f.login("alice", net(1)).verdict == Verdict::allow);
	// Unlocking an account that is not locked is fine.
	CHECK_NOTHROW(f.service.unlock(f.s, "nobody", true, static_cast<std::uint32_t>(f.now)));
}

TEST_CASE("account-service: a corrupt stored record is reported and replaced")
{
	Fixture f;
	f.store.set(account_key("ag:", KeyKind::account, "alice"), "garbage\x01\x02", 0);
	LoginResult r = f.login("alice", net(1));
	CHECK(r.verdict == Verdict::allow);
	REQUIRE_FALSE(r.events.empty());
	CHECK(std::string(r.events[0].name) == "account_guard_backend_failed");
	CHECK(r.events[0].reason == "corrupt record");
	CHECK(f.service.status(f.s, "alice", static_cast<std::uint32_t>(f.now)).networks == "203.0.1.0/24");
}

TEST_CASE("account-service: an unlocked record expires with the window")
{
	Fixture f;
	f.login("alice", net(1));
	f.now += 3600 + 60;
	CHECK(f.store.size() == 1);
	CHECK(f.service.status(f.s, "alice", static_cast<std::uint32_t>(f.now)).networks.empty());
}

TEST_CASE("account-service: store failures surface as StoreError")
{
	Fixture f;
	f.store.set_unavailable(true);
	CHECK_THROWS_AS(f.login("alice", net(1)), StoreError);
	CHECK_THROWS_AS(f.service.status(f.s, "alice", 0), StoreError);
	CHECK_THROWS_AS(f.service.unlock(f.s, "alice", false, 0), StoreError);
}

TEST_CASE("account-service: recipients are counted cluster-wide and refused over the limit")
{
	Fixture f;
	f.s.recipient_limit = parse_limit_list("account_guard_recipient_limit", "5/1h");
	AccountService node2(f.store, "ag:");
	for (int i = 0; i < 5; i++)
		CHECK((i % 2 ? node2 : f.service).rcpt(f.s, "alice", static_cast<std::uint32_t>(f.now)).allowed);
	CHECK_FALSE(f.service.rcpt(f.s, "alice", static_cast<std::uint32_t>(f.now)).allowed);
	CHECK_FALSE(node2.rcpt(f.s, "alice", static_cast<std::uint32_t>(f.now)).allowed);
	CHECK(f.service.rcpt(f.s, "bob", static_cast<std::uint32_t>(f.now)).allowed);
	CHECK(f.service.status(f.s, "alice", static_cast<std::uint32_t>(f.now)).recipients == "5/1h");
	f.service.unlock(f.s, "alice", true, static_cast<std::uint32_t>(f.now));
	CHECK(f.service.rcpt(f.s, "alice", static_cast<std::uint32_t>(f.now)).allowed);
}

TEST_CASE("account-service: pipelined recipients are decided in order with one read and one write")
{
	Fixture f;
	f.s.recipient_limit = parse_limit_list("account_guard_recipient_limit", "5/1h");
	f.s.notify = "postmaster@example.com";
	const auto now = static_cast<std::uint32_t>(f.now);
	REQUIRE(f.service.rcpt(f.s, "alice", now, false, 3).accepted == 3);

	const std::size_t before = f.store.operations();
	RcptResult r = f.service.rcpt(f.s, "alice", now, false, 4);
	// The store: gets + cas of the account item, and the incident's marker (add).
	CHECK(f.store.operations() - before == 3);
	CHECK(r.accepted == 2);
	CHECK_FALSE(r.allowed);
	CHECK(std::count_if(r.events.begin(), r.events.end(), [](const Event &e) {
		      return std::string(e.name) == "account_guard_rcpt_refused";
	      }) == 2);
	REQUIRE(r.notification);
	CHECK(r.notification->body.find("5/1h (5 recipients already)") != std::string::npos);
	CHECK(f.service.status(f.s, "alice", now).recipients == "5/1h");

	// Over the limit now: a whole batch is refused with one read (and the marker's add,
	// which finds the incident already mailed), and mails nobody again.
	const std::size_t refused_before = f.store.operations();
	r = f.service.rcpt(f.s, "alice", now, false, 3);
	CHECK(r.accepted == 0);
	CHECK_FALSE(r.notification);
	CHECK(f.store.operations() - refused_before == 2);
}

TEST_CASE("account-service: a refused RCPT costs one read, an accepted one read and one write")
{
	Fixture f;
	f.s.recipient_limit = parse_limit_list("n", "1/1h");
	std::size_t before = f.store.operations();
	f.service.rcpt(f.s, "alice", static_cast<std::uint32_t>(f.now));
	CHECK(f.store.operations() - before == 2);
	before = f.store.operations();
	f.service.rcpt(f.s, "alice", static_cast<std::uint32_t>(f.now));
	CHECK(f.store.operations() - before == 1);
}

TEST_CASE("account-service: one notification per account and window, across nodes")
{
	Fixture f;
	f.s.recipient_limit = parse_limit_list("n", "2/1h");
	f.s.notify = "postmaster@example.com";
	AccountService node2(f.store, "ag:");
	auto now = [&] { return static_cast<std::uint32_t>(f.now); };
	f.service.rcpt(f.s, "alice", now());
	f.service.rcpt(f.s, "alice", now());
	RcptResult first = node2.rcpt(f.s, "alice", now());
	CHECK_FALSE(first.allowed);
	REQUIRE(first.notification);
	CHECK(first.notification->subject == "Recipient limit reached: alice");
	CHECK_FALSE(f.service.rcpt(f.s, "alice", now()).notification);
	CHECK_FALSE(node2.rcpt(f.s, "alice", now()).notification);
	// After the window a new incident is worth a new mail.
	f.now += 3600;
	f.service.rcpt(f.s, "alice", now());
	f.service.rcpt(f.s, "alice", now());
	CHECK(f.service.rcpt(f.s, "alice", now()).notification);
	// Without account_guard_notify nothing is composed.
	f.s.notify.clear();
	CHECK_FALSE(f.service.rcpt(f.s, "bob", now()).notification);
}

TEST_CASE("account-service: the login that locks the account yields one notification")
{
	Fixture f;
	f.s.notify = "postmaster@example.com";
	std::optional<Notification> sent;
	for (int i = 0; i < 4; i++) {
		LoginResult r = f.login("alice", net(i));
		if (r.notification) {
			CHECK_FALSE(sent);
			sent = r.notification;
		}
	}
	REQUIRE(sent);
	CHECK(sent->subject == "Account locked: alice");
	CHECK(sent->body.find("203.0.3.0/24") != std::string::npos);
	CHECK_FALSE(f.login("alice", net(5)).notification);
}

TEST_CASE("account-service: a dry run mails nobody")
{
	Fixture f;
	f.s.recipient_limit = parse_limit_list("n", "1/1h");
	f.s.notify = "postmaster@example.com";
	f.s.mode = Mode::log;
	f.service.rcpt(f.s, "alice", static_cast<std::uint32_t>(f.now));
	RcptResult r = f.service.rcpt(f.s, "alice", static_cast<std::uint32_t>(f.now));
	CHECK(r.allowed);
	CHECK_FALSE(r.notification);
}

namespace {

// Three simulated memcached servers: the account record and its lock replica on two of them.
struct Cluster {
	std::time_t now = 1790000000;
	MemoryStore store{[this] { return now; }, 3};
	Settings s = parse_settings([](const char *name) -> const char * {
		return std::string(name) == "account_guard_ip_limit" ? "2/1h" : nullptr;
	});
	AccountService service{store, "ag:", [](int) {}};

	Verdict login(const std::string &ip, std::string_view password = "pw-one")
	{
		LoginInput in;
		in.user = "alice";
		in.service = "smtp";
		in.ip = parse_ip(ip);
		in.password = password;
		in.now = static_cast<std::uint32_t>(now);
		in.new_salt = 9;
		return service.login(s, in).verdict;
	}
	void lock_by_logins()
	{
		login("192.0.2.1");
		login("198.51.100.1");
		REQUIRE(login("203.0.113.1") == Verdict::refuse);
	}
	unsigned int primary() { return store.server_of(account_key("ag:", KeyKind::account, "alice")); }
	unsigned int replica()
	{
		for (unsigned int server = 0; server < 3; server++) {
			if (server != primary()) {
				// The replica is the one lock key of alice's on another server.
				for (int i = 0; i < 32; i++) {
					std::string base = account_key("ag:", KeyKind::lock_replica, "alice");
					std::string key = i == 0 ? base : base + "." + std::to_string(i);
					if (store.server_of(key) != primary() && store.gets(key))
						return store.server_of(key);
				}
			}
		}
		FAIL("no lock replica on another server");
		return 0;
	}
	bool locked() { return service.status(s, "alice", static_cast<std::uint32_t>(now)).locked; }
};

} // namespace

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

// ---- retry budgets on an injected clock

TEST_CASE("account-service: a login that keeps losing races gives up after the budget, on the injected clock")
{
	std::time_t now = 1790000000;
	MemoryStore store{[&] { return now; }};
	auto fake = std::chrono::steady_clock::time_point{};
	int backoffs = 0;
	AccountService service{store, "ag:",
			       [&](int) {
				       backoffs++;
				       fake += std::chrono::milliseconds(300); // no sleeping
			       },
			       [&] { return fake; }};
	Settings s = parse_settings([](const char *) -> const char * { return nullptr; });
	LoginInput in{"alice", "smtp", parse_ip("192.0.2.1"), "pw", static_cast<std::uint32_t>(now), {}, {}, 1, true};
	service.login(s, in);
	// Every compare-and-swap finds the record changed by another node.
	std::function<void()> rewrite = [&] {
		store.set(account_key("ag:", KeyKind::account, "alice"), store.gets(account_key("ag:", KeyKind::account, "alice"))->value, 0);
		store.set_before_cas(rewrite);
	};
	store.set_before_cas(rewrite);
	const std::string other = "198.51.100.1";
	in.ip = parse_ip(other);
	CHECK_THROWS_WITH(service.login(s, in), Catch::Contains("kept changing during 2 seconds"));
	// The first retry is at once, then one back-off per attempt until 2 s had passed.
	CHECK(backoffs == 7);
	// The same budget for a RCPT.
	s.recipient_limit = parse_limit_list("n", "10/1h");
	backoffs = 0;
	CHECK_THROWS_WITH(service.rcpt(s, "alice", static_cast<std::uint32_t>(now)), Catch::Contains("kept changing"));
	CHECK(backoffs == 7);
}

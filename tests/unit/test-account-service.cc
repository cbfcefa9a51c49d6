// AccountService: logins, status, admin lock and unlock, recipients and notifications, retry
// budgets. The lock's durability across servers and a full store is in
// test-account-service-locks.cc.

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
	// The first refusal opens the account's incident: that is stored once (read + cas)...
	before = f.store.operations();
	f.service.rcpt(f.s, "alice", static_cast<std::uint32_t>(f.now));
	CHECK(f.store.operations() - before == 2);
	CHECK(f.service.status(f.s, "alice", static_cast<std::uint32_t>(f.now)).recipients == "1/1h");
	// ... and a refusal that changes nothing in it (the same transaction retried) only reads.
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

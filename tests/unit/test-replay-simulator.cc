// account-guard-replay's simulator: the guard's own decisions over a history, with the events'
// time as the clock — a lock at the line that crossed, refusals while locked, the unlock by a
// password change, recipient refusals, and the rule each decision names.

#include "simulator.hh"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace account_guard;
using namespace account_guard::replay;

namespace {

struct Recorded : DecisionSink {
	std::vector<Decision> all;
	void decided(const Decision &d) override { all.push_back(d); }
	std::vector<Decision> of(DecisionKind kind) const
	{
		std::vector<Decision> out;
		for (const Decision &d : all)
			if (d.decision == kind)
				out.push_back(d);
		return out;
	}
};

constexpr std::int64_t t0 = 1764547200; // 2025-12-01T00:00:00Z

struct History {
	Settings settings;
	Recorded decisions;
	std::uint64_t line = 0;
	std::unique_ptr<Simulator> sim;

	History()
	{
		settings.record_services = ServiceList{true, {}};
		settings.ip_limit = parse_limit_list("account_guard_ip_limit", "3/1h");
		settings.recipient_limit = parse_limit_list("account_guard_recipient_limit", "10/1h");
	}
	Simulator &simulator()
	{
		if (!sim)
			sim = std::make_unique<Simulator>(settings, nullptr, decisions);
		return *sim;
	}
	std::uint64_t login(const std::string &user, const std::string &ip, std::int64_t time,
			    const std::string &service = "imap")
	{
		ReplayEvent e;
		e.kind = EventKind::login;
		e.time = time;
		e.user = user;
		e.service = service;
		e.ip = ip;
		e.line = ++line;
		simulator().apply(e);
		return e.line;
	}
	std::uint64_t message(const std::string &user, unsigned recipients, std::int64_t time)
	{
		ReplayEvent e;
		e.kind = EventKind::message;
		e.time = time;
		e.user = user;
		for (unsigned i = 0; i < recipients; i++)
			e.to.push_back("r" + std::to_string(i) + "@example.net");
		e.line = ++line;
		simulator().apply(e);
		return e.line;
	}
	std::uint64_t password_change(const std::string &user, std::int64_t time)
	{
		ReplayEvent e;
		e.kind = EventKind::password_change;
		e.time = time;
		e.user = user;
		e.line = ++line;
		simulator().apply(e);
		return e.line;
	}
};

} // namespace

TEST_CASE("replay: the lock falls on the login that crossed the limit, with its evidence")
{
	History h;
	const auto first = h.login("alice@example.com", "198.51.100.1", t0);
	h.login("alice@example.com", "198.51.100.2", t0 + 60);   // the same /24: no new network
	const auto second = h.login("alice@example.com", "203.0.113.1", t0 + 120);
	const auto third = h.login("alice@example.com", "192.0.2.1", t0 + 180);
	CHECK(h.decisions.all.empty());
	const auto crossing = h.login("alice@example.com", "100.64.0.1", t0 + 240);

	auto locks = h.decisions.of(DecisionKind::lock);
	REQUIRE(locks.size() == 1);
	CHECK(locks[0].where.line == crossing);
	CHECK(locks[0].time == t0 + 240);
	CHECK(locks[0].rule == "account_guard_ip_limit");
	CHECK(locks[0].reason.find("4 networks within 1h (limit 3/1h)") != std::string::npos);
	// The last login of each network counted, oldest first.
	std::vector<std::uint64_t> lines;
	for (const LineRef &r : locks[0].evidence)
		lines.push_back(r.line);
	CHECK(lines == std::vector<std::uint64_t>{first + 1, second, third, crossing});
	// lock_services is `*`: the crossing login itself is refused, by the lock's rule.
	auto refused = h.decisions.of(DecisionKind::refuse_login);
	REQUIRE(refused.size() == 1);
	CHECK(refused[0].where.line == crossing);
	CHECK(refused[0].rule == "account_guard_ip_limit");
	CHECK(h.simulator().accounts_locked_now() == 1);
}

TEST_CASE("replay: a locked account's logins and messages are refused until its password changes")
{
	History h;
	for (int i = 0; i < 4; i++)
		h.login("bob", "198.51." + std::to_string(i) + ".7", t0 + i);
	REQUIRE(h.decisions.of(DecisionKind::lock).size() == 1);
	// Days later, from the customer's own network: still refused (a lock does not expire).
	const auto later = h.login("bob", "198.51.0.7", t0 + 3 * 86400);
	const auto msg = h.message("bob", 4, t0 + 3 * 86400 + 10);
	auto refused = h.decisions.of(DecisionKind::refuse_login);
	REQUIRE(refused.size() == 2);
	CHECK(refused[1].where.line == later);
	auto rcpt = h.decisions.of(DecisionKind::refuse_rcpt);
	REQUIRE(rcpt.size() == 1);
	CHECK(rcpt[0].where.line == msg);
	CHECK(rcpt[0].accepted == 0);
	CHECK(rcpt[0].refused == 4);
	CHECK(rcpt[0].rule == "account_guard_ip_limit");

	const auto change = h.password_change("bob", t0 + 4 * 86400);
	auto unlocks = h.decisions.of(DecisionKind::unlock);
	REQUIRE(unlocks.size() == 1);
	CHECK(unlocks[0].where.line == change);
	CHECK(unlocks[0].rule == "account_guard_unlock_on_password_change");
	CHECK(h.simulator().accounts_locked_now() == 0);
	// The unlock forgot the thief's networks: three new ones stay under 3/1h.
	const std::size_t before = h.decisions.all.size();
	h.login("bob", "198.51.0.7", t0 + 4 * 86400 + 60);
	h.login("bob", "203.0.113.9", t0 + 4 * 86400 + 120);
	h.message("bob", 2, t0 + 4 * 86400 + 180);
	CHECK(h.decisions.all.size() == before);
}

TEST_CASE("replay: without unlock_on_password_change a password change leaves the lock")
{
	History h;
	h.settings.unlock_on_password_change = false;
	for (int i = 0; i < 4; i++)
		h.login("carol", "198.51." + std::to_string(i) + ".7", t0 + i);
	h.password_change("carol", t0 + 100);
	CHECK(h.decisions.of(DecisionKind::unlock).empty());
	h.login("carol", "198.51.0.7", t0 + 200);
	CHECK(h.decisions.of(DecisionKind::refuse_login).size() == 2);
}

TEST_CASE("replay: recipients beyond the limit are refused, the earlier ones of the message accepted")
{
	History h;
	h.login("dave", "198.51.100.1", t0, "submission");
	h.message("dave", 6, t0 + 10);
	CHECK(h.decisions.all.empty());
	const auto over = h.message("dave", 6, t0 + 20); // 12 > 10/1h: the last two refused
	auto rcpt = h.decisions.of(DecisionKind::refuse_rcpt);
	REQUIRE(rcpt.size() == 1);
	CHECK(rcpt[0].where.line == over);
	CHECK(rcpt[0].accepted == 4);
	CHECK(rcpt[0].refused == 2);
	CHECK(rcpt[0].rule == "account_guard_recipient_limit");
	CHECK(rcpt[0].event == EventKind::message);
	// An hour later the window has room again: the events' time is the clock.
	h.message("dave", 5, t0 + 20 + 3601);
	CHECK(h.decisions.of(DecisionKind::refuse_rcpt).size() == 1);
}

TEST_CASE("replay: notifications are reported where the live guard would send one")
{
	History h;
	h.settings.notify = "postmaster@example.com";
	h.message("erin", 11, t0);
	h.message("erin", 3, t0 + 5); // the same window: no second notification
	auto notes = h.decisions.of(DecisionKind::notify);
	REQUIRE(notes.size() == 1);
	CHECK(notes[0].where.line == 1);
	CHECK(notes[0].rule == "account_guard_recipient_limit");
}

TEST_CASE("replay: the settings apply as the live guard applies them; mode is taken as enforce")
{
	History h;
	h.settings.mode = Mode::log;
	h.settings.exempt_networks = parse_network_list("account_guard_exempt_networks", "66.249.64.0/19");
	h.settings.record_services = parse_service_list("account_guard_record_services", "imap submission");
	// Google's fetchers from many networks: exempt, never counted.
	for (int i = 0; i < 8; i++)
		h.login("frank", "66.249." + std::to_string(64 + i) + ".1", t0 + i);
	// POP3 is not recorded here, so neither does it count.
	for (int i = 0; i < 8; i++)
		h.login("frank", "203.0." + std::to_string(i) + ".1", t0 + 10 + i, "pop3");
	CHECK(h.decisions.all.empty());
	for (int i = 0; i < 4; i++)
		h.login("frank", "192.0." + std::to_string(i) + ".1", t0 + 20 + i);
	CHECK(h.decisions.of(DecisionKind::lock).size() == 1);
	CHECK(h.decisions.of(DecisionKind::refuse_login).size() == 1); // a dry run would refuse nothing
}

TEST_CASE("replay: an event older than the last one is taken at the last one's time")
{
	History h;
	for (int i = 0; i < 3; i++)
		h.login("gina", "198.51." + std::to_string(i) + ".1", t0 + 7200 + i);
	h.login("gina", "198.51.9.1", t0); // two hours "earlier": still within the same hour
	auto locks = h.decisions.of(DecisionKind::lock);
	REQUIRE(locks.size() == 1);
	CHECK(locks[0].time == t0 + 7202);
}

TEST_CASE("replay: bounces and complaints are counted, not yet used")
{
	History h;
	ReplayEvent e;
	e.kind = EventKind::bounce;
	e.user = "hank";
	e.time = t0;
	h.simulator().apply(e);
	e.kind = EventKind::complaint;
	h.simulator().apply(e);
	CHECK(h.decisions.all.empty());
	CHECK(h.simulator().counts().unused == 2);
	CHECK(h.simulator().counts().by_kind[static_cast<std::size_t>(EventKind::bounce)] == 1);
}

TEST_CASE("replay: a message sent through a login the lock refuses is refused whole, never counted")
{
	History h;
	h.settings.lock_services = parse_service_list("account_guard_lock_services", "smtp");
	for (int i = 0; i < 4; i++)
		h.login("ivan", "198.51." + std::to_string(i) + ".1", t0 + i, "smtp");
	REQUIRE(h.decisions.of(DecisionKind::lock).size() == 1);
	ReplayEvent e;
	e.kind = EventKind::message;
	e.time = t0 + 10;
	e.user = "ivan";
	e.service = "smtp"; // Postfix: the message of a SASL login
	e.to = {"a@example.net", "b@example.net"};
	e.line = 99;
	h.simulator().apply(e);
	auto rcpt = h.decisions.of(DecisionKind::refuse_rcpt);
	REQUIRE(rcpt.size() == 1);
	CHECK(rcpt[0].accepted == 0);
	CHECK(rcpt[0].refused == 2);
	CHECK(rcpt[0].rule == "account_guard_ip_limit");
	// A submission session is no lock service here: its recipients are counted as usual.
	e.service.clear();
	e.line = 100;
	h.simulator().apply(e);
	CHECK(h.decisions.of(DecisionKind::refuse_rcpt).size() == 1);
}

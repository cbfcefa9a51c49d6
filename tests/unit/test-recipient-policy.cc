#include "recipient-policy.hh"

#include <catch2/catch.hpp>

#include <map>
#include <memory>

using namespace account_guard;

namespace {

constexpr std::uint32_t t0 = 1790000400;

Settings settings(std::map<std::string, std::string> values)
{
	auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(values));
	return parse_settings([shared](const char *name) -> const char * {
		auto it = shared->find(name);
		return it == shared->end() ? nullptr : it->second.c_str();
	});
}

struct Sender {
	explicit Sender(Settings settings) : s(std::move(settings)) {}
	Settings s;
	std::optional<AccountRecord> stored;
	RcptDecision rcpt(std::uint32_t now)
	{
		RcptDecision d = decide_rcpt(s, stored, "alice", now);
		if (d.write)
			stored = d.record;
		return d;
	}
};

} // namespace

TEST_CASE("recipient-policy: the recipient over the limit is refused and not counted")
{
	Sender a(settings({{"account_guard_recipient_limit", "5/1h"}}));
	for (int i = 0; i < 5; i++)
		CHECK(a.rcpt(t0 + i).allowed);
	RcptDecision d = a.rcpt(t0 + 5);
	CHECK_FALSE(d.allowed);
	CHECK_FALSE(d.write);
	CHECK(d.count == 5);
	REQUIRE(d.crossed);
	CHECK(d.crossed->to_string() == "5/1h");
	REQUIRE(d.events.size() == 1);
	CHECK(std::string(d.events[0].name) == "account_guard_rcpt_refused");
	CHECK(d.events[0].limit == "5/1h");
	CHECK(d.events[0].recipients == 5);
	REQUIRE(a.stored);
	CHECK(a.stored->recipients.find(3600)->total(t0 + 5) == 5);
}

TEST_CASE("recipient-policy: sending works again when old recipients age out")
{
	Sender a(settings({{"account_guard_recipient_limit", "5/1h"}}));
	for (int i = 0; i < 5; i++)
		a.rcpt(t0);
	CHECK_FALSE(a.rcpt(t0 + 1800).allowed);
	CHECK_FALSE(a.rcpt(t0 + 3599).allowed);
	CHECK(a.rcpt(t0 + 3600).allowed);
}

TEST_CASE("recipient-policy: every window counts; the tighter one refuses first")
{
	Sender a(settings({{"account_guard_recipient_limit", "3/1h 5/1d"}}));
	for (int i = 0; i < 3; i++)
		CHECK(a.rcpt(t0).allowed);
	RcptDecision d = a.rcpt(t0 + 1);
	CHECK_FALSE(d.allowed);
	REQUIRE(d.crossed);
	CHECK(d.crossed->to_string() == "3/1h");
	// Two hours later the hour is free again, but the day has 3 of 5.
	CHECK(a.rcpt(t0 + 7200).allowed);
	CHECK(a.rcpt(t0 + 7200).allowed);
	d = a.rcpt(t0 + 7200);
	CHECK_FALSE(d.allowed);
	REQUIRE(d.crossed);
	CHECK(d.crossed->to_string() == "5/1d");
}

TEST_CASE("recipient-policy: log mode counts and reports but never refuses")
{
	Sender a(settings({{"account_guard_recipient_limit", "2/1h"}, {"account_guard_mode", "log"}}));
	a.rcpt(t0);
	a.rcpt(t0);
	RcptDecision d = a.rcpt(t0);
	CHECK(d.allowed);
	REQUIRE_FALSE(d.events.empty());
	CHECK(d.events[0].message.find("dry run") == 0);
	REQUIRE(a.stored);
	CHECK(a.stored->recipients.find(3600)->total(t0) == 3);
}

TEST_CASE("recipient-policy: no limit configured means nothing is counted")
{
	Sender a(settings({{"account_guard_recipient_limit", "0"}}));
	RcptDecision d = a.rcpt(t0);
	CHECK(d.allowed);
	CHECK_FALSE(d.write);
}

TEST_CASE("recipient-policy: a 3-second window really is 3 seconds")
{
	Sender a(settings({{"account_guard_recipient_limit", "2/3s"}}));
	CHECK(a.rcpt(t0).allowed);
	CHECK(a.rcpt(t0 + 1).allowed);
	CHECK_FALSE(a.rcpt(t0 + 2).allowed);
	CHECK(a.rcpt(t0 + 3).allowed); // the first one slid out
}

TEST_CASE("recipient-policy: the lock and the login history pass through unchanged")
{
	Sender a(settings({{"account_guard_recipient_limit", "5/1h 10/2d"}, {"account_guard_ip_limit", "10/1h"},
			   {"account_guard_country_limit", "3/24h"}, {"account_guard_profile_period", "1d"},
			   {"account_guard_profile_learning", "1h"}}));
	AccountRecord r;
	r.touch_network(*parse_network("192.0.2.0/24", nullptr), t0 - 100);
	r.touch_country({'D', 'E'}, t0 - 100);
	a.stored = r;
	RcptDecision d = a.rcpt(t0);
	REQUIRE(d.write);
	CHECK(d.record.networks.size() == 1);
	CHECK(d.record.networks[0].last_seen == t0 - 100);
	CHECK(d.record.countries.size() == 1);
	CHECK_FALSE(d.record.lock);
	// The one item outlives the longest of the recipient windows and the login history.
	CHECK(d.expires == t0 + 2 * 86400);
	Lock lock;
	lock.since = t0 - 50;
	lock.reason = "phished";
	REQUIRE(a.stored);
	a.stored->lock = lock;
	d = a.rcpt(t0);
	REQUIRE(d.record.lock);
	CHECK(d.record.lock->reason == "phished");
	CHECK(d.expires == t0 + 2 * 86400); // the record; the lock is an item of its own
	CHECK(d.record.recipients.find(3600)->total(t0) == 2);
}

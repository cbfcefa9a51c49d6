// The outage bookkeeping beneath the C boundary: one warning per memcached outage, one line
// when it ends.
#include "backend-outage.hh"

#include <catch2/catch.hpp>

using namespace account_guard;

TEST_CASE("backend-outage: the first failure warns, the ones after it are debug")
{
	BackendOutage outage;
	CHECK_FALSE(outage.failing());
	Event first = outage.failed("alice", "gets ag:a: timeout", "login", FailMode::open);
	CHECK(first.name == std::string("account_guard_backend_failed"));
	CHECK(first.level == Level::warning);
	CHECK(first.reason == "memcached");
	CHECK(first.user == "alice");
	CHECK(first.message == "memcached failed: gets ag:a: timeout (login allowed, fail_mode=open)");
	CHECK(outage.failing());

	Event second = outage.failed("bob", "down", "recipient", FailMode::closed);
	CHECK(second.level == Level::debug);
	CHECK(second.message == "memcached failed: down (recipient refused temporarily, fail_mode=closed)");
}

TEST_CASE("backend-outage: an answer ends the outage once; the next failure warns again")
{
	BackendOutage outage;
	CHECK_FALSE(outage.answered()); // no outage: nothing to say
	outage.failed("alice", "down", "login", FailMode::open);
	auto over = outage.answered();
	REQUIRE(over);
	CHECK(over->name == nullptr); // a log line, not a named event
	CHECK(over->level == Level::info);
	CHECK(over->message == "memcached answers again");
	CHECK_FALSE(outage.answered());
	CHECK(outage.failed("alice", "down", "login", FailMode::open).level == Level::warning);
}

TEST_CASE("backend-outage: the user is made printable for the log line")
{
	BackendOutage outage;
	Event e = outage.failed("ctl\x01user", "down", "login", FailMode::open);
	CHECK(e.user.find('\x01') == std::string::npos);
}

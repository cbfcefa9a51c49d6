// Per-user overrides at the C boundary: each overridable name asked once, a copy only for a
// user who has overrides.
#include "user-settings.hh"

#include <catch2/catch.hpp>

#include <map>
#include <string>

using namespace account_guard;

namespace {

// A user's fields, counting how often each name is asked.
struct Fields {
	std::map<std::string, std::string> values;
	std::map<std::string, int> asked;
};

const char *fields_getenv(const char *name, void *context)
{
	auto *f = static_cast<Fields *>(context);
	f->asked[name]++;
	auto it = f->values.find(name);
	return it == f->values.end() ? nullptr : it->second.c_str();
}

Settings base_settings()
{
	return parse_settings([](const char *) -> const char * { return nullptr; }, "mx.example.net");
}

} // namespace

TEST_CASE("user-settings: without a lookup, the engine's own settings")
{
	Settings base = base_settings();
	UserSettings s(base, nullptr, nullptr);
	CHECK(&s.get() == &base);
	CHECK_FALSE(s.overridden());
}

TEST_CASE("user-settings: a user without overrides: every name asked once, no copy")
{
	Settings base = base_settings();
	Fields f;
	UserSettings s(base, fields_getenv, &f);
	CHECK(&s.get() == &base);
	CHECK_FALSE(s.overridden());
	CHECK(f.asked.size() == overridable_setting_names().size());
	for (const auto &[name, times] : f.asked) {
		CAPTURE(name);
		CHECK(times == 1);
	}
}

TEST_CASE("user-settings: overrides apply to a copy, each name still asked once")
{
	Settings base = base_settings();
	Fields f;
	f.values = {{"account_guard_ip_limit", "2/1h"},
		    {"account_guard_fail_mode", "closed"},
		    {"account_guard_memcached_servers", "evil:1"}}; // not overridable: never asked
	UserSettings s(base, fields_getenv, &f);
	REQUIRE(s.overridden());
	CHECK(&s.get() != &base);
	CHECK(s.get().ip_limit[0].to_string() == "2/1h");
	CHECK(s.get().fail_mode == FailMode::closed);
	CHECK(s.get().memcached_servers[0].host == "127.0.0.1");
	CHECK(s.get().notify_from == "postmaster@mx.example.net"); // the rest is the engine's
	CHECK(base.ip_limit[0].to_string() == "10/1h");
	CHECK(f.asked.count("account_guard_memcached_servers") == 0);
	for (const auto &[name, times] : f.asked) {
		CAPTURE(name);
		CHECK(times == 1);
	}
}

TEST_CASE("user-settings: an invalid override throws the setting's error")
{
	Settings base = base_settings();
	Fields f;
	f.values = {{"account_guard_ip_limit", "1/1q"}};
	CHECK_THROWS_WITH(UserSettings(base, fields_getenv, &f), "account_guard_ip_limit: invalid limit '1/1q'");
	// Checks across settings too: an AS list needs the ASN database.
	f.values = {{"account_guard_nat_asns", "AS64500"}};
	CHECK_THROWS_WITH(UserSettings(base, fields_getenv, &f),
			  "account_guard_nat_asns: needs account_guard_asn_db to be set");
}

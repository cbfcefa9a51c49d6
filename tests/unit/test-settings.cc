#include "settings.hh"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>

using namespace account_guard;

namespace {

Getenv env(std::map<std::string, std::string> values)
{
	auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(values));
	return [shared](const char *name) -> const char * {
		auto it = shared->find(name);
		return it == shared->end() ? nullptr : it->second.c_str();
	};
}

std::string error_of(std::map<std::string, std::string> values)
{
	try {
		parse_settings(env(std::move(values)));
	} catch (const SettingError &e) {
		return e.what();
	}
	return "";
}

} // namespace

TEST_CASE("settings: defaults match conf.d/90-account-guard.conf")
{
	Settings s = parse_settings(env({}));
	REQUIRE(s.memcached_servers.size() == 1);
	CHECK(s.memcached_servers[0].host == "127.0.0.1");
	CHECK(s.memcached_servers[0].port == 11211);
	CHECK(s.memcached_timeout.count() == 100);
	CHECK(s.key_prefix == "ag:");
	CHECK(s.record_services.contains("smtp"));
	CHECK(s.record_services.contains("submission"));
	CHECK_FALSE(s.record_services.contains("imap"));
	CHECK(s.lock_services.contains("imap"));
	CHECK(s.lock_services.contains("anything"));
	REQUIRE(s.ip_limit.size() == 1);
	CHECK(s.ip_limit[0].to_string() == "10/1h");
	CHECK(s.country_limit[0].to_string() == "3/24h"); // spelled as configured
	CHECK(s.ipv4_prefix == 24);
	CHECK(s.ipv6_prefix == 64);
	REQUIRE(s.recipient_limit.size() == 2);
	CHECK(s.recipient_limit[0].count == 500);
	CHECK(s.recipient_limit[1].window == 86400);
	CHECK(s.unlock_on_password_change);
	CHECK(s.lock_message == "Account locked after suspicious logins. Change your password to unlock it.");
	CHECK(s.notify.empty());
	CHECK(s.notify_from.rfind("postmaster@", 0) == 0);
	CHECK(s.mode == Mode::enforce);
	CHECK(s.fail_mode == FailMode::open);
}

TEST_CASE("settings: durations")
{
	CHECK(parse_duration("x", "90s") == 90);
	CHECK(parse_duration("x", "30m") == 1800);
	CHECK(parse_duration("x", "24h") == 86400);
	CHECK(parse_duration("x", "7d") == 604800);
	CHECK(parse_duration("x", "2w") == 1209600);
	const char *bad = GENERATE("", "1", "60", "3600", "h", "0h", "1x", "-1h", "1.5h", "1 h", "400d", "99999999999999999999h");
	CAPTURE(bad);
	CHECK_THROWS_AS(parse_duration("x", bad), SettingError);
}

TEST_CASE("settings: limit lists")
{
	LimitList l = parse_limit_list("account_guard_ip_limit", "20/24h 10/1h");
	REQUIRE(l.size() == 2);
	CHECK(l[0].count == 10); // sorted by window
	CHECK(l[0].window == 3600);
	CHECK(l[1].count == 20);
	CHECK(parse_limit_list("n", "").empty());
	CHECK(parse_limit_list("n", "0").empty());
	CHECK(parse_limit_list("n", "  ").empty());
	CHECK(format_duration(5400) == "90m");
	CHECK(l[1].to_string() == "20/24h");
	CHECK(Limit{5, 7200, ""}.to_string() == "5/2h");
}

TEST_CASE("settings: a limit window without a unit is refused")
{
	// "10/60" is not read as ten per minute (or per 60 of anything): the unit is required.
	CHECK(error_of({{"account_guard_ip_limit", "10/60"}}) == "account_guard_ip_limit: invalid limit '10/60'");
	CHECK(error_of({{"account_guard_country_limit", "3/86400"}}) ==
	      "account_guard_country_limit: invalid limit '3/86400'");
	CHECK(error_of({{"account_guard_recipient_limit", "500/1h 2000/86400"}}) ==
	      "account_guard_recipient_limit: invalid limit '2000/86400'");
	CHECK_THROWS_AS(parse_limit_list("account_guard_ip_limit", "10/60"), SettingError);
}

TEST_CASE("settings: a bad value names the setting and the value")
{
	CHECK(error_of({{"account_guard_ip_limit", "10/1x"}}) == "account_guard_ip_limit: invalid limit '10/1x'");
	CHECK(error_of({{"account_guard_ip_limit", "10"}}) == "account_guard_ip_limit: invalid limit '10'");
	CHECK(error_of({{"account_guard_ip_limit", "0/1h"}}).rfind("account_guard_ip_limit:", 0) == 0);
	CHECK(error_of({{"account_guard_ip_limit", "5/1h 6/60m"}}).rfind("account_guard_ip_limit: two limits", 0) == 0);
	CHECK(error_of({{"account_guard_ip_limit", "50000/1h"}}).find("'50000/1h'") != std::string::npos);
	CHECK(error_of({{"account_guard_country_limit", "3/1y"}}) == "account_guard_country_limit: invalid limit '3/1y'");
	CHECK(error_of({{"account_guard_recipient_limit", "a/1h"}}) == "account_guard_recipient_limit: invalid limit 'a/1h'");
	CHECK(error_of({{"account_guard_memcached_timeout", "100"}}).find("account_guard_memcached_timeout: invalid timeout") == 0);
	CHECK(error_of({{"account_guard_memcached_timeout", "0ms"}}).find("account_guard_memcached_timeout:") == 0);
	CHECK(error_of({{"account_guard_memcached_timeout", "2m"}}).find("'2m'") != std::string::npos);
	CHECK(error_of({{"account_guard_memcached_servers", "host:99999"}}) == "account_guard_memcached_servers: invalid port in 'host:99999'");
	CHECK(error_of({{"account_guard_memcached_servers", ""}}).find("account_guard_memcached_servers:") == 0);
	CHECK(error_of({{"account_guard_memcached_servers", "::1:11211"}}).find("brackets") != std::string::npos);
	CHECK(error_of({{"account_guard_ipv4_prefix", "33"}}) == "account_guard_ipv4_prefix: prefix length out of range (1-32) '33'");
	CHECK(error_of({{"account_guard_ipv6_prefix", "0"}}).find("account_guard_ipv6_prefix:") == 0);
	CHECK(error_of({{"account_guard_exempt_networks", "192.0.2.0/24 10.0.0.1/8"}}).find("account_guard_exempt_networks: host bits set") == 0);
	CHECK(error_of({{"account_guard_nat_networks", "foo"}}) == "account_guard_nat_networks: invalid address in network 'foo'");
	CHECK(error_of({{"account_guard_record_services", "smtp im@p"}}) == "account_guard_record_services: invalid service name 'im@p'");
	CHECK(error_of({{"account_guard_mode", "dry"}}) == "account_guard_mode: expected enforce or log, got 'dry'");
	CHECK(error_of({{"account_guard_fail_mode", "shut"}}) == "account_guard_fail_mode: expected open or closed, got 'shut'");
	CHECK(error_of({{"account_guard_unlock_on_password_change", "maybe"}}).find("account_guard_unlock_on_password_change:") == 0);
	CHECK(error_of({{"account_guard_key_prefix", "a b"}}).find("account_guard_key_prefix:") == 0);
	CHECK(error_of({{"account_guard_notify", "nobody"}}) == "account_guard_notify: invalid address 'nobody'");
	CHECK(error_of({{"account_guard_lock_message", ""}}).find("account_guard_lock_message:") == 0);
	CHECK(error_of({{"account_guard_exempt_asns", "AS15169"}}) == "account_guard_exempt_asns: needs account_guard_asn_db to be set");
	CHECK(error_of({{"account_guard_nat_asns", "ASx"}}) == "account_guard_nat_asns: invalid AS number 'ASx'");
}

TEST_CASE("settings: control bytes in a bad value do not reach the log line raw")
{
	std::string msg = error_of({{"account_guard_mode", std::string("a\nb\x01")}});
	CHECK(msg.find('\n') == std::string::npos);
	CHECK(msg.find('\x01') == std::string::npos);
}

TEST_CASE("settings: lists and values parse")
{
	Settings s = parse_settings(env({
		{"account_guard_memcached_servers", "10.0.0.1:11211, mc2 [::1]:11212"},
		{"account_guard_memcached_timeout", "2s"},
		{"account_guard_record_services", "smtp imap"},
		{"account_guard_lock_services", "smtp submission"},
		{"account_guard_exempt_networks", "192.0.2.0/24,2001:db8::/32"},
		{"account_guard_nat_networks", "100.64.0.0/10"},
		{"account_guard_asn_db", "/var/lib/GeoIP/asn.mmdb"},
		{"account_guard_exempt_asns", "AS15169 8075"},
		{"account_guard_mode", "log"},
		{"account_guard_fail_mode", " closed "},
		{"account_guard_unlock_on_password_change", "no"},
	}));
	REQUIRE(s.memcached_servers.size() == 3);
	CHECK(s.memcached_servers[1].host == "mc2");
	CHECK(s.memcached_servers[1].port == 11211);
	CHECK(s.memcached_servers[2].host == "::1");
	CHECK(s.memcached_servers[2].port == 11212);
	CHECK(s.memcached_timeout.count() == 2000);
	CHECK(s.record_services.contains("imap"));
	CHECK_FALSE(s.lock_services.contains("imap"));
	CHECK(s.exempt_networks.items().size() == 2);
	CHECK(s.nat_networks.items().size() == 1);
	CHECK(s.exempt_asns == std::vector<std::uint32_t>{15169, 8075});
	CHECK(s.mode == Mode::log);
	CHECK(s.fail_mode == FailMode::closed);
	CHECK_FALSE(s.unlock_on_password_change);
}

TEST_CASE("settings: the city database and the travel speed")
{
	Settings defaults = parse_settings(env({}));
	CHECK(defaults.city_db.empty());
	CHECK(defaults.travel_speed == 1000);

	Settings s = parse_settings(env({
		{"account_guard_city_db", "/var/lib/GeoIP/GeoLite2-City.mmdb"},
		{"account_guard_travel_speed", " 800 "},
	}));
	CHECK(s.city_db == "/var/lib/GeoIP/GeoLite2-City.mmdb");
	CHECK(s.travel_speed == 800);
	CHECK(parse_settings(env({{"account_guard_travel_speed", "0"}})).travel_speed == 0);
	CHECK(parse_settings(env({{"account_guard_travel_speed", "100000"}})).travel_speed == 100000);

	for (const char *bad : {"x", "-1", "1000km/h", "100001", "99999999999999999999", "1.5", ""}) {
		CAPTURE(bad);
		CHECK(error_of({{"account_guard_travel_speed", bad}}) ==
		      std::string("account_guard_travel_speed: invalid speed (0-100000 km/h) '") + bad + "'");
	}

	// The speed is policy, a user may have their own; the file is the host's.
	Settings user = apply_user_overrides(s, env({
		{"account_guard_travel_speed", "0"},
		{"account_guard_city_db", "/tmp/evil.mmdb"},
	}));
	CHECK(user.travel_speed == 0);
	CHECK(user.city_db == "/var/lib/GeoIP/GeoLite2-City.mmdb");
	const auto &names = overridable_setting_names();
	CHECK(std::find_if(names.begin(), names.end(), [](const char *n) {
		      return std::string(n) == "account_guard_travel_speed";
	      }) != names.end());
	CHECK_THROWS_WITH(apply_user_overrides(s, env({{"account_guard_travel_speed", "fast"}})),
			  "account_guard_travel_speed: invalid speed (0-100000 km/h) 'fast'");
}

TEST_CASE("settings: per-user overrides apply only to policy settings")
{
	Settings base = parse_settings(env({}));
	Settings user = apply_user_overrides(base, env({
		{"account_guard_ip_limit", "2/1h"},
		{"account_guard_memcached_servers", "evil:1"},
	}));
	CHECK(user.ip_limit[0].count == 2);
	CHECK(user.memcached_servers[0].host == "127.0.0.1");
	CHECK(base.ip_limit[0].count == 10);
	CHECK_THROWS_WITH(apply_user_overrides(base, env({{"account_guard_ip_limit", "x"}})),
			  "account_guard_ip_limit: invalid limit 'x'");
}

TEST_CASE("settings: an empty notify_from means the default")
{
	Settings s = parse_settings([](const char *name) -> const char * {
		return std::string(name) == "account_guard_notify_from" ? "" : nullptr;
	});
	CHECK(s.notify_from.rfind("postmaster@", 0) == 0);
}

TEST_CASE("settings: the notify_from default is postmaster@ the host name passed in")
{
	CHECK(parse_settings(env({}), "mx1.example.net").notify_from == "postmaster@mx1.example.net");
	CHECK(parse_settings(env({{"account_guard_notify_from", ""}}), "mx1.example.net").notify_from ==
	      "postmaster@mx1.example.net");
	// No name known (or none given): localhost, as when gethostname() fails.
	CHECK(parse_settings(env({}), "").notify_from == "postmaster@localhost");
	CHECK(parse_settings(env({})).notify_from == "postmaster@localhost");
	CHECK(parse_settings(env({{"account_guard_notify_from", "guard@example.net"}}), "mx1.example.net")
		      .notify_from == "guard@example.net");
}

TEST_CASE("settings: overrides given as values apply like those looked up")
{
	Settings base = parse_settings(env({}));
	Settings user = apply_user_overrides(base, std::vector<SettingValue>{
		{"account_guard_ip_limit", " 2/1h "},
		{"account_guard_key_prefix", "evil:"}, // not overridable: ignored
	});
	CHECK(user.ip_limit[0].to_string() == "2/1h");
	CHECK(user.key_prefix == "ag:");
	CHECK_THROWS_WITH(apply_user_overrides(base, std::vector<SettingValue>{{"account_guard_mode", "x"}}),
			  "account_guard_mode: expected enforce or log, got 'x'");
}

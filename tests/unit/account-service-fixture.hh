#pragma once
// AccountService over the in-memory store for its tests: one store (Fixture) and three
// simulated memcached servers holding the account record and its lock replica (Cluster).

#include "account-service.hh"

#include "keys.hh"
#include "memory-store.hh"

#include <catch2/catch.hpp>

#include <ctime>
#include <string>
#include <string_view>

namespace account_guard::service_test {

struct Fixture {
	std::time_t now = 1790000000;
	MemoryStore store{[this] { return now; }};
	// A profile of one day: the record then expires with the recent history, as these tests
	// of the store's items expect (the default profile keeps it 60 days).
	Settings s = parse_settings([](const char *name) -> const char * {
		const std::string n = name;
		return n == "account_guard_ip_limit" ? "3/1h"
		       : n == "account_guard_profile_period" ? "1d"
		       : n == "account_guard_profile_learning" ? "1h" : nullptr;
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

inline std::string net(int i) { return "203.0." + std::to_string(i) + ".1"; }

// Three simulated memcached servers: the account record and its lock replica on two of them.
struct Cluster {
	std::time_t now = 1790000000;
	MemoryStore store{[this] { return now; }, 3};
	Settings s = parse_settings([](const char *name) -> const char * {
		const std::string n = name;
		return n == "account_guard_ip_limit" ? "2/1h"
		       : n == "account_guard_profile_period" ? "1d"
		       : n == "account_guard_profile_learning" ? "1h" : nullptr;
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

} // namespace account_guard::service_test

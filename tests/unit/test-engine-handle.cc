// The composition root (engine-handle.cc): which process opens the MaxMind files, where the
// host name comes from, and what the event loop drives.
#include "account-guard.h"

#include "async-memcached.hh"
#include "engine-handle.hh"
#include "memory-store.hh"
#include "setting-values.hh"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace account_guard;
using account_guard::test::lookup;
using account_guard::test::Values;

namespace {

std::time_t fixed_clock() { return 1790000000; }

} // namespace

TEST_CASE("engine-handle: only a login engine opens the GeoIP / ASN / city files")
{
	for (const char *setting : {"account_guard_geoip_db", "account_guard_asn_db", "account_guard_city_db"}) {
		CAPTURE(setting);
		Values v{{setting, "/nonexistent/account-guard-test.mmdb"}};
		char error[256] = "";
		ag_engine *engine = nullptr;

		// Submission, doveadm, the password tool: they never read the files, so a missing
		// one does not stop them.
		REQUIRE(ag_engine_new(lookup, &v, &engine, error, sizeof(error)) == AG_OK);
		REQUIRE(engine != nullptr);
		CHECK(engine->geo == nullptr);
		ag_engine_free(&engine);
		REQUIRE(ag_engine_new_flags(lookup, &v, 0, &engine, error, sizeof(error)) == AG_OK);
		ag_engine_free(&engine);

		// The auth process: a missing file stops start-up, naming the setting.
		CHECK(ag_engine_new_flags(lookup, &v, AG_ENGINE_LOGINS, &engine, error, sizeof(error)) ==
		      AG_ERR_CONFIG);
		CHECK(engine == nullptr);
		CHECK(std::string(error).rfind(std::string(setting) +
						       ": cannot open '/nonexistent/account-guard-test.mmdb'", 0) == 0);
	}
}

TEST_CASE("engine-handle: settings are checked alike for every process")
{
	// The check across settings does not depend on the files being opened.
	Values v{{"account_guard_exempt_asns", "AS15169"}};
	char error[256] = "";
	ag_engine *engine = nullptr;
	CHECK(ag_engine_new(lookup, &v, &engine, error, sizeof(error)) == AG_ERR_CONFIG);
	CHECK(std::string(error) == "account_guard_exempt_asns: needs account_guard_asn_db to be set");
}

namespace {

void collect(const ag_event *ev, void *context)
{
	static_cast<std::vector<std::string> *>(context)->push_back(ev->message);
}

} // namespace

TEST_CASE("engine-handle: a login on an engine made without AG_ENGINE_LOGINS is an internal error")
{
	for (const char *mode : {"open", "closed"}) {
		CAPTURE(mode);
		Values v{{"account_guard_fail_mode", mode}};
		auto engine = make_engine([&](const char *name) { return lookup(name, &v); },
					  std::make_unique<MemoryStore>(fixed_clock),
					  nullptr, EngineUse::recipients_and_admin);
		struct ag_login in{};
		in.user = "alice";
		in.service = "smtp";
		in.remote_ip = "192.0.2.1";
		in.now = 1790000000;
		enum ag_verdict verdict;
		char message[64];
		std::vector<std::string> events;
		CHECK(ag_login(engine.get(), &in, &verdict, message, sizeof(message), collect, &events) ==
		      AG_ERR_INTERNAL);
		CHECK(verdict == (std::string(mode) == "open" ? AG_VERDICT_ALLOW : AG_VERDICT_TEMPFAIL));
		REQUIRE(events.size() == 1);
		CHECK(events[0] == "internal error: a login on an engine made without AG_ENGINE_LOGINS");
	}
}

TEST_CASE("engine-handle: notify_from defaults to postmaster@ the host name it is given")
{
	Values v;
	auto getenv = [&](const char *name) { return lookup(name, &v); };
	auto engine = make_engine(getenv, std::make_unique<MemoryStore>(fixed_clock), nullptr, EngineUse::logins,
				  "mx1.example.net");
	CHECK(engine->settings.notify_from == "postmaster@mx1.example.net");

	// By default, the system's name.
	engine = make_engine(getenv, std::make_unique<MemoryStore>(fixed_clock));
	const std::string host = system_host_name();
	CHECK(engine->settings.notify_from == "postmaster@" + (host.empty() ? "localhost" : host));

	// A configured sender wins over any host name.
	v["account_guard_notify_from"] = "guard@example.net";
	engine = make_engine(getenv, std::make_unique<MemoryStore>(fixed_clock), nullptr, EngineUse::logins,
			     "mx1.example.net");
	CHECK(engine->settings.notify_from == "guard@example.net");
}

TEST_CASE("engine-handle: the event loop drives the store attach_loop made, and only that")
{
	Values v{{"account_guard_memcached_servers", "127.0.0.1:1"}};
	auto engine = make_engine([&](const char *name) { return lookup(name, &v); },
				  std::make_unique<MemoryStore>(fixed_clock));
	CHECK(engine->loop_store == nullptr);
	// Nothing attached: readiness events and timers are ignored.
	ag_engine_io(engine.get(), 0, AG_IO_READ);
	ag_engine_timer(engine.get());

	struct ag_event_loop loop{};
	loop.watch = [](int, int, void *) {};
	loop.timer = [](int, void *) {};
	char error[128];
	REQUIRE(ag_engine_attach_loop(engine.get(), &loop, error, sizeof(error)) == AG_OK);
	CHECK(engine->loop_store != nullptr);
	CHECK(static_cast<AsyncStore *>(engine->loop_store) == engine->async_store.get());
}

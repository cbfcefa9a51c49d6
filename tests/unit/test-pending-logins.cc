// The logins of ag_login_start() in flight, owned by the engine's PendingLogins: counted
// while they wait, gone before their answer, never left behind by an exception.
#include "pending-logins.hh"

#include "engine-handle.hh"
#include "memory-store.hh"
#include "setting-values.hh"
#include "sync-async-store.hh"

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

using namespace account_guard;
using account_guard::test::lookup;
using account_guard::test::Values;

namespace {

struct Answers {
	std::vector<ag_verdict> verdicts;
	std::vector<std::string> events;
	// Runs inside done, with what done saw: the number of logins still in flight.
	std::function<void()> inside_done;
	std::vector<std::size_t> in_flight_at_done;
	PendingLogins *pending = nullptr;
};

void on_done(ag_verdict verdict, const char *, void *context)
{
	auto *a = static_cast<Answers *>(context);
	a->verdicts.push_back(verdict);
	a->in_flight_at_done.push_back(a->pending->size());
	if (a->inside_done)
		a->inside_done();
}

void on_event(const ag_event *ev, void *context)
{
	static_cast<Answers *>(context)->events.push_back(ev->message);
}

struct Harness {
	MemoryStore *store = nullptr;
	SyncAsyncStore *async = nullptr;
	std::unique_ptr<ag_engine> engine;

	explicit Harness(Values settings, EngineUse use = EngineUse::logins, bool attach = true)
	{
		auto mem = std::make_unique<MemoryStore>([] { return std::time_t(1790000000); });
		store = mem.get();
		engine = make_engine([&](const char *name) { return lookup(name, &settings); }, std::move(mem),
				     nullptr, use, "mx.example.net");
		if (attach) {
			auto sync = std::make_unique<SyncAsyncStore>(*engine->store, [](std::chrono::microseconds) {});
			async = sync.get();
			engine->async_store = std::move(sync);
		}
	}

	void start(const char *user, const char *service, Answers &answers, Values *user_values = nullptr)
	{
		answers.pending = &engine->pending;
		struct ag_login in{};
		in.user = user;
		in.service = service;
		in.remote_ip = "192.0.2.10";
		in.password = "secret";
		in.password_len = 6;
		in.now = 1790000000;
		if (user_values != nullptr) {
			in.user_getenv = lookup;
			in.user_getenv_context = user_values;
		}
		engine->pending.start(in, on_event, on_done, &answers);
	}
};

} // namespace

TEST_CASE("pending-logins: a login waiting for the store is held, and gone before its answer")
{
	Harness h(Values{});
	Answers a;
	h.start("alice", "smtp", a);
	h.start("bob", "smtp", a);
	CHECK(h.engine->pending.size() == 2);
	CHECK(a.verdicts.empty());
	h.async->run();
	CHECK(a.verdicts == std::vector<ag_verdict>{AG_VERDICT_ALLOW, AG_VERDICT_ALLOW});
	// Each one had left when its done ran.
	CHECK(a.in_flight_at_done == std::vector<std::size_t>{1, 0});
	CHECK(h.engine->pending.size() == 0);
}

TEST_CASE("pending-logins: done may start the next login")
{
	Harness h(Values{});
	Answers first, second;
	first.inside_done = [&] { h.start("alice", "smtp", second); };
	h.start("alice", "smtp", first);
	h.async->run();
	CHECK(first.verdicts.size() == 1);
	CHECK(second.verdicts.size() == 1);
	CHECK(h.engine->pending.size() == 0);
}

TEST_CASE("pending-logins: settled without the store, a login is answered at once and not kept")
{
	Harness h(Values{{"account_guard_record_services", "smtp"}, {"account_guard_lock_services", "smtp"}});
	Answers a;
	h.start("carol", "pop3", a);
	CHECK(a.verdicts == std::vector<ag_verdict>{AG_VERDICT_ALLOW});
	CHECK(a.in_flight_at_done == std::vector<std::size_t>{0});
	CHECK(h.store->operations() == 0);

	Values bad{{"account_guard_fail_mode", "closed"}, {"account_guard_ip_limit", "ten"}};
	Answers b;
	h.start("carol", "smtp", b, &bad);
	// An invalid override: the engine's fail_mode (open), not the user's broken one.
	CHECK(b.verdicts == std::vector<ag_verdict>{AG_VERDICT_ALLOW});
	CHECK(h.engine->pending.size() == 0);
	REQUIRE(b.events.size() == 1);
	CHECK(b.events[0] == "invalid per-user setting: account_guard_ip_limit: invalid limit 'ten'");
}

TEST_CASE("pending-logins: an exception leaves nothing in flight and no answer given")
{
	SECTION("not attached to a loop")
	{
		Harness h(Values{}, EngineUse::logins, false);
		Answers a;
		CHECK_THROWS_AS(h.start("dave", "smtp", a), std::logic_error);
		CHECK(h.engine->pending.size() == 0);
		CHECK(a.verdicts.empty());
	}
	SECTION("an engine that does not decide logins")
	{
		Harness h(Values{}, EngineUse::recipients_and_admin);
		Answers a;
		CHECK_THROWS_AS(h.start("dave", "smtp", a), std::logic_error);
		CHECK(h.engine->pending.size() == 0);
		CHECK(a.verdicts.empty());
		CHECK(h.store->operations() == 0);
	}
}

TEST_CASE("pending-logins: freed with the engine, a login in flight is never answered")
{
	Harness h(Values{});
	Answers a;
	h.start("erin", "smtp", a);
	REQUIRE(h.engine->pending.size() == 1);
	h.engine.reset(); // ASan/valgrind: no leak, no use after free
	CHECK(a.verdicts.empty());
}

// ag_login_start(), the non-blocking login the auth process uses: the same decisions as
// ag_login(), answered later through the store's replies, with the caller's strings copied.
#include "account-guard.h"

#include "engine-handle.hh"
#include "memory-store.hh"
#include "setting-values.hh"
#include "sync-async-store.hh"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace account_guard;
using account_guard::test::lookup;
using account_guard::test::Values;

namespace {

struct Answer {
	int answers = 0;
	ag_verdict verdict = AG_VERDICT_ALLOW;
	std::string message;
	std::vector<std::string> events;
	std::vector<std::string> notified;
};

void on_event(const ag_event *ev, void *context)
{
	static_cast<Answer *>(context)->events.push_back(ev->name != nullptr ? ev->name : "");
}

void on_done(ag_verdict verdict, const char *message, void *context)
{
	auto *a = static_cast<Answer *>(context);
	a->answers++;
	a->verdict = verdict;
	a->message = message;
}

void on_notify(const ag_notification *n, void *context)
{
	static_cast<Answer *>(context)->notified.push_back(n->reason);
}

struct Harness {
	std::time_t now = 1790000000;
	MemoryStore *store = nullptr;
	SyncAsyncStore *async = nullptr;
	std::unique_ptr<ag_engine> engine;

	explicit Harness(Values settings)
	{
		auto mem = std::make_unique<MemoryStore>([this] { return now; });
		store = mem.get();
		engine = make_engine([&](const char *name) { return lookup(name, &settings); }, std::move(mem));
		auto sync = std::make_unique<SyncAsyncStore>(*engine->store, [](std::chrono::microseconds) {});
		async = sync.get();
		engine->async_store = std::move(sync);
	}

	// Starts a login from strings that are gone before the store answers.
	void start(const char *user, const char *ip, Answer &answer, const char *service = "smtp",
		   Values *user_values = nullptr)
	{
		std::string user_copy = user, ip_copy = ip, service_copy = service, password = "secret";
		struct ag_login in{};
		in.user = user_copy.c_str();
		in.service = service_copy.c_str();
		in.remote_ip = ip_copy.c_str();
		in.password = password.c_str();
		in.password_len = password.size();
		in.now = now;
		in.on_notify = on_notify;
		in.notify_context = &answer;
		if (user_values != nullptr) {
			in.user_getenv = lookup;
			in.user_getenv_context = user_values;
		}
		ag_login_start(engine.get(), &in, on_event, on_done, &answer);
		std::memset(user_copy.data(), 'x', user_copy.size());
		std::memset(ip_copy.data(), 'x', ip_copy.size());
		std::memset(password.data(), 'x', password.size());
	}
};

std::string ip(int i) { return "192.0." + std::to_string(i) + ".10"; }

} // namespace

TEST_CASE("login-start: answers through done once the store has answered, never before")
{
	Harness h(Values{{"account_guard_ip_limit", "2/1h"}, {"account_guard_lock_message", "Locked."},
			 {"account_guard_notify", "postmaster@example.com"}});
	Answer a1, a2, a3;
	h.start("alice", ip(1).c_str(), a1);
	CHECK(a1.answers == 0); // the store's reply is still queued
	h.async->run();
	CHECK(a1.answers == 1);
	CHECK(a1.verdict == AG_VERDICT_ALLOW);

	// Many logins in flight at once, answered in one run of the loop.
	h.start("alice", ip(2).c_str(), a2);
	h.start("alice", ip(3).c_str(), a3);
	h.async->run();
	CHECK(a2.answers == 1);
	CHECK(a3.answers == 1);
	// Both read the same record; the second's compare-and-swap lost, it decided again on
	// the first one's data and crossed the limit: exactly one lock, one notification.
	CHECK(a2.verdict == AG_VERDICT_ALLOW);
	CHECK(a3.verdict == AG_VERDICT_REFUSE);
	CHECK(a3.message == "Locked.");
	CHECK(a3.notified == std::vector<std::string>{"lock"});
	CHECK(std::count(a3.events.begin(), a3.events.end(), "account_guard_account_locked") == 1);

	// The copies were taken: the record holds the real address, not the overwritten one.
	char fields[512] = "";
	auto on_field = [](const char *name, const char *value, void *ctx) {
		if (std::strcmp(name, "networks") == 0)
			std::strcat(static_cast<char *>(ctx), value);
	};
	char error[128];
	REQUIRE(ag_account_status(h.engine.get(), "alice", h.now, on_field, fields, error, sizeof(error)) == AG_OK);
	CHECK(std::string(fields).find("192.0.1.0/24") != std::string::npos);
}

TEST_CASE("login-start: a locked account is refused, other accounts are not")
{
	Harness h(Values{{"account_guard_ip_limit", "1/1h"}});
	Answer a, b, c;
	h.start("bob", ip(1).c_str(), a);
	h.async->run();
	h.start("bob", ip(2).c_str(), b);
	h.start("carol", ip(2).c_str(), c);
	h.async->run();
	CHECK(b.verdict == AG_VERDICT_REFUSE);
	CHECK(c.verdict == AG_VERDICT_ALLOW);
}

TEST_CASE("login-start: answered at once when there is nothing to look up")
{
	Harness h(Values{{"account_guard_lock_services", "smtp"}, {"account_guard_record_services", "smtp"}});
	Answer a;
	h.start("dave", ip(1).c_str(), a, "pop3");
	CHECK(a.answers == 1);
	CHECK(a.verdict == AG_VERDICT_ALLOW);

	// An invalid per-user override: reported, then the fail_mode verdict at once.
	Values bad{{"account_guard_ip_limit", "ten"}};
	Answer b;
	h.start("dave", ip(1).c_str(), b, "smtp", &bad);
	CHECK(b.answers == 1);
	CHECK(b.verdict == AG_VERDICT_ALLOW);
	CHECK(std::count(b.events.begin(), b.events.end(), "account_guard_backend_failed") == 1);
}

TEST_CASE("login-start: a failing store follows fail_mode, reported once per outage")
{
	Harness h(Values{{"account_guard_fail_mode", "closed"}});
	h.store->set_unavailable(true);
	Answer a, b;
	h.start("erin", ip(1).c_str(), a);
	h.start("erin", ip(2).c_str(), b);
	h.async->run();
	CHECK(a.verdict == AG_VERDICT_TEMPFAIL);
	CHECK(b.verdict == AG_VERDICT_TEMPFAIL);
	CHECK(a.events == std::vector<std::string>{"account_guard_backend_failed"});
}

TEST_CASE("login-start: logins still in flight when the engine is freed never answer")
{
	Harness h(Values{});
	Answer a;
	h.start("frank", ip(1).c_str(), a);
	h.engine.reset(); // frees the pending login (ASan/valgrind: no leak, no use after free)
	CHECK(a.answers == 0);
}

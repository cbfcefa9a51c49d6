// The C boundary as the Dovecot glue uses it, over an in-memory store.
#include "account-guard.h"

#include "engine-handle.hh"
#include "memory-store.hh"
#include "geo-lookup.hh"
#include "setting-values.hh"

#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace account_guard;
using account_guard::test::lookup;
using account_guard::test::Values;

namespace {

struct Logged {
	std::string name;
	int level;
	std::string message;
	std::string reason;
};

void collect(const ag_event *ev, void *context)
{
	static_cast<std::vector<Logged> *>(context)->push_back(
		{ev->name ? ev->name : "", ev->level, ev->message, ev->reason ? ev->reason : ""});
}

struct Harness {
	std::time_t now = 1790000000;
	MemoryStore *store = nullptr;
	std::unique_ptr<ag_engine> engine;
	std::vector<Logged> events;

	explicit Harness(Values settings)
	{
		auto mem = std::make_unique<MemoryStore>([this] { return now; });
		store = mem.get();
		engine = make_engine([&](const char *name) { return lookup(name, &settings); }, std::move(mem));
	}

	int login(const char *user, const char *ip, enum ag_verdict *verdict, std::string *message = nullptr,
		  Values *user_values = nullptr, const char *password = "secret")
	{
		struct ag_login in{};
		in.user = user;
		in.service = "smtp";
		in.remote_ip = ip;
		in.password = password;
		in.password_len = password ? strlen(password) : 0;
		in.now = now;
		if (user_values) {
			in.user_getenv = lookup;
			in.user_getenv_context = user_values;
		}
		char buf[256];
		int ret = ag_login(engine.get(), &in, verdict, buf, sizeof(buf), collect, &events);
		if (message)
			*message = buf;
		return ret;
	}
};

std::string ip(int i) { return "192.0." + std::to_string(i) + ".10"; }

} // namespace

TEST_CASE("c-api: a bad setting is refused with the setting and the value")
{
	Values v{{"account_guard_ip_limit", "10/1x"}};
	ag_engine *engine = reinterpret_cast<ag_engine *>(1);
	char error[256];
	CHECK(ag_engine_new(lookup, &v, &engine, error, sizeof(error)) == AG_ERR_CONFIG);
	CHECK(engine == nullptr);
	CHECK(std::string(error) == "account_guard_ip_limit: invalid limit '10/1x'");
	// A tiny error buffer is truncated, never overrun.
	char tiny[8];
	CHECK(ag_engine_new(lookup, &v, &engine, tiny, sizeof(tiny)) == AG_ERR_CONFIG);
	CHECK(std::string(tiny) == "account");
}

TEST_CASE("c-api: a valid configuration makes an engine without connecting")
{
	Values v{{"account_guard_memcached_servers", "127.0.0.1:1"}, {"account_guard_fail_mode", "closed"}};
	ag_engine *engine = nullptr;
	char error[256];
	REQUIRE(ag_engine_new(lookup, &v, &engine, error, sizeof(error)) == AG_OK);
	CHECK(ag_engine_is_fail_closed(engine) == 1);
	CHECK(ag_engine_is_dry_run(engine) == 0);
	ag_engine_free(&engine);
	CHECK(engine == nullptr);
}

TEST_CASE("c-api: lock, refuse with the configured message, status, unlock")
{
	Harness h(Values{{"account_guard_ip_limit", "2/1h"}, {"account_guard_lock_message", "Locked, call us."}});
	enum ag_verdict verdict;
	std::string message;
	REQUIRE(h.login("alice", ip(1).c_str(), &verdict) == AG_OK);
	CHECK(verdict == AG_VERDICT_ALLOW);
	h.login("alice", ip(2).c_str(), &verdict);
	REQUIRE(h.login("alice", ip(3).c_str(), &verdict, &message) == AG_OK);
	CHECK(verdict == AG_VERDICT_REFUSE);
	CHECK(message == "Locked, call us.");

	std::map<std::string, std::string> fields;
	std::vector<std::string> order;
	auto on_field = [](const char *name, const char *value, void *ctx) {
		auto *p = static_cast<std::pair<std::map<std::string, std::string> *, std::vector<std::string> *> *>(ctx);
		(*p->first)[name] = value;
		p->second->push_back(name);
	};
	std::pair<std::map<std::string, std::string> *, std::vector<std::string> *> ctx{&fields, &order};
	char error[256];
	REQUIRE(ag_account_status(h.engine.get(), "alice", h.now, on_field, &ctx, error, sizeof(error)) == AG_OK);
	CHECK(order == std::vector<std::string>{"user", "locked", "reason", "since", "networks", "countries", "recipients"});
	CHECK(fields["user"] == "alice");
	CHECK(fields["locked"] == "yes");
	CHECK(fields["since"] == "2026-09-21T14:13:20Z");
	CHECK(fields["networks"] == "192.0.3.0/24,192.0.2.0/24,192.0.1.0/24");

	h.events.clear();
	REQUIRE(ag_account_unlock(h.engine.get(), "alice", 1, h.now, collect, &h.events, error, sizeof(error)) == AG_OK);
	REQUIRE(h.events.size() == 1);
	CHECK(h.events[0].name == "account_guard_account_unlocked");
	h.login("alice", ip(3).c_str(), &verdict);
	CHECK(verdict == AG_VERDICT_ALLOW);

	REQUIRE(ag_account_lock(h.engine.get(), "bob", "abuse desk ticket 7", h.now, collect, &h.events, error, sizeof(error)) == AG_OK);
	h.login("bob", ip(1).c_str(), &verdict, &message);
	CHECK(verdict == AG_VERDICT_REFUSE);
}

TEST_CASE("c-api: memcached down: fail open allows, fail closed tempfails, one warning per outage")
{
	for (const char *mode : {"open", "closed"}) {
		CAPTURE(mode);
		Harness h(Values{{"account_guard_fail_mode", mode}});
		h.store->set_unavailable(true);
		enum ag_verdict verdict;
		CHECK(h.login("alice", ip(1).c_str(), &verdict) == AG_ERR_BACKEND);
		CHECK(verdict == (std::string(mode) == "open" ? AG_VERDICT_ALLOW : AG_VERDICT_TEMPFAIL));
		h.login("alice", ip(2).c_str(), &verdict);
		h.login("bob", ip(2).c_str(), &verdict);
		REQUIRE(h.events.size() == 3);
		CHECK(h.events[0].name == "account_guard_backend_failed");
		CHECK(h.events[0].level == AG_LEVEL_WARNING);
		CHECK(h.events[1].level == AG_LEVEL_DEBUG);
		CHECK(h.events[2].level == AG_LEVEL_DEBUG);

		h.store->set_unavailable(false);
		h.events.clear();
		CHECK(h.login("alice", ip(1).c_str(), &verdict) == AG_OK);
		CHECK(verdict == AG_VERDICT_ALLOW);
		REQUIRE_FALSE(h.events.empty());
		CHECK(h.events[0].message == "memcached answers again");
		char error[256];
		auto ignore = [](const char *, const char *, void *) {};
		h.store->set_unavailable(true);
		CHECK(ag_account_status(h.engine.get(), "alice", h.now, ignore, nullptr, error, sizeof(error)) == AG_ERR_BACKEND);
		CHECK(std::string(error).find("unavailable") != std::string::npos);
	}
}

TEST_CASE("c-api: per-user overrides from passdb fields")
{
	Harness h(Values{{"account_guard_ip_limit", "10/1h"}});
	Values strict{{"account_guard_ip_limit", "1/1h"}};
	enum ag_verdict verdict;
	h.login("carol", ip(1).c_str(), &verdict, nullptr, &strict);
	h.login("carol", ip(2).c_str(), &verdict, nullptr, &strict);
	CHECK(verdict == AG_VERDICT_REFUSE);
	h.login("dave", ip(1).c_str(), &verdict);
	h.login("dave", ip(2).c_str(), &verdict);
	CHECK(verdict == AG_VERDICT_ALLOW);

	Values broken{{"account_guard_ip_limit", "1/1q"}};
	CHECK(h.login("erin", ip(1).c_str(), &verdict, nullptr, &broken) == AG_ERR_CONFIG);
	CHECK(verdict == AG_VERDICT_ALLOW); // fail_mode open
	CHECK(h.events.back().message.find("account_guard_ip_limit: invalid limit '1/1q'") != std::string::npos);
}

TEST_CASE("c-api: log mode never refuses")
{
	Harness h(Values{{"account_guard_ip_limit", "1/1h"}, {"account_guard_mode", "log"}});
	enum ag_verdict verdict;
	for (int i = 0; i < 5; i++) {
		h.login("alice", ip(i).c_str(), &verdict);
		CHECK(verdict == AG_VERDICT_ALLOW);
	}
}

TEST_CASE("c-api: odd input never crashes")
{
	Harness h(Values{{"account_guard_ip_limit", "2/1h"}});
	enum ag_verdict verdict;
	std::string long_user(1024, 'u');
	const char *users[] = {"", long_user.c_str(), "sp ace", "ctl\x01\x1b[31m", "\xff\xfe", "%u:x"};
	const char *ips[] = {nullptr, "", "fe80::1%eth0", "::ffff:192.0.2.1", "garbage", "1.2.3.4.5"};
	for (const char *user : users) {
		for (const char *addr : ips)
			CHECK(h.login(user, addr, &verdict, nullptr, nullptr, nullptr) == AG_OK);
	}
	for (const Logged &e : h.events) {
		CHECK(e.message.find('\x01') == std::string::npos);
		CHECK(e.message.find('\x1b') == std::string::npos);
	}
}

namespace {

struct Mailbox {
	std::vector<std::string> to, from, subjects, bodies;
};

void collect_mail(const ag_notification *n, void *context)
{
	auto *box = static_cast<Mailbox *>(context);
	box->to.push_back(n->to);
	box->from.push_back(n->from);
	box->subjects.push_back(n->subject);
	box->bodies.push_back(n->body);
}

int rcpt(Harness &h, const char *user, enum ag_verdict *verdict, Mailbox *box = nullptr,
	 Values *user_values = nullptr)
{
	struct ag_rcpt in{};
	in.user = user;
	in.now = h.now;
	if (user_values) {
		in.user_getenv = lookup;
		in.user_getenv_context = user_values;
	}
	if (box) {
		in.on_notify = collect_mail;
		in.notify_context = box;
	}
	return ag_rcpt(h.engine.get(), &in, verdict, collect, &h.events);
}

} // namespace

TEST_CASE("c-api: pipelined recipients get one verdict each, in order, from one call")
{
	Harness h(Values{{"account_guard_recipient_limit", "3/1h"},
			 {"account_guard_notify", "abuse@example.net"}});
	Mailbox box;
	struct ag_rcpt in{};
	in.user = "alice";
	in.now = h.now;
	in.on_notify = collect_mail;
	in.notify_context = &box;
	in.count = 5;
	enum ag_verdict verdicts[5];
	REQUIRE(ag_rcpt(h.engine.get(), &in, verdicts, collect, &h.events) == AG_OK);
	CHECK(verdicts[0] == AG_VERDICT_ALLOW);
	CHECK(verdicts[1] == AG_VERDICT_ALLOW);
	CHECK(verdicts[2] == AG_VERDICT_ALLOW);
	CHECK(verdicts[3] == AG_VERDICT_REFUSE);
	CHECK(verdicts[4] == AG_VERDICT_REFUSE);
	CHECK(box.subjects.size() == 1);

	// Failing memcached: every verdict follows fail_mode (open: allowed).
	h.store->set_unavailable(true);
	in.count = 2;
	verdicts[0] = verdicts[1] = AG_VERDICT_REFUSE;
	CHECK(ag_rcpt(h.engine.get(), &in, verdicts, collect, &h.events) == AG_ERR_BACKEND);
	CHECK(verdicts[0] == AG_VERDICT_ALLOW);
	CHECK(verdicts[1] == AG_VERDICT_ALLOW);
}

TEST_CASE("c-api: recipients over the limit are refused, with one notification")
{
	Harness h(Values{{"account_guard_recipient_limit", "3/1h"},
			 {"account_guard_notify", "abuse@example.net"},
			 {"account_guard_notify_from", "guard@example.net"}});
	Mailbox box;
	enum ag_verdict verdict;
	for (int i = 0; i < 3; i++) {
		REQUIRE(rcpt(h, "alice", &verdict, &box) == AG_OK);
		CHECK(verdict == AG_VERDICT_ALLOW);
	}
	REQUIRE(rcpt(h, "alice", &verdict, &box) == AG_OK);
	CHECK(verdict == AG_VERDICT_REFUSE);
	rcpt(h, "alice", &verdict, &box);
	CHECK(verdict == AG_VERDICT_REFUSE);
	REQUIRE(box.to.size() == 1);
	CHECK(box.to[0] == "abuse@example.net");
	CHECK(box.from[0] == "guard@example.net");
	CHECK(box.subjects[0] == "Recipient limit reached: alice");
	CHECK(h.events.back().name == "account_guard_rcpt_refused");
}

TEST_CASE("c-api: the login that locks notifies the postmaster")
{
	Harness h(Values{{"account_guard_ip_limit", "1/1h"}, {"account_guard_notify", "abuse@example.net"}});
	Mailbox box;
	struct ag_login in{};
	in.user = "alice";
	in.service = "smtp";
	in.password = "pw";
	in.password_len = 2;
	in.now = h.now;
	in.on_notify = collect_mail;
	in.notify_context = &box;
	enum ag_verdict verdict;
	char message[128];
	for (const char *addr : {"192.0.2.1", "198.51.100.1", "203.0.113.1"}) {
		in.remote_ip = addr;
		ag_login(h.engine.get(), &in, &verdict, message, sizeof(message), collect, &h.events);
	}
	CHECK(verdict == AG_VERDICT_REFUSE);
	REQUIRE(box.subjects.size() == 1);
	CHECK(box.subjects[0] == "Account locked: alice");
}

TEST_CASE("c-api: recipient limits follow fail_mode and per-user overrides")
{
	for (const char *mode : {"open", "closed"}) {
		Harness h(Values{{"account_guard_fail_mode", mode}});
		h.store->set_unavailable(true);
		enum ag_verdict verdict;
		CHECK(rcpt(h, "alice", &verdict) == AG_ERR_BACKEND);
		CHECK(verdict == (std::string(mode) == "open" ? AG_VERDICT_ALLOW : AG_VERDICT_TEMPFAIL));
	}
	Harness h(Values{{"account_guard_recipient_limit", "100/1h"}});
	Values business{{"account_guard_recipient_limit", "1/1h"}};
	enum ag_verdict verdict;
	rcpt(h, "carol", &verdict, nullptr, &business);
	rcpt(h, "carol", &verdict, nullptr, &business);
	CHECK(verdict == AG_VERDICT_REFUSE);
	rcpt(h, "dave", &verdict);
	rcpt(h, "dave", &verdict);
	CHECK(verdict == AG_VERDICT_ALLOW);
}

TEST_CASE("c-api: unlock keeps the recipient counts; -R resets them; the mail shows the history")
{
	Harness h(Values{{"account_guard_ip_limit", "2/1h"}, {"account_guard_recipient_limit", "2/1h"},
			 {"account_guard_notify", "abuse@example.net"}});
	Mailbox box;
	enum ag_verdict verdict;
	h.login("alice", ip(1).c_str(), &verdict);
	rcpt(h, "alice", &verdict, &box);
	rcpt(h, "alice", &verdict, &box);
	REQUIRE(rcpt(h, "alice", &verdict, &box) == AG_OK);
	CHECK(verdict == AG_VERDICT_REFUSE);
	// The account's history comes from the same item as the counts.
	REQUIRE(box.bodies.size() == 1);
	CHECK(box.bodies[0].find("192.0.1.0/24") != std::string::npos);
	CHECK(h.store->size() == 2); // the account's item and the notification marker

	std::map<std::string, std::string> fields;
	auto on_field = [](const char *name, const char *value, void *ctx) {
		(*static_cast<std::map<std::string, std::string> *>(ctx))[name] = value;
	};
	char error[256];
	REQUIRE(ag_account_unlock(h.engine.get(), "alice", 0, h.now, collect, &h.events, error, sizeof(error)) == AG_OK);
	REQUIRE(ag_account_status(h.engine.get(), "alice", h.now, on_field, &fields, error, sizeof(error)) == AG_OK);
	CHECK(fields["networks"] == "");
	CHECK(fields["recipients"] == "2/1h");
	rcpt(h, "alice", &verdict, &box);
	CHECK(verdict == AG_VERDICT_REFUSE);

	REQUIRE(ag_account_unlock(h.engine.get(), "alice", 1, h.now, collect, &h.events, error, sizeof(error)) == AG_OK);
	REQUIRE(ag_account_status(h.engine.get(), "alice", h.now, on_field, &fields, error, sizeof(error)) == AG_OK);
	CHECK(fields["recipients"] == "0/1h");
	rcpt(h, "alice", &verdict, &box);
	CHECK(verdict == AG_VERDICT_ALLOW);
}

namespace {

// Counts what the engine asks of GeoIP; knows every address as Germany.
struct CountingGeo : GeoLookup {
	int lookups = 0;
	GeoInfo lookup(const IpAddress &, bool, bool, bool) override
	{
		lookups++;
		return GeoInfo{parse_country("DE"), std::nullopt, std::nullopt};
	}
	std::vector<Event> refresh(std::time_t) override { return {}; }
};

} // namespace

TEST_CASE("c-api: a service neither recorded nor locked costs no GeoIP lookup and no store operation")
{
	Values settings{{"account_guard_record_services", "imap smtp"},
			{"account_guard_lock_services", "smtp"},
			{"account_guard_country_limit", "3/24h"}};
	auto mem = std::make_unique<MemoryStore>([] { return std::time_t(1790000000); });
	MemoryStore *store = mem.get();
	auto geo = std::make_unique<CountingGeo>();
	CountingGeo *counting = geo.get();
	auto engine = make_engine([&](const char *name) { return lookup(name, &settings); }, std::move(mem),
				  std::move(geo));
	auto login = [&](const char *service) {
		struct ag_login in{};
		in.user = "alice@example.com";
		in.service = service;
		in.remote_ip = "192.0.2.10";
		in.now = 1790000000;
		enum ag_verdict verdict = AG_VERDICT_TEMPFAIL;
		char message[64];
		CHECK(ag_login(engine.get(), &in, &verdict, message, sizeof(message), nullptr, nullptr) == AG_OK);
		return verdict;
	};

	CHECK(login("pop3") == AG_VERDICT_ALLOW);
	CHECK(counting->lookups == 0);
	CHECK(store->operations() == 0);

	CHECK(login("imap") == AG_VERDICT_ALLOW);
	CHECK(counting->lookups == 1);
	CHECK(store->operations() > 0);
}

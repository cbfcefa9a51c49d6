// The C boundary (account-guard.h): every entry point catches everything, so no exception
// ever unwinds through a Dovecot frame, and reports errors through the caller's buffer.

#include "account-guard.h"

#include "engine-handle.hh"
#include "async-memcached.hh"
#include "geo-databases.hh"
#include "login-operation.hh"
#include "memcached-store.hh"
#include "text.hh"

#include <cstdio>
#include <cstring>

using namespace account_guard;

namespace {

void copy_text(char *dest, std::size_t size, std::string_view text)
{
	if (dest == nullptr || size == 0)
		return;
	std::size_t n = std::min(text.size(), size - 1);
	std::memcpy(dest, text.data(), n);
	dest[n] = '\0';
}

const char *or_null(const std::string &s) { return s.empty() ? nullptr : s.c_str(); }

void emit(const Event &e, ag_event_fn *on_event, void *context)
{
	if (on_event == nullptr)
		return;
	ag_event ev;
	ev.name = e.name;
	ev.level = static_cast<int>(e.level);
	ev.message = e.message.c_str();
	ev.user = or_null(e.user);
	ev.reason = or_null(e.reason);
	ev.networks = or_null(e.networks);
	ev.countries = or_null(e.countries);
	ev.limit = or_null(e.limit);
	ev.window = or_null(e.window);
	ev.count = e.count;
	ev.recipients = e.recipients;
	on_event(&ev, context);
}

void emit_all(const std::vector<Event> &events, ag_event_fn *on_event, void *context)
{
	for (const Event &e : events)
		emit(e, on_event, context);
}

enum ag_verdict failure_verdict(const Settings &settings)
{
	return settings.fail_mode == FailMode::closed ? AG_VERDICT_TEMPFAIL : AG_VERDICT_ALLOW;
}

// Reports a store failure and returns the verdict fail_mode asks for: at warning level when
// an outage starts, at debug level while it lasts, so a dead memcached does not flood the
// log with one warning per login.
enum ag_verdict report_backend_failure(ag_engine *engine, const Settings &settings, std::string_view user,
				       const std::string &what, const char *subject, ag_event_fn *on_event,
				       void *context)
{
	const bool closed = settings.fail_mode == FailMode::closed;
	Event e = backend_failed(engine->backend_failing ? Level::debug : Level::warning, printable(user),
				 "memcached",
				 "memcached failed: " + what + " (" + subject +
					 (closed ? " refused temporarily, fail_mode=closed)" : " allowed, fail_mode=open)"));
	engine->backend_failing = true;
	emit(e, on_event, context);
	return failure_verdict(settings);
}

void report_internal_error(std::string_view user, const char *what, ag_event_fn *on_event, void *context)
{
	Event e = backend_failed(Level::error, printable(user), "internal error",
					std::string("internal error: ") + what);
	emit(e, on_event, context);
}

void report_backend_recovered(ag_engine *engine, ag_event_fn *on_event, void *context)
{
	if (!engine->backend_failing)
		return;
	engine->backend_failing = false;
	Event e;
	e.level = Level::info;
	e.message = "memcached answers again";
	// A log line only: not one of the named events.
	emit(e, on_event, context);
}

bool user_overrides_present(ag_getenv_fn *user_getenv, void *context)
{
	if (user_getenv == nullptr)
		return false;
	for (const char *name : overridable_setting_names()) {
		if (user_getenv(name, context) != nullptr)
			return true;
	}
	return false;
}

// The settings for this user: the engine's own, or a copy with the user's overrides in
// `storage` (copied only when an override exists: the common login pays nothing).
// nullptr when an override is invalid; that has been reported.
const Settings *effective_settings(ag_engine *engine, std::string_view user, ag_getenv_fn *user_getenv,
				   void *user_context, std::optional<Settings> &storage, ag_event_fn *on_event,
				   void *event_context)
{
	if (!user_overrides_present(user_getenv, user_context))
		return &engine->settings;
	try {
		storage = apply_user_overrides(engine->settings, [&](const char *name) {
			return user_getenv(name, user_context);
		});
		return &*storage;
	} catch (const SettingError &e) {
		Event ev = backend_failed(Level::error, printable(user), "invalid user setting",
						std::string("invalid per-user setting: ") + e.what());
		emit(ev, on_event, event_context);
		return nullptr;
	}
}

void notify(const Settings &settings, const std::optional<Notification> &n, ag_notify_fn *on_notify,
	    void *context)
{
	if (!n || on_notify == nullptr)
		return;
	ag_notification out;
	out.user = n->user.c_str();
	out.reason = n->reason.c_str();
	out.to = settings.notify.c_str();
	out.from = settings.notify_from.c_str();
	out.relay = settings.notify_relay.c_str();
	out.subject = n->subject.c_str();
	out.body = n->body.c_str();
	on_notify(&out, context);
}

// The LoginInput of one login: client IP parsed, GeoIP looked up, the settings for this user
// (user and service only when the service needs no state).
// Returns nullptr when a per-user override is invalid (reported). input's strings point into
// *login's.
const Settings *prepare_login(ag_engine *engine, const struct ag_login *login, std::optional<Settings> &storage,
			      LoginInput &input,
			      ag_event_fn *on_event, void *event_context)
{
	const std::string_view user = login->user != nullptr ? login->user : "";
	const Settings *settings = effective_settings(engine, user, login->user_getenv, login->user_getenv_context,
						      storage, on_event, event_context);
	if (settings == nullptr)
		return nullptr;
	input.user = user;
	input.service = login->service != nullptr ? login->service : "";
	// A service neither recorded nor locked is allowed without state (the callers ask
	// login_needs_state() next): no GeoIP lookup for it.
	if (!login_needs_state(*settings, input.service))
		return settings;
	if (login->remote_ip != nullptr)
		input.ip = parse_ip(login->remote_ip);
	if (engine->geo && input.ip) {
		emit_all(engine->geo->refresh(login->now), on_event, event_context);
		// Countries matter only with a country limit, AS numbers only when exempt or NAT
		// ASNs are listed.
		GeoInfo geo = engine->geo->lookup(*input.ip, !settings->country_limit.empty(),
						  !settings->exempt_asns.empty() || !settings->nat_asns.empty());
		input.country = geo.country;
		input.asn = geo.asn;
	}
	if (login->password != nullptr)
		input.password = std::string_view(login->password, login->password_len);
	input.now = static_cast<std::uint32_t>(login->now);
	input.new_salt = static_cast<std::uint32_t>(engine->salt_rng());
	input.debug_events = login->skip_debug_events == 0;
	return settings;
}

// Reports what a login came to (events, the notification, a store failure under fail_mode)
// and sets the verdict; returns AG_OK or AG_ERR_BACKEND.
int deliver_login(ag_engine *engine, const Settings &settings, std::string_view user, LoginOutcome &outcome,
		  ag_notify_fn *on_notify, void *notify_context, ag_event_fn *on_event, void *event_context,
		  enum ag_verdict *verdict_r)
{
	if (outcome.failed) {
		*verdict_r = report_backend_failure(engine, settings, user, outcome.error, "login", on_event,
						    event_context);
		return AG_ERR_BACKEND;
	}
	const LoginResult &r = outcome.result;
	report_backend_recovered(engine, on_event, event_context);
	emit_all(r.events, on_event, event_context);
	notify(settings, r.notification, on_notify, notify_context);
	switch (r.verdict) {
	case Verdict::allow:
		*verdict_r = AG_VERDICT_ALLOW;
		break;
	case Verdict::refuse:
		*verdict_r = AG_VERDICT_REFUSE;
		break;
	case Verdict::tempfail:
		*verdict_r = AG_VERDICT_TEMPFAIL;
		break;
	}
	return AG_OK;
}

} // namespace

// One ag_login_start() in flight: its own copies of what the caller passed (the caller's
// strings may be gone before the answer is in), the settings for this user and the operation.
struct account_guard::PendingLogin {
	PendingLogin(ag_engine *e, const struct ag_login *in, ag_event_fn *ev, ag_login_done_fn *d, void *ctx)
		: engine(e), user(in->user != nullptr ? in->user : ""),
		  service(in->service != nullptr ? in->service : ""),
		  remote_ip(in->remote_ip != nullptr ? in->remote_ip : ""),
		  password(in->password != nullptr ? std::string(in->password, in->password_len) : std::string()),
		  has_password(in->password != nullptr), on_event(ev), done(d), context(ctx)
	{
		login = *in;
		login.user = user.c_str();
		login.service = service.c_str();
		login.remote_ip = remote_ip.c_str();
		login.password = has_password ? password.data() : nullptr;
		next = engine->pending;
		if (next != nullptr)
			next->prev = this;
		engine->pending = this;
	}
	~PendingLogin()
	{
		// The verified password: wiped, not just freed.
		volatile char *p = password.data();
		for (std::size_t i = 0; i < password.size(); i++)
			p[i] = '\0';
		if (prev != nullptr)
			prev->next = next;
		else
			engine->pending = next;
		if (next != nullptr)
			next->prev = prev;
	}
	PendingLogin(const PendingLogin &) = delete;
	PendingLogin &operator=(const PendingLogin &) = delete;

	void start(const Settings &s)
	{
		settings = &s;
		// Consulted by prepare_login() before ag_login_start() returned; the caller's
		// context may not outlive that.
		login.user_getenv = nullptr;
		login.user_getenv_context = nullptr;
		operation.emplace(*engine->async_store, engine->settings.key_prefix, s, input,
				  [this](LoginOutcome &&outcome) { finished(outcome); });
		operation->start();
	}

	// Runs from the store's answer: reports, answers the caller, frees this.
	void finished(LoginOutcome &outcome)
	{
		enum ag_verdict verdict = AG_VERDICT_ALLOW;
		try {
			deliver_login(engine, *settings, user, outcome, login.on_notify, login.notify_context,
				      on_event, context, &verdict);
		} catch (const std::exception &e) {
			report_internal_error(user, e.what(), on_event, context);
			verdict = failure_verdict(engine->settings);
		} catch (...) {
			report_internal_error(user, "unknown exception", on_event, context);
			verdict = failure_verdict(engine->settings);
		}
		const std::string message = verdict == AG_VERDICT_REFUSE ? settings->lock_message : std::string();
		ag_login_done_fn *answer = done;
		void *answer_context = context;
		delete this;
		answer(verdict, message.c_str(), answer_context);
	}

	ag_engine *engine;
	std::string user, service, remote_ip, password;
	bool has_password;
	struct ag_login login{};
	ag_event_fn *on_event;
	ag_login_done_fn *done;
	void *context;
	std::optional<Settings> own_settings; // when the user has overrides
	const Settings *settings = nullptr;
	LoginInput input;
	std::optional<LoginOperation> operation;
	PendingLogin *prev = nullptr, *next = nullptr;
};

ag_engine::~ag_engine()
{
	while (pending != nullptr)
		delete pending;
}

std::unique_ptr<ag_engine> account_guard::make_engine(const Getenv &getenv, std::unique_ptr<Store> store,
						     std::unique_ptr<GeoLookup> geo)
{
	Settings settings = parse_settings(getenv);
	if (!store)
		store = std::make_unique<MemcachedStore>(settings.memcached_servers, settings.memcached_timeout);
	if (!geo && (!settings.geoip_db.empty() || !settings.asn_db.empty()))
		geo = std::make_unique<GeoDatabases>(settings.geoip_db, settings.asn_db);
	return std::make_unique<ag_engine>(std::move(settings), std::move(store), std::move(geo));
}

extern "C" {

int ag_engine_new(ag_getenv_fn *getenv, void *getenv_context, struct ag_engine **engine_r,
		  char *error, size_t error_size)
{
	*engine_r = nullptr;
	try {
		auto engine = make_engine(
			[&](const char *name) { return getenv(name, getenv_context); }, nullptr);
		*engine_r = engine.release();
		return AG_OK;
	} catch (const SettingError &e) {
		copy_text(error, error_size, e.what());
		return AG_ERR_CONFIG;
	} catch (const std::exception &e) {
		copy_text(error, error_size, e.what());
		return AG_ERR_INTERNAL;
	} catch (...) {
		copy_text(error, error_size, "unknown error");
		return AG_ERR_INTERNAL;
	}
}

void ag_engine_free(struct ag_engine **engine)
{
	if (engine == nullptr)
		return;
	delete *engine;
	*engine = nullptr;
}

int ag_engine_is_dry_run(const struct ag_engine *engine)
{
	return engine->settings.mode == Mode::log ? 1 : 0;
}

int ag_engine_is_fail_closed(const struct ag_engine *engine)
{
	return engine->settings.fail_mode == FailMode::closed ? 1 : 0;
}

const char *ag_engine_lock_message(const struct ag_engine *engine)
{
	return engine->settings.lock_message.c_str();
}

int ag_login(struct ag_engine *engine, const struct ag_login *login, enum ag_verdict *verdict_r,
	     char *message, size_t message_size, ag_event_fn *on_event, void *event_context)
{
	*verdict_r = AG_VERDICT_ALLOW;
	copy_text(message, message_size, "");
	const std::string_view user = login->user != nullptr ? login->user : "";
	try {
		// Made only for a user with overrides: Settings holds lists and strings.
		std::optional<Settings> storage;
		LoginInput input;
		const Settings *settings = prepare_login(engine, login, storage, input, on_event, event_context);
		if (settings == nullptr) {
			*verdict_r = failure_verdict(engine->settings);
			return AG_ERR_CONFIG;
		}
		LoginOutcome outcome;
		try {
			outcome.result = engine->service.login(*settings, input);
		} catch (const StoreError &e) {
			outcome.failed = true;
			outcome.error = e.what();
		}
		int ret = deliver_login(engine, *settings, user, outcome, login->on_notify, login->notify_context,
					on_event, event_context, verdict_r);
		if (*verdict_r == AG_VERDICT_REFUSE)
			copy_text(message, message_size, settings->lock_message);
		return ret;
	} catch (const std::exception &e) {
		report_internal_error(user, e.what(), on_event, event_context);
	} catch (...) {
		report_internal_error(user, "unknown exception", on_event, event_context);
	}
	*verdict_r = failure_verdict(engine->settings);
	return AG_ERR_INTERNAL;
}

int ag_engine_attach_loop(struct ag_engine *engine, const struct ag_event_loop *loop, char *error,
			  size_t error_size)
{
	try {
		const ag_event_loop hooks = *loop;
		IoHooks io;
		io.watch = [hooks](int fd, unsigned events) {
			hooks.watch(fd, static_cast<int>(events), hooks.context);
		};
		io.timer = [hooks](int msecs) { hooks.timer(msecs, hooks.context); };
		auto memcached = std::make_unique<AsyncMemcached>(
			engine->settings.memcached_servers, engine->settings.memcached_timeout, std::move(io));
		// Names are looked up now, at start-up, where blocking harms no login.
		memcached->resolve_servers();
		engine->async_store = std::move(memcached);
		return AG_OK;
	} catch (const std::exception &e) {
		copy_text(error, error_size, e.what());
	} catch (...) {
		copy_text(error, error_size, "unknown error");
	}
	return AG_ERR_INTERNAL;
}

void ag_engine_io(struct ag_engine *engine, int fd, int events)
{
	try {
		if (auto *memcached = dynamic_cast<AsyncMemcached *>(engine->async_store.get()))
			memcached->on_io(fd, static_cast<unsigned>(events));
	} catch (...) {
		// Nothing throws here but allocation failure; the requests' own timeouts recover.
	}
}

void ag_engine_timer(struct ag_engine *engine)
{
	try {
		if (auto *memcached = dynamic_cast<AsyncMemcached *>(engine->async_store.get()))
			memcached->on_timer();
	} catch (...) {
	}
}

void ag_login_start(struct ag_engine *engine, const struct ag_login *login, ag_event_fn *on_event,
		    ag_login_done_fn *done, void *context)
{
	PendingLogin *pending = nullptr;
	const std::string_view user = login->user != nullptr ? login->user : "";
	try {
		if (!engine->async_store)
			throw std::logic_error("ag_login_start() before ag_engine_attach_loop()");
		pending = new PendingLogin(engine, login, on_event, done, context);
		const Settings *settings = prepare_login(engine, &pending->login, pending->own_settings,
							 pending->input, on_event, context);
		if (settings == nullptr) {
			delete pending;
			done(failure_verdict(engine->settings), "", context);
			return;
		}
		if (!login_needs_state(*settings, pending->input.service)) {
			delete pending;
			done(AG_VERDICT_ALLOW, "", context);
			return;
		}
		pending->start(*settings);
		return;
	} catch (const std::exception &e) {
		report_internal_error(user, e.what(), on_event, context);
	} catch (...) {
		report_internal_error(user, "unknown exception", on_event, context);
	}
	delete pending;
	done(failure_verdict(engine->settings), "", context);
}

int ag_rcpt(struct ag_engine *engine, const struct ag_rcpt *rcpt, enum ag_verdict *verdict_r,
	    ag_event_fn *on_event, void *event_context)
{
	const unsigned count = rcpt->count > 0 ? rcpt->count : 1;
	auto set_all = [&](enum ag_verdict verdict) {
		for (unsigned i = 0; i < count; i++)
			verdict_r[i] = verdict;
	};
	set_all(AG_VERDICT_ALLOW);
	const std::string_view user = rcpt->user != nullptr ? rcpt->user : "";
	try {
		std::optional<Settings> storage;
		const Settings *settings = effective_settings(engine, user, rcpt->user_getenv,
							      rcpt->user_getenv_context, storage, on_event,
							      event_context);
		if (settings == nullptr) {
			set_all(failure_verdict(engine->settings));
			return AG_ERR_CONFIG;
		}
		try {
			RcptResult r = engine->service.rcpt(*settings, user, static_cast<std::uint32_t>(rcpt->now),
							    rcpt->check_lock != 0, count);
			report_backend_recovered(engine, on_event, event_context);
			emit_all(r.events, on_event, event_context);
			notify(*settings, r.notification, rcpt->on_notify, rcpt->notify_context);
			for (unsigned i = 0; i < count; i++) {
				verdict_r[i] = r.locked ? AG_VERDICT_LOCKED
					       : i < r.accepted ? AG_VERDICT_ALLOW : AG_VERDICT_REFUSE;
			}
			return AG_OK;
		} catch (const StoreError &e) {
			set_all(report_backend_failure(engine, *settings, user, e.what(), "recipient",
						       on_event, event_context));
			return AG_ERR_BACKEND;
		}
	} catch (const std::exception &e) {
		report_internal_error(user, e.what(), on_event, event_context);
	} catch (...) {
		report_internal_error(user, "unknown exception", on_event, event_context);
	}
	set_all(failure_verdict(engine->settings));
	return AG_ERR_INTERNAL;
}

#define AG_ADMIN_TRY(body)                                          \
	try {                                                       \
		body;                                               \
		return AG_OK;                                       \
	} catch (const StoreError &e) {                             \
		copy_text(error, error_size, e.what());             \
		return AG_ERR_BACKEND;                              \
	} catch (const std::exception &e) {                         \
		copy_text(error, error_size, e.what());             \
		return AG_ERR_INTERNAL;                             \
	} catch (...) {                                             \
		copy_text(error, error_size, "unknown error");      \
		return AG_ERR_INTERNAL;                             \
	}

int ag_account_status(struct ag_engine *engine, const char *user, time_t now, ag_field_fn *on_field,
		      void *field_context, char *error, size_t error_size)
{
	AG_ADMIN_TRY({
		AccountStatus st = engine->service.status(engine->settings, user,
							  static_cast<std::uint32_t>(now));
		on_field("user", user, field_context);
		on_field("locked", st.locked ? "yes" : "no", field_context);
		on_field("reason", st.reason.c_str(), field_context);
		on_field("since", st.since.c_str(), field_context);
		on_field("networks", st.networks.c_str(), field_context);
		on_field("countries", st.countries.c_str(), field_context);
		on_field("recipients", st.recipients.c_str(), field_context);
	})
}

int ag_account_lock(struct ag_engine *engine, const char *user, const char *reason, time_t now,
		    ag_event_fn *on_event, void *event_context, char *error, size_t error_size)
{
	AG_ADMIN_TRY({
		auto events = engine->service.lock(user, reason != nullptr ? reason : "",
						   static_cast<std::uint32_t>(now));
		emit_all(events, on_event, event_context);
	})
}

int ag_account_unlock(struct ag_engine *engine, const char *user, int reset_recipients, time_t now,
		      ag_event_fn *on_event, void *event_context, char *error, size_t error_size)
{
	AG_ADMIN_TRY({
		auto events = engine->service.unlock(engine->settings, user, reset_recipients != 0,
						     static_cast<std::uint32_t>(now));
		emit_all(events, on_event, event_context);
	})
}

} // extern "C"

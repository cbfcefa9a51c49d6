// The C boundary (account-guard.h): translation plus a catch-all. Every entry point catches
// everything, so no exception ever unwinds through a Dovecot frame, and reports errors
// through the caller's buffer or an event. The work is beneath it: the composition root
// (engine-handle.cc), a login (login-request.cc), the logins in flight (pending-logins.cc),
// per-user settings (user-settings.cc), the outage bookkeeping (backend-outage.cc).

#include "account-guard.h"

#include "async-memcached.hh"
#include "c-translation.hh"
#include "engine-handle.hh"
#include "login-request.hh"
#include "user-settings.hh"

#include <string>

using namespace account_guard;

namespace {

// A store failure of a recipient: reported, and the verdict fail_mode asks for.
enum ag_verdict report_rcpt_failure(ag_engine *engine, const Settings &settings, std::string_view user,
				    const char *error, ag_event_fn *on_event, void *context)
{
	emit(engine->outage.failed(user, error, "recipient", settings.fail_mode), on_event, context);
	return failure_verdict(settings);
}

} // namespace

extern "C" {

int ag_engine_new_flags(ag_getenv_fn *getenv, void *getenv_context, unsigned int flags,
			struct ag_engine **engine_r, char *error, size_t error_size)
{
	*engine_r = nullptr;
	try {
		const EngineUse use = (flags & AG_ENGINE_LOGINS) != 0 ? EngineUse::logins
								     : EngineUse::recipients_and_admin;
		auto engine = make_engine(
			[&](const char *name) { return getenv(name, getenv_context); }, nullptr, nullptr, use);
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

int ag_engine_new(ag_getenv_fn *getenv, void *getenv_context, struct ag_engine **engine_r,
		  char *error, size_t error_size)
{
	return ag_engine_new_flags(getenv, getenv_context, 0, engine_r, error, error_size);
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
		std::string lock_message;
		int ret = login_now(*engine, *login, verdict_r, lock_message, on_event, event_context);
		copy_text(message, message_size, lock_message);
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
		engine->loop_store = memcached.get();
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
		if (engine->loop_store != nullptr)
			engine->loop_store->on_io(fd, static_cast<unsigned>(events));
	} catch (...) {
		// Nothing throws here but allocation failure; the requests' own timeouts recover.
	}
}

void ag_engine_timer(struct ag_engine *engine)
{
	try {
		if (engine->loop_store != nullptr)
			engine->loop_store->on_timer();
	} catch (...) {
	}
}

void ag_login_start(struct ag_engine *engine, const struct ag_login *login, ag_event_fn *on_event,
		    ag_login_done_fn *done, void *context)
{
	const std::string_view user = login->user != nullptr ? login->user : "";
	try {
		engine->pending.start(*login, on_event, done, context);
		return;
	} catch (const std::exception &e) {
		report_internal_error(user, e.what(), on_event, context);
	} catch (...) {
		report_internal_error(user, "unknown exception", on_event, context);
	}
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
		std::optional<UserSettings> user_settings;
		try {
			user_settings.emplace(engine->settings, rcpt->user_getenv, rcpt->user_getenv_context);
		} catch (const SettingError &e) {
			report_invalid_override(user, e, on_event, event_context);
			set_all(failure_verdict(engine->settings));
			return AG_ERR_CONFIG;
		}
		const Settings &settings = user_settings->get();
		try {
			RcptResult r = engine->service.rcpt(settings, user, static_cast<std::uint32_t>(rcpt->now),
							    rcpt->check_lock != 0, count);
			if (auto recovered = engine->outage.answered())
				emit(*recovered, on_event, event_context);
			emit_all(r.events, on_event, event_context);
			notify(settings, r.notification, rcpt->on_notify, rcpt->notify_context);
			for (unsigned i = 0; i < count; i++) {
				verdict_r[i] = r.locked ? AG_VERDICT_LOCKED
					       : i < r.accepted ? AG_VERDICT_ALLOW : AG_VERDICT_REFUSE;
			}
			return AG_OK;
		} catch (const StoreError &e) {
			set_all(report_rcpt_failure(engine, settings, user, e.what(), on_event, event_context));
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

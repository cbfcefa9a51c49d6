#include "pending-logins.hh"

#include "c-translation.hh"
#include "engine-handle.hh"
#include "login-request.hh"

#include <optional>
#include <stdexcept>
#include <string>

namespace account_guard {

struct PendingLogins::Login {
	Login(const struct ag_login &in, ag_event_fn *ev, ag_login_done_fn *d, void *ctx)
		: user(in.user != nullptr ? in.user : ""), service(in.service != nullptr ? in.service : ""),
		  remote_ip(in.remote_ip != nullptr ? in.remote_ip : ""),
		  password(in.password != nullptr ? std::string(in.password, in.password_len) : std::string()),
		  on_event(ev), done(d), context(ctx)
	{
		login = in;
		login.user = user.c_str();
		login.service = service.c_str();
		login.remote_ip = remote_ip.c_str();
		login.password = in.password != nullptr ? password.data() : nullptr;
	}
	~Login()
	{
		// The verified password: wiped, not just freed.
		volatile char *p = password.data();
		for (std::size_t i = 0; i < password.size(); i++)
			p[i] = '\0';
	}
	Login(const Login &) = delete;
	Login &operator=(const Login &) = delete;

	std::string user, service, remote_ip, password;
	struct ag_login login{}; // the caller's, its strings pointing at the copies above
	ag_event_fn *on_event;
	ag_login_done_fn *done;
	void *context;
	PreparedLogin prepared;
	std::optional<LoginOperation> operation;
};

PendingLogins::PendingLogins(ag_engine &engine) : engine_(engine) {}

PendingLogins::~PendingLogins() = default;

void PendingLogins::start(const struct ag_login &in, ag_event_fn *on_event, ag_login_done_fn *done,
			  void *context)
{
	if (!engine_.async_store)
		throw std::logic_error("ag_login_start() before ag_engine_attach_loop()");
	Iterator it = logins_.emplace(logins_.end(), in, on_event, done, context);
	enum ag_verdict verdict;
	try {
		Login &l = *it;
		if (!prepare_login(engine_, l.login, l.prepared, on_event, context)) {
			verdict = failure_verdict(engine_.settings);
		} else if (!l.prepared.needs_state) {
			verdict = AG_VERDICT_ALLOW;
		} else {
			// Consulted by prepare_login(); the caller's context may not outlive this call.
			l.login.user_getenv = nullptr;
			l.login.user_getenv_context = nullptr;
			l.operation.emplace(*engine_.async_store, engine_.settings.key_prefix,
					    l.prepared.settings->get(), l.prepared.input,
					    [this, it](LoginOutcome &&outcome) { finish(it, outcome); });
			l.operation->start();
			return;
		}
	} catch (...) {
		logins_.erase(it);
		throw;
	}
	// Settled without the store.
	logins_.erase(it);
	done(verdict, "", context);
}

void PendingLogins::finish(Iterator it, LoginOutcome &outcome)
{
	Login &l = *it;
	const Settings &settings = l.prepared.settings->get();
	enum ag_verdict verdict = AG_VERDICT_ALLOW;
	try {
		deliver_login(engine_, settings, l.user, outcome, l.login, l.on_event, l.context, &verdict);
	} catch (const std::exception &e) {
		report_internal_error(l.user, e.what(), l.on_event, l.context);
		verdict = failure_verdict(engine_.settings);
	} catch (...) {
		report_internal_error(l.user, "unknown exception", l.on_event, l.context);
		verdict = failure_verdict(engine_.settings);
	}
	const std::string message = verdict == AG_VERDICT_REFUSE ? settings.lock_message : std::string();
	ag_login_done_fn *answer = l.done;
	void *answer_context = l.context;
	// Gone before the answer, so that `done` may start another login. (This runs inside the
	// operation's own callback, which may destroy the operation.)
	logins_.erase(it);
	answer(verdict, message.c_str(), answer_context);
}

} // namespace account_guard

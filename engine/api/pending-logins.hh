#pragma once
// The logins of ag_login_start() still waiting for the store, owned here: each holds its own
// copies of what the caller passed (the caller's strings may be gone before the answer is
// in), the settings for its user and its LoginOperation. A login leaves when it has been
// answered; those still in flight when the engine is freed leave with it, unanswered.

#include "account-guard.h"

#include <cstddef>
#include <list>

struct ag_engine;

namespace account_guard {

struct LoginOutcome;

class PendingLogins {
public:
	explicit PendingLogins(ag_engine &engine);
	~PendingLogins(); // the logins in flight, unanswered; their password copies wiped

	PendingLogins(const PendingLogins &) = delete;
	PendingLogins &operator=(const PendingLogins &) = delete;

	// ag_login_start()'s work: copies the login, prepares it (the per-user overrides are
	// looked up now, the caller's user_getenv is not used later) and answers through `done`
	// at once when it is settled without the store (an invalid override, a service neither
	// recorded nor locked); otherwise starts its operation on the engine's AsyncStore and
	// answers when that is done, after the login has left. When this throws, nothing is left
	// in flight and `done` has not run: the caller answers.
	void start(const struct ag_login &login, ag_event_fn *on_event, ag_login_done_fn *done,
		   void *context);

	std::size_t size() const { return logins_.size(); }

private:
	struct Login;
	using Iterator = std::list<Login>::iterator;

	// The store has answered: reports, lets the login go, then answers the caller.
	void finish(Iterator login, LoginOutcome &outcome);

	ag_engine &engine_;
	// A list: a login's operation and input refer into it, so it never moves, and it
	// leaves in any order. One allocation per login, its own.
	std::list<Login> logins_;
};

} // namespace account_guard

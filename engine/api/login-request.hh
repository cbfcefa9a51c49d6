#pragma once
// What the engine makes of one struct ag_login, and what it reports back: the settings for
// the user, the LoginInput (client address parsed, GeoIP looked up), whether the service
// needs the store at all; then the outcome turned into events, the notification and the
// verdict. Shared by ag_login() (at once, here) and ag_login_start() (pending-logins.hh).

#include "account-guard.h"
#include "engine-handle.hh"
#include "login-operation.hh"
#include "user-settings.hh"

#include <optional>
#include <string>
#include <string_view>

namespace account_guard {

struct PreparedLogin {
	std::optional<UserSettings> settings; // set by prepare_login()
	LoginInput input;                     // its strings point into the ag_login's
	// The service is recorded or locked: the store is asked. When not, the login is allowed
	// without state, and input holds only user and service (no GeoIP lookup for it).
	bool needs_state = false;
};

// Fills `prepared` for `login`; false when a per-user override is invalid (reported through
// on_event). Throws std::logic_error on an engine made without EngineUse::logins.
bool prepare_login(ag_engine &engine, const struct ag_login &login, PreparedLogin &prepared,
		   ag_event_fn *on_event, void *event_context);

// Reports what a login came to (a store failure under fail_mode; else the events and the
// notification) and sets the verdict; returns AG_OK or AG_ERR_BACKEND.
int deliver_login(ag_engine &engine, const Settings &settings, std::string_view user,
		  const LoginOutcome &outcome, const struct ag_login &login, ag_event_fn *on_event,
		  void *event_context, enum ag_verdict *verdict_r);

// ag_login(): one login decided at once over the synchronous store. message_r gets the lock
// message with AG_VERDICT_REFUSE. Returns like ag_login().
int login_now(ag_engine &engine, const struct ag_login &login, enum ag_verdict *verdict_r,
	      std::string &message_r, ag_event_fn *on_event, void *event_context);

} // namespace account_guard

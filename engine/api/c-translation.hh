#pragma once
// What crosses the C boundary, translated: the engine's events, notifications and verdicts
// into the plain C structs of account-guard.h, and texts into the caller's buffers. Used by
// c-api.cc and the helpers beneath it; nothing here decides anything.

#include "account-guard.h"

#include "event.hh"
#include "login-policy.hh"
#include "notification.hh"
#include "settings.hh"

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace account_guard {

// Copies text into dest as a NUL-terminated string, truncated to fit; nothing when there is
// no buffer.
void copy_text(char *dest, std::size_t size, std::string_view text);

// Hands each event to on_event (may be NULL: nobody listens).
void emit(const Event &event, ag_event_fn *on_event, void *context);
void emit_all(const std::vector<Event> &events, ag_event_fn *on_event, void *context);

// Hands the mail to on_notify, addressed as settings say; nothing when there is no mail or
// no one to send it.
void notify(const Settings &settings, const std::optional<Notification> &notification,
	    ag_notify_fn *on_notify, void *context);

enum ag_verdict to_c_verdict(Verdict verdict);

// The verdict when the engine could not decide: fail_mode's.
enum ag_verdict failure_verdict(const Settings &settings);

// A per-user override that does not parse, as one error event.
void report_invalid_override(std::string_view user, const SettingError &error, ag_event_fn *on_event,
			     void *context);

// An exception the boundary caught, as one error event.
void report_internal_error(std::string_view user, const char *what, ag_event_fn *on_event, void *context);

} // namespace account_guard

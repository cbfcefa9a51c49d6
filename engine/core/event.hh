#pragma once
// What the engine reports instead of logging (library code never logs): the glue turns each
// Event into a Dovecot event (the names README "Operating it" lists) and one log line.

#include <string>

namespace account_guard {

enum class Level { debug = 0, info = 1, warning = 2, error = 3 };

struct Event {
	const char *name = nullptr; // one of the event names of README "Operating it"
	Level level = Level::info;
	std::string message;
	std::string user;
	std::string reason;
	std::string networks;
	std::string countries;
	std::string limit;
	std::string window;
	std::string signal; // account_guard_signal: which one (INTERFACE.md §8)
	long long count = -1;
	long long recipients = -1;
};

// An account_guard_backend_failed event: something the guard depends on failed (memcached,
// a database file, a stored value, a setting); reason says which.
inline Event backend_failed(Level level, std::string user, const char *reason, std::string message)
{
	Event e;
	e.name = "account_guard_backend_failed";
	e.level = level;
	e.user = std::move(user);
	e.reason = reason;
	e.message = std::move(message);
	return e;
}

} // namespace account_guard

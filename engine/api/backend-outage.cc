#include "backend-outage.hh"

#include "text.hh"

#include <string>

namespace account_guard {

Event BackendOutage::failed(std::string_view user, std::string_view error, const char *subject,
			    FailMode fail_mode)
{
	const bool closed = fail_mode == FailMode::closed;
	Event e = backend_failed(failing_ ? Level::debug : Level::warning, printable(user), "memcached",
				 "memcached failed: " + std::string(error) + " (" + subject +
					 (closed ? " refused temporarily, fail_mode=closed)"
						 : " allowed, fail_mode=open)"));
	failing_ = true;
	return e;
}

std::optional<Event> BackendOutage::answered()
{
	if (!failing_)
		return std::nullopt;
	failing_ = false;
	Event e;
	e.level = Level::info;
	e.message = "memcached answers again";
	// A log line only: not one of the named events.
	return e;
}

} // namespace account_guard

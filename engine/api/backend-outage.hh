#pragma once
// Whether memcached is failing right now, so that an outage is reported once at warning
// level and then at debug level while it lasts (a dead memcached must not write one warning
// per login), and its end once at info level. One per engine: every login and recipient of
// the process reports into it.

#include "event.hh"
#include "settings.hh"

#include <optional>
#include <string_view>

namespace account_guard {

class BackendOutage {
public:
	// The event for one failed store call: warning when it starts an outage, debug while
	// the outage lasts. `subject` ("login", "recipient") and fail_mode say what became of
	// the request.
	Event failed(std::string_view user, std::string_view error, const char *subject, FailMode fail_mode);
	// The store answered: "memcached answers again" when that ends an outage, else nothing.
	std::optional<Event> answered();

	bool failing() const { return failing_; }

private:
	bool failing_ = false;
};

} // namespace account_guard

#include "replay-event.hh"

namespace account_guard::replay {

const char *event_kind_name(EventKind kind)
{
	switch (kind) {
	case EventKind::login: return "login";
	case EventKind::message: return "message";
	case EventKind::password_change: return "password_change";
	case EventKind::bounce: return "bounce";
	case EventKind::complaint: return "complaint";
	}
	return "unknown";
}

} // namespace account_guard::replay

#include "decision.hh"

namespace account_guard::replay {

const char *decision_name(DecisionKind kind)
{
	switch (kind) {
	case DecisionKind::lock:
		return "lock";
	case DecisionKind::refuse_login:
		return "refuse_login";
	case DecisionKind::refuse_rcpt:
		return "refuse_rcpt";
	case DecisionKind::probation:
		return "probation";
	case DecisionKind::notify:
		return "notify";
	case DecisionKind::unlock:
		return "unlock";
	}
	return "?";
}

} // namespace account_guard::replay

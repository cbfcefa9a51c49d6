#pragma once
// What account-guard-replay reports: every decision of the guard other than a plain accept,
// tied to the input line that caused it (INTERFACE.md §9, the --json objects).

#include "replay-event.hh"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace account_guard::replay {

enum class DecisionKind { lock, refuse_login, refuse_rcpt, probation, notify, unlock };
constexpr int decision_kinds = 6;

const char *decision_name(DecisionKind kind); // "lock", "refuse_login", ... as in §9

// An input line: the index of its file among the inputs and its number (from 1).
struct LineRef {
	std::uint32_t file = 0;
	std::uint64_t line = 0;
};

struct Decision {
	LineRef where;
	std::int64_t time = 0;
	std::string user;
	EventKind event = EventKind::login;
	DecisionKind decision = DecisionKind::lock;
	std::string rule;   // the setting that decided, e.g. "account_guard_ip_limit"
	std::string reason; // the engine's own words, as the live guard logs them
	// A message's recipients (refuse_rcpt, and notify on a message): -1 for other events.
	long long accepted = -1;
	long long refused = -1;
	// lock: the logins that brought in the networks the lock counted, oldest first.
	std::vector<LineRef> evidence;
};

class DecisionSink {
public:
	virtual ~DecisionSink() = default;
	virtual void decided(const Decision &decision) = 0;
};

} // namespace account_guard::replay

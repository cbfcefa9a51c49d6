#pragma once
// The totals of a replay: decisions per rule and per kind, and the accounts they touched; the
// report's last part (the "summary" object of --json, the totals of the readable report).

#include "decision.hh"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>

namespace account_guard::replay {

struct Tally {
	std::array<std::uint64_t, decision_kinds> decisions{}; // indexed by DecisionKind
	std::map<std::string, std::array<std::uint64_t, decision_kinds>> rules;
	std::uint64_t recipients_refused = 0;
	std::unordered_set<std::string> accounts_locked;  // ever, in the replay
	std::unordered_set<std::string> accounts_refused; // with a login or a recipient refused

	void add(const Decision &d);
};

} // namespace account_guard::replay

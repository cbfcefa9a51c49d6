#pragma once
// Which input lines a lock rests on: for one account, the line of the last login from each of
// its recent networks, so a lock can name the lines of the networks it counted. A few dozen
// bytes an account: a month of a million mailboxes stays well inside the replay's memory
// budget (tests/bench/RESULTS.md).

#include "decision.hh"
#include "network.hh"

#include <cstdint>
#include <vector>

namespace account_guard::replay {

class Evidence {
public:
	// Keeps this many networks: more than any sensible ip_limit within its window.
	static constexpr std::size_t kept = 24;

	// A recorded login from `network` (counted as the settings count networks).
	void login(const Network &network, std::int64_t time, LineRef where);
	// The lines of the logins within `window` seconds before `now`, oldest first.
	std::vector<LineRef> lines(std::int64_t now, std::int64_t window) const;
	// Unlocking forgets the history; so does the evidence.
	void forget() { seen_.clear(); }

private:
	struct Seen {
		Network network;
		std::int64_t time;
		LineRef where;
	};
	std::vector<Seen> seen_; // least recently seen first
};

} // namespace account_guard::replay

#pragma once
// Which input lines a lock rests on: for every account, the line of the last login from each
// of its recent networks, so a lock can name the lines of the networks it counted. A few
// dozen bytes an account: a month of a million mailboxes stays well inside the replay's
// memory budget (tests/bench/RESULTS.md).

#include "decision.hh"
#include "network.hh"
#include "settings.hh"

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace account_guard::replay {

class Evidence {
public:
	// Keeps this many networks an account: more than any sensible ip_limit within its window.
	static constexpr std::size_t kept = 24;

	// A recorded login: `ip` counted per network as the settings count it.
	void login(const Settings &settings, std::string_view user, const IpAddress &ip,
		   std::int64_t time, LineRef where);
	// The lines of the account's logins within `window` seconds before `now`, oldest first.
	std::vector<LineRef> lines(std::string_view user, std::int64_t now, std::int64_t window) const;
	// Unlocking forgets the history; so does the evidence.
	void forget(std::string_view user) { seen_.erase(std::string(user)); }

private:
	struct Seen {
		Network network;
		std::int64_t time;
		LineRef where;
	};
	std::unordered_map<std::string, std::vector<Seen>> seen_;
};

} // namespace account_guard::replay

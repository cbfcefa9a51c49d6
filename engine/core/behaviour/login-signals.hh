#pragma once
// The login signals of INTERFACE.md §8, decided on a recorded login against the account's
// profile: unfamiliar (owner and country new to an established profile), suspect (a listed
// network or AS), impossible travel, and new_owner (only the owner is new: weaker, it only
// corroborates, see incident.hh). A signal watches the client's network (watch-list.hh), and
// the login is learned into the profile.

#include "account-record.hh"
#include "event.hh"
#include "settings.hh"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace account_guard {

struct LoginFacts {
	std::string_view user;
	std::optional<IpAddress> ip;
	std::optional<CountryCode> country;
	std::optional<std::uint32_t> asn;
	std::optional<LastLocation> location; // from the city database; time unused
	Network network; // the counted network (the /24, /64 or NAT pool): what gets watched
};

struct LoginSignals {
	bool write = false;            // the profile or the watches changed
	std::optional<WatchKind> news; // the strongest signal that watches the network anew
};

LoginSignals assess_login(const Settings &s, AccountRecord &record, const LoginFacts &login, std::uint32_t now,
			  std::uint32_t stale, std::vector<Event> &events);

// "AS3320,AS64610" / "DE,AT": the profile's owners and countries, most recent first.
std::string list_owners(const Profile &profile);
std::string list_profile_countries(const Profile &profile);

// Impossible travel from the profile's last location to `to` at `now` (INTERFACE.md §8).
bool travel_impossible(const Settings &s, const LastLocation &from, const LastLocation &to, std::uint32_t now);

} // namespace account_guard

#pragma once
// What the cluster knows about one account: the login history (distinct networks and
// countries, each with its last-seen time) and the recipient counters of submission in one
// memcached value, rewritten with compare-and-swap; and the lock, in an item of its own placed
// on the same server (lock-item.hh), so that one round trip reads both and no rewrite of the
// record can lose the lock. A login carries the counters through unchanged, a RCPT the history.

#include "behaviour/incident.hh"
#include "behaviour/profile.hh"
#include "behaviour/watch-list.hh"
#include "network.hh"
#include "recipient-record.hh"

#include <array>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

struct NetworkSeen {
	Network network;
	std::uint32_t last_seen = 0;
};

using CountryCode = std::array<char, 2>;

struct CountrySeen {
	CountryCode country{};
	std::uint32_t last_seen = 0;
};

struct Lock {
	std::uint32_t since = 0;
	std::string reason;
	// A few bits of a salted hash of the password in use when the lock was set: enough to
	// notice that a later verified password differs, too few to help guess it. Unset for
	// an administrator's lock until the next login supplies the password.
	bool has_fingerprint = false;
	std::uint32_t salt = 0;
	std::uint16_t fingerprint = 0;
};

struct AccountRecord {
	// The account's lock as the decisions see it. It is stored in an item of its own
	// (lock-item.hh), never by encode(); decode() fills it only from a record an earlier
	// version wrote, which the login then moves into the lock item.
	std::optional<Lock> lock;
	std::vector<NetworkSeen> networks; // most recently seen first
	std::vector<CountrySeen> countries; // most recently seen first
	RecipientRecord recipients;         // submission's recipient counts (recipient-policy)

	// The low flyer (behaviour/): the long-term profile, the watched networks, the counts of
	// the probation and new-recipient limits, the current incident.
	Profile profile;
	WatchList watches;
	RecipientRecord probation_recipients;
	RecipientRecord new_recipients;
	Incident incident;

	bool empty() const
	{
		return !lock && networks.empty() && countries.empty() && recipients.windows.empty() &&
		       profile.empty() && watches.items.empty() && probation_recipients.windows.empty() &&
		       new_recipients.windows.empty() && incident.since == 0;
	}

	// Marks the network (or country) as seen at `now`; returns its previous last-seen time,
	// or 0 if it is new.
	std::uint32_t touch_network(const Network &network, std::uint32_t now);
	std::uint32_t touch_country(CountryCode country, std::uint32_t now);

	// Entries seen within (now - window, now].
	std::vector<const NetworkSeen *> networks_within(std::uint32_t now, std::int64_t window) const;
	std::vector<const CountrySeen *> countries_within(std::uint32_t now, std::int64_t window) const;
	// Their number, without building the list (every login asks).
	std::size_t count_networks_within(std::uint32_t now, std::int64_t window) const;
	std::size_t count_countries_within(std::uint32_t now, std::int64_t window) const;

	// Drop entries older than `window` and keep at most `max_entries`, the most recent
	// ones: enough to decide "more than N in a window" for every N < max_entries.
	void trim_networks(std::uint32_t now, std::int64_t window, std::size_t max_entries);
	void trim_countries(std::uint32_t now, std::int64_t window, std::size_t max_entries);
};

// Compact binary encoding (versioned, record-codec.cc describes it); the lock is not encoded. decode() treats its
// input as untrusted: anything malformed yields std::nullopt, never a crash or an oversized
// allocation. It also reads the previous format (1: lock and history, no recipient counts).
std::string encode(const AccountRecord &record);
std::optional<AccountRecord> decode(std::string_view data);

std::string format_country(CountryCode country);
std::optional<CountryCode> parse_country(std::string_view text);

} // namespace account_guard

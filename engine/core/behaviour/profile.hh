#pragma once
// An account's long-term profile (INTERFACE.md §8): who owns the networks it logs in from, the
// countries, where it was last, and how many recipients it sends on a usual day. Stored inside
// the account record (one read serves the login and RCPT decisions), compact: a typical
// account has two or three owners, one country and a few dozen active days.
//
// A profile is *established* once it spans account_guard_profile_learning and holds
// profile_learning_logins recorded logins; before that nothing is unfamiliar. A lost record
// (eviction, restart) starts a new profile: learning again, never unfamiliar.
// An owner or country first seen after the learning period is *provisional* for
// account_guard_probation: a thief's second login from the network it came from is not yet
// familiar just because its first login added the owner.

#include "network.hh"

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace account_guard {

struct Settings;
using CountryCode = std::array<char, 2>;

struct OwnerSeen {
	Network owner; // an AS (Network::of_asn), or without an ASN database the /16 or /32
	std::uint32_t first_seen = 0;
	std::uint32_t last_seen = 0;
};

struct ProfileCountry {
	CountryCode country{};
	std::uint32_t first_seen = 0;
	std::uint32_t last_seen = 0;
};

// Where the last located login came from, in 1e-4 degrees (about 11 m: far finer than any
// city database).
struct LastLocation {
	std::int32_t latitude_e4 = 0;
	std::int32_t longitude_e4 = 0;
	std::uint16_t radius_km = 0;
	std::uint32_t time = 0;
};

// Recipients accepted on one UTC day (time / 86400).
struct DayCount {
	std::uint32_t day = 0;
	std::uint32_t count = 0;
};

constexpr std::size_t max_profile_owners = 32;
constexpr std::size_t max_profile_countries = 16;

struct Profile {
	std::uint32_t since = 0;  // first recorded login; 0: no profile yet
	std::uint32_t logins = 0; // recorded logins, counted up to profile_learning_logins
	std::vector<OwnerSeen> owners;         // most recently seen first
	std::vector<ProfileCountry> countries; // most recently seen first
	std::optional<LastLocation> location;
	std::vector<DayCount> days;            // newest first; only days with recipients

	bool empty() const { return since == 0 && days.empty(); }
	bool established(const Settings &s, std::uint32_t now) const;

	// Known: seen within the profile period and not provisional (first seen during learning,
	// or at least account_guard_probation ago).
	bool knows_owner(const Settings &s, const Network &owner, std::uint32_t now) const;
	bool knows_country(const Settings &s, CountryCode country, std::uint32_t now) const;

	// A recorded login; returns whether the stored profile changed enough to be written
	// (a new owner or country, a last-seen time older than `stale`, the learning count).
	bool record_login(std::optional<Network> owner, std::optional<CountryCode> country,
			  std::uint32_t now, std::uint32_t stale);
	// Drops what is older than the profile period.
	void trim(const Settings &s, std::uint32_t now);

	// Recipients accepted today, and n more (n may be negative: recipients given back).
	std::uint32_t today(std::uint32_t now) const;
	void add_recipients(std::uint32_t now, long long n);
	// The account's usual day: the median of its active days within the profile period,
	// today excluded; 0 with fewer than min_active_days of them (too little to compare).
	std::uint32_t usual_day(const Settings &s, std::uint32_t now) const;
	static constexpr std::size_t min_active_days = 3;

	// Forgets what arrived since `since` (an unlock: the thief's owners and countries go,
	// the customer's stay).
	void forget_since(std::uint32_t since);
};

// The owner of a login's network: its AS when known, else the /16 (IPv4) or /32 (IPv6).
Network owner_of(const IpAddress &ip, std::optional<std::uint32_t> asn);

} // namespace account_guard

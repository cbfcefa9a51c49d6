#pragma once
// The GeoIP port: what the guard needs to know about a client address beyond its network.
// Adapter: GeoDatabases (MaxMind-format files through libmaxminddb). Unit tests of the
// policy pass countries and ASNs directly.

#include "account-record.hh"
#include "event.hh"
#include "geo-location.hh"
#include "network.hh"

#include <cstdint>
#include <ctime>
#include <optional>
#include <vector>

namespace account_guard {

struct GeoInfo {
	std::optional<CountryCode> country; // unset: unknown to the database (private, unlisted)
	std::optional<std::uint32_t> asn;
	std::optional<GeoLocation> location; // unset: not asked for, or not placed by a city database
};

class GeoLookup {
public:
	virtual ~GeoLookup() = default;
	// Looks up only what is asked for: an unused database costs nothing per login. The
	// location is off unless asked for: only impossible travel needs it.
	virtual GeoInfo lookup(const IpAddress &ip, bool country = true, bool asn = true,
			       bool location = false) = 0;
	// Gives a long-running process the chance to pick up replaced database files; cheap
	// when called often (it looks at the files at most every few seconds).
	virtual std::vector<Event> refresh(std::time_t now) = 0;
};

} // namespace account_guard

#pragma once
// The GeoIP port: what the guard needs to know about a client address beyond its network.
// Adapter: GeoDatabases (MaxMind-format files through libmaxminddb). Unit tests of the
// policy pass countries and ASNs directly.

#include "account-record.hh"
#include "event.hh"
#include "network.hh"

#include <cstdint>
#include <ctime>
#include <optional>
#include <vector>

namespace account_guard {

struct GeoInfo {
	std::optional<CountryCode> country; // unset: unknown to the database (private, unlisted)
	std::optional<std::uint32_t> asn;
};

class GeoLookup {
public:
	virtual ~GeoLookup() = default;
	// Looks up only what is asked for: an unused database costs nothing per login.
	virtual GeoInfo lookup(const IpAddress &ip, bool country = true, bool asn = true) = 0;
	// Gives a long-running process the chance to pick up replaced database files; cheap
	// when called often (it looks at the files at most every few seconds).
	virtual std::vector<Event> refresh(std::time_t now) = 0;
};

} // namespace account_guard

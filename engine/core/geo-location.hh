#pragma once
// Where a client address is, as a city database (GeoLite2-City, DB-IP City Lite) places it,
// and the impossible-travel rule of INTERFACE.md §8 as a pure function of two such places and
// their login times. No I/O: the locations come from the GeoLookup port, the times from the
// caller.

#include <cstdint>

namespace account_guard {

struct GeoLocation {
	double latitude = 0;  // degrees, -90 (south) .. 90 (north)
	double longitude = 0; // degrees, -180 (west) .. 180 (east)
	// MaxMind's accuracy_radius: the device is within this many km of the point with 67%
	// confidence. 0 when the database does not say.
	std::uint16_t radius_km = 0;
};

constexpr double earth_radius_km = 6371.0; // the mean radius (IUGG)

// Two logins closer than this (after subtracting both radii) are never impossible travel,
// however short the time between them: city databases misplace addresses by hundreds of km
// often enough (research/low-and-slow.md §4) that a smaller distance says nothing.
constexpr double travel_min_distance_km = 500.0;

// Great-circle distance (haversine on a sphere of earth_radius_km). Off from the ellipsoid
// by at most 0.5%, far less than any city database's error.
double distance_km(const GeoLocation &a, const GeoLocation &b);

// The distance the two devices are at least apart if each is inside its accuracy circle:
// distance_km minus both radii, 0 when the circles overlap.
double separation_km(const GeoLocation &a, const GeoLocation &b);

// Whether a login at `to` at to_time cannot be the same person as a login at `from` at
// from_time, travelling at most speed_kmh: true when separation_km is at least
// travel_min_distance_km and more than speed_kmh covers in the time between them.
// speed_kmh 0 disables the rule (always false). Times are seconds (the records' clock).
// A to_time before from_time counts as no time at all: logins reach the cluster out of
// order only by the hosts' clock skew or a late replica, seconds, so the two are as good as
// simultaneous; taking the absolute difference would instead let a host whose clock is hours
// behind make any journey look possible.
bool impossible_travel(const GeoLocation &from, std::uint32_t from_time, const GeoLocation &to,
		       std::uint32_t to_time, std::uint32_t speed_kmh);

// Degrees as a fixed-point integer of 1/10000 degree (about 11 m at the equator), for the
// account record's last location: 4 bytes instead of a double's 8, and a value that decodes
// back within 0.00005 degrees. Out-of-range input is clamped to +-180, NaN becomes 0.
constexpr double fixed_degrees_per_degree = 10000.0;
std::int32_t encode_degrees(double degrees);
double decode_degrees(std::int32_t fixed);

} // namespace account_guard

#include "geo-location.hh"

#include <algorithm>
#include <cmath>

namespace account_guard {

namespace {

constexpr double pi = 3.14159265358979323846;

double radians(double degrees) { return degrees * (pi / 180.0); }

} // namespace

double distance_km(const GeoLocation &a, const GeoLocation &b)
{
	double lat1 = radians(a.latitude), lat2 = radians(b.latitude);
	double dlat = lat2 - lat1, dlon = radians(b.longitude - a.longitude);
	double s = std::sin(dlat / 2), t = std::sin(dlon / 2);
	double h = s * s + std::cos(lat1) * std::cos(lat2) * t * t;
	// Rounding can push h a hair past 1 for antipodes; asin would then be NaN.
	return 2 * earth_radius_km * std::asin(std::sqrt(std::clamp(h, 0.0, 1.0)));
}

double separation_km(const GeoLocation &a, const GeoLocation &b)
{
	return std::max(0.0, distance_km(a, b) - a.radius_km - b.radius_km);
}

bool impossible_travel(const GeoLocation &from, std::uint32_t from_time, const GeoLocation &to,
		       std::uint32_t to_time, std::uint32_t speed_kmh)
{
	if (speed_kmh == 0)
		return false;
	double km = separation_km(from, to);
	if (km < travel_min_distance_km)
		return false;
	std::uint32_t elapsed = to_time > from_time ? to_time - from_time : 0;
	// km/h against km/s without dividing: both products stay exact in a double (< 2^53).
	return km * 3600.0 > static_cast<double>(speed_kmh) * static_cast<double>(elapsed);
}

std::int32_t encode_degrees(double degrees)
{
	if (std::isnan(degrees))
		return 0;
	degrees = std::clamp(degrees, -180.0, 180.0);
	return static_cast<std::int32_t>(std::lround(degrees * fixed_degrees_per_degree));
}

double decode_degrees(std::int32_t fixed) { return fixed / fixed_degrees_per_degree; }

} // namespace account_guard

// Distances and the impossible-travel rule (INTERFACE.md §8), with real places.
#include "geo-location.hh"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>

using namespace account_guard;

namespace {

const GeoLocation berlin{52.5200, 13.4050, 0};
const GeoLocation paris{48.8566, 2.3522, 0};
const GeoLocation new_york{40.7128, -74.0060, 0};
const GeoLocation sydney{-33.8688, 151.2093, 0};

GeoLocation with_radius(GeoLocation at, std::uint16_t radius_km)
{
	at.radius_km = radius_km;
	return at;
}

// A point on the equator this many km east of 0/0.
GeoLocation on_equator(double km) { return {0, km / (earth_radius_km * M_PI / 180.0), 0}; }

} // namespace

TEST_CASE("geo-location: great-circle distances between real places")
{
	CHECK(distance_km(berlin, paris) == Approx(878).margin(5));
	CHECK(distance_km(paris, berlin) == Approx(distance_km(berlin, paris)));
	CHECK(distance_km(berlin, new_york) == Approx(6385).margin(15));
	CHECK(distance_km(berlin, sydney) == Approx(16090).margin(40));
	CHECK(distance_km(berlin, berlin) == 0);
	// Antipodes: half the circumference, not NaN from rounding past asin's domain.
	const double half = M_PI * earth_radius_km;
	CHECK(distance_km({0, 0, 0}, {0, 180, 0}) == Approx(half));
	CHECK(distance_km({90, 0, 0}, {-90, 0, 0}) == Approx(half));
	CHECK(distance_km(berlin, {-berlin.latitude, berlin.longitude - 180, 0}) == Approx(half));
	// Across the date line the short way round.
	CHECK(distance_km({0, 179.5, 0}, {0, -179.5, 0}) == Approx(111.19).margin(0.1));
}

TEST_CASE("geo-location: separation subtracts both accuracy radii, never below 0")
{
	double d = distance_km(berlin, paris);
	CHECK(separation_km(berlin, paris) == Approx(d));
	CHECK(separation_km(with_radius(berlin, 100), with_radius(paris, 50)) == Approx(d - 150));
	CHECK(separation_km(with_radius(berlin, 1000), paris) == 0);
}

TEST_CASE("geo-location: travel just faster than the speed is impossible, just slower is not")
{
	// Berlin to New York at 1000 km/h takes d * 3.6 seconds.
	double d = distance_km(berlin, new_york);
	auto needed = d * 3600.0 / 1000.0;
	auto under = static_cast<std::uint32_t>(std::floor(needed)), over = static_cast<std::uint32_t>(std::ceil(needed));
	REQUIRE(under < over);
	const std::uint32_t t0 = 1790000000;
	CHECK(impossible_travel(berlin, t0, new_york, t0 + under, 1000));
	CHECK_FALSE(impossible_travel(berlin, t0, new_york, t0 + over, 1000));
	// The speed is the postmaster's: a slower one makes the same journey impossible.
	CHECK(impossible_travel(berlin, t0, new_york, t0 + over, 900));
	// A day later anything is possible.
	CHECK_FALSE(impossible_travel(berlin, t0, sydney, t0 + 86400, 1000));
}

TEST_CASE("geo-location: accuracy radii can make a far pair possible")
{
	const std::uint32_t t0 = 1790000000, five_hours = 5 * 3600;
	// 6385 km in 5 h is 1277 km/h ...
	CHECK(impossible_travel(berlin, t0, new_york, t0 + five_hours, 1000));
	// ... but the devices may be 1500 km closer: 4885 km in 5 h is 977 km/h.
	CHECK_FALSE(impossible_travel(with_radius(berlin, 500), t0, with_radius(new_york, 1000),
				      t0 + five_hours, 1000));
	// Berlin - Paris at the same moment, but both only known within 200 km: 478 km apart at least.
	CHECK(impossible_travel(berlin, t0, paris, t0, 1000));
	CHECK_FALSE(impossible_travel(with_radius(berlin, 200), t0, with_radius(paris, 200), t0, 1000));
}

TEST_CASE("geo-location: nothing under 500 km apart is impossible travel")
{
	const std::uint32_t t0 = 1790000000;
	const GeoLocation origin{0, 0, 0};
	CHECK_FALSE(impossible_travel(origin, t0, on_equator(490), t0, 100000));
	CHECK(impossible_travel(origin, t0, on_equator(510), t0, 100000));
	// The minimum applies after the radii: 600 km apart, 60 km of radii.
	CHECK_FALSE(impossible_travel(with_radius(origin, 30), t0, with_radius(on_equator(550), 30), t0, 100000));
}

TEST_CASE("geo-location: speed 0 disables the rule")
{
	const std::uint32_t t0 = 1790000000;
	CHECK(impossible_travel(berlin, t0, sydney, t0 + 60, 1000));
	CHECK_FALSE(impossible_travel(berlin, t0, sydney, t0 + 60, 0));
	CHECK_FALSE(impossible_travel(berlin, t0, sydney, t0, 0));
}

TEST_CASE("geo-location: no time between two far logins, or time going backwards, is impossible at any speed")
{
	const std::uint32_t t0 = 1790000000;
	CHECK(impossible_travel(berlin, t0, paris, t0, 100000));
	CHECK_FALSE(impossible_travel(berlin, t0, berlin, t0, 100000));
	// Ten hours backwards counts as none, not as ten hours (which 1000 km/h would allow).
	CHECK(impossible_travel(berlin, t0 + 36000, new_york, t0, 1000));
	CHECK_FALSE(impossible_travel(berlin, t0, new_york, t0 + 36000, 1000));
	// The largest times and speed do not overflow.
	CHECK_FALSE(impossible_travel(berlin, 0, sydney, UINT32_MAX, 100000));
	CHECK(impossible_travel(berlin, UINT32_MAX - 1, sydney, UINT32_MAX, 100000));
}

TEST_CASE("geo-location: degrees round-trip through the fixed-point encoding within 0.0001")
{
	double degrees = GENERATE(0.0, 52.52, 13.405, -33.8688, 151.2093, -74.006, 90.0, -90.0, 180.0,
				  -180.0, 0.00004, -0.00006, 12.345678901, -179.99999);
	CAPTURE(degrees);
	CHECK(std::fabs(decode_degrees(encode_degrees(degrees)) - degrees) <= 0.00005 + 1e-12);
}

TEST_CASE("geo-location: the fixed-point encoding rounds to the nearest 1/10000 degree and clamps")
{
	CHECK(encode_degrees(52.52) == 525200);
	CHECK(encode_degrees(-74.006) == -740060);
	CHECK(encode_degrees(0.00004) == 0);
	CHECK(encode_degrees(-0.00006) == -1);
	CHECK(encode_degrees(180.0) == 1800000);
	CHECK(encode_degrees(1000.0) == 1800000);
	CHECK(encode_degrees(-1e300) == -1800000);
	CHECK(encode_degrees(NAN) == 0);
	CHECK(decode_degrees(-339) == Approx(-0.0339));
}

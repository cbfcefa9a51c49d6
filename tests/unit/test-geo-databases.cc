// GeoIP adapter over real MaxMind-format files (country, ASN, city), generated at test time by
// tests/data/make-test-mmdb.pl (libmaxmind-db-writer-perl).
#include "geo-databases.hh"

#include "settings.hh"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>

using namespace account_guard;

namespace {

struct TestDatabases {
	std::string dir;
	std::string country;
	std::string asn;
	std::string city;

	TestDatabases()
	{
		char tmpl[] = "/tmp/ag-geo-XXXXXX";
		if (mkdtemp(tmpl) == nullptr)
			throw std::runtime_error("mkdtemp failed");
		dir = tmpl;
		country = dir + "/country.mmdb";
		asn = dir + "/asn.mmdb";
		city = dir + "/city.mmdb";
		generate(country, asn, "", city);
	}
	~TestDatabases() { (void)std::system(("rm -rf '" + dir + "'").c_str()); }

	static void generate(const std::string &c, const std::string &a, const std::string &variant,
			     const std::string &city = "")
	{
		std::string cmd = "perl '" AG_SOURCE_DIR "/tests/data/make-test-mmdb.pl' " +
				  (city.empty() ? std::string() : "--city '" + city + "' ") + "'" + c + "' '" + a +
				  "' " + variant;
		if (std::system(cmd.c_str()) != 0)
			throw std::runtime_error("cannot generate test databases: " + cmd);
	}
};

std::string country_of(GeoDatabases &geo, const char *ip)
{
	auto info = geo.lookup(*parse_ip(ip));
	return info.country ? format_country(*info.country) : "-";
}

} // namespace

TEST_CASE("geo-databases: countries and ASNs of IPv4, IPv6 and IPv4-mapped addresses")
{
	TestDatabases files;
	GeoDatabases geo(files.country, files.asn, "");
	CHECK(country_of(geo, "192.0.2.5") == "DE");
	CHECK(country_of(geo, "198.51.100.200") == "FR");
	CHECK(country_of(geo, "2001:db8:1::9") == "JP");
	CHECK(country_of(geo, "::ffff:203.0.113.1") == "BR");
	CHECK(geo.lookup(*parse_ip("100.100.1.1")).asn == 64500u);
	CHECK(geo.lookup(*parse_ip("2001:db8::1")).asn == 64501u);
}

TEST_CASE("geo-databases: repeated lookups in any order give the same answers (strings read once per record)")
{
	TestDatabases files;
	GeoDatabases geo(files.country, files.asn, "");
	const struct {
		const char *ip, *country;
	} expected[] = {
		{"192.0.2.5", "DE"},     {"198.51.100.200", "FR"}, {"192.0.2.250", "DE"}, {"10.1.2.3", "-"},
		{"2001:db8:1::9", "JP"}, {"::ffff:192.0.2.7", "DE"}, {"203.0.113.1", "BR"}, {"198.19.7.1", "US"},
	};
	for (int pass = 0; pass < 3; pass++) {
		for (const auto &e : expected) {
			CAPTURE(pass, e.ip);
			CHECK(country_of(geo, e.ip) == e.country);
		}
	}
	// A country-only lookup and a full one of the same record agree.
	CHECK(geo.lookup(*parse_ip("198.51.100.1"), true, false).country == geo.lookup(*parse_ip("198.51.100.1")).country);
}

TEST_CASE("geo-databases: addresses the database does not know have no country")
{
	TestDatabases files;
	GeoDatabases geo(files.country, files.asn, "");
	for (const char *ip : {"10.1.2.3", "127.0.0.1", "192.168.1.1", "2001:db9::1", "fe80::1"}) {
		CAPTURE(ip);
		GeoInfo info = geo.lookup(*parse_ip(ip));
		CHECK_FALSE(info.country);
		CHECK_FALSE(info.asn);
	}
}

TEST_CASE("geo-databases: one database alone works; none configured is empty")
{
	TestDatabases files;
	GeoDatabases only_country(files.country, "", "");
	CHECK(country_of(only_country, "192.0.2.1") == "DE");
	CHECK_FALSE(only_country.lookup(*parse_ip("192.0.2.1")).asn);
	GeoDatabases none("", "", "");
	CHECK(none.empty());
}

TEST_CASE("geo-databases: a missing or corrupt file stops start-up with a clear error")
{
	TestDatabases files;
	CHECK_THROWS_WITH(GeoDatabases(files.dir + "/missing.mmdb", "", ""),
			  Catch::StartsWith("account_guard_geoip_db: cannot open '" + files.dir + "/missing.mmdb'"));
	std::string corrupt = files.dir + "/corrupt.mmdb";
	std::ofstream(corrupt) << "this is not a MaxMind database";
	CHECK_THROWS_AS(GeoDatabases("", corrupt, ""), SettingError);
	CHECK_THROWS_WITH(GeoDatabases("", corrupt, ""), Catch::StartsWith("account_guard_asn_db: cannot open"));
}

TEST_CASE("geo-databases: a replaced file is picked up without a restart, a bad one is not")
{
	TestDatabases files;
	GeoDatabases geo(files.country, files.asn, "", 5);
	std::time_t now = 1000;
	CHECK(geo.refresh(now).empty());
	CHECK(country_of(geo, "192.0.2.5") == "DE");

	// geoipupdate style: write elsewhere, rename over the old file.
	std::string next_c = files.dir + "/next-country.mmdb", next_a = files.dir + "/next-asn.mmdb";
	TestDatabases::generate(next_c, next_a, "moved");
	REQUIRE(rename(next_c.c_str(), files.country.c_str()) == 0);

	// Not looked at again within the check interval.
	CHECK(geo.refresh(now + 2).empty());
	CHECK(country_of(geo, "192.0.2.5") == "DE");
	auto events = geo.refresh(now + 5);
	REQUIRE(events.size() == 1);
	CHECK(events[0].message.find("switched to the new") != std::string::npos);
	CHECK(country_of(geo, "192.0.2.5") == "AT");

	// A corrupt replacement: the last good database stays, and the error is reported once.
	std::string bad = files.dir + "/bad.mmdb";
	std::ofstream(bad) << "garbage";
	REQUIRE(rename(bad.c_str(), files.country.c_str()) == 0);
	events = geo.refresh(now + 10);
	REQUIRE(events.size() == 1);
	CHECK(std::string(events[0].name) == "account_guard_backend_failed");
	CHECK(events[0].message.find("keeping the database loaded before") != std::string::npos);
	CHECK(country_of(geo, "192.0.2.5") == "AT");
	CHECK(geo.refresh(now + 20).empty());

	// The file disappears: same, reported once.
	REQUIRE(unlink(files.country.c_str()) == 0);
	CHECK(geo.refresh(now + 30).size() == 1);
	CHECK(geo.refresh(now + 40).empty());
	CHECK(country_of(geo, "198.51.100.1") == "FR");
}

TEST_CASE("geo-databases: only what is asked for is looked up")
{
	TestDatabases files;
	GeoDatabases geo(files.country, files.asn, "");
	GeoInfo only_country = geo.lookup(*parse_ip("192.0.2.5"), true, false);
	CHECK(only_country.country);
	CHECK_FALSE(only_country.asn);
	GeoInfo only_asn = geo.lookup(*parse_ip("192.0.2.5"), false, true);
	CHECK_FALSE(only_asn.country);
	CHECK(only_asn.asn == 64496u);
}

namespace {

GeoLocation location_of(GeoDatabases &geo, const char *ip)
{
	auto info = geo.lookup(*parse_ip(ip), false, false, true);
	if (!info.location)
		throw std::runtime_error(std::string("no location for ") + ip);
	return *info.location;
}

} // namespace

TEST_CASE("geo-databases: a city database places addresses, with their accuracy radius")
{
	TestDatabases files;
	GeoDatabases geo(files.country, files.asn, files.city);
	GeoLocation berlin = location_of(geo, "192.0.2.5");
	CHECK(berlin.latitude == Approx(52.52));
	CHECK(berlin.longitude == Approx(13.405));
	CHECK(berlin.radius_km == 20);
	GeoLocation paris = location_of(geo, "198.51.100.7");
	CHECK(paris.latitude == Approx(48.8566));
	CHECK(paris.longitude == Approx(2.3522));
	CHECK(paris.radius_km == 10);
	CHECK(distance_km(berlin, paris) == Approx(878).margin(5));
	GeoLocation sydney = location_of(geo, "192.31.196.1");
	CHECK(sydney.latitude == Approx(-33.8688));
	CHECK(sydney.longitude == Approx(151.2093));
	CHECK(location_of(geo, "198.18.200.1").longitude == Approx(-74.006)); // New York
	CHECK(location_of(geo, "2001:db8:1::9").latitude == Approx(35.6762)); // Tokyo
	CHECK(location_of(geo, "::ffff:192.0.2.5").radius_km == 20);
	// Placed only to the country: the radius says so.
	CHECK(location_of(geo, "233.252.0.1").radius_km == 1000);
}

TEST_CASE("geo-databases: a location without radius counts as exact; a record without one has none")
{
	TestDatabases files;
	GeoDatabases geo("", "", files.city);
	GeoLocation chicago = location_of(geo, "198.19.1.1");
	CHECK(chicago.latitude == Approx(41.8781));
	CHECK(chicago.radius_km == 0);
	// Known to the country only: a country, no location.
	GeoInfo country_only = geo.lookup(*parse_ip("198.19.200.1"), true, false, true);
	CHECK(country_only.country == parse_country("US"));
	CHECK_FALSE(country_only.location);
	for (const char *ip : {"10.1.2.3", "2001:db9::1"}) {
		CAPTURE(ip);
		CHECK_FALSE(geo.lookup(*parse_ip(ip), true, true, true).location);
	}
}

TEST_CASE("geo-databases: a location is looked up only when asked for and a city database is set")
{
	TestDatabases files;
	GeoDatabases with_city(files.country, files.asn, files.city);
	CHECK_FALSE(with_city.lookup(*parse_ip("192.0.2.5")).location);
	CHECK_FALSE(with_city.lookup(*parse_ip("192.0.2.5"), true, true, false).location);
	GeoInfo all = with_city.lookup(*parse_ip("192.0.2.5"), true, true, true);
	CHECK(all.location);
	CHECK(all.country == parse_country("DE"));
	CHECK(all.asn == 64496u);
	GeoDatabases without_city(files.country, files.asn, "");
	CHECK_FALSE(without_city.lookup(*parse_ip("192.0.2.5"), true, true, true).location);
}

TEST_CASE("geo-databases: without a country database countries come from the city database")
{
	TestDatabases files;
	GeoDatabases only_city("", "", files.city);
	CHECK_FALSE(only_city.empty());
	CHECK(country_of(only_city, "192.0.2.5") == "DE");
	CHECK(country_of(only_city, "192.31.196.1") == "AU");
	CHECK(country_of(only_city, "10.1.2.3") == "-");
	CHECK_FALSE(only_city.lookup(*parse_ip("192.0.2.5"), false, true, true).country);

	// With both, the country database decides: it says AT where the city database says DE.
	std::string moved_c = files.dir + "/moved-country.mmdb", moved_a = files.dir + "/moved-asn.mmdb";
	TestDatabases::generate(moved_c, moved_a, "moved");
	GeoDatabases both(moved_c, "", files.city);
	CHECK(country_of(both, "192.0.2.5") == "AT");
	CHECK(location_of(both, "192.0.2.5").latitude == Approx(52.52));
}

TEST_CASE("geo-databases: a missing or corrupt city database stops start-up naming its setting")
{
	TestDatabases files;
	CHECK_THROWS_AS(GeoDatabases("", "", files.dir + "/missing.mmdb"), SettingError);
	CHECK_THROWS_WITH(GeoDatabases(files.country, files.asn, files.dir + "/missing.mmdb"),
			  Catch::StartsWith("account_guard_city_db: cannot open '" + files.dir + "/missing.mmdb'"));
	std::string corrupt = files.dir + "/corrupt.mmdb";
	std::ofstream(corrupt) << "this is not a MaxMind database";
	CHECK_THROWS_WITH(GeoDatabases("", "", corrupt), Catch::StartsWith("account_guard_city_db: cannot open"));
}

TEST_CASE("geo-databases: a replaced city database is picked up without a restart")
{
	TestDatabases files;
	GeoDatabases geo(files.country, files.asn, files.city, 5);
	std::time_t now = 1000;
	CHECK(geo.refresh(now).empty());
	CHECK(location_of(geo, "192.0.2.5").latitude == Approx(52.52));

	std::string c = files.dir + "/n-country.mmdb", a = files.dir + "/n-asn.mmdb", city = files.dir + "/n-city.mmdb";
	TestDatabases::generate(c, a, "moved", city);
	REQUIRE(rename(city.c_str(), files.city.c_str()) == 0);
	auto events = geo.refresh(now + 5);
	REQUIRE(events.size() == 1);
	CHECK(events[0].message.rfind("account_guard_city_db: switched to the new", 0) == 0);
	GeoLocation vienna = location_of(geo, "192.0.2.5");
	CHECK(vienna.latitude == Approx(48.2082));
	CHECK(vienna.longitude == Approx(16.3738));

	REQUIRE(unlink(files.city.c_str()) == 0);
	events = geo.refresh(now + 10);
	REQUIRE(events.size() == 1);
	CHECK(events[0].message.find("account_guard_city_db: cannot open") != std::string::npos);
	CHECK(location_of(geo, "192.0.2.5").latitude == Approx(48.2082));
}

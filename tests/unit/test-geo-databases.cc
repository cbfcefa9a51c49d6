// GeoIP adapter over real MaxMind-format files, generated at test time by
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

	TestDatabases()
	{
		char tmpl[] = "/tmp/ag-geo-XXXXXX";
		if (mkdtemp(tmpl) == nullptr)
			throw std::runtime_error("mkdtemp failed");
		dir = tmpl;
		country = dir + "/country.mmdb";
		asn = dir + "/asn.mmdb";
		generate(country, asn, "");
	}
	~TestDatabases() { (void)std::system(("rm -rf '" + dir + "'").c_str()); }

	static void generate(const std::string &c, const std::string &a, const std::string &variant)
	{
		std::string cmd = "perl '" AG_SOURCE_DIR "/tests/data/make-test-mmdb.pl' '" + c + "' '" + a +
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
	GeoDatabases geo(files.country, files.asn);
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
	GeoDatabases geo(files.country, files.asn);
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
	GeoDatabases geo(files.country, files.asn);
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
	GeoDatabases only_country(files.country, "");
	CHECK(country_of(only_country, "192.0.2.1") == "DE");
	CHECK_FALSE(only_country.lookup(*parse_ip("192.0.2.1")).asn);
	GeoDatabases none("", "");
	CHECK(none.empty());
}

TEST_CASE("geo-databases: a missing or corrupt file stops start-up with a clear error")
{
	TestDatabases files;
	CHECK_THROWS_WITH(GeoDatabases(files.dir + "/missing.mmdb", ""),
			  Catch::StartsWith("account_guard_geoip_db: cannot open '" + files.dir + "/missing.mmdb'"));
	std::string corrupt = files.dir + "/corrupt.mmdb";
	std::ofstream(corrupt) << "this is not a MaxMind database";
	CHECK_THROWS_AS(GeoDatabases("", corrupt), SettingError);
	CHECK_THROWS_WITH(GeoDatabases("", corrupt), Catch::StartsWith("account_guard_asn_db: cannot open"));
}

TEST_CASE("geo-databases: a replaced file is picked up without a restart, a bad one is not")
{
	TestDatabases files;
	GeoDatabases geo(files.country, files.asn, 5);
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
	GeoDatabases geo(files.country, files.asn);
	GeoInfo only_country = geo.lookup(*parse_ip("192.0.2.5"), true, false);
	CHECK(only_country.country);
	CHECK_FALSE(only_country.asn);
	GeoInfo only_asn = geo.lookup(*parse_ip("192.0.2.5"), false, true);
	CHECK_FALSE(only_asn.country);
	CHECK(only_asn.asn == 64496u);
}

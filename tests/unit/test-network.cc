#include "network.hh"

#include <catch2/catch.hpp>

using namespace account_guard;

TEST_CASE("network: parses IPv4 and IPv6 addresses")
{
	auto v4 = parse_ip("192.0.2.55");
	REQUIRE(v4);
	CHECK(v4->v4);
	CHECK(Network::of(*v4, 32).to_string() == "192.0.2.55/32");

	auto v6 = parse_ip("2001:db8::1");
	REQUIRE(v6);
	CHECK_FALSE(v6->v4);
	CHECK(Network::of(*v6, 128).to_string() == "2001:db8::1/128");
}

TEST_CASE("network: IPv4-mapped IPv6 counts as IPv4")
{
	auto mapped = parse_ip("::ffff:198.51.100.7");
	REQUIRE(mapped);
	CHECK(mapped->v4);
	CHECK(*mapped == *parse_ip("198.51.100.7"));
	CHECK(Network::of(*mapped, 24).to_string() == "198.51.100.0/24");
}

TEST_CASE("network: zone ids and brackets are tolerated, garbage is not")
{
	CHECK(parse_ip("fe80::1%eth0"));
	CHECK(*parse_ip("fe80::1%eth0") == *parse_ip("fe80::1"));
	CHECK(parse_ip("[2001:db8::2]"));
	const char *bad = GENERATE("", "%", "999.1.1.1", "1.2.3", "abc", "1.2.3.4.5", "::ffff:1.2.3",
				   "2001:db8::1::2", "192.0.2.1/24", " 192.0.2.1",
				   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CAPTURE(bad);
	CHECK_FALSE(parse_ip(bad));
}

TEST_CASE("network: aggregation to the configured prefix")
{
	auto a = parse_ip("203.0.113.9");
	auto b = parse_ip("203.0.113.250");
	auto c = parse_ip("203.0.114.1");
	CHECK(Network::of(*a, 24) == Network::of(*b, 24));
	CHECK(Network::of(*a, 24) != Network::of(*c, 24));
	CHECK(Network::of(*a, 16) == Network::of(*c, 16));
	CHECK(Network::of(*a, 20).to_string() == "203.0.112.0/20");

	auto x = parse_ip("2001:db8:1:2:aaaa::1");
	auto y = parse_ip("2001:db8:1:2:ffff::9");
	auto z = parse_ip("2001:db8:1:3::1");
	CHECK(Network::of(*x, 64) == Network::of(*y, 64));
	CHECK(Network::of(*x, 64) != Network::of(*z, 64));
	CHECK(Network::of(*x, 64).to_string() == "2001:db8:1:2::/64");
	CHECK(Network::of(*x, 60).to_string() == "2001:db8:1::/60");
}

TEST_CASE("network: CIDR parsing and containment")
{
	std::string error;
	auto nat = parse_network("100.64.0.0/10", &error);
	REQUIRE(nat);
	CHECK(nat->contains(*parse_ip("100.64.0.1")));
	CHECK(nat->contains(*parse_ip("100.127.255.255")));
	CHECK_FALSE(nat->contains(*parse_ip("100.128.0.0")));
	CHECK_FALSE(nat->contains(*parse_ip("2001:db8::1")));

	auto host = parse_network("192.0.2.7", &error);
	REQUIRE(host);
	CHECK(host->prefix == 32);
	CHECK(parse_network("2001:db8::/32", &error)->contains(*parse_ip("2001:db8:ffff::1")));
	CHECK(parse_network("0.0.0.0/0", &error)->contains(*parse_ip("8.8.8.8")));
}

TEST_CASE("network: bad CIDRs say what is wrong")
{
	std::string error;
	CHECK_FALSE(parse_network("192.0.2.1/24", &error));
	CHECK(error.find("host bits set") != std::string::npos);
	CHECK(error.find("192.0.2.0/24") != std::string::npos);
	CHECK_FALSE(parse_network("192.0.2.0/33", &error));
	CHECK_FALSE(parse_network("192.0.2.0/", &error));
	CHECK_FALSE(parse_network("192.0.2.0/2x", &error));
	CHECK_FALSE(parse_network("example.com/24", &error));
	CHECK_FALSE(parse_network("2001:db8::/129", &error));
}

TEST_CASE("network: a list finds the first network containing an address")
{
	std::string error;
	NetworkList list;
	list.add(*parse_network("192.0.2.0/24", &error));
	list.add(*parse_network("2001:db8::/32", &error));
	CHECK(list.find(*parse_ip("192.0.2.200")) == &list.items()[0]);
	CHECK(list.find(*parse_ip("2001:db8::5")) == &list.items()[1]);
	CHECK(list.find(*parse_ip("198.51.100.1")) == nullptr);
}

#include "account-record.hh"

#include <catch2/catch.hpp>

using namespace account_guard;

namespace {

Network net(const char *text)
{
	std::string error;
	return *parse_network(text, &error);
}

AccountRecord sample()
{
	AccountRecord r;
	r.touch_network(net("192.0.2.0/24"), 1000);
	r.touch_network(net("2001:db8:1:2::/64"), 1100);
	r.touch_network(Network::unknown(), 1200);
	r.touch_country(*parse_country("DE"), 1000);
	r.touch_country(*parse_country("br"), 1300);
	return r;
}

} // namespace

TEST_CASE("account-record: windows count entries seen within (now - window, now]")
{
	AccountRecord r;
	r.touch_network(net("192.0.2.0/24"), 1000);
	r.touch_network(net("198.51.100.0/24"), 2000);
	r.touch_network(net("203.0.113.0/24"), 3000);
	CHECK(r.networks_within(3000, 3600).size() == 3);
	// An entry exactly one window old has slid out; one second younger is still in.
	CHECK(r.networks_within(4600, 3600).size() == 2);
	CHECK(r.networks_within(4599, 3600).size() == 3);
	CHECK(r.networks_within(6600, 3600).size() == 0);
	CHECK(r.networks_within(6599, 3600).size() == 1);
}

TEST_CASE("account-record: touching a known network refreshes it instead of adding")
{
	AccountRecord r;
	CHECK(r.touch_network(net("192.0.2.0/24"), 1000) == 0);
	CHECK(r.touch_network(net("198.51.100.0/24"), 1500) == 0);
	CHECK(r.touch_network(net("192.0.2.0/24"), 2000) == 1000);
	REQUIRE(r.networks.size() == 2);
	CHECK(r.networks[0].network == net("192.0.2.0/24")); // most recent first
	CHECK(r.networks[0].last_seen == 2000);
	// Time never runs backwards for an entry (clock skew between nodes).
	r.touch_network(net("192.0.2.0/24"), 1200);
	CHECK(r.networks[0].last_seen == 2000);
}

TEST_CASE("account-record: trim keeps the most recent entries within the window")
{
	AccountRecord r;
	for (std::uint32_t i = 0; i < 20; i++) {
		IpAddress ip = *parse_ip("10.0.0.0");
		ip.bytes[2] = static_cast<std::uint8_t>(i);
		r.touch_network(Network::of(ip, 24), 1000 + i * 10);
	}
	r.trim_networks(1190, 3600, 11);
	REQUIRE(r.networks.size() == 11);
	CHECK(r.networks[0].last_seen == 1190);
	CHECK(r.networks[10].last_seen == 1090);
	r.trim_networks(1000 + 3600 + 150, 3600, 11);
	CHECK(r.networks.size() == 4); // 1160..1190 remain
}

TEST_CASE("account-record: encode/decode round trip")
{
	AccountRecord r = sample();
	Lock lock;
	lock.since = 1234567890;
	lock.reason = "11 networks within 1h (limit 10/1h): a, b";
	lock.has_fingerprint = true;
	lock.salt = 0xdeadbeef;
	lock.fingerprint = 0xabc;
	r.lock = lock;

	auto back = decode(encode(r));
	REQUIRE(back);
	REQUIRE(back->lock);
	CHECK(back->lock->since == 1234567890);
	CHECK(back->lock->reason == lock.reason);
	CHECK(back->lock->has_fingerprint);
	CHECK(back->lock->salt == 0xdeadbeef);
	CHECK(back->lock->fingerprint == 0xabc);
	REQUIRE(back->networks.size() == 3);
	CHECK(back->networks[0].network == Network::unknown());
	CHECK(back->networks[1].network.to_string() == "2001:db8:1:2::/64");
	CHECK(back->networks[2].network.to_string() == "192.0.2.0/24");
	CHECK(back->networks[2].last_seen == 1000);
	REQUIRE(back->countries.size() == 2);
	CHECK(format_country(back->countries[0].country) == "BR");
	CHECK(back->countries[1].last_seen == 1000);

	AccountRecord empty;
	auto e = decode(encode(empty));
	REQUIRE(e);
	CHECK(e->empty());
}

TEST_CASE("account-record: the default history stays small")
{
	AccountRecord r;
	for (std::uint32_t i = 0; i < 11; i++) {
		IpAddress ip = *parse_ip("198.51.0.0");
		ip.bytes[2] = static_cast<std::uint8_t>(i);
		r.touch_network(Network::of(ip, 24), 1000 + i);
	}
	r.touch_country(*parse_country("DE"), 1000);
	// 4 + 11 * 9 + 2 + 6 bytes: well under the 256-byte budget per account.
	CHECK(encode(r).size() == 111);
}

TEST_CASE("account-record: malformed values are rejected, never trusted")
{
	std::string good = encode(sample());
	// Every truncation of a valid record is invalid.
	for (std::size_t n = 0; n < good.size(); n++) {
		CAPTURE(n);
		CHECK_FALSE(decode(std::string_view(good).substr(0, n)));
	}
	CHECK_FALSE(decode(good + "x"));
	std::string wrong_version = good;
	wrong_version[0] = 9;
	CHECK_FALSE(decode(wrong_version));
	// A family byte that is neither 0, 4 nor 6.
	std::string bad_family = good;
	bad_family[4] = 5;
	CHECK_FALSE(decode(bad_family));
	// A huge entry count must not allocate or read past the end.
	std::string huge("\x01\x00\xff\xff", 4);
	CHECK_FALSE(decode(huge));
}

TEST_CASE("account-record: host bits from a foreign writer are normalised")
{
	// version 1, unlocked, one IPv4 /23 entry written with a host bit set, no countries.
	std::string raw("\x01\x00\x01\x00\x04\x17\xc0\x00\x03\xe8\x03\x00\x00\x00\x00", 15);
	auto r = decode(raw);
	REQUIRE(r);
	CHECK(r->networks[0].network.to_string() == "192.0.2.0/23");
	CHECK(r->networks[0].last_seen == 1000);
}

TEST_CASE("account-record: country codes")
{
	CHECK(parse_country("de"));
	CHECK(format_country(*parse_country("de")) == "DE");
	CHECK_FALSE(parse_country("D"));
	CHECK_FALSE(parse_country("D1"));
	CHECK_FALSE(parse_country("DEU"));
}

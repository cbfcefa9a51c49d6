#include "account-record.hh"

#include "settings.hh"

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

TEST_CASE("account-record: encode/decode round trip, the lock left to its own item")
{
	AccountRecord r = sample();
	Lock lock;
	lock.since = 1234567890;
	lock.reason = "11 networks within 1h (limit 10/1h): a, b";
	r.lock = lock;

	auto back = decode(encode(r));
	REQUIRE(back);
	// The lock lives in the lock item (lock-item.hh): a rewrite of the record never carries
	// it, so no failed rewrite can lose it.
	CHECK_FALSE(back->lock);
	CHECK(encode(r) == encode(*back));
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
	CHECK(encode(empty).size() == 10); // version, flags, base time, three zero counts, no behaviour
}

TEST_CASE("account-record: a version 2 record written with a lock by an earlier version is read with it")
{
	// version 2, flags locked|fingerprint, base 1000, since 900, salt 7, fp 0x0102, reason
	// "x", no networks, countries or windows.
	const std::string old("\x02\x03" "\xe8\x03\x00\x00" "\x84\x03\x00\x00" "\x07\x00\x00\x00"
			      "\x02\x01" "\x01" "x" "\x00\x00\x00",
			      2 + 4 + 4 + 4 + 2 + 1 + 1 + 3);
	auto r = decode(old);
	REQUIRE(r);
	REQUIRE(r->lock);
	CHECK(r->lock->since == 900);
	CHECK(r->lock->has_fingerprint);
	CHECK(r->lock->salt == 7);
	CHECK(r->lock->fingerprint == 0x0102);
	CHECK(r->lock->reason == "x");
	// Written back without it: the login moves it into the lock item first.
	auto again = decode(encode(*r));
	REQUIRE(again);
	CHECK_FALSE(again->lock);
}

TEST_CASE("account-record: history and recipient counts round trip together")
{
	const std::uint32_t now = 1790000400;
	AccountRecord r;
	r.touch_network(net("192.0.2.0/24"), now - 3000);
	r.touch_network(net("2001:db8:1:2::/64"), now - 80000);
	r.touch_network(Network::of_asn(64512), now - 10);
	r.touch_country(*parse_country("JP"), now - 80000);
	for (std::uint32_t k = 0; k < 12; k++) {
		r.recipients.window(3600).add(now - 300 * k, 1 + k);
		r.recipients.window(86400).add(now - 300 * k, 1 + k);
	}
	r.recipients.window(86400).add(now - 7200 * 5, 1000);
	Lock lock;
	lock.since = now - 5;
	lock.reason = "r";
	r.lock = lock;

	const std::string data = encode(r);
	auto back = decode(data);
	REQUIRE(back);
	CHECK_FALSE(back->lock);
	REQUIRE(back->networks.size() == 3);
	CHECK(back->networks[0].network == Network::of_asn(64512));
	CHECK(back->networks[0].last_seen == now - 10);
	CHECK(back->networks[1].last_seen == now - 3000);
	CHECK(back->networks[2].network.to_string() == "2001:db8:1:2::/64");
	CHECK(back->networks[2].last_seen == now - 80000);
	REQUIRE(back->countries.size() == 1);
	CHECK(back->countries[0].last_seen == now - 80000);
	REQUIRE(back->recipients.windows.size() == 2);
	for (const RecipientWindow &w : r.recipients.windows) {
		const RecipientWindow *b = back->recipients.find(w.window);
		REQUIRE(b);
		CHECK(b->newest_bucket == w.newest_bucket);
		CHECK(b->counts == w.counts);
		CHECK(b->total(now) == w.total(now));
	}
	CHECK(encode(*back) == data);
}

TEST_CASE("account-record: version 1 records are still read, without recipient counts")
{
	// version 1, locked since 1000 (fingerprint, salt 7, fp 0x0102, reason "x"), one /24
	// 192.0.2.0 last seen 1000, one country DE last seen 1000.
	std::string v1("\x01\x01"
		       "\xe8\x03\x00\x00" "\x01" "\x07\x00\x00\x00" "\x02\x01" "\x01\x00" "x"
		       "\x01\x00" "\x04\x18" "\xc0\x00\x02" "\xe8\x03\x00\x00"
		       "\x01\x00" "DE" "\xe8\x03\x00\x00",
		       2 + 4 + 1 + 4 + 2 + 2 + 1 + 2 + 2 + 3 + 4 + 2 + 2 + 4);
	auto r = decode(v1);
	REQUIRE(r);
	REQUIRE(r->lock);
	CHECK(r->lock->since == 1000);
	CHECK(r->lock->has_fingerprint);
	CHECK(r->lock->salt == 7);
	CHECK(r->lock->fingerprint == 0x0102);
	CHECK(r->lock->reason == "x");
	REQUIRE(r->networks.size() == 1);
	CHECK(r->networks[0].network.to_string() == "192.0.2.0/24");
	CHECK(r->networks[0].last_seen == 1000);
	REQUIRE(r->countries.size() == 1);
	CHECK(format_country(r->countries[0].country) == "DE");
	CHECK(r->recipients.windows.empty());
	// Written back in the current version.
	const std::string v2 = encode(*r);
	CHECK(v2[0] == 3);
	auto again = decode(v2);
	REQUIRE(again);
	CHECK_FALSE(again->lock); // the lock item holds it from then on
	REQUIRE(again->networks.size() == 1);
	CHECK(again->networks[0].last_seen == 1000);
}

namespace {

// What store-bench's "full" shapes hold: as much as the default limits keep without locking
// (10 networks within 1h from 3 countries; recipients in all 12 buckets of both windows).
AccountRecord at_default_limits(bool v6)
{
	const std::uint32_t now = 1790000400;
	AccountRecord r;
	for (std::uint32_t k = 0; k < 8; k++) {
		IpAddress ip = *parse_ip(v6 ? "2001:db8::" : "198.18.0.0");
		ip.bytes[v6 ? 5 : 2] = static_cast<std::uint8_t>(k);
		r.touch_network(Network::of(ip, v6 ? 64 : 24), now - 3000 + k * 60);
	}
	r.touch_country(*parse_country(v6 ? "JP" : "US"), now - 3000 + 7 * 60);
	r.touch_network(net("192.0.2.0/24"), now - 2000);
	r.touch_country(*parse_country("DE"), now - 2000);
	r.touch_network(net("198.51.100.0/24"), now - 1000);
	r.touch_country(*parse_country("FR"), now - 1000);
	for (std::uint32_t k = 11; k >= 1; k--) {
		r.recipients.window(3600).add(now - k * 7200, 1);
		r.recipients.window(86400).add(now - k * 7200, 1);
	}
	for (std::uint32_t k = 12; k-- > 0;) {
		r.recipients.window(3600).add(now - k * 300, 1);
		r.recipients.window(86400).add(now - k * 300, 1);
	}
	return r;
}

} // namespace

TEST_CASE("account-record: the default history stays small")
{
	AccountRecord r;
	for (std::uint32_t i = 0; i < 11; i++) {
		IpAddress ip = *parse_ip("198.51.0.0");
		ip.bytes[2] = static_cast<std::uint8_t>(i);
		r.touch_network(Network::of(ip, 24), 1000 + i);
	}
	r.touch_country(*parse_country("DE"), 1000);
	// 6 + 1 + 11 * 5 + 1 + 3 + 1 + 1 bytes: a /24 is a kind byte, 3 address bytes and an
	// age; the last byte says there is no behaviour state.
	CHECK(encode(r).size() == 68);
	// One memcached item per account at the default limits: memcached adds about 59 bytes
	// of overhead and the 27-byte key, and the whole item must stay within 256 bytes.
	CHECK(encode(at_default_limits(false)).size() <= 256 - 59 - 27);
	CHECK(encode(at_default_limits(true)).size() <= 256 - 59 - 27);
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
	// A network kind byte beyond IPv6 /128 (the first network's, after version, flags,
	// base time and the count).
	std::string bad_kind = good;
	REQUIRE(bad_kind[7] == 0); // the unknown network, the most recent one
	bad_kind[7] = static_cast<char>(164);
	CHECK_FALSE(decode(bad_kind));
	// A time before 0: an age larger than the base time.
	std::string bad_age("\x02\x00\x05\x00\x00\x00\x01\x00\x05\x00\x00", 11);
	REQUIRE(decode(bad_age));
	CHECK(decode(bad_age)->networks[0].last_seen == 0);
	bad_age[8] = 6;
	CHECK_FALSE(decode(bad_age));
	// A fingerprint flag without a lock.
	CHECK_FALSE(decode(std::string("\x02\x02\x00\x00\x00\x00\x00\x00\x00", 9)));
	// A huge entry count must not allocate or read past the end.
	CHECK_FALSE(decode(std::string("\x01\x00\xff\xff", 4)));
	CHECK_FALSE(decode(std::string("\x02\x00\x00\x00\x00\x00\xff\xff\x03", 9)));
	CHECK_FALSE(decode(std::string("\x02\x00\x00\x00\x00\x00\x80\x80\x01", 9)));
}

TEST_CASE("account-record: host bits from a foreign writer are normalised")
{
	// version 2, unlocked, base 1000, one IPv4 /23 (kind 2 + 23) with a host bit set, age 0.
	std::string raw2("\x02\x00\xe8\x03\x00\x00\x01\x19\xc0\x00\x03\x00\x00\x00", 14);
	auto r2 = decode(raw2);
	REQUIRE(r2);
	CHECK(r2->networks[0].network.to_string() == "192.0.2.0/23");
	CHECK(r2->networks[0].last_seen == 1000);

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

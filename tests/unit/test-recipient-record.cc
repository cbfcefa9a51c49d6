#include "recipient-record.hh"

#include "account-record.hh"

#include <catch2/catch.hpp>

using namespace account_guard;

namespace {
constexpr std::uint32_t t0 = 1790000400; // a multiple of 300 and 7200: bucket edges line up
}

TEST_CASE("recipient-record: counts slide out bucket by bucket")
{
	RecipientWindow w{3600, 0, {}};
	CHECK(w.bucket_width() == 300);
	w.add(t0, 3);          // bucket 0 of the hour
	w.add(t0 + 299, 2);    // same bucket
	w.add(t0 + 300, 1);    // next bucket
	CHECK(w.total(t0 + 300) == 6);
	// The first bucket is still inside the window until 12 buckets later.
	CHECK(w.total(t0 + 3599) == 6);
	CHECK(w.total(t0 + 3600) == 1);
	CHECK(w.total(t0 + 3900) == 0);
}

TEST_CASE("recipient-record: a long pause clears the series")
{
	RecipientWindow w{3600, 0, {}};
	w.add(t0, 5);
	w.add(t0 + 10 * 3600, 1);
	CHECK(w.counts.size() == 1);
	CHECK(w.total(t0 + 10 * 3600) == 1);
}

TEST_CASE("recipient-record: never more than 12 buckets are kept")
{
	RecipientWindow w{3600, 0, {}};
	for (std::uint32_t i = 0; i < 40; i++)
		w.add(t0 + i * 300, 1);
	CHECK(w.counts.size() <= buckets_per_window);
	CHECK(w.total(t0 + 39 * 300) == 12);
}

TEST_CASE("recipient-record: a node with a clock slightly behind still counts")
{
	RecipientWindow w{3600, 0, {}};
	w.add(t0 + 600, 1);
	w.add(t0 + 300, 1); // 300 s behind: lands in the previous bucket
	CHECK(w.total(t0 + 600) == 2);
}

// The counts are stored inside the account record (account-record.cc encodes them).
TEST_CASE("recipient-record: encode/decode round trip and size, inside the account record")
{
	AccountRecord a;
	RecipientRecord &r = a.recipients;
	for (std::uint32_t i = 0; i < 12; i++) {
		r.window(3600).add(t0 + i * 300, 40);
		r.window(86400).add(t0 + i * 300, 40);
	}
	std::string data = encode(a);
	// version, flags, base time, no networks, no countries: 8 bytes; 1 window count; the
	// windows 2 + 3 bytes of window length, 1 + 1 of bucket age, 1 + 1 bucket counts, the
	// hour's 12 one-byte counts, the day's one bucket of 480 in 2 bytes; then the behaviour
	// state: just the byte that says there is none.
	CHECK(data.size() == 8 + 1 + 5 + 2 + 2 + 12 + 2 + 1);
	auto back = decode(data);
	REQUIRE(back);
	REQUIRE(back->recipients.windows.size() == 2);
	CHECK(back->recipients.find(3600)->total(t0 + 11 * 300) == 480);
	CHECK(back->recipients.find(86400)->total(t0 + 11 * 300) == 480);
	CHECK(back->recipients.find(3600)->newest_bucket == r.find(3600)->newest_bucket);
	CHECK(back->recipients.find(86400)->newest_bucket == r.find(86400)->newest_bucket);
	CHECK(back->recipients.find(3600)->counts == r.find(3600)->counts);
	CHECK(format_recipient_counts(back->recipients, {{500, 3600, "1h"}, {2000, 86400, "1d"}}, t0 + 11 * 300) ==
	      "480/1h 480/1d");
	CHECK(encode(*back) == data);
}

TEST_CASE("recipient-record: malformed values are rejected")
{
	AccountRecord a;
	a.recipients.window(3600).add(t0, 300);
	std::string good = encode(a);
	for (std::size_t n = 0; n < good.size(); n++)
		CHECK_FALSE(decode(std::string_view(good).substr(0, n)));
	CHECK_FALSE(decode(good + "\x01"));
	// Too many windows.
	CHECK_FALSE(decode(std::string("\x02\x00\x00\x00\x00\x00\x00\x00\x7f", 9)));
	// A zero-length window.
	CHECK_FALSE(decode(std::string("\x02\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00", 12)));
	// A newest bucket before time 0.
	CHECK_FALSE(decode(std::string("\x02\x00\x00\x00\x00\x00\x00\x00\x01\x0a\x01\x00", 12)));
	// 13 buckets.
	CHECK_FALSE(decode(std::string("\x02\x00\x00\x00\x00\x00\x00\x00\x01\x0a\x00\x0d", 12) +
			   std::string(13, '\x01')));
	// The same window twice.
	CHECK_FALSE(decode(std::string("\x02\x00\x00\x00\x00\x00\x00\x00\x02\x0a\x00\x00\x0a\x00\x00", 15)));
	// An endless varint.
	CHECK_FALSE(decode(std::string("\x02\x00\x00\x00\x00\x00\x00\x00\x01\x0a\x00\x01\xff\xff\xff\xff\xff\xff", 18)));
}

TEST_CASE("recipient-record: windows no longer configured are dropped")
{
	RecipientRecord r;
	r.window(3600).add(t0, 1);
	r.window(600).add(t0, 1);
	r.keep_only({{10, 3600, "1h"}});
	REQUIRE(r.windows.size() == 1);
	CHECK(r.windows[0].window == 3600);
}

TEST_CASE("recipient-record: windows shorter than 12 seconds slide by the second")
{
	RecipientWindow w{3, 0, {}};
	CHECK(w.buckets() == 3);
	w.add(t0, 2);
	CHECK(w.total(t0 + 2) == 2);
	CHECK(w.total(t0 + 3) == 0);
}

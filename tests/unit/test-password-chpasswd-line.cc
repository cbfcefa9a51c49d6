#include "chpasswd-line.hh"

#include <catch2/catch.hpp>

using namespace account_guard;

TEST_CASE("chpasswd-line: split at the first colon; the password may hold colons")
{
	auto l = parse_chpasswd_line("alice@example.com:pa:ss:word");
	REQUIRE(l);
	CHECK(l->user == "alice@example.com");
	CHECK(l->password == "pa:ss:word");
	auto empty_pw = parse_chpasswd_line("bob:");
	REQUIRE(empty_pw);
	CHECK(empty_pw->password.empty());
}

TEST_CASE("chpasswd-line: malformed lines are refused without echoing them")
{
	for (const char *bad : {"no colon at all", ":secret", ""}) {
		auto l = parse_chpasswd_line(bad);
		REQUIRE_FALSE(l);
		CHECK(l.error() == "expected user:newpassword");
	}
	auto ctl = parse_chpasswd_line(std::string_view("ali\x01" "ce:Secret-9", 14));
	REQUIRE_FALSE(ctl);
	CHECK(ctl.error().find("Secret") == std::string::npos);
}

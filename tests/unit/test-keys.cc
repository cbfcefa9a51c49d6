#include "keys.hh"

#include <catch2/catch.hpp>

using namespace account_guard;

TEST_CASE("keys: any username maps to a short printable key")
{
	std::string odd_users[] = {
		"alice@example.com", std::string(1024, 'x'), "with space", std::string("nul\0byte", 8),
		"ctl\x01\x7f", "\xff\xfe invalid utf-8", "%u:colon", "",
	};
	for (const std::string &user : odd_users) {
		std::string key = account_key("ag:", KeyKind::account, user);
		CHECK(key.size() == 3 + 2 + 22);
		CHECK(key.rfind("ag:a:", 0) == 0);
		for (char c : key) {
			CHECK(static_cast<unsigned char>(c) > 0x20);
			CHECK(static_cast<unsigned char>(c) < 0x7f);
		}
	}
}

TEST_CASE("keys: distinct users and kinds get distinct keys, the same user the same key")
{
	CHECK(account_key("ag:", KeyKind::account, "alice") == account_key("ag:", KeyKind::account, "alice"));
	CHECK(account_key("ag:", KeyKind::account, "alice") != account_key("ag:", KeyKind::account, "Alice"));
	CHECK(account_key("ag:", KeyKind::account, "alice") != account_key("ag:", KeyKind::notified, "alice"));
	CHECK(account_key("x:", KeyKind::account, "alice").rfind("x:a:", 0) == 0);
	// A known vector: SHA-256("alice") = 2bd806c9..., first 128 bits in base64url.
	CHECK(account_key("", KeyKind::account, "alice") == "a:K9gGyX8OAK8aH8Myj6djqQ");
}

TEST_CASE("keys: a sibling key is the key of that kind, without a second digest")
{
	for (const char *user : {"alice", "", "a user with spaces"}) {
		const std::string record = account_key("ag:", KeyKind::account, user);
		CHECK(sibling_key(record, "ag:", KeyKind::lock) == account_key("ag:", KeyKind::lock, user));
		CHECK(sibling_key(record, "ag:", KeyKind::notified) == account_key("ag:", KeyKind::notified, user));
	}
	CHECK(sibling_key(account_key("", KeyKind::account, "bob"), "", KeyKind::lock) ==
	      account_key("", KeyKind::lock, "bob"));
}

// Hashes in Dovecot's schemes. That Dovecot itself accepts them is proven against the real
// thing in tests/integration/test_passwd_cli.py (doveadm pw -t) and test_passwd_e2e.py (an
// IMAP login with the changed password).
#include "password-hash.hh"

#include <catch2/catch.hpp>

#include <regex>
#include <string>

using namespace account_guard;

TEST_CASE("password hash: each scheme in Dovecot's format, verifiable")
{
	struct Row {
		HashScheme scheme;
		const char *pattern;
	};
	const Row rows[] = {
		{HashScheme::argon2id, R"(\{ARGON2ID\}\$argon2id\$v=19\$m=65536,t=3,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43})"},
		{HashScheme::argon2i, R"(\{ARGON2I\}\$argon2i\$v=19\$m=32768,t=4,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43})"},
		{HashScheme::sha512_crypt, R"(\{SHA512-CRYPT\}\$6\$[./A-Za-z0-9]{16}\$[./A-Za-z0-9]{86})"},
		{HashScheme::sha256_crypt, R"(\{SHA256-CRYPT\}\$5\$[./A-Za-z0-9]{16}\$[./A-Za-z0-9]{43})"},
		{HashScheme::blf_crypt, R"(\{BLF-CRYPT\}\$2y\$05\$[./A-Za-z0-9]{53})"},
	};
	const std::string pw = "Mango-Tiger-Quartz-77";
	for (const Row &row : rows) {
		CAPTURE(hash_scheme_name(row.scheme));
		auto h = hash_password(row.scheme, pw);
		REQUIRE(h.ok());
		CAPTURE(*h);
		CHECK(std::regex_match(*h, std::regex(row.pattern)));
		CHECK(h->find(pw) == std::string::npos);
		CHECK(verify_password_hash(*h, pw));
		CHECK_FALSE(verify_password_hash(*h, "Mango-Tiger-Quartz-78"));
		CHECK_FALSE(verify_password_hash(*h, ""));
		// A fresh salt every time.
		auto again = hash_password(row.scheme, pw);
		REQUIRE(again.ok());
		CHECK(*again != *h);
	}
}

TEST_CASE("password hash: the exact bytes typed are hashed")
{
	const std::string nfc = "Gr\xc3\xbc\xc3\x9f" "e-aus-K\xc3\xb6ln-77";
	const std::string nfd = "Gru\xcc\x88\xc3\x9f" "e-aus-Ko\xcc\x88ln-77";
	for (HashScheme s : {HashScheme::argon2id, HashScheme::sha512_crypt}) {
		auto h = hash_password(s, nfc);
		REQUIRE(h.ok());
		CHECK(verify_password_hash(*h, nfc));
		CHECK_FALSE(verify_password_hash(*h, nfd)); // no normalisation on the way
		CHECK_FALSE(verify_password_hash(*h, "gr\xc3\xbc\xc3\x9f" "e-aus-k\xc3\xb6ln-77"));
	}
	auto emoji = hash_password(HashScheme::argon2id, "\xf0\x9f\xa6\x8a\xf0\x9f\x8c\xb2-Quartz-Lamp");
	REQUIRE(emoji.ok());
	CHECK(verify_password_hash(*emoji, "\xf0\x9f\xa6\x8a\xf0\x9f\x8c\xb2-Quartz-Lamp"));
}

TEST_CASE("password hash: a NUL byte cannot be hashed for Dovecot")
{
	auto h = hash_password(HashScheme::argon2id, std::string("abc\0def", 7));
	REQUIRE_FALSE(h.ok());
	CHECK(h.error() == "a password with a NUL byte cannot be hashed for Dovecot");
}

TEST_CASE("password hash: scheme names")
{
	CHECK(parse_hash_scheme("ARGON2ID") == HashScheme::argon2id);
	CHECK(parse_hash_scheme("argon2id") == HashScheme::argon2id);
	CHECK(parse_hash_scheme("Blf-Crypt") == HashScheme::blf_crypt);
	CHECK_FALSE(parse_hash_scheme("ARGON2").has_value());
	CHECK_FALSE(parse_hash_scheme("PLAIN").has_value());
	CHECK_FALSE(parse_hash_scheme("").has_value());
	CHECK(std::string(hash_scheme_name(HashScheme::sha256_crypt)) == "SHA256-CRYPT");
	CHECK_FALSE(verify_password_hash("no scheme", "x"));
	CHECK_FALSE(verify_password_hash("{MD5}abc", "x"));
}

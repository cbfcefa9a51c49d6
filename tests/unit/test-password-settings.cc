#include "password-settings.hh"

#include <catch2/catch.hpp>

#include <map>
#include <string>

using namespace account_guard;

namespace {

Result<PasswordSettings> parse(std::map<std::string, std::string> values)
{
	return parse_password_settings([&](const char *name) -> const char * {
		auto it = values.find(name);
		return it == values.end() ? nullptr : it->second.c_str();
	});
}

std::string error_of(std::map<std::string, std::string> values)
{
	auto r = parse(std::move(values));
	return r.ok() ? "" : r.error();
}

} // namespace

TEST_CASE("password settings: defaults match password-policy/README.md")
{
	auto s = parse({});
	REQUIRE(s.ok());
	CHECK(s->min_length == 15);
	CHECK(s->max_length == 128);
	CHECK(s->min_guesses_log10 == 8);
	CHECK(s->breached_db.empty());
	CHECK(s->context_words.empty());
	CHECK(s->update_command.empty());
	CHECK(s->scheme == HashScheme::argon2id);
	CHECK(password_setting_names().size() == 7);
}

TEST_CASE("password settings: valid values")
{
	auto s = parse({{"account_guard_password_min_length", " 20 "},
			{"account_guard_password_max_length", "64"},
			{"account_guard_password_min_guesses_log10", "10.5"},
			{"account_guard_password_breached_db", "/var/lib/dovecot-account-guard/pwned.bin"},
			{"account_guard_password_context_words", "acme, AcmeMail\tExampleNet,,"},
			{"account_guard_password_update_command", "/usr/libexec/x/passwd-file-update  /etc/dovecot/users"},
			{"account_guard_password_scheme", "sha512-crypt"}});
	REQUIRE(s.ok());
	CHECK(s->min_length == 20);
	CHECK(s->max_length == 64);
	CHECK(s->min_guesses_log10 == 10.5);
	CHECK(s->breached_db == "/var/lib/dovecot-account-guard/pwned.bin");
	CHECK(s->context_words == std::vector<std::string>{"acme", "AcmeMail", "ExampleNet"});
	CHECK(s->update_command == std::vector<std::string>{"/usr/libexec/x/passwd-file-update", "/etc/dovecot/users"});
	CHECK(s->scheme == HashScheme::sha512_crypt);
	CHECK(parse({{"account_guard_password_min_length", "8"}}).ok());
	CHECK(parse({{"account_guard_password_min_guesses_log10", "0"}}).ok());
	CHECK(parse({{"account_guard_password_update_command", ""}})->update_command.empty());
}

TEST_CASE("password settings: a bad value names the setting and the value")
{
	struct Row {
		std::string name, value, error;
	};
	const Row rows[] = {
		{"account_guard_password_min_length", "5", "account_guard_password_min_length: must be at least 8 '5'"},
		{"account_guard_password_min_length", "0", "account_guard_password_min_length: must be at least 8 '0'"},
		{"account_guard_password_min_length", "-1",
		 "account_guard_password_min_length: must be a whole number of characters '-1'"},
		{"account_guard_password_min_length", "15c",
		 "account_guard_password_min_length: must be a whole number of characters '15c'"},
		{"account_guard_password_min_length", "",
		 "account_guard_password_min_length: must be a whole number of characters ''"},
		{"account_guard_password_min_length", "200",
		 "account_guard_password_min_length: must not be larger than account_guard_password_max_length (128) '200'"},
		{"account_guard_password_max_length", "7", "account_guard_password_max_length: must be at least 8 '7'"},
		{"account_guard_password_max_length", "1000",
		 "account_guard_password_max_length: must be at most 512 (the byte limit of a password) '1000'"},
		{"account_guard_password_max_length", "10",
		 "account_guard_password_min_length: must not be larger than account_guard_password_max_length (10) '15'"},
		{"account_guard_password_min_guesses_log10", "eight",
		 "account_guard_password_min_guesses_log10: must be a number from 0 to 100 'eight'"},
		{"account_guard_password_min_guesses_log10", "-3",
		 "account_guard_password_min_guesses_log10: must be a number from 0 to 100 '-3'"},
		{"account_guard_password_min_guesses_log10", "101",
		 "account_guard_password_min_guesses_log10: must be a number from 0 to 100 '101'"},
		{"account_guard_password_min_guesses_log10", "1e3",
		 "account_guard_password_min_guesses_log10: must be a number from 0 to 100 '1e3'"},
		{"account_guard_password_scheme", "MD5",
		 "account_guard_password_scheme: unsupported password scheme (supported: ARGON2ID, ARGON2I, "
		 "SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT) 'MD5'"},
		{"account_guard_password_update_command", "passwd-file-update /etc/dovecot/users",
		 "account_guard_password_update_command: must start with the absolute path of a program "
		 "'passwd-file-update /etc/dovecot/users'"},
		{"account_guard_password_context_words", "acme \xff",
		 "account_guard_password_context_words: must be UTF-8 text 'acme \xff'"},
		{"account_guard_password_min_length", "5\n6",
		 "account_guard_password_min_length: must be a whole number of characters '5?6'"},
	};
	for (const Row &row : rows) {
		CAPTURE(row.name, row.value);
		CHECK(error_of({{row.name, row.value}}) == row.error);
	}
}

TEST_CASE("password settings: scheme names are case-insensitive")
{
	for (const char *name : {"ARGON2ID", "argon2id", "Argon2I", "SHA512-CRYPT", "sha256-crypt", "blf-crypt"}) {
		CAPTURE(name);
		CHECK(parse({{"account_guard_password_scheme", name}}).ok());
	}
}

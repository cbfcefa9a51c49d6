#pragma once
// The account_guard_password_* settings (password-policy/README.md "Settings"): defaults,
// parsing, validation.
// A bad value is an error that names the setting and the value, e.g.
// "account_guard_password_min_length: must be at least 8 '5'".

#include "password-hash.hh"
#include "result.hh"

#include <functional>
#include <string>
#include <vector>

namespace account_guard {

struct PasswordSettings {
	unsigned int min_length = 15;     // code points after NFKC
	unsigned int max_length = 128;    // code points after NFKC; never truncated
	double min_guesses_log10 = 8;     // zxcvbn gate (score 3)
	std::string breached_db;          // empty: no breached-password check
	std::vector<std::string> context_words; // as configured, split at blanks and commas
	std::vector<std::string> update_command; // program and its arguments; empty: not set
	HashScheme scheme = HashScheme::argon2id;
};

// The hard limits of the policy that no setting changes.
constexpr unsigned int password_min_length_floor = 8;   // NIST SP 800-63B: at least 8
constexpr unsigned int password_max_bytes = 512;

// Looks a setting up by its full name; nullptr when it is not set (the default applies).
using SettingLookup = std::function<const char *(const char *name)>;

Result<PasswordSettings> parse_password_settings(const SettingLookup &lookup);

// The seven setting names, in the order of conf.d/90-account-guard.conf.
const std::vector<const char *> &password_setting_names();

} // namespace account_guard

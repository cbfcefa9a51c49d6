#pragma once
// The password policy of issue 5 (NIST SP 800-63B rev 4 as the reference). Every refusal
// carries a reason the user can act on; there are no composition rules and no expiry.
//
//  1. length: min_length..max_length code points after NFKC, and at most 512 bytes; never
//     truncated
//  2. any Unicode but control characters; no leading or trailing white space; NFC only
//     (anything else is refused with "type it again": it would not work from every device)
//  4. strength: zxcvbn's guesses >= 10^min_guesses_log10, context words as its user dictionary
//  5. not within edit distance 1 of a context word (user name, local part, domain labels of
//     4+ characters, configured words), folded and stripped of leading/trailing non-letters
//  6. not in the breached-password file
//  7. with the old password known: not the same, nor within edit distance 2 of it (folded)

#include "breached-db.hh"
#include "password-settings.hh"
#include "result.hh"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

struct Reason {
	std::string code;    // stable identifier, e.g. "too_short"
	std::string message; // one sentence for the user; never contains the password
};

struct Verdict {
	std::vector<Reason> reasons; // in rule order; empty means accepted
	bool accepted() const { return reasons.empty(); }
	bool has(std::string_view code) const;
};

struct Candidate {
	std::string_view password;                   // the exact bytes typed
	std::string_view user;                       // empty if unknown
	std::optional<std::string_view> old_password; // when known
};

class PasswordPolicy {
public:
	// Opens the breached-password file if one is configured; a file that cannot be used is an
	// error naming account_guard_password_breached_db.
	static Result<PasswordPolicy> create(PasswordSettings settings);

	// Fails only when the breached-password file turns out to be corrupt during the lookup.
	Result<Verdict> check(const Candidate &candidate) const;

	const PasswordSettings &settings() const { return settings_; }
	const std::optional<BreachedDb> &breached_db() const { return breached_; }

private:
	PasswordPolicy(PasswordSettings settings, std::optional<BreachedDb> breached)
		: settings_(std::move(settings)), breached_(std::move(breached)) {}

	PasswordSettings settings_;
	std::optional<BreachedDb> breached_;
};

} // namespace account_guard

#pragma once
// One input line of `account-guard-passwd chpasswd`: "user:newpassword", the format of the
// chpasswd driver of webmail password plugins, split at the first colon (a password may
// contain colons, a user name may not).

#include "result.hh"

#include <string_view>

namespace account_guard {

struct ChpasswdLine {
	std::string_view user;
	std::string_view password;
};

// Errors never contain any part of the line: it may be a bare password.
Result<ChpasswdLine> parse_chpasswd_line(std::string_view line);

} // namespace account_guard

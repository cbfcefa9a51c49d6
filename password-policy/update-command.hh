#pragma once
// Runs account_guard_password_update_command for one user: the program with its configured
// arguments and the user appended as the last argument, the hash and a newline on its stdin,
// its stdout and stderr sent to our stderr (our stdout is for results). No shell is involved,
// so a user name cannot inject anything; the password itself is never handed over.

#include "result.hh"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

// Success when the program exits with 0 within the timeout.
Status run_update_command(const std::vector<std::string> &command, std::string_view user,
			  std::string_view hash,
			  std::chrono::milliseconds timeout = std::chrono::seconds(60));

} // namespace account_guard

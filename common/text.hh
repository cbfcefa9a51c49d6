#pragma once
// Small text helpers shared by the engine and the password tool.

#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

// The bytes of an untrusted string (a username) made safe for one log line: printable ASCII
// and valid-looking UTF-8 pass, control bytes and backslashes become \xNN, and anything past
// max_bytes is cut with "...".
std::string printable(std::string_view text, std::size_t max_bytes = 256);

std::string join(const std::vector<std::string> &items, std::string_view separator);

// The words of `value` between any of `separators` (empty words dropped).
std::vector<std::string_view> split_words(std::string_view value, std::string_view separators);

// "<setting>: <problem> '<value>'": a bad setting's message. A value may hold anything a
// postmaster typed; it is kept to one printable line (200 bytes, control bytes as '?').
std::string setting_error_text(std::string_view name, std::string_view problem, std::string_view value);

// ASCII letters lowered, other bytes kept: addresses compare case-insensitively this way.
std::string ascii_lower(std::string_view text);

// ISO 8601 UTC, e.g. 2026-11-26T22:28:26Z.
std::string format_time_utc(long long epoch_seconds);

} // namespace account_guard

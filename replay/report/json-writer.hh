#pragma once
// A JSON string of any bytes: UTF-8 kept, control characters escaped, a byte that is not
// UTF-8 written as U+FFFD (usernames in a log are untrusted bytes; the output must still be
// JSON every reader accepts).

#include <string>
#include <string_view>

namespace account_guard::replay {

void append_json_string(std::string &out, std::string_view text);

} // namespace account_guard::replay

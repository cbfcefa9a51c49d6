#pragma once
// SHA-1 of a byte string (OpenSSL). Only for matching the Pwned Passwords list, which is keyed
// by SHA-1; never for storing a password.

#include <array>
#include <string_view>

namespace account_guard {

using Sha1Digest = std::array<unsigned char, 20>;

Sha1Digest sha1(std::string_view data);

} // namespace account_guard

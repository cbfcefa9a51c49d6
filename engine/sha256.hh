#pragma once
// SHA-256 through OpenSSL's EVP interface with the algorithm fetched once per thread:
// OpenSSL 3's one-shot SHA256() looks the algorithm up (under a global lock) on every call,
// which showed up as the largest single cost of a login in the engine benchmark.

#include <array>
#include <cstdint>
#include <string_view>

namespace account_guard {

using Sha256Digest = std::array<unsigned char, 32>;

// Hashes the concatenation of parts. Throws std::runtime_error if OpenSSL fails.
Sha256Digest sha256(std::string_view a, std::string_view b = {}, std::string_view c = {},
		    std::string_view d = {});

} // namespace account_guard

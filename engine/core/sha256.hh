#pragma once
// SHA-256 of short inputs (an account key per login, a password fingerprint per login).
//
// OpenSSL's EVP interface costs more than the hash here: OpenSSL 3.0 allocates and frees a
// provider context on every EVP_DigestInit_ex, and its one-shot SHA256() also fetches the
// algorithm (under a global lock) on every call. The low-level SHA256_Init/Update/Final keep the
// state on the stack and still use the CPU's SHA instructions, so they are used here although
// OpenSSL 3 marks them deprecated (they remain in every Debian 12 libcrypto3 build).

#include <array>
#include <cstdint>
#include <string_view>

namespace account_guard {

using Sha256Digest = std::array<unsigned char, 32>;

// Hashes the concatenation of parts. Throws std::runtime_error if OpenSSL fails.
Sha256Digest sha256(std::string_view a, std::string_view b = {}, std::string_view c = {},
		    std::string_view d = {});

} // namespace account_guard

#pragma once
// The short salted password fingerprint of a lock (README "What it does"): 12 bits of
// SHA-256(salt, user, password). A different verified password is noticed with probability
// 4095/4096; the 12 bits narrow a guess by a factor of 4096 at most, which is useless
// against any password the policy would accept.

#include <cstdint>
#include <string_view>

namespace account_guard {

constexpr unsigned int fingerprint_bits = 12;

std::uint16_t password_fingerprint(std::uint32_t salt, std::string_view user, std::string_view password);

// A fresh random salt (getrandom); never fails in practice, falls back to a weaker source.
std::uint32_t random_salt();

} // namespace account_guard

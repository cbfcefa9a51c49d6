#pragma once
// account_guard_sender_check (INTERFACE.md §8): may this account send as this address? Its
// own address (the login), the addresses and domains of account_guard_sender_addresses.
// The null sender (bounces, read receipts) is always allowed.

#include "settings.hh"

#include <string_view>

namespace account_guard {

bool sender_owned(const Settings &s, std::string_view user, std::string_view sender);

} // namespace account_guard

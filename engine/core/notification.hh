#pragma once
// The postmaster's mail for an incident: what crossed which limit, the counts, the recent
// networks and countries, and the command that undoes it. Composed here, sent by the glue.

#include "account-record.hh"

#include <string>
#include <string_view>

namespace account_guard {

struct Notification {
	std::string user;   // printable form of the account
	std::string reason; // "lock" or "recipients"
	std::string subject;
	std::string body; // lines separated by "\n"; the glue converts to CRLF
};

Notification lock_notification(std::string_view user, const Lock &lock, const AccountRecord &record);
Notification recipient_notification(std::string_view user, std::string_view limit, std::uint64_t count,
				    std::string_view counts, const AccountRecord *record);

// Quotes a username for a shell command line in the mail ('...' with ' escaped).
std::string shell_quote(std::string_view text);

} // namespace account_guard

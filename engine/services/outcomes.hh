#pragma once
// What the services answer: a login's, a RCPT batch's and an account's status. Plain values,
// shared by the login operation and the account service (so neither header needs the other).

#include "event.hh"
#include "login-policy.hh"
#include "notification.hh"

#include <optional>
#include <string>
#include <vector>

namespace account_guard {

struct LoginResult {
	Verdict verdict = Verdict::allow;
	std::vector<Event> events;
	std::optional<Notification> notification; // this login locked the account and notify is set
};

struct RcptResult {
	bool allowed = true;     // every recipient of the call was accepted
	unsigned accepted = 1;   // how many were: always the first ones (a refused one is not
				 // counted, so every later one in the same window is refused too)
	bool locked = false; // refused because the account is locked (check_lock)
	std::vector<Event> events;
	// The first refusal in a window, cluster-wide, with notify set.
	std::optional<Notification> notification;
};

struct AccountStatus {
	bool locked = false;
	std::string reason;
	std::string since;      // ISO 8601 UTC, empty if not locked
	std::string networks;   // within the longest ip window
	std::string countries;  // within the longest country window
	std::string recipients; // per window, e.g. "12/1h 40/24h"
};

} // namespace account_guard

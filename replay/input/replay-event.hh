#pragma once
// One event of the history account-guard-replay runs the guard over, whatever log it came
// from (INTERFACE.md §9). Parsers fill it; the simulator decides on it; the report names its
// place in the input (file and line) as the evidence.

#include <cstdint>
#include <string>
#include <vector>

namespace account_guard::replay {

enum class EventKind { login, message, password_change, bounce, complaint };

const char *event_kind_name(EventKind kind); // "login", "message", ... as in §9's JSON

struct ReplayEvent {
	std::int64_t time = 0; // epoch seconds, UTC
	EventKind kind = EventKind::login;
	std::string user;
	std::string service;         // login: the Dovecot service ("imap", "pop3", "submission", "smtp", ...);
				     // message: the login it was sent through (empty: a submission session)
	std::string ip;              // login, message (optional): the client address as written
	std::string from;            // message (optional): the envelope sender
	std::vector<std::string> to; // message: its recipients; bounce: the one that bounced
	// Where it was read: the index of its file among the inputs, and its line (from 1).
	std::uint32_t file = 0;
	std::uint64_t line = 0;
};

} // namespace account_guard::replay

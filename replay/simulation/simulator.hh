#pragma once
// The guard run over history: each event goes through the same AccountService the plugin
// uses, every rule of the given settings, over private in-memory state (MemoryStore) whose
// clock is the events' own time. Nothing is read from or written to memcached.
//
// Events must come in time order (EventMerge gives them so); an event older than the last
// one is taken at the last one's time, so the clock never runs backwards.

#include "account-service.hh"
#include "decision.hh"
#include "evidence.hh"
#include "geo-lookup.hh"
#include "memory-store.hh"
#include "replay-event.hh"
#include "settings.hh"

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace account_guard::replay {

struct EventCounts {
	std::array<std::uint64_t, 5> by_kind{}; // indexed by EventKind
	std::uint64_t recipients = 0;
	// Events the rules of this version do not use yet (bounces, complaints: INTERFACE §10).
	std::uint64_t unused = 0;
};

class Simulator {
public:
	// `settings` as the live guard would run them, except that account_guard_mode is taken as
	// enforce: the replay shows what enforcing would have done. `geo` may be null.
	Simulator(const Settings &settings, GeoLookup *geo, DecisionSink &sink);

	void apply(const ReplayEvent &event);
	const EventCounts &counts() const { return counts_; }
	std::size_t accounts_locked_now() const;

private:
	// What the replay knows of an account beyond the store. Found once an event (the one hash
	// lookup of the replay's own; the store does its own as memcached would).
	struct Account {
		unsigned password_generation = 0;
		bool locked = false;
		const char *lock_rule = "lock"; // the setting of its lock, when locked
		std::int64_t locked_since = 0;
		Evidence evidence;
	};

	void login(const ReplayEvent &e, Account &account);
	void message(const ReplayEvent &e, Account &account);
	void password_change(const ReplayEvent &e, Account &account);
	Account &account(const std::string &user);
	Decision decision(const ReplayEvent &e, DecisionKind kind, std::string rule, std::string reason) const;
	void locked(const ReplayEvent &e, Account &account, const Event &event);

	Settings settings_;
	GeoLookup *geo_;
	DecisionSink &sink_;
	std::int64_t now_ = 0;
	MemoryStore store_;
	AccountService service_;
	std::unordered_map<std::string, Account> accounts_;
	std::string password_; // the current one's stand-in: see login()
	std::uint32_t salt_ = 0;
	EventCounts counts_;
};

} // namespace account_guard::replay

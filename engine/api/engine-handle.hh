#pragma once
// What stands behind the opaque `struct ag_engine` of account-guard.h. Only c-api.cc and the
// engine's unit tests include this: the tests build a handle over a MemoryStore and drive
// the same C entry points the Dovecot glue calls.

#include "account-guard.h"
#include "account-service.hh"
#include "async-store.hh"
#include "settings.hh"
#include "fingerprint.hh"
#include "geo-lookup.hh"
#include "store.hh"

#include <memory>
#include <random>

namespace account_guard {
struct PendingLogin; // c-api.cc: one ag_login_start() in flight
}

struct ag_engine {
	ag_engine(account_guard::Settings s, std::unique_ptr<account_guard::Store> st,
		  std::unique_ptr<account_guard::GeoLookup> g)
		: settings(std::move(s)), store(std::move(st)), geo(std::move(g)),
		  service(*store, settings.key_prefix)
	{
	}

	account_guard::Settings settings;
	std::unique_ptr<account_guard::Store> store;
	std::unique_ptr<account_guard::GeoLookup> geo; // null when no database is configured
	account_guard::AccountService service;
	// Lock salts need to differ between locks, not to be secret: a PRNG seeded once
	// keeps getrandom() off the login path.
	std::minstd_rand salt_rng{account_guard::random_salt()};
	// Set while the store is failing, so an outage is reported once at warning level.
	bool backend_failing = false;

	// The non-blocking login path (ag_engine_attach_loop); null until attached. Declared
	// after `store`: a SyncAsyncStore in tests refers to it.
	std::unique_ptr<account_guard::AsyncStore> async_store;
	// Logins in flight, freed unanswered with the engine (a doubly linked list through
	// PendingLogin: no allocation besides the login's own).
	account_guard::PendingLogin *pending = nullptr;

	~ag_engine();
};

namespace account_guard {
// Builds a handle over any store (tests: MemoryStore); a null store means memcached as
// configured, a null geo the configured databases (if any). Throws SettingError.
std::unique_ptr<ag_engine> make_engine(const Getenv &getenv, std::unique_ptr<Store> store,
				       std::unique_ptr<GeoLookup> geo = nullptr);
} // namespace account_guard

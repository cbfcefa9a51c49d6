#pragma once
// What stands behind the opaque `struct ag_engine` of account-guard.h, and the composition
// root that builds it (make_engine). Only the C boundary (engine/api/) and the engine's unit
// tests include this: the tests build a handle over a MemoryStore and drive the same C entry
// points the Dovecot glue calls.

#include "account-guard.h"
#include "account-service.hh"
#include "async-store.hh"
#include "backend-outage.hh"
#include "fingerprint.hh"
#include "geo-lookup.hh"
#include "pending-logins.hh"
#include "settings.hh"
#include "store.hh"

#include <memory>
#include <random>
#include <string>

namespace account_guard {
class AsyncMemcached;

// What a process uses its engine for. Only the auth process decides logins, and only a login
// looks up GeoIP / ASN: an engine for anything else (submission's recipients, doveadm, the
// password tool) never opens the MaxMind files, and refuses a login as an internal error.
enum class EngineUse { logins, recipients_and_admin };
} // namespace account_guard

struct ag_engine {
	ag_engine(account_guard::Settings s, std::unique_ptr<account_guard::Store> st,
		  std::unique_ptr<account_guard::GeoLookup> g,
		  account_guard::EngineUse u = account_guard::EngineUse::logins)
		: use(u), settings(std::move(s)), store(std::move(st)), geo(std::move(g)),
		  service(*store, settings.key_prefix)
	{
	}

	const account_guard::EngineUse use;
	account_guard::Settings settings;
	std::unique_ptr<account_guard::Store> store;
	std::unique_ptr<account_guard::GeoLookup> geo; // null when no database is configured or used
	account_guard::AccountService service;
	// Lock salts need to differ between locks, not to be secret: a PRNG seeded once
	// keeps getrandom() off the login path.
	std::minstd_rand salt_rng{account_guard::random_salt()};
	account_guard::BackendOutage outage;

	// The non-blocking login path (ag_engine_attach_loop); null until attached. Declared
	// after `store`: a SyncAsyncStore in tests refers to it.
	std::unique_ptr<account_guard::AsyncStore> async_store;
	// async_store when ag_engine_attach_loop() made it: what the caller's event loop drives
	// (ag_engine_io, ag_engine_timer). Null in tests that attach another AsyncStore.
	account_guard::AsyncMemcached *loop_store = nullptr;
	// Logins in flight; declared after async_store, which they wait on, so they go first.
	account_guard::PendingLogins pending{*this};
};

namespace account_guard {
// This host's name (gethostname), for the notify_from default: read here, at the composition
// root, so that parse_settings() stays pure. Empty when it cannot be read.
std::string system_host_name();

// Builds a handle over any store (tests: MemoryStore); a null store means memcached as
// configured, a null geo the configured databases (if any, and only for EngineUse::logins).
// hostname is passed to parse_settings(). Throws SettingError.
std::unique_ptr<ag_engine> make_engine(const Getenv &getenv, std::unique_ptr<Store> store,
				       std::unique_ptr<GeoLookup> geo = nullptr,
				       EngineUse use = EngineUse::logins,
				       const std::string &hostname = system_host_name());
} // namespace account_guard

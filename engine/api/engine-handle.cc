// The composition root: settings, the memcached store, the MaxMind databases and the host's
// name put together into one engine.

#include "engine-handle.hh"

#include "geo-databases.hh"
#include "memcached-store.hh"

#include <unistd.h>

namespace account_guard {

std::string system_host_name()
{
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) != 0)
		return std::string();
	return host;
}

std::unique_ptr<ag_engine> make_engine(const Getenv &getenv, std::unique_ptr<Store> store,
				       std::unique_ptr<GeoLookup> geo, EngineUse use,
				       const std::string &hostname)
{
	Settings settings = parse_settings(getenv, hostname);
	if (!store)
		store = std::make_unique<MemcachedStore>(settings.memcached_servers, settings.memcached_timeout);
	if (!geo && use == EngineUse::logins &&
	    (!settings.geoip_db.empty() || !settings.asn_db.empty() || !settings.city_db.empty()))
		geo = std::make_unique<GeoDatabases>(settings.geoip_db, settings.asn_db, settings.city_db);
	return std::make_unique<ag_engine>(std::move(settings), std::move(store), std::move(geo), use);
}

} // namespace account_guard

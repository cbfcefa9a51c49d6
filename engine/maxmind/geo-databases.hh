#pragma once
// The GeoLookup adapter over the configured MaxMind-format files: account_guard_geoip_db for
// countries, account_guard_asn_db for AS numbers, account_guard_city_db for locations (and
// for countries when account_guard_geoip_db is not set). Any may be absent.

#include "geo-lookup.hh"
#include "mmdb-database.hh"

#include <memory>
#include <string>

namespace account_guard {

class GeoDatabases : public GeoLookup {
public:
	// Opens the files now (empty path: not used); throws SettingError naming the setting,
	// the file and the reason, so a missing or corrupt file stops start-up.
	GeoDatabases(const std::string &country_path, const std::string &asn_path,
		     const std::string &city_path, std::time_t check_interval = 5);

	bool empty() const { return !country_ && !asn_ && !city_; }
	GeoInfo lookup(const IpAddress &ip, bool country = true, bool asn = true,
		       bool location = false) override;
	std::vector<Event> refresh(std::time_t now) override;

private:
	std::unique_ptr<MmdbDatabase> country_;
	std::unique_ptr<MmdbDatabase> asn_;
	std::unique_ptr<MmdbDatabase> city_;
	std::time_t check_interval_;
	std::time_t last_check_ = 0;
};

} // namespace account_guard

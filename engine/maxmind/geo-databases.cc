#include "geo-databases.hh"

#include "settings.hh"

#include <algorithm>
#include <cmath>

namespace account_guard {

namespace {

std::unique_ptr<MmdbDatabase> open_setting(const char *setting, const std::string &path)
{
	if (path.empty())
		return nullptr;
	try {
		return std::make_unique<MmdbDatabase>(path);
	} catch (const GeoError &e) {
		throw SettingError(std::string(setting) + ": " + e.what());
	}
}

void refresh_one(MmdbDatabase *db, const char *setting, std::vector<Event> &events)
{
	if (db == nullptr)
		return;
	std::string error;
	Event e;
	switch (db->reload_if_changed(&error)) {
	case MmdbDatabase::Reload::unchanged:
		return;
	case MmdbDatabase::Reload::reloaded:
		e.level = Level::info;
		e.message = std::string(setting) + ": switched to the new '" + db->path() + "'";
		break;
	case MmdbDatabase::Reload::failed:
		e = backend_failed(Level::error, "", "geoip database", std::string(setting) + ": " + error);
		break;
	}
	events.push_back(std::move(e));
}

// GeoLite2-City's (and DB-IP City Lite's) location of an address.
std::optional<GeoLocation> locate(const MmdbDatabase &city, const IpAddress &ip)
{
	static const char *const latitude_keys[] = {"location", "latitude", nullptr};
	static const char *const longitude_keys[] = {"location", "longitude", nullptr};
	static const char *const radius_keys[] = {"location", "accuracy_radius", nullptr};
	static const char *const *const paths[] = {latitude_keys, longitude_keys, radius_keys};
	std::optional<double> values[3];
	city.lookup_numbers(ip, paths, 3, values);
	const std::optional<double> &lat = values[0], &lon = values[1], &radius = values[2];
	// A point off the globe is a broken record, not a place: no location, so no distance
	// can be made of it.
	if (!lat || !lon || !(*lat >= -90 && *lat <= 90) || !(*lon >= -180 && *lon <= 180))
		return std::nullopt;
	GeoLocation at;
	at.latitude = *lat;
	at.longitude = *lon;
	// No radius (MaxMind's databases always give one; whether DB-IP City Lite does is
	// unverified) counts as 0: the 500 km minimum of impossible travel still absorbs a
	// city database's usual error, and any other value would be invented.
	if (radius && *radius > 0)
		at.radius_km = static_cast<std::uint16_t>(std::min(std::round(*radius), 65535.0));
	return at;
}

} // namespace

GeoDatabases::GeoDatabases(const std::string &country_path, const std::string &asn_path,
			   const std::string &city_path, std::time_t check_interval)
	: country_(open_setting("account_guard_geoip_db", country_path)),
	  asn_(open_setting("account_guard_asn_db", asn_path)),
	  city_(open_setting("account_guard_city_db", city_path)), check_interval_(check_interval)
{
}

GeoInfo GeoDatabases::lookup(const IpAddress &ip, bool want_country, bool want_asn, bool want_location)
{
	static const char *const country_keys[] = {"country", "iso_code", nullptr};
	static const char *const asn_keys[] = {"autonomous_system_number", nullptr};
	GeoInfo info;
	// A city database holds the country database's fields too (GeoLite2-City is a superset
	// of GeoLite2-Country), so a postmaster who configures only the city database still
	// gets countries. The country database wins when both are set: it is the smaller file
	// to walk, and the one the country limit was tuned with.
	MmdbDatabase *countries = country_ ? country_.get() : city_.get();
	if (countries && want_country) {
		if (auto code = countries->lookup_string(ip, country_keys))
			info.country = parse_country(*code);
	}
	if (asn_ && want_asn)
		info.asn = asn_->lookup_uint32(ip, asn_keys);
	if (city_ && want_location)
		info.location = locate(*city_, ip);
	return info;
}

std::vector<Event> GeoDatabases::refresh(std::time_t now)
{
	std::vector<Event> events;
	if (now >= last_check_ && now - last_check_ < check_interval_)
		return events;
	last_check_ = now;
	refresh_one(country_.get(), "account_guard_geoip_db", events);
	refresh_one(asn_.get(), "account_guard_asn_db", events);
	refresh_one(city_.get(), "account_guard_city_db", events);
	return events;
}

} // namespace account_guard

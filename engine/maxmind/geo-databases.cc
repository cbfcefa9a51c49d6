#include "geo-databases.hh"

#include "settings.hh"

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

} // namespace

GeoDatabases::GeoDatabases(const std::string &country_path, const std::string &asn_path,
			   std::time_t check_interval)
	: country_(open_setting("account_guard_geoip_db", country_path)),
	  asn_(open_setting("account_guard_asn_db", asn_path)), check_interval_(check_interval)
{
}

GeoInfo GeoDatabases::lookup(const IpAddress &ip, bool want_country, bool want_asn)
{
	static const char *const country_keys[] = {"country", "iso_code", nullptr};
	static const char *const asn_keys[] = {"autonomous_system_number", nullptr};
	GeoInfo info;
	if (country_ && want_country) {
		if (auto code = country_->lookup_string(ip, country_keys))
			info.country = parse_country(*code);
	}
	if (asn_ && want_asn)
		info.asn = asn_->lookup_uint32(ip, asn_keys);
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
	return events;
}

} // namespace account_guard

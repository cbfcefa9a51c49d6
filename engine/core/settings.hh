#pragma once
// Every account_guard_* setting (README "Settings", conf.d/90-account-guard.conf), parsed and
// validated once at start-up.
// The same code applies per-user overrides (passdb extra fields, userdb fields) on top of a
// copy, so a per-user value is validated exactly like a global one.

#include "network.hh"

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

// A bad value: what() is "<setting>: <problem> '<value>'", ready for a log line.
class SettingError : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
};

// One COUNT/DURATION item of a limit list: more than `count` within `window` crosses it.
struct Limit {
	std::uint32_t count = 0;
	std::int64_t window = 0;  // seconds
	std::string window_text; // as the postmaster wrote it ("24h"), for messages and status
	std::string window_name() const; // window_text, or a formatted duration
	std::string to_string() const;   // "10/1h"
};
// Sorted by window, shortest first. Empty means the check is off.
using LimitList = std::vector<Limit>;

class ServiceList {
public:
	bool all = false;
	std::vector<std::string> names;
	bool contains(std::string_view service) const;
};

struct Server {
	std::string host;
	std::uint16_t port = 11211;
};

enum class Mode { enforce, log };
enum class SenderCheck { off, envelope, header };

// A network or AS list that may come from a file (`file:PATH`, one entry a line, '#' comments):
// suspect lists are long and maintained by a cron job, so a replaced file is picked up live
// by SuspectLists (engine/core/suspect-lists.hh); `networks`/`asns` hold the inline entries.
struct ListSource {
	std::string file; // empty: inline entries only
};
enum class FailMode { open, closed };

struct Settings {
	std::vector<Server> memcached_servers{{"127.0.0.1", 11211}};
	std::chrono::milliseconds memcached_timeout{100};
	std::string key_prefix = "ag:";
	std::string geoip_db;
	std::string asn_db;
	std::string city_db;
	std::uint32_t travel_speed = 1000; // km/h; 0: no impossible-travel rule
	ServiceList record_services{false, {"smtp", "submission"}};
	ServiceList lock_services{true, {}};
	LimitList ip_limit{{10, 3600, "1h"}};
	LimitList country_limit{{3, 86400, "24h"}};
	unsigned int ipv4_prefix = 24;
	unsigned int ipv6_prefix = 64;
	NetworkList exempt_networks;
	std::vector<std::uint32_t> exempt_asns;
	NetworkList nat_networks;
	std::vector<std::uint32_t> nat_asns;
	LimitList recipient_limit{{500, 3600, "1h"}, {2000, 86400, "24h"}};
	bool unlock_on_password_change = true;
	std::string lock_message =
		"Account locked after suspicious logins. Change your password to unlock it.";
	std::string notify;
	std::string notify_from; // default "postmaster@<hostname>", filled by parse_settings()
	std::string notify_relay;
	Mode mode = Mode::enforce;
	FailMode fail_mode = FailMode::open;

	// The low flyer (INTERFACE.md §8): each account against its own history.
	std::int64_t profile_period = 60 * 86400;
	std::int64_t profile_learning = 14 * 86400;
	NetworkList suspect_networks;
	ListSource suspect_networks_file;
	std::vector<std::uint32_t> suspect_asns;
	ListSource suspect_asns_file;
	std::int64_t probation = 86400;
	LimitList probation_recipient_limit{{20, 3600, "1h"}, {50, 86400, "24h"}};
	LimitList new_recipient_limit{{50, 3600, "1h"}, {150, 86400, "24h"}};
	std::int64_t contacts_period = 90 * 86400;
	std::uint32_t recipient_baseline_factor = 10;
	std::uint32_t recipient_baseline_floor = 50;
	SenderCheck sender_check = SenderCheck::off;
	std::vector<std::string> sender_addresses; // "a@example.com" or "@example.com", lower case
};

// A profile becomes established after this many recorded logins (and profile_learning).
constexpr std::uint32_t profile_learning_logins = 10;

// Returns the value of a setting, or nullptr when it is not set (the default applies).
using Getenv = std::function<const char *(const char *name)>;

// Global settings from plugin {}: every setting, then the checks across settings.
// hostname is this host's name, for the notify_from default: the composition root reads it
// (gethostname), so parsing stays a pure function of its arguments; empty means "localhost".
Settings parse_settings(const Getenv &getenv, std::string_view hostname = {});

// The names a user's passdb/userdb fields may override: the policy, not the plumbing
// (servers, key prefix, databases).
const std::vector<const char *> &overridable_setting_names();

// One setting as a user's passdb/userdb fields give it; both strings are the caller's.
struct SettingValue {
	const char *name;
	const char *value;
};

// A copy of base with the user's overrides applied (names that may not be overridden are
// ignored); throws SettingError like parse_settings.
Settings apply_user_overrides(const Settings &base, const std::vector<SettingValue> &overrides);
// The same, asking getenv for each of overridable_setting_names() once.
Settings apply_user_overrides(const Settings &base, const Getenv &getenv);

// Value parsers, exposed for tests and for the other tools that share the syntax.
std::int64_t parse_duration(std::string_view name, std::string_view value);
LimitList parse_limit_list(std::string_view name, std::string_view value);
NetworkList parse_network_list(std::string_view name, std::string_view value);
std::vector<std::uint32_t> parse_asn_list(std::string_view name, std::string_view value);
ServiceList parse_service_list(std::string_view name, std::string_view value);
std::string format_duration(std::int64_t seconds);

} // namespace account_guard

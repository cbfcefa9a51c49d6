#include "settings.hh"

#include "list-file.hh"
#include "text.hh"

#include <algorithm>
#include <climits>

namespace account_guard {

namespace {

// Bounds that keep a record small and a typo from doing harm.
// Distinct networks/countries kept per account: 10000 /64s make a record of about 140 KB,
// well inside memcached's 1 MB item limit, and cost a few hundred microseconds per login.
constexpr std::uint32_t max_network_limit = 10000;
constexpr std::uint64_t max_recipient_limit = 100000000;
constexpr std::int64_t max_window = 366 * 86400;

[[noreturn]] void fail(std::string_view name, std::string_view problem, std::string_view value)
{
	throw SettingError(setting_error_text(name, problem, value));
}

constexpr std::string_view blanks = " \t";
constexpr std::string_view list_separators = " \t,";

bool parse_uint(std::string_view text, std::uint64_t max, std::uint64_t *value_r)
{
	if (text.empty() || text.size() > 19)
		return false;
	std::uint64_t v = 0;
	for (char c : text) {
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + static_cast<std::uint64_t>(c - '0');
	}
	if (v > max)
		return false;
	*value_r = v;
	return true;
}

bool parse_bool(std::string_view name, std::string_view value)
{
	if (value == "yes" || value == "true" || value == "1")
		return true;
	if (value == "no" || value == "false" || value == "0")
		return false;
	fail(name, "expected yes or no, got", value);
}

} // namespace

std::vector<std::uint32_t> parse_asn_list(std::string_view name, std::string_view value)
{
	std::vector<std::uint32_t> asns;
	for (std::string_view word : split_words(value, list_separators)) {
		std::string_view digits = word;
		if (digits.size() > 2 && (digits[0] == 'A' || digits[0] == 'a') &&
		    (digits[1] == 'S' || digits[1] == 's'))
			digits.remove_prefix(2);
		std::uint64_t asn;
		if (!parse_uint(digits, UINT32_MAX, &asn) || asn == 0)
			fail(name, "invalid AS number", word);
		asns.push_back(static_cast<std::uint32_t>(asn));
	}
	return asns;
}

namespace {

std::vector<Server> parse_servers(std::string_view name, std::string_view value)
{
	std::vector<Server> servers;
	for (std::string_view word : split_words(value, list_separators)) {
		Server s;
		std::string_view host = word;
		std::size_t colon = word.rfind(':');
		if (!word.empty() && word.front() == '[') {
			// [IPv6]:port
			std::size_t close = word.find(']');
			if (close == std::string_view::npos)
				fail(name, "invalid server", word);
			host = word.substr(1, close - 1);
			colon = close + 1 < word.size() && word[close + 1] == ':' ? close + 1
										  : std::string_view::npos;
			if (close + 1 < word.size() && colon == std::string_view::npos)
				fail(name, "invalid server", word);
		} else if (colon != std::string_view::npos) {
			if (word.find(':') != colon)
				fail(name, "IPv6 server addresses need brackets, e.g. [::1]:11211, got", word);
			host = word.substr(0, colon);
		}
		if (colon != std::string_view::npos) {
			std::uint64_t port;
			if (!parse_uint(word.substr(colon + 1), 65535, &port) || port == 0)
				fail(name, "invalid port in", word);
			s.port = static_cast<std::uint16_t>(port);
		}
		if (host.empty() || host.find_first_of("/ \t") != std::string_view::npos)
			fail(name, "invalid server", word);
		s.host = std::string(host);
		servers.push_back(std::move(s));
	}
	if (servers.empty())
		fail(name, "at least one server is needed, got", value);
	return servers;
}

std::chrono::milliseconds parse_timeout(std::string_view name, std::string_view value)
{
	std::size_t digits = 0;
	while (digits < value.size() && value[digits] >= '0' && value[digits] <= '9')
		digits++;
	std::uint64_t n;
	if (!parse_uint(value.substr(0, digits), 600000, &n))
		fail(name, "invalid timeout", value);
	std::string_view unit = value.substr(digits);
	std::uint64_t ms;
	if (unit == "ms")
		ms = n;
	else if (unit == "s")
		ms = n * 1000;
	else
		fail(name, "invalid timeout (use ms or s, e.g. 100ms)", value);
	if (ms == 0 || ms > 60000)
		fail(name, "timeout must be between 1ms and 60s, got", value);
	return std::chrono::milliseconds(ms);
}

std::string parse_prefix(std::string_view name, std::string_view value)
{
	// Keys are "<prefix><kind>:<digest>"; memcached keys allow no spaces or control bytes.
	if (value.size() > 64)
		fail(name, "key prefix longer than 64 bytes", value);
	for (char c : value) {
		unsigned char u = static_cast<unsigned char>(c);
		if (u <= 0x20 || u >= 0x7f)
			fail(name, "key prefix may hold only printable ASCII without spaces, got", value);
	}
	return std::string(value);
}

unsigned int parse_prefix_length(std::string_view name, std::string_view value, unsigned int max)
{
	std::uint64_t n;
	if (!parse_uint(value, max, &n) || n == 0)
		fail(name, "prefix length out of range (1-" + std::to_string(max) + ")", value);
	return static_cast<unsigned int>(n);
}

LimitList parse_bounded_limits(std::string_view name, std::string_view value, std::uint64_t max)
{
	LimitList limits = parse_limit_list(name, value);
	for (const Limit &l : limits) {
		if (l.count > max)
			fail(name, "count too large (at most " + std::to_string(max) + ") in", value);
	}
	return limits;
}

// "file:PATH" or an inline list; a file is read now, so a missing one stops start-up.
void parse_network_source(Settings &s, std::string_view name, std::string_view value)
{
	s.suspect_networks = NetworkList{};
	s.suspect_networks_file = ListSource{};
	if (value.substr(0, 5) == "file:") {
		s.suspect_networks_file.file = std::string(value.substr(5));
		s.suspect_networks = read_network_file(name, s.suspect_networks_file.file);
	} else {
		s.suspect_networks = parse_network_list(name, value);
	}
}

void parse_asn_source(Settings &s, std::string_view name, std::string_view value)
{
	s.suspect_asns.clear();
	s.suspect_asns_file = ListSource{};
	if (value.substr(0, 5) == "file:") {
		s.suspect_asns_file.file = std::string(value.substr(5));
		s.suspect_asns = read_asn_file(name, s.suspect_asns_file.file);
	} else {
		s.suspect_asns = parse_asn_list(name, value);
	}
}

std::uint32_t parse_count(std::string_view name, std::string_view value, std::uint32_t max)
{
	std::uint64_t n;
	if (!parse_uint(value, max, &n))
		fail(name, "expected a number from 0 to " + std::to_string(max) + ", got", value);
	return static_cast<std::uint32_t>(n);
}

std::vector<std::string> parse_sender_addresses(std::string_view name, std::string_view value)
{
	std::vector<std::string> out;
	for (std::string_view word : split_words(value, list_separators)) {
		const std::size_t at = word.find('@');
		if (at == std::string_view::npos || word.find('@', at + 1) != std::string_view::npos ||
		    at + 1 == word.size() || word.find_first_of("<>\"\r\n") != std::string_view::npos)
			fail(name, "expected an address (a@example.com) or a domain (@example.com), got", word);
		out.push_back(ascii_lower(word));
	}
	return out;
}

struct SettingDef {
	const char *name;
	bool overridable;
	void (*apply)(Settings &s, std::string_view name, std::string_view value);
};

const SettingDef setting_defs[] = {
	{"account_guard_memcached_servers", false,
	 [](Settings &s, std::string_view n, std::string_view v) { s.memcached_servers = parse_servers(n, v); }},
	{"account_guard_memcached_timeout", false,
	 [](Settings &s, std::string_view n, std::string_view v) { s.memcached_timeout = parse_timeout(n, v); }},
	{"account_guard_key_prefix", false,
	 [](Settings &s, std::string_view n, std::string_view v) { s.key_prefix = parse_prefix(n, v); }},
	{"account_guard_geoip_db", false,
	 [](Settings &s, std::string_view, std::string_view v) { s.geoip_db = std::string(v); }},
	{"account_guard_asn_db", false,
	 [](Settings &s, std::string_view, std::string_view v) { s.asn_db = std::string(v); }},
	{"account_guard_city_db", false,
	 [](Settings &s, std::string_view, std::string_view v) { s.city_db = std::string(v); }},
	{"account_guard_travel_speed", true,
	 [](Settings &s, std::string_view n, std::string_view v) {
		 // Faster than anything that carries people (a low orbit is 28000 km/h): a
		 // higher value can only be a typo.
		 std::uint64_t kmh;
		 if (!parse_uint(v, 100000, &kmh))
			 fail(n, "invalid speed (0-100000 km/h)", v);
		 s.travel_speed = static_cast<std::uint32_t>(kmh);
	 }},
	{"account_guard_record_services", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.record_services = parse_service_list(n, v); }},
	{"account_guard_lock_services", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.lock_services = parse_service_list(n, v); }},
	{"account_guard_ip_limit", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.ip_limit = parse_bounded_limits(n, v, max_network_limit); }},
	{"account_guard_country_limit", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.country_limit = parse_bounded_limits(n, v, max_network_limit); }},
	{"account_guard_ipv4_prefix", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.ipv4_prefix = parse_prefix_length(n, v, 32); }},
	{"account_guard_ipv6_prefix", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.ipv6_prefix = parse_prefix_length(n, v, 128); }},
	{"account_guard_exempt_networks", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.exempt_networks = parse_network_list(n, v); }},
	{"account_guard_exempt_asns", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.exempt_asns = parse_asn_list(n, v); }},
	{"account_guard_nat_networks", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.nat_networks = parse_network_list(n, v); }},
	{"account_guard_nat_asns", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.nat_asns = parse_asn_list(n, v); }},
	{"account_guard_recipient_limit", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.recipient_limit = parse_bounded_limits(n, v, max_recipient_limit); }},
	{"account_guard_unlock_on_password_change", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.unlock_on_password_change = parse_bool(n, v); }},
	{"account_guard_lock_message", true,
	 [](Settings &s, std::string_view n, std::string_view v) {
		 if (v.empty() || v.size() > 400 || v.find_first_of("\r\n\t") != std::string_view::npos)
			 fail(n, "must be one line of 1-400 characters, got", v);
		 s.lock_message = std::string(v);
	 }},
	{"account_guard_notify", true,
	 [](Settings &s, std::string_view n, std::string_view v) {
		 if (!v.empty() && (v.find('@') == std::string_view::npos ||
				    v.find_first_of(" \t\r\n<>") != std::string_view::npos))
			 fail(n, "invalid address", v);
		 s.notify = std::string(v);
	 }},
	{"account_guard_notify_from", false,
	 [](Settings &s, std::string_view n, std::string_view v) {
		 if (v.empty())
			 return; // the default: postmaster@ + the host name parse_settings() is given
		 if (v.find('@') == std::string_view::npos ||
		     v.find_first_of(" \t\r\n<>") != std::string_view::npos)
			 fail(n, "invalid address", v);
		 s.notify_from = std::string(v);
	 }},
	{"account_guard_notify_relay", false,
	 [](Settings &s, std::string_view n, std::string_view v) {
		 if (!v.empty())
			 parse_servers(n, v);
		 s.notify_relay = std::string(v);
	 }},
	{"account_guard_mode", true,
	 [](Settings &s, std::string_view n, std::string_view v) {
		 if (v == "enforce")
			 s.mode = Mode::enforce;
		 else if (v == "log")
			 s.mode = Mode::log;
		 else
			 fail(n, "expected enforce or log, got", v);
	 }},
	{"account_guard_fail_mode", true,
	 [](Settings &s, std::string_view n, std::string_view v) {
		 if (v == "open")
			 s.fail_mode = FailMode::open;
		 else if (v == "closed")
			 s.fail_mode = FailMode::closed;
		 else
			 fail(n, "expected open or closed, got", v);
	 }},
	{"account_guard_profile_period", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.profile_period = parse_duration(n, v); }},
	{"account_guard_profile_learning", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.profile_learning = parse_duration(n, v); }},
	{"account_guard_suspect_networks", true, parse_network_source},
	{"account_guard_suspect_asns", true, parse_asn_source},
	{"account_guard_probation", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.probation = parse_duration(n, v); }},
	{"account_guard_probation_recipient_limit", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.probation_recipient_limit = parse_bounded_limits(n, v, max_recipient_limit); }},
	{"account_guard_new_recipient_limit", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.new_recipient_limit = parse_bounded_limits(n, v, max_recipient_limit); }},
	{"account_guard_contacts_period", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.contacts_period = parse_duration(n, v); }},
	{"account_guard_recipient_baseline_factor", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.recipient_baseline_factor = parse_count(n, v, 1000); }},
	{"account_guard_recipient_baseline_floor", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.recipient_baseline_floor = parse_count(n, v, max_recipient_limit); }},
	{"account_guard_sender_check", true,
	 [](Settings &s, std::string_view n, std::string_view v) {
		 if (v == "off" || v.empty())
			 s.sender_check = SenderCheck::off;
		 else if (v == "envelope")
			 s.sender_check = SenderCheck::envelope;
		 else if (v == "header")
			 s.sender_check = SenderCheck::header;
		 else
			 fail(n, "expected off, envelope or header, got", v);
	 }},
	{"account_guard_sender_addresses", true,
	 [](Settings &s, std::string_view n, std::string_view v) { s.sender_addresses = parse_sender_addresses(n, v); }},
};

std::string trim(std::string_view v)
{
	std::size_t start = v.find_first_not_of(blanks);
	if (start == std::string_view::npos)
		return std::string();
	std::size_t end = v.find_last_not_of(blanks);
	return std::string(v.substr(start, end - start + 1));
}

void check_cross_settings(const Settings &s)
{
	if (s.asn_db.empty() && !s.suspect_asns.empty())
		throw SettingError("account_guard_suspect_asns: needs account_guard_asn_db to be set");
	if (s.profile_learning > s.profile_period)
		throw SettingError(setting_error_text("account_guard_profile_learning",
						      "longer than account_guard_profile_period", format_duration(s.profile_learning)));
	if (s.asn_db.empty()) {
		if (!s.exempt_asns.empty())
			throw SettingError("account_guard_exempt_asns: needs account_guard_asn_db to be set");
		if (!s.nat_asns.empty())
			throw SettingError("account_guard_nat_asns: needs account_guard_asn_db to be set");
	}
}

std::string default_notify_from(std::string_view hostname)
{
	return "postmaster@" + std::string(hostname.empty() ? "localhost" : hostname);
}

} // namespace

std::string Limit::window_name() const
{
	return window_text.empty() ? format_duration(window) : window_text;
}

std::string Limit::to_string() const
{
	return std::to_string(count) + "/" + window_name();
}

bool ServiceList::contains(std::string_view service) const
{
	if (all)
		return true;
	return std::find(names.begin(), names.end(), service) != names.end();
}

std::int64_t parse_duration(std::string_view name, std::string_view value)
{
	if (value.size() < 2)
		fail(name, "invalid duration", value);
	std::uint64_t n;
	if (!parse_uint(value.substr(0, value.size() - 1), static_cast<std::uint64_t>(max_window), &n) || n == 0)
		fail(name, "invalid duration", value);
	std::int64_t unit;
	switch (value.back()) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: fail(name, "invalid duration unit (s, m, h, d or w)", value);
	}
	std::int64_t seconds = static_cast<std::int64_t>(n) * unit;
	if (seconds > max_window)
		fail(name, "duration longer than 366 days", value);
	return seconds;
}

std::string format_duration(std::int64_t seconds)
{
	if (seconds % (7 * 86400) == 0)
		return std::to_string(seconds / (7 * 86400)) + "w";
	if (seconds % 86400 == 0)
		return std::to_string(seconds / 86400) + "d";
	if (seconds % 3600 == 0)
		return std::to_string(seconds / 3600) + "h";
	if (seconds % 60 == 0)
		return std::to_string(seconds / 60) + "m";
	return std::to_string(seconds) + "s";
}

LimitList parse_limit_list(std::string_view name, std::string_view value)
{
	LimitList limits;
	std::vector<std::string_view> words = split_words(value, blanks);
	if (words.empty() || (words.size() == 1 && words[0] == "0"))
		return limits;
	for (std::string_view word : words) {
		std::size_t slash = word.find('/');
		std::uint64_t count;
		if (slash == std::string_view::npos || !parse_uint(word.substr(0, slash), UINT32_MAX, &count))
			fail(name, "invalid limit", word);
		if (count == 0)
			fail(name, "a limit needs a count of at least 1 (use 0 alone to disable), got", word);
		Limit l;
		l.count = static_cast<std::uint32_t>(count);
		try {
			l.window = parse_duration(name, word.substr(slash + 1));
			l.window_text = std::string(word.substr(slash + 1));
		} catch (const SettingError &) {
			fail(name, "invalid limit", word);
		}
		for (const Limit &other : limits) {
			if (other.window == l.window)
				fail(name, "two limits for the same window in", value);
		}
		limits.push_back(l);
	}
	std::sort(limits.begin(), limits.end(),
		  [](const Limit &a, const Limit &b) { return a.window < b.window; });
	return limits;
}

NetworkList parse_network_list(std::string_view name, std::string_view value)
{
	NetworkList list;
	for (std::string_view word : split_words(value, list_separators)) {
		std::string problem;
		auto network = parse_network(word, &problem);
		if (!network)
			fail(name, problem + " in network", word);
		list.add(*network);
	}
	return list;
}

ServiceList parse_service_list(std::string_view name, std::string_view value)
{
	ServiceList list;
	for (std::string_view word : split_words(value, blanks)) {
		if (word == "*") {
			list.all = true;
			continue;
		}
		for (char c : word) {
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			      c == '-' || c == '_' || c == '.'))
				fail(name, "invalid service name", word);
		}
		list.names.emplace_back(word);
	}
	return list;
}

const std::vector<const char *> &overridable_setting_names()
{
	static const std::vector<const char *> names = [] {
		std::vector<const char *> v;
		for (const SettingDef &def : setting_defs) {
			if (def.overridable)
				v.push_back(def.name);
		}
		return v;
	}();
	return names;
}

Settings parse_settings(const Getenv &getenv, std::string_view hostname)
{
	Settings s;
	for (const SettingDef &def : setting_defs) {
		const char *value = getenv(def.name);
		if (value != nullptr)
			def.apply(s, def.name, trim(value));
	}
	if (s.notify_from.empty())
		s.notify_from = default_notify_from(hostname);
	check_cross_settings(s);
	return s;
}

Settings apply_user_overrides(const Settings &base, const std::vector<SettingValue> &overrides)
{
	Settings s = base;
	for (const SettingDef &def : setting_defs) {
		if (!def.overridable)
			continue;
		auto it = std::find_if(overrides.begin(), overrides.end(), [&](const SettingValue &o) {
			return std::string_view(o.name) == def.name;
		});
		if (it != overrides.end() && it->value != nullptr)
			def.apply(s, def.name, trim(it->value));
	}
	check_cross_settings(s);
	return s;
}

Settings apply_user_overrides(const Settings &base, const Getenv &getenv)
{
	std::vector<SettingValue> overrides;
	for (const char *name : overridable_setting_names()) {
		if (const char *value = getenv(name))
			overrides.push_back({name, value});
	}
	return apply_user_overrides(base, overrides);
}

} // namespace account_guard

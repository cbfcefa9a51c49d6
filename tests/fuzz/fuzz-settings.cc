// libFuzzer target: the settings parser. The first byte picks a setting, the rest is its
// value; the same value is also applied as a per-user override. Only SettingError may come
// out, never a crash, hang or any other exception.
#include "settings.hh"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace account_guard;

namespace {
const char *const names[] = {
	"account_guard_memcached_servers", "account_guard_memcached_timeout", "account_guard_key_prefix",
	"account_guard_record_services", "account_guard_lock_services", "account_guard_ip_limit",
	"account_guard_country_limit", "account_guard_ipv4_prefix", "account_guard_ipv6_prefix",
	"account_guard_exempt_networks", "account_guard_exempt_asns", "account_guard_nat_networks",
	"account_guard_nat_asns", "account_guard_recipient_limit", "account_guard_unlock_on_password_change",
	"account_guard_lock_message", "account_guard_notify", "account_guard_notify_from",
	"account_guard_notify_relay", "account_guard_mode", "account_guard_fail_mode",
	"account_guard_asn_db",
};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	if (size < 1)
		return 0;
	const char *name = names[data[0] % (sizeof(names) / sizeof(names[0]))];
	std::string value(reinterpret_cast<const char *>(data + 1), size - 1);
	Getenv getenv = [&](const char *n) -> const char * {
		return std::string(n) == name ? value.c_str() : nullptr;
	};
	try {
		Settings s = parse_settings(getenv);
		for (const Limit &l : s.ip_limit)
			(void)l.to_string();
		(void)apply_user_overrides(s, getenv);
	} catch (const SettingError &) {
	}
	return 0;
}

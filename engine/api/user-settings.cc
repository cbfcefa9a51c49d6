#include "user-settings.hh"

#include <vector>

namespace account_guard {

UserSettings::UserSettings(const Settings &base, ag_getenv_fn *user_getenv, void *context) : base_(base)
{
	if (user_getenv == nullptr)
		return;
	std::vector<SettingValue> overrides; // empty for most users: no allocation
	for (const char *name : overridable_setting_names()) {
		if (const char *value = user_getenv(name, context))
			overrides.push_back({name, value});
	}
	if (!overrides.empty())
		own_ = apply_user_overrides(base, overrides);
}

} // namespace account_guard

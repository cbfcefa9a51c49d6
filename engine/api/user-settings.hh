#pragma once
// The settings one login or one recipient runs under: the engine's own, or a copy with the
// user's overrides (the real passdb's extra fields, userdb fields) applied. Each overridable
// name is asked of the caller's lookup once, in one pass; the copy is made only when one of
// them is set, so the common user pays those lookups and nothing else.

#include "account-guard.h"
#include "settings.hh"

#include <optional>

namespace account_guard {

class UserSettings {
public:
	// user_getenv may be NULL (no overrides). Throws SettingError for an invalid override.
	UserSettings(const Settings &base, ag_getenv_fn *user_getenv, void *context);

	// get() may point into this object: it stays where it was made.
	UserSettings(const UserSettings &) = delete;
	UserSettings &operator=(const UserSettings &) = delete;

	const Settings &get() const { return own_ ? *own_ : base_; }
	bool overridden() const { return own_.has_value(); }

private:
	const Settings &base_;
	std::optional<Settings> own_;
};

} // namespace account_guard

#pragma once
// The account_guard_* settings of a Dovecot configuration's plugin {} stanza, read the way the
// auth module reads them (plugin/guard-settings.c): `doveconf -c CONFIG -S plugin`, run with a
// clean environment. -S prints every value exactly ("plugin/key=value"); the readable form
// hides values whose names look secret.

#include "result.hh"

#include <map>
#include <string>
#include <string_view>

namespace account_guard {

constexpr const char *default_dovecot_config = "/etc/dovecot/dovecot.conf";
constexpr const char *default_doveconf = "/usr/bin/doveconf";

class PluginSettings {
public:
	// nullptr when not set.
	const char *get(const char *name) const;
	void set(std::string name, std::string value) { values_[std::move(name)] = std::move(value); }
	const std::map<std::string, std::string> &values() const { return values_; }

private:
	std::map<std::string, std::string> values_;
};

// The account_guard_* lines of doveconf -S output; other lines (other plugins' settings,
// doveconf's warnings) are ignored, and the first line of a key wins. The auth module's
// parser (plugin/guard-doveconf.c) answers the same: tests/unit/doveconf-cases.h holds the
// cases both test suites run.
PluginSettings parse_doveconf_output(std::string_view output);

// doveconf's complaint on one line (" / " between its lines, '?' for control characters,
// about 1 KB at most), or "(no output)"; as the auth module shows it.
std::string doveconf_error_text(std::string_view output);

Result<PluginSettings> read_plugin_settings(const std::string &config_path,
					    const std::string &doveconf = default_doveconf);

} // namespace account_guard

#pragma once
// account-guard-replay's command line (INTERFACE §9) and the settings it names: the
// account_guard_* values of CONFIG's plugin {} (read through doveconf, as every other part of
// the guard reads them) with the -o overrides on top, parsed by the engine's own
// parse_settings(), so a bad value is refused exactly as at the guard's start-up.

#include "log-parser.hh"
#include "result.hh"
#include "settings.hh"

#include <string>
#include <utility>
#include <vector>

namespace account_guard::replay {

struct Options {
	std::string config;      // empty: the default config when it exists, else the defaults
	bool config_given = false;
	std::vector<std::pair<std::string, std::string>> overrides; // -o NAME=VALUE, in order
	Format format = Format::automatic;
	bool json = false;
	bool help = false;
	std::vector<std::string> files; // "-" for stdin; none given: stdin
};

extern const char *const usage_text;

// Failure: the usage error's message (exit 2).
Result<Options> parse_options(int argc, char **argv);

// Failure: the configuration error's message, naming the setting and the value, or doveconf's
// complaint (exit 2). `hostname` for the notify_from default.
Result<Settings> load_settings(const Options &options, const std::string &hostname,
			       const std::string &default_config, const std::string &doveconf);

} // namespace account_guard::replay

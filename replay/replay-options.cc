#include "replay-options.hh"

#include "dovecot-config.hh"

#include <unistd.h>

#include <cstring>
#include <set>

namespace account_guard::replay {

const char *const usage_text =
	"usage: account-guard-replay [-c CONFIG] [-o NAME=VALUE]... [--format auto|dovecot|postfix|jsonl]\n"
	"                            [--json] [FILE...]\n"
	"Runs the guard's decisions over past logs (FILEs, .gz read as is; none or '-': stdin) with\n"
	"CONFIG's account_guard_* settings and reports whom it would have locked or refused.\n"
	"  -c CONFIG        Dovecot configuration (default /etc/dovecot/dovecot.conf when it exists)\n"
	"  -o NAME=VALUE    a setting on top of CONFIG's (e.g. -o account_guard_ip_limit=5/1h)\n"
	"  --format FORMAT  the inputs' format (default auto: detected per file)\n"
	"  --json           one JSON object a decision, then a summary object\n";

Result<Options> parse_options(int argc, char **argv)
{
	Options o;
	auto value_of = [&](int &i, const char *flag) -> const char * {
		const std::size_t n = std::strlen(flag);
		if (std::strncmp(argv[i], flag, n) == 0 && argv[i][n] == '=')
			return argv[i] + n + 1;
		if (i + 1 < argc)
			return argv[++i];
		return nullptr;
	};
	bool files_only = false;
	for (int i = 1; i < argc; i++) {
		const std::string arg = argv[i];
		if (files_only || arg == "-" || arg.empty() || arg[0] != '-') {
			o.files.push_back(arg);
		} else if (arg == "--") {
			files_only = true;
		} else if (arg == "-h" || arg == "--help") {
			o.help = true;
		} else if (arg == "--json") {
			o.json = true;
		} else if (arg == "-c" || arg.rfind("-c", 0) == 0) {
			const char *v = arg == "-c" ? (i + 1 < argc ? argv[++i] : nullptr) : argv[i] + 2;
			if (v == nullptr || *v == '\0')
				return failure("-c needs a configuration file");
			o.config = v;
			o.config_given = true;
		} else if (arg == "-o" || arg.rfind("-o", 0) == 0) {
			const char *v = arg == "-o" ? (i + 1 < argc ? argv[++i] : nullptr) : argv[i] + 2;
			const char *eq = v != nullptr ? std::strchr(v, '=') : nullptr;
			if (eq == nullptr || eq == v)
				return failure("-o needs NAME=VALUE");
			o.overrides.emplace_back(std::string(v, eq), std::string(eq + 1));
		} else if (arg == "--format" || arg.rfind("--format=", 0) == 0) {
			const char *v = value_of(i, "--format");
			if (v == nullptr || !parse_format_name(v, o.format))
				return failure(std::string("--format: unknown format '") + (v ? v : "") +
					       "' (auto, dovecot, postfix or jsonl)");
		} else {
			return failure("unknown option '" + arg + "'");
		}
	}
	if (o.files.empty())
		o.files.push_back("-");
	return o;
}

Result<Settings> load_settings(const Options &options, const std::string &hostname,
			       const std::string &default_config, const std::string &doveconf)
{
	PluginSettings values;
	std::string config = options.config;
	if (!options.config_given && access(default_config.c_str(), F_OK) == 0)
		config = default_config;
	if (!config.empty()) {
		Result<PluginSettings> read = read_plugin_settings(config, doveconf);
		if (!read)
			return failure(read.error());
		values = std::move(read.value());
	}
	for (const auto &[name, value] : options.overrides)
		values.set(name, value);
	// A name parse_settings() never asks for is a typo: say so rather than ignore it.
	std::set<std::string> asked;
	try {
		Settings s = parse_settings(
			[&](const char *name) {
				asked.insert(name);
				return values.get(name);
			},
			hostname);
		for (const auto &o : options.overrides)
			if (asked.count(o.first) == 0 && o.first.rfind("account_guard_password_", 0) != 0)
				return failure("-o " + o.first + ": unknown setting");
		return s;
	} catch (const SettingError &e) {
		return failure(e.what());
	}
}

} // namespace account_guard::replay

// account-guard-passwd: the password checker and change backend (README "Changing passwords",
// password-policy/README.md).
//
//   account-guard-passwd [-c CONFIG] check [--user USER] [--old] [--json]
//   account-guard-passwd [-c CONFIG] chpasswd
//   account-guard-passwd build-breached [--entries N] [--min-count N] INPUT OUTPUT
//
// Exit codes: 0 accepted (check) / every line stored (chpasswd) / file built; 1 rejected, or
// some line not stored; 2 usage or configuration error.
//
// Passwords arrive on stdin only. They never reach argv, stdout, stderr or a log line, and
// every buffer that held one is wiped (see secret.hh).

#include "account-guard.h"
#include "breached-builder.hh"
#include "chpasswd-line.hh"
#include "dovecot-config.hh"
#include "line-reader.hh"
#include "password-hash.hh"
#include "password-settings.hh"
#include "policy.hh"
#include "text.hh" // printable() (common/), for user names from input
#include "update-command.hh"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

using namespace account_guard;

namespace {

constexpr const char *program = "account-guard-passwd";
constexpr int exit_ok = 0;
constexpr int exit_rejected = 1;
constexpr int exit_usage = 2;
// Far above the 512-byte limit: a line this long is refused without being read whole.
constexpr std::size_t max_line = 64 * 1024;

const char usage_text[] =
	"usage: account-guard-passwd [-c CONFIG] check [--user USER] [--old] [--json]\n"
	"       account-guard-passwd [-c CONFIG] chpasswd\n"
	"       account-guard-passwd build-breached [--entries N] [--min-count N] INPUT OUTPUT\n"
	"\n"
	"check     reads a candidate password from stdin (first line; with --old the second line\n"
	"          holds the old password); exit 0 accepted, 1 rejected (reasons on stdout)\n"
	"chpasswd  reads user:newpassword lines; checks, hashes, stores each with\n"
	"          account_guard_password_update_command and unlocks the account\n"
	"build-breached  builds the breached-password file from SHA1:count lines (Pwned Passwords)\n"
	"-c CONFIG the Dovecot configuration whose plugin {} holds the settings\n"
	"          (default /etc/dovecot/dovecot.conf)\n";

int usage_error(const std::string &problem)
{
	std::fprintf(stderr, "%s: %s\n%s", program, problem.c_str(), usage_text);
	return exit_usage;
}

int config_error(const std::string &problem)
{
	std::fprintf(stderr, "%s: %s\n", program, problem.c_str());
	return exit_usage;
}

std::string json_string(std::string_view text)
{
	static const char hex[] = "0123456789abcdef";
	std::string out = "\"";
	for (char ch : text) {
		unsigned char c = static_cast<unsigned char>(ch);
		if (c == '"' || c == '\\') {
			out += '\\';
			out += ch;
		} else if (c < 0x20) {
			out += "\\u00";
			out += hex[c >> 4];
			out += hex[c & 15];
		} else {
			out += ch;
		}
	}
	return out + "\"";
}

bool parse_uint64(const char *text, std::uint64_t *value_r)
{
	if (*text == '\0')
		return false;
	std::uint64_t v = 0;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + static_cast<std::uint64_t>(*p - '0');
	}
	*value_r = v;
	return true;
}

// ---- settings --------------------------------------------------------------------------

struct Loaded {
	PluginSettings plugin;
	std::unique_ptr<PasswordPolicy> policy;
};

// Reads plugin {} and builds the policy; on failure prints why and returns nullptr.
std::unique_ptr<Loaded> load(const std::string &config_path)
{
	auto plugin = read_plugin_settings(config_path);
	if (!plugin) {
		config_error("cannot read the settings: " + plugin.error());
		return nullptr;
	}
	// A misspelt password setting would silently fall back to its default: refuse it.
	const auto &known = password_setting_names();
	for (const auto &[key, value] : plugin->values()) {
		if (key.rfind("account_guard_password_", 0) != 0)
			continue;
		bool found = false;
		for (const char *name : known)
			found = found || key == name;
		if (!found) {
			config_error(key + ": unknown setting '" + printable(value) + "'");
			return nullptr;
		}
	}
	const PluginSettings &ps = *plugin;
	auto settings = parse_password_settings([&](const char *name) { return ps.get(name); });
	if (!settings) {
		config_error(settings.error());
		return nullptr;
	}
	auto policy = PasswordPolicy::create(std::move(*settings));
	if (!policy) {
		config_error(policy.error());
		return nullptr;
	}
	auto loaded = std::make_unique<Loaded>();
	loaded->plugin = std::move(*plugin);
	loaded->policy = std::make_unique<PasswordPolicy>(std::move(*policy));
	return loaded;
}

// ---- check -----------------------------------------------------------------------------

Verdict overlong_verdict()
{
	Verdict v;
	v.reasons.push_back(Reason{"too_many_bytes",
				   "The password is too long: it must fit in 512 bytes; use fewer characters."});
	return v;
}

void print_verdict(const Verdict &v, bool json)
{
	if (json) {
		std::string out = "{\"accepted\":";
		out += v.accepted() ? "true" : "false";
		out += ",\"reasons\":[";
		for (std::size_t i = 0; i < v.reasons.size(); i++)
			out += (i > 0 ? "," : "") + json_string(v.reasons[i].message);
		out += "],\"codes\":[";
		for (std::size_t i = 0; i < v.reasons.size(); i++)
			out += (i > 0 ? "," : "") + json_string(v.reasons[i].code);
		out += "]}\n";
		std::fputs(out.c_str(), stdout);
		return;
	}
	for (const Reason &r : v.reasons)
		std::printf("%s\n", r.message.c_str());
}

int cmd_check(const std::string &config_path, int argc, char **argv)
{
	std::string user;
	bool json = false, with_old = false;
	for (int i = 0; i < argc; i++) {
		std::string arg = argv[i];
		if (arg == "--json") {
			json = true;
		} else if (arg == "--old") {
			with_old = true;
		} else if (arg == "--user") {
			if (i + 1 >= argc)
				return usage_error("--user needs a value");
			user = argv[++i];
		} else if (arg.rfind("--user=", 0) == 0) {
			user = arg.substr(7);
		} else {
			return usage_error("check: unknown argument '" + printable(arg) + "'");
		}
	}
	auto loaded = load(config_path);
	if (!loaded)
		return exit_usage;

	LineReader reader(STDIN_FILENO, max_line);
	SecretString password, old_password;
	auto st = reader.next(password);
	if (st == LineReader::Status::eof)
		return usage_error("check: no password on stdin");
	if (st == LineReader::Status::error)
		return config_error(std::string("cannot read stdin: ") + std::strerror(errno));
	const bool overlong = st == LineReader::Status::overlong;
	std::optional<std::string_view> old;
	if (with_old) {
		auto ost = reader.next(old_password);
		if (ost == LineReader::Status::eof)
			return usage_error("check --old: stdin holds no second line with the old password");
		if (ost == LineReader::Status::error)
			return config_error(std::string("cannot read stdin: ") + std::strerror(errno));
		if (ost == LineReader::Status::line)
			old = old_password.view();
		// An overlong old password cannot be similar to an acceptable new one: ignore it.
	}

	Verdict verdict;
	if (overlong) {
		verdict = overlong_verdict();
	} else {
		auto result = loaded->policy->check(Candidate{password.view(), user, old});
		if (!result)
			return config_error(result.error());
		verdict = std::move(*result);
	}
	print_verdict(verdict, json);
	std::fflush(stdout);
	return verdict.accepted() ? exit_ok : exit_rejected;
}

// ---- chpasswd --------------------------------------------------------------------------

struct EngineDeleter {
	void operator()(ag_engine *e) const { ag_engine_free(&e); }
};
using EnginePtr = std::unique_ptr<ag_engine, EngineDeleter>;

const char *plugin_getenv(const char *name, void *context)
{
	return static_cast<const PluginSettings *>(context)->get(name);
}

void collect_field(const char *name, const char *value, void *context)
{
	auto *fields = static_cast<std::vector<std::pair<std::string, std::string>> *>(context);
	fields->emplace_back(name, value != nullptr ? value : "");
}

// Lifts the lock (and forgets the networks recorded under the old password). Returns an
// empty string on success and sets was_locked_r; else the error.
std::string unlock_account(ag_engine *engine, const std::string &user, bool *was_locked_r)
{
	char error[512] = "";
	std::vector<std::pair<std::string, std::string>> fields;
	const time_t now = time(nullptr);
	int ret = ag_account_status(engine, user.c_str(), now, collect_field, &fields, error, sizeof(error));
	if (ret != AG_OK)
		return error[0] != '\0' ? error : "account status failed";
	*was_locked_r = false;
	for (const auto &[name, value] : fields) {
		if (name == "locked")
			*was_locked_r = value == "yes";
	}
	ret = ag_account_unlock(engine, user.c_str(), 0, now, nullptr, nullptr, error, sizeof(error));
	if (ret != AG_OK)
		return error[0] != '\0' ? error : "unlock failed";
	return std::string();
}

int cmd_chpasswd(const std::string &config_path, int argc, char **argv)
{
	if (argc > 0)
		return usage_error("chpasswd: unexpected argument '" + printable(argv[0]) + "'");
	auto loaded = load(config_path);
	if (!loaded)
		return exit_usage;
	const PasswordSettings &settings = loaded->policy->settings();
	if (settings.update_command.empty())
		return config_error("account_guard_password_update_command: not set, so chpasswd cannot "
				    "store passwords ''");
	ag_engine *raw = nullptr;
	char error[512] = "";
	if (ag_engine_new(plugin_getenv, &loaded->plugin, &raw, error, sizeof(error)) != AG_OK)
		return config_error(error);
	EnginePtr engine(raw);

	LineReader reader(STDIN_FILENO, max_line);
	SecretString line;
	std::uint64_t line_no = 0;
	bool all_ok = true, any = false;
	for (;;) {
		auto st = reader.next(line);
		if (st == LineReader::Status::eof)
			break;
		if (st == LineReader::Status::error)
			return config_error(std::string("cannot read stdin: ") + std::strerror(errno));
		line_no++;
		if (st == LineReader::Status::overlong) {
			std::printf("line %llu: rejected: line too long\n", static_cast<unsigned long long>(line_no));
			all_ok = false;
			any = true;
			continue;
		}
		if (line.empty())
			continue;
		any = true;
		auto parsed = parse_chpasswd_line(line.view());
		if (!parsed) {
			// A line that is not user:... is reported by number: it may be a bare password.
			if (parsed.error() == "expected user:newpassword")
				std::printf("line %llu: rejected: %s\n", static_cast<unsigned long long>(line_no),
					    parsed.error().c_str());
			else
				std::printf("%s: rejected: %s\n",
					    printable(line.view().substr(0, line.view().find(':'))).c_str(),
					    parsed.error().c_str());
			all_ok = false;
			continue;
		}
		const std::string user(parsed->user);
		const std::string_view password = parsed->password;
		const std::string shown = printable(user);

		auto verdict = loaded->policy->check(Candidate{password, user, std::nullopt});
		if (!verdict)
			return config_error(verdict.error());
		if (!verdict->accepted()) {
			for (const Reason &r : verdict->reasons)
				std::printf("%s: rejected: %s\n", shown.c_str(), r.message.c_str());
			all_ok = false;
			continue;
		}
		auto hash = hash_password(settings.scheme, password);
		if (!hash) {
			std::printf("%s: not changed: %s\n", shown.c_str(), hash.error().c_str());
			all_ok = false;
			continue;
		}
		std::fflush(stdout); // the update command writes to our stderr meanwhile
		Status stored = run_update_command(settings.update_command, user, *hash);
		if (!stored) {
			std::printf("%s: not changed: %s\n", shown.c_str(), stored.error().c_str());
			all_ok = false;
			continue;
		}
		bool was_locked = false;
		std::string unlock_error = unlock_account(engine.get(), user, &was_locked);
		if (!unlock_error.empty()) {
			std::printf("%s: password changed, but the account could not be unlocked: %s\n",
				    shown.c_str(), unlock_error.c_str());
			all_ok = false;
			continue;
		}
		std::printf("%s: password changed%s\n", shown.c_str(), was_locked ? ", account unlocked" : "");
	}
	std::fflush(stdout);
	if (!any)
		return usage_error("chpasswd: no user:newpassword line on stdin");
	return all_ok ? exit_ok : exit_rejected;
}

// ---- build-breached --------------------------------------------------------------------

int cmd_build_breached(int argc, char **argv)
{
	BreachedBuildOptions options;
	std::vector<std::string> files;
	for (int i = 0; i < argc; i++) {
		std::string arg = argv[i];
		if (arg == "--entries" || arg == "--min-count") {
			std::uint64_t v;
			if (i + 1 >= argc || !parse_uint64(argv[i + 1], &v))
				return usage_error(arg + " needs a whole number");
			(arg == "--entries" ? options.expected_entries : options.min_count) = v;
			i++;
		} else if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
			return usage_error("build-breached: unknown option '" + printable(arg) + "'");
		} else {
			files.push_back(arg);
		}
	}
	if (files.size() != 2)
		return usage_error("build-breached needs INPUT and OUTPUT");
	auto stats = build_breached_file(files[0], files[1], options);
	if (!stats) {
		std::fprintf(stderr, "%s: build-breached: %s\n", program, stats.error().c_str());
		return exit_rejected;
	}
	std::printf("%s: %llu entries from %llu lines (%llu duplicates, %llu below --min-count), "
		    "%llu bytes (%.2f bytes per entry), %u bucket bits, false-positive rate %.1e\n",
		    files[1].c_str(), static_cast<unsigned long long>(stats->entries),
		    static_cast<unsigned long long>(stats->lines),
		    static_cast<unsigned long long>(stats->duplicates),
		    static_cast<unsigned long long>(stats->below_min_count),
		    static_cast<unsigned long long>(stats->file_bytes),
		    stats->entries > 0 ? static_cast<double>(stats->file_bytes) / static_cast<double>(stats->entries) : 0.0,
		    stats->bucket_bits, stats->false_positive_rate);
	return exit_ok;
}

} // namespace

int main(int argc, char **argv)
{
	// A broken pipe to the update command is an error we report, not a reason to die.
	signal(SIGPIPE, SIG_IGN);

	std::string config_path = default_dovecot_config;
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		std::string arg = argv[i];
		if (arg == "-c") {
			if (i + 1 >= argc)
				return usage_error("-c needs a Dovecot configuration file");
			config_path = argv[i + 1];
			i += 2;
		} else if (arg == "-h" || arg == "--help") {
			std::fputs(usage_text, stdout);
			return exit_ok;
		} else {
			return usage_error("unknown option '" + printable(arg) + "'");
		}
	}
	if (i >= argc)
		return usage_error("no command given");
	const std::string command = argv[i];
	int sub_argc = argc - i - 1;
	char **sub_argv = argv + i + 1;
	if (command == "check")
		return cmd_check(config_path, sub_argc, sub_argv);
	if (command == "chpasswd")
		return cmd_chpasswd(config_path, sub_argc, sub_argv);
	if (command == "build-breached")
		return cmd_build_breached(sub_argc, sub_argv);
	return usage_error("unknown command '" + printable(command) + "'");
}

#include "password-settings.hh"

#include "text.hh"
#include "unicode.hh"

#include <cmath>
#include <cstdlib>
#include <string_view>

namespace account_guard {

namespace {

constexpr const char *min_length_name = "account_guard_password_min_length";
constexpr const char *max_length_name = "account_guard_password_max_length";
constexpr const char *min_guesses_name = "account_guard_password_min_guesses_log10";
constexpr const char *breached_db_name = "account_guard_password_breached_db";
constexpr const char *context_words_name = "account_guard_password_context_words";
constexpr const char *update_command_name = "account_guard_password_update_command";
constexpr const char *scheme_name = "account_guard_password_scheme";

constexpr unsigned int max_length_ceiling = password_max_bytes;
constexpr double max_guesses_log10 = 100;

// "<setting>: <problem> '<value>'", the value kept to one printable line.
Failure bad(std::string_view name, std::string_view problem, std::string_view value)
{
	return failure(setting_error_text(name, problem, value));
}

std::string_view trim(std::string_view v)
{
	while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
		v.remove_prefix(1);
	while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
		v.remove_suffix(1);
	return v;
}

std::vector<std::string> split(std::string_view value, std::string_view separators)
{
	const std::vector<std::string_view> words = split_words(value, separators);
	return std::vector<std::string>(words.begin(), words.end());
}

bool parse_count(std::string_view text, unsigned int *value_r)
{
	if (text.empty() || text.size() > 9)
		return false;
	unsigned int v = 0;
	for (char c : text) {
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + static_cast<unsigned int>(c - '0');
	}
	*value_r = v;
	return true;
}

bool parse_number(std::string_view text, double *value_r)
{
	// Digits with at most one decimal point: "8", "7.5". No signs, exponents, "nan".
	if (text.empty() || text.size() > 20)
		return false;
	bool dot = false, digit = false;
	for (char c : text) {
		if (c == '.' && !dot)
			dot = true;
		else if (c >= '0' && c <= '9')
			digit = true;
		else
			return false;
	}
	if (!digit)
		return false;
	*value_r = std::strtod(std::string(text).c_str(), nullptr);
	return std::isfinite(*value_r);
}

} // namespace

const std::vector<const char *> &password_setting_names()
{
	static const std::vector<const char *> names = {
		min_length_name, max_length_name, min_guesses_name, breached_db_name,
		context_words_name, update_command_name, scheme_name,
	};
	return names;
}

Result<PasswordSettings> parse_password_settings(const SettingLookup &lookup)
{
	PasswordSettings s;
	auto get = [&](const char *name, std::string_view *value_r) {
		const char *v = lookup(name);
		if (v == nullptr)
			return false;
		*value_r = trim(v);
		return true;
	};
	std::string_view v;

	if (get(min_length_name, &v)) {
		unsigned int n;
		if (!parse_count(v, &n))
			return bad(min_length_name, "must be a whole number of characters", v);
		if (n < password_min_length_floor)
			return bad(min_length_name, "must be at least 8", v);
		if (n > max_length_ceiling)
			return bad(min_length_name, "must be at most 512", v);
		s.min_length = n;
	}
	if (get(max_length_name, &v)) {
		unsigned int n;
		if (!parse_count(v, &n))
			return bad(max_length_name, "must be a whole number of characters", v);
		if (n < password_min_length_floor)
			return bad(max_length_name, "must be at least 8", v);
		if (n > max_length_ceiling)
			return bad(max_length_name, "must be at most 512 (the byte limit of a password)", v);
		s.max_length = n;
	}
	if (s.min_length > s.max_length)
		return bad(min_length_name,
			   "must not be larger than account_guard_password_max_length (" +
				   std::to_string(s.max_length) + ")",
			   std::to_string(s.min_length));
	if (get(min_guesses_name, &v)) {
		double n;
		if (!parse_number(v, &n) || n > max_guesses_log10)
			return bad(min_guesses_name, "must be a number from 0 to 100", v);
		s.min_guesses_log10 = n;
	}
	if (get(breached_db_name, &v))
		s.breached_db = std::string(v);
	if (get(context_words_name, &v)) {
		if (!is_valid_utf8(v))
			return bad(context_words_name, "must be UTF-8 text", v);
		s.context_words = split(v, " \t,");
	}
	if (get(update_command_name, &v)) {
		// Run without a shell: the program and its arguments, split at blanks.
		s.update_command = split(v, " \t");
		if (!s.update_command.empty() && s.update_command[0][0] != '/')
			return bad(update_command_name, "must start with the absolute path of a program", v);
	}
	if (get(scheme_name, &v)) {
		auto scheme = parse_hash_scheme(v);
		if (!scheme)
			return bad(scheme_name,
				   std::string("unsupported password scheme (supported: ") +
					   supported_hash_schemes() + ")",
				   v);
		s.scheme = *scheme;
	}
	return s;
}

} // namespace account_guard

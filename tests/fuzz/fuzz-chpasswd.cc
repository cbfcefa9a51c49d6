// libFuzzer target: a chpasswd input line through the line parser and the whole password
// policy (Unicode normalisation, case folding, edit distances, zxcvbn) — the path untrusted
// webmail input takes. Errors are values; nothing may crash, hang or leak.
#include "chpasswd-line.hh"
#include "policy.hh"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

using namespace account_guard;

namespace {
const PasswordPolicy &policy()
{
	static const PasswordPolicy p = [] {
		auto settings = parse_password_settings([](const char *name) -> const char * {
			return std::string_view(name) == "account_guard_password_context_words" ? "example-isp"
												 : nullptr;
		});
		if (!settings)
			std::abort();
		auto created = PasswordPolicy::create(*settings);
		if (!created)
			std::abort();
		return std::move(*created);
	}();
	return p;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::string_view input(reinterpret_cast<const char *>(data), size);
	// The first line is a chpasswd line, an optional second one an old password.
	std::size_t nl = input.find('\n');
	std::string_view line = input.substr(0, nl);
	std::optional<std::string_view> old;
	if (nl != std::string_view::npos)
		old = input.substr(nl + 1);
	auto parsed = parse_chpasswd_line(line);
	if (!parsed)
		return 0;
	auto verdict = policy().check(Candidate{parsed->password, parsed->user, old});
	if (verdict) {
		for (const Reason &r : verdict->reasons) {
			if (r.code.empty() || r.message.empty())
				std::abort();
		}
	}
	return 0;
}

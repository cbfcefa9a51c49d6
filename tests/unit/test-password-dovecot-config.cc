// The password tool's parser of doveconf -S output, over the cases it shares with the auth
// module's parser (doveconf-cases.h; plugin/guard-doveconf.c runs them in
// tests/unit/test-guard-doveconf.c).
#include "dovecot-config.hh"

#include "doveconf-cases.h"

#include <catch2/catch.hpp>

#include <cstddef>
#include <iterator>
#include <string>

using namespace account_guard;

TEST_CASE("dovecot config: the doveconf cases shared with the auth module")
{
	for (const doveconf_case &c : doveconf_cases) {
		CAPTURE(c.what, c.output);
		PluginSettings s = parse_doveconf_output(c.output);
		std::size_t n = 0;
		while (c.settings[n] != nullptr)
			n += 2;
		CHECK(s.values().size() == n / 2);
		for (std::size_t i = 0; i < n; i += 2) {
			CAPTURE(c.settings[i]);
			const char *value = s.get(c.settings[i]);
			REQUIRE(value != nullptr);
			CHECK(std::string(value) == c.settings[i + 1]);
		}
		CHECK(s.get("quota_password") == nullptr);
		CHECK(s.get("account_guard_asn_db") == nullptr);
	}
}

TEST_CASE("dovecot config: doveconf's complaint on one line, as the auth module shows it")
{
	for (const doveconf_error_case &c : doveconf_error_cases) {
		CAPTURE(c.output);
		CHECK(doveconf_error_text(c.output) == c.text);
	}
	// A runaway doveconf must not make a log line of megabytes.
	std::string output;
	while (output.size() < 4000)
		output += "Error: line\n";
	const std::string text = doveconf_error_text(output);
	CHECK(text.size() >= 1024);
	CHECK(text.size() < 1030);
	CHECK(text.rfind("Error: line / Error: line", 0) == 0);
}

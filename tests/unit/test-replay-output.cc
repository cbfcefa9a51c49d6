// account-guard-replay's command line, settings and JSON output: usage errors, -o overrides
// validated like the guard's own start-up, and JSON that any reader accepts whatever bytes a
// username holds.

#include "json-writer.hh"
#include "replay-options.hh"
#include "report.hh"

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

using namespace account_guard;
using namespace account_guard::replay;

namespace {

Result<Options> options(std::vector<std::string> args)
{
	args.insert(args.begin(), "account-guard-replay");
	std::vector<char *> argv;
	for (std::string &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	return parse_options(static_cast<int>(args.size()), argv.data());
}

Result<Settings> settings(std::vector<std::string> args)
{
	Result<Options> o = options(std::move(args));
	REQUIRE(o.ok());
	// No default config file: the guard's defaults under the overrides.
	return load_settings(o.value(), "mx.example.com", "/nonexistent/dovecot.conf", "/bin/false");
}

std::string json(std::string_view text)
{
	std::string out;
	append_json_string(out, text);
	return out;
}

} // namespace

TEST_CASE("replay options: formats, files, stdin by default")
{
	Result<Options> o = options({"--format", "postfix", "--json", "a.log", "b.log.gz"});
	REQUIRE(o.ok());
	CHECK(o.value().format == Format::postfix);
	CHECK(o.value().json);
	CHECK(o.value().files == std::vector<std::string>{"a.log", "b.log.gz"});
	Result<Options> none = options({});
	REQUIRE(none.ok());
	CHECK(none.value().files == std::vector<std::string>{"-"});
	CHECK(options({"--format=jsonl"}).value().format == Format::jsonl);
	CHECK(options({"--", "-weird-name"}).value().files == std::vector<std::string>{"-weird-name"});
}

TEST_CASE("replay options: usage errors name what is wrong")
{
	CHECK(options({"--format", "xml"}).error().find("--format: unknown format 'xml'") != std::string::npos);
	CHECK(options({"--frobnicate"}).error() == "unknown option '--frobnicate'");
	CHECK(options({"-o", "account_guard_ip_limit"}).error() == "-o needs NAME=VALUE");
	CHECK(options({"-c"}).error() == "-c needs a configuration file");
}

TEST_CASE("replay settings: -o overrides are parsed and checked like plugin {} values")
{
	Result<Settings> s = settings({"-o", "account_guard_ip_limit=5/1h 20/24h", "-oaccount_guard_mode=log"});
	REQUIRE(s.ok());
	REQUIRE(s.value().ip_limit.size() == 2);
	CHECK(s.value().ip_limit[0].count == 5);
	CHECK(s.value().notify_from == "postmaster@mx.example.com");

	Result<Settings> bad = settings({"-o", "account_guard_ip_limit=10/1x"});
	REQUIRE_FALSE(bad.ok());
	CHECK(bad.error() == "account_guard_ip_limit: invalid limit '10/1x'");

	Result<Settings> typo = settings({"-o", "account_guard_ip_limits=5/1h"});
	REQUIRE_FALSE(typo.ok());
	CHECK(typo.error() == "-o account_guard_ip_limits: unknown setting");
}

TEST_CASE("replay settings: a configuration doveconf refuses is an error naming doveconf")
{
	Result<Options> o = options({"-c", "/nonexistent/dovecot.conf"});
	REQUIRE(o.ok());
	Result<Settings> s = load_settings(o.value(), "", "/nonexistent/default.conf", "/bin/false");
	REQUIRE_FALSE(s.ok());
	CHECK(s.error().find("/bin/false -c /nonexistent/dovecot.conf -S plugin failed") != std::string::npos);
}

TEST_CASE("replay JSON: strings of any bytes are valid JSON")
{
	CHECK(json("alice@example.com") == "\"alice@example.com\"");
	CHECK(json("a\"b\\c") == "\"a\\\"b\\\\c\"");
	CHECK(json(std::string("a\nb\0c", 5)) == "\"a\\u000ab\\u0000c\"");
	CHECK(json("m\xc3\xbcller") == "\"m\xc3\xbcller\"");       // UTF-8 kept
	CHECK(json("m\xfcller") == "\"m\\ufffdller\"");            // Latin-1 byte: U+FFFD
	CHECK(json("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\""); // a surrogate is not UTF-8
	CHECK(json("\xc3") == "\"\\ufffd\"");                      // truncated sequence
	CHECK(json("\xf0\x9f\x93\xa7") == "\"\xf0\x9f\x93\xa7\"");  // 4-byte form
}

TEST_CASE("replay JSON: one object a decision, then the summary")
{
	char *buf = nullptr;
	std::size_t size = 0;
	std::FILE *out = open_memstream(&buf, &size);
	REQUIRE(out != nullptr);
	{
		auto report = make_json_report({"mail.log"}, out);
		Decision d;
		d.where = LineRef{0, 42};
		d.time = 1764547200;
		d.user = "alice";
		d.event = EventKind::message;
		d.decision = DecisionKind::refuse_rcpt;
		d.rule = "account_guard_recipient_limit";
		d.reason = "recipient refused";
		d.accepted = 3;
		d.refused = 2;
		report->decided(d);
		Tally tally;
		tally.add(d);
		InputCounts input;
		input.lines = 50;
		input.unparsable = 1;
		EventCounts events;
		report->finish(RunTotals{input, events, tally, 0, 0, 0});
	}
	std::fclose(out);
	const std::string text(buf, size);
	std::free(buf);
	CHECK(text.find("{\"file\": \"mail.log\", \"line\": 42, \"time\": \"2025-12-01T00:00:00Z\", \"user\": \"alice\", "
			"\"event\": \"message\", \"decision\": \"refuse_rcpt\", \"rule\": \"account_guard_recipient_limit\", "
			"\"reason\": \"recipient refused\", \"accepted\": 3, \"refused\": 2}\n") == 0);
	CHECK(text.find("{\"summary\": {\"lines\": 50, \"unparsable\": 1,") != std::string::npos);
	CHECK(text.find("\"account_guard_recipient_limit\": {\"lock\": 0, \"refuse_login\": 0, \"refuse_rcpt\": 1,")
	      != std::string::npos);
	CHECK(text.find("\"recipients_refused\": 2") != std::string::npos);
}

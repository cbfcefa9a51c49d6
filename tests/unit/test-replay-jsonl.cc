#include "replay-fixture.hh"

#include <catch2/catch.hpp>

using namespace replay_test;

namespace {

ReplayEvent parse_one(const std::string &line)
{
	Run r = run(Format::jsonl, {line});
	INFO(line << " -> " << r.error);
	REQUIRE(r.results.at(0) == LineResult::event);
	REQUIRE(r.events.size() == 1);
	return r.events[0];
}

} // namespace

TEST_CASE("replay jsonl: the five events of §9")
{
	Run r = run(Format::jsonl,
		    {R"({"time": 1793786400, "event": "login", "user": "alice", "service": "imap", "ip": "192.0.2.10"})",
		     R"({"time": 1793786401, "event": "message", "user": "alice", "ip": "192.0.2.10", "from": "a@x", "to": ["b@y", "c@z"]})",
		     R"({"time": 1793786402, "event": "password_change", "user": "alice"})",
		     R"({"time": 1793786403, "event": "bounce", "user": "alice", "to": "b@y"})",
		     R"({"time": 1793786404, "event": "complaint", "user": "alice"})"});
	REQUIRE(r.events.size() == 5);
	CHECK(r.events[0].kind == EventKind::login);
	CHECK(r.events[0].service == "imap");
	CHECK(r.events[0].ip == "192.0.2.10");
	CHECK(r.events[0].time == 1793786400);
	CHECK(r.events[0].file == 3);
	CHECK(r.events[0].line == 1);
	CHECK(r.events[1].kind == EventKind::message);
	CHECK(r.events[1].from == "a@x");
	CHECK(r.events[1].to == std::vector<std::string>{"b@y", "c@z"});
	CHECK(r.events[1].service.empty());
	CHECK(r.events[2].kind == EventKind::password_change);
	CHECK(r.events[3].kind == EventKind::bounce);
	CHECK(r.events[3].to == std::vector<std::string>{"b@y"});
	CHECK(r.events[4].kind == EventKind::complaint);
	CHECK(r.events[4].line == 5);
	CHECK(std::string(event_kind_name(EventKind::password_change)) == "password_change");
}

TEST_CASE("replay jsonl: a message's ip and from are optional; an earlier line's fields do not leak")
{
	Run r = run(Format::jsonl,
		    {R"({"time": 1, "event": "message", "user": "u", "ip": "::1", "from": "f", "to": ["a", "b", "c"]})",
		     R"({"time": 2, "event": "message", "user": "u", "to": ["d"]})"});
	REQUIRE(r.events.size() == 2);
	CHECK(r.events[1].ip.empty());
	CHECK(r.events[1].from.empty());
	CHECK(r.events[1].to == std::vector<std::string>{"d"});
}

TEST_CASE("replay jsonl: times in epoch seconds and ISO 8601")
{
	auto time_of = [](const std::string &t) {
		return parse_one(R"({"event": "complaint", "user": "u", "time": )" + t + "}").time;
	};
	std::int64_t expected = utc(2026, 11, 3, 10, 0, 0);
	CHECK(time_of(std::to_string(expected)) == expected);
	CHECK(time_of(std::to_string(expected) + ".75") == expected); // fractions round down
	CHECK(time_of("1.7e9") == 1700000000);
	CHECK(time_of(R"("2026-11-03T10:00:00Z")") == expected);
	CHECK(time_of(R"("2026-11-03 10:00:00Z")") == expected);
	CHECK(time_of(R"("2026-11-03T10:00:00")") == expected); // no zone: UTC
	CHECK(time_of(R"("2026-11-03T11:00:00+01:00")") == expected);
	CHECK(time_of(R"("2026-11-03T05:30:00-0430")") == expected);
	CHECK(time_of(R"("2026-11-03T10:00:00.999999Z")") == expected);
	CHECK(time_of(R"("2026-11-03T10:00Z")") == expected);
	CHECK(time_of(R"("2024-02-29T00:00:00Z")") == utc(2024, 2, 29));
}

TEST_CASE("replay jsonl: bad times are unparsable")
{
	const char *bad = GENERATE(R"("2026-13-03T10:00:00Z")", R"("2026-02-29T10:00:00Z")", R"("2026-11-03T24:00:00Z")",
				   R"("2026-11-03T10:00:00Zjunk")", R"("2026-11-03")", R"("yesterday")", "-5", "1e300",
				   "99999999999999999999", "true", "null", "01", "1.", "[1]");
	CAPTURE(bad);
	std::string error;
	CHECK(one(Format::jsonl, std::string(R"({"event": "complaint", "user": "u", "time": )") + bad + "}", &error) ==
	      LineResult::unparsable);
	CHECK_FALSE(error.empty());
}

TEST_CASE("replay jsonl: string escapes, \\u and surrogate pairs become UTF-8")
{
	ReplayEvent e = parse_one(
		R"({"time": 1, "event": "login", "service": "imap", "user": "a\"b\\c\/d\n\t\u00e9\u20ac\ud83d\ude00\u0000z"})");
	CHECK(e.user == std::string("a\"b\\c/d\n\t\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 18) + std::string(1, '\0') + "z");
	// Raw bytes, valid UTF-8 or not, pass as they are.
	CHECK(parse_one("{\"time\": 1, \"event\": \"complaint\", \"user\": \"caf\xC3\xA9 \xFF\xFE\"}").user ==
	      "caf\xC3\xA9 \xFF\xFE");
	// Escaped keys are keys all the same.
	CHECK(parse_one(R"({"time": 1, "event": "complaint", "\u0075ser": "x"})").user == "x");
}

TEST_CASE("replay jsonl: unknown keys are skipped, whatever their value")
{
	ReplayEvent e = parse_one(
		R"({"x": {"user": "no", "a": [1, {"b": [[], {}]}, "s\"]", true, false, null, -0.5e-3]}, "time": 7, )"
		R"("event": "login", "extra": [], "user": "yes", "service": "pop3", "n": null, "ip": null, "o": {}})");
	CHECK(e.user == "yes");
	CHECK(e.service == "pop3");
	CHECK(e.ip.empty());
	CHECK(e.time == 7);
}

TEST_CASE("replay jsonl: missing fields and bad JSON are unparsable, with a reason")
{
	struct Case {
		const char *line;
		const char *error;
	};
	Case c = GENERATE(Case{R"({"event": "login", "user": "u", "service": "imap"})", "no time"},
			  Case{R"({"time": 1, "user": "u"})", "no event"},
			  Case{R"({"time": 1, "event": "login", "service": "imap"})", "no user"},
			  Case{R"({"time": 1, "event": "login", "user": "", "service": "imap"})", "no user"},
			  Case{R"({"time": 1, "event": "login", "user": "u"})", "login without service"},
			  Case{R"({"time": 1, "event": "message", "user": "u"})", "message without to"},
			  Case{R"({"time": 1, "event": "bounce", "user": "u"})", "bounce without to"},
			  Case{R"({"time": 1, "event": "logout", "user": "u"})", "unknown event"},
			  Case{R"({"time": 1, "event": "login", "user": 5, "service": "imap"})", "bad user"},
			  Case{R"({"time": 1, "event": "message", "user": "u", "to": [1]})", "bad to"},
			  Case{R"([1, 2])", "not a JSON object"},
			  Case{R"(Dec  3 15:07:05 mail1 dovecot: imap-login: Login: user=<alice>)", "not a JSON object"},
			  Case{R"({"time": 1, "event": "complaint", "user": "u"} {})", "bad JSON"},
			  Case{R"({"time": 1, "event": "complaint", "user": "u",})", "bad JSON"},
			  Case{R"({"time": 1, "event": "complaint", "user": "u")", "bad JSON"},
			  Case{R"({"time": 1, "event": "complaint", "user": "u)", "bad user"},
			  Case{"{\"time\": 1, \"event\": \"complaint\", \"user\": \"a\tb\"}", "bad user"},
			  Case{R"({"time": 1, "event": "complaint", "user": "\ud800"})", "bad user"},
			  Case{R"({"time": 1, "event": "complaint", "user": "\udc00\ud800"})", "bad user"},
			  Case{R"({"time": 1, "event": "complaint", "user": "\x41"})", "bad user"},
			  Case{R"({"time": 1, "event": "complaint", "user": "u", "x": tru})", "bad JSON"},
			  Case{R"({"time": 1, "event": "complaint", "user": "u", "x": [1 2]})", "bad JSON"},
			  Case{R"({"time": 1, "event": "complaint", "user": "u", "x": {"a" 1}})", "bad JSON"},
			  Case{R"({"time": 1, "event": "complaint", "user": "u", "x": [}})", "bad JSON"});
	CAPTURE(c.line);
	std::string error;
	CHECK(one(Format::jsonl, c.line, &error) == LineResult::unparsable);
	CHECK(error == c.error);
}

TEST_CASE("replay jsonl: nesting deeper than the limit is refused, not recursed into")
{
	std::string deep = R"({"time": 1, "event": "complaint", "user": "u", "x": )" + std::string(100000, '[') +
			   std::string(100000, ']') + "}";
	CHECK(one(Format::jsonl, deep) == LineResult::unparsable);
	std::string fine = R"({"time": 1, "event": "complaint", "user": "u", "x": )" + std::string(60, '[') +
			   std::string(60, ']') + "}";
	CHECK(one(Format::jsonl, fine) == LineResult::event);
}

TEST_CASE("replay jsonl: blank lines are ignored, a byte order mark on line 1 is skipped")
{
	Run r = run(Format::jsonl, {"\xEF\xBB\xBF{\"time\": 1, \"event\": \"complaint\", \"user\": \"u\"}", "", "  \t"});
	CHECK(r.results == std::vector<LineResult>{LineResult::event, LineResult::ignored, LineResult::ignored});
}

TEST_CASE("replay jsonl: an event older than the one before keeps the order, at the latest time")
{
	Run r = run(Format::jsonl, {R"({"time": 100, "event": "complaint", "user": "u"})",
				    R"({"time": 90, "event": "complaint", "user": "v"})"});
	REQUIRE(r.events.size() == 2);
	CHECK(r.events[1].time == 100);
	CHECK(r.events[1].user == "v");
}

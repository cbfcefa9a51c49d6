#include "replay-fixture.hh"

#include <catch2/catch.hpp>

using namespace replay_test;

namespace {

const std::string tail = ", method=PLAIN, rip=192.0.2.10, lip=192.0.2.1, mpid=1234, TLS, session=<abc>";

ReplayEvent login(const std::string &line, std::int64_t modified = utc(2026, 12, 31))
{
	Run r = run(Format::dovecot, {line}, modified);
	INFO(line << " -> " << r.error);
	REQUIRE(r.results.at(0) == LineResult::event);
	REQUIRE(r.events.size() == 1);
	return r.events[0];
}

} // namespace

TEST_CASE("replay dovecot: a syslog Login line")
{
	ReplayEvent e = login("Dec  3 15:07:05 mail1 dovecot: imap-login: Login: user=<alice@example.com>" + tail);
	CHECK(e.kind == EventKind::login);
	CHECK(e.user == "alice@example.com");
	CHECK(e.service == "imap");
	CHECK(e.ip == "192.0.2.10");
	CHECK(e.time == utc(2026, 12, 3, 15, 7, 5));
	CHECK(e.file == 3);
	CHECK(e.line == 1);
}

TEST_CASE("replay dovecot: the timestamp forms")
{
	std::int64_t expected = utc(2026, 12, 3, 15, 7, 5);
	// rsyslog's RFC 3339, with an offset honoured.
	CHECK(login("2026-12-03T15:07:05.123456+00:00 mail1 dovecot: imap-login: Login: user=<a>" + tail).time == expected);
	CHECK(login("2026-12-03T16:07:05+01:00 mail1 dovecot[99]: imap-login: Login: user=<a>" + tail).time == expected);
	// Dovecot's log_path with the default log_timestamp "%b %d %H:%M:%S " and with "%Y-%m-%d %H:%M:%S ".
	CHECK(login("Dec 03 15:07:05 imap-login: Info: Login: user=<a>" + tail).time == expected);
	CHECK(login("2026-12-03 15:07:05 imap-login: Info: Login: user=<a>" + tail).time == expected);
	CHECK(login("Dec 3 15:07:05 mail1 dovecot: imap-login: Login: user=<a>" + tail).time == expected);
}

TEST_CASE("replay dovecot: each login process gives its Dovecot service")
{
	struct Case {
		const char *process;
		const char *service;
	};
	Case c = GENERATE(Case{"imap-login", "imap"}, Case{"pop3-login", "pop3"},
			  Case{"submission-login", "submission"}, Case{"managesieve-login", "sieve"});
	std::string line = std::string(c.process) + ": Login: user=<a>" + tail;
	CHECK(login("Dec  3 15:07:05 mail1 dovecot: " + line).service == c.service);
	CHECK(login("Dec  3 15:07:05 " + line).service == c.service);
	CHECK(login("Dec  3 15:07:05 mail1 " + std::string(c.process) + "[77]: Info: Login: user=<a>" + tail).service ==
	      c.service);
}

TEST_CASE("replay dovecot: IPv6 and missing addresses")
{
	CHECK(login("Dec 03 15:07:05 imap-login: Info: Login: user=<alice>, method=PLAIN, rip=::1, lip=::1, mpid=77, secured, session=<x>")
		      .ip == "::1");
	CHECK(login("Dec 03 15:07:05 imap-login: Login: user=<alice>, method=PLAIN, rip=2001:db8::5, lip=2001:db8::1").ip ==
	      "2001:db8::5");
	CHECK(login("Dec 03 15:07:05 imap-login: Login: user=<alice>, method=PLAIN").ip.empty());
	CHECK(login("Dec 03 15:07:05 imap-login: Login: user=<alice>, method=PLAIN, rip=192.0.2.7").ip == "192.0.2.7");
}

TEST_CASE("replay dovecot: usernames are kept as their bytes, whatever they hold")
{
	std::string prefix = "Dec  3 15:07:05 mail1 dovecot: imap-login: Login: user=<";
	CHECK(login(prefix + "john smith" + ">" + tail).user == "john smith");
	// A '>' (even ">, ") inside: the user ends where Dovecot's own fields begin.
	CHECK(login(prefix + "a>b" + ">" + tail).user == "a>b");
	CHECK(login(prefix + "a>, rip=6.6.6.6, b" + ">" + tail).user == "a>, rip=6.6.6.6, b");
	CHECK(login(prefix + "a>, rip=6.6.6.6, b" + ">" + tail).ip == "192.0.2.10");
	CHECK(login(prefix + "caf\xC3\xA9\xFF\x01" + ">" + tail).user == "caf\xC3\xA9\xFF\x01");
	CHECK(login(prefix + std::string("nul\0byte", 8) + ">" + tail).user == std::string("nul\0byte", 8));
	// Without Dovecot's method= after it (another login_log_format_elements), the first '>'
	// before a ',' or the end of the line.
	CHECK(login(prefix + "a>b>").user == "a>b");
	CHECK(login(prefix + "a>b>, rip=192.0.2.1").user == "a>b");
	CHECK(login(prefix + "a>b>, rip=192.0.2.1").ip == "192.0.2.1");
}

TEST_CASE("replay dovecot: a Login line without a user or cut short is unparsable")
{
	struct Case {
		const char *line;
		const char *error;
	};
	Case c = GENERATE(Case{"Dec  3 15:07:05 mail1 dovecot: imap-login: Login: user=<>, method=PLAIN, rip=1.2.3.4",
			       "Login with an empty user"},
			  Case{"Dec  3 15:07:05 mail1 dovecot: imap-login: Login: user=<alic", "Login with a cut user"},
			  Case{"Dec  3 15:07:05 mail1 dovecot: imap-login: Login: method=PLAIN", "Login without user"},
			  Case{"Dec  3 15:07:05 mail1 dovecot: imap-login: Login: ", "Login without user"},
			  Case{"Dex  3 15:07:05 mail1 dovecot: imap-login: Login: user=<a>, method=PLAIN", "bad timestamp"},
			  Case{"Dec 32 15:07:05 mail1 dovecot: imap-login: Login: user=<a>, method=PLAIN", "bad timestamp"},
			  Case{"Dec  3 25:07:05 mail1 dovecot: imap-login: Login: user=<a>, method=PLAIN", "bad timestamp"},
			  Case{"2026-12-03T15:07:05+2 mail1 dovecot: imap-login: Login: user=<a>, method=PLAIN", "bad timestamp"});
	CAPTURE(c.line);
	std::string error;
	CHECK(one(Format::dovecot, c.line, &error) == LineResult::unparsable);
	CHECK(error == c.error);
}

TEST_CASE("replay dovecot: other lines, Dovecot's or not, are ignored")
{
	const char *line = GENERATE(
		"Dec  3 15:07:05 mail1 dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<a>, method=PLAIN, rip=1.2.3.4",
		"Dec  3 15:07:05 mail1 dovecot: imap(alice)<123><abc>: Logged out in=10 out=20",
		"Dec  3 15:07:05 mail1 dovecot: auth: Info: passwd-file(alice,1.2.3.4): unknown user",
		"Dec  3 15:07:05 mail1 dovecot: lmtp(alice): Login: user=<alice>",
		"Dec  3 15:07:05 mail1 dovecot: master: Dovecot v2.3.19 starting up",
		"Dec  3 15:07:05 mail1 postfix/smtpd[1]: connect from unknown[192.0.2.1]",
		"Dec  3 15:07:05 mail1 sshd[5]: Accepted password for root from 192.0.2.1",
		"Dec 03 15:07:05 imap-login: Warning: Login: user=<a>, method=PLAIN",
		"Dec  3 15:07:05 mail1", "Dec  3 15:07:05 ", "", "garbage", "\x01\x02\xFF",
		"Dec  3 15:07:05 mail1 dovecot:");
	CAPTURE(line);
	CHECK(one(Format::dovecot, line) == LineResult::ignored);
}

TEST_CASE("replay dovecot: the year of syslog stamps comes from the file's modification time")
{
	std::string l = ": imap-login: Login: user=<a>" + tail;
	// Modified in the same year, after the stamps.
	CHECK(login("Mar  1 10:00:00 h dovecot" + l, utc(2026, 6, 1)).time == utc(2026, 3, 1, 10));
	// A stamp "later" than the file's time is of the year before.
	CHECK(login("Dec 30 10:00:00 h dovecot" + l, utc(2027, 1, 2)).time == utc(2026, 12, 30, 10));
	// A day of slack for a file touched a little before its last line's stamp (clocks, zones).
	CHECK(login("Jan  2 10:00:00 h dovecot" + l, utc(2027, 1, 2, 5)).time == utc(2027, 1, 2, 10));
	// February 29 in a leap year.
	CHECK(login("Feb 29 10:00:00 h dovecot" + l, utc(2028, 3, 1)).time == utc(2028, 2, 29, 10));
}

TEST_CASE("replay dovecot: a log across New Year")
{
	std::string l = " h dovecot: imap-login: Login: user=<a>" + tail;
	Run r = run(Format::dovecot,
		    {"Dec 31 23:59:58" + l, "Jan  1 00:00:01" + l, "Jan 31 23:59:59" + l,
		     // One line out of step by a month is the clock, not a year.
		     "Feb  1 00:00:00" + l, "Jan 31 23:59:59" + l, "Feb  2 00:00:00" + l},
		    utc(2027, 2, 3));
	REQUIRE(r.events.size() == 6);
	CHECK(r.events[0].time == utc(2026, 12, 31, 23, 59, 58));
	CHECK(r.events[1].time == utc(2027, 1, 1, 0, 0, 1));
	CHECK(r.events[2].time == utc(2027, 1, 31, 23, 59, 59));
	CHECK(r.events[3].time == utc(2027, 2, 1));
	// Out of step: given the latest time so far, to keep the order.
	CHECK(r.events[4].time == utc(2027, 2, 1));
	CHECK(r.events[5].time == utc(2027, 2, 2));
	CHECK(r.events[5].line == 6);
}

TEST_CASE("replay dovecot: hostile lines never crash")
{
	std::string huge = "Dec  3 15:07:05 mail1 dovecot: imap-login: Login: user=<" + std::string(1 << 20, '>') + tail;
	CHECK(one(Format::dovecot, huge) == LineResult::event);
	std::string junk;
	for (int i = 0; i < 256; i++)
		junk += char(i);
	CHECK(one(Format::dovecot, junk) == LineResult::ignored);
	std::string base = "Dec  3 15:07:05 mail1 dovecot: imap-login: Login: user=<alice>" + tail;
	// Every prefix of a good line: an event or an unparsable/ignored line, never a crash.
	for (std::size_t n = 0; n <= base.size(); n++)
		(void)one(Format::dovecot, base.substr(0, n));
	SUCCEED();
}

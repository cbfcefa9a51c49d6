#include "replay-fixture.hh"

#include <catch2/catch.hpp>

using namespace replay_test;

namespace {

// A line of host mx at 2026-12-03 15:MM:SS.
std::string at(unsigned minute, unsigned second, const std::string &rest)
{
	char stamp[32];
	std::snprintf(stamp, sizeof stamp, "Dec  3 15:%02u:%02u mx ", minute, second);
	return stamp + rest;
}

std::int64_t t(unsigned minute, unsigned second) { return utc(2026, 12, 3, 15, minute, second); }

const std::string sasl_client = "postfix/submission/smtpd[1234]: 4AB12C3D4E: client=unknown[192.0.2.10], "
				"sasl_method=PLAIN, sasl_username=alice@example.com";

// One authenticated message, its lines in Postfix's order.
std::vector<std::string> message_lines()
{
	return {at(7, 5, "postfix/submission/smtpd[1234]: connect from unknown[192.0.2.10]"),
		at(7, 5, sasl_client),
		at(7, 5, "postfix/cleanup[55]: 4AB12C3D4E: message-id=<m1@example.com>"),
		at(7, 6, "postfix/qmgr[9]: 4AB12C3D4E: from=<alice@example.com>, size=123, nrcpt=2 (queue active)"),
		at(7, 7, "postfix/smtp[77]: 4AB12C3D4E: to=<bob@example.net>, relay=mx.example.net[198.51.100.1]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 OK)"),
		at(7, 7, "postfix/lmtp[78]: 4AB12C3D4E: to=<carol@example.com>, orig_to=<c@example.com>, relay=mail[private/dovecot-lmtp], delay=1, dsn=2.0.0, status=sent (250 2.0.0 Saved)"),
		at(7, 8, "postfix/qmgr[9]: 4AB12C3D4E: removed")};
}

} // namespace

TEST_CASE("replay postfix: a SASL client is a login, and its queue id's lines one message")
{
	Run r = run(Format::postfix, message_lines());
	REQUIRE(r.events.size() == 2);
	const ReplayEvent &login = r.events[0], &message = r.events[1];
	CHECK(login.kind == EventKind::login);
	CHECK(login.user == "alice@example.com");
	CHECK(login.service == "smtp");
	CHECK(login.ip == "192.0.2.10");
	CHECK(login.time == t(7, 5));
	CHECK(login.line == 2);
	CHECK(login.file == 3);
	CHECK(message.kind == EventKind::message);
	CHECK(message.user == "alice@example.com");
	CHECK(message.ip == "192.0.2.10");
	CHECK(message.from == "alice@example.com");
	CHECK(message.to == std::vector<std::string>{"bob@example.net", "carol@example.com"});
	// The message takes its client= line's time and line, not its "removed" one's.
	CHECK(message.time == t(7, 5));
	CHECK(message.line == 2);
	CHECK(r.results == std::vector<LineResult>{LineResult::ignored, LineResult::event, LineResult::ignored,
						   LineResult::event, LineResult::event, LineResult::event,
						   LineResult::event});
}

TEST_CASE("replay postfix: a recipient deferred, then sent, counts once")
{
	Run r = run(Format::postfix,
		    {at(0, 0, sasl_client),
		     at(0, 1, "postfix/smtp[1]: 4AB12C3D4E: to=<bob@example.net>, relay=none, delay=1, dsn=4.4.1, status=deferred (connect timed out)"),
		     at(0, 1, "postfix/smtp[1]: 4AB12C3D4E: to=<dave@example.net>, relay=x[1.2.3.4]:25, delay=1, dsn=5.1.1, status=bounced (unknown user)"),
		     at(5, 1, "postfix/smtp[1]: 4AB12C3D4E: to=<bob@example.net>, relay=none, delay=300, dsn=4.4.1, status=deferred (connect timed out)"),
		     at(9, 1, "postfix/smtp[1]: 4AB12C3D4E: to=<bob@example.net>, relay=x[1.2.3.4]:25, delay=540, dsn=2.0.0, status=sent (ok)"),
		     at(9, 1, "postfix/qmgr[9]: 4AB12C3D4E: removed")});
	REQUIRE(r.events.size() == 2);
	CHECK(r.events[1].to == std::vector<std::string>{"bob@example.net", "dave@example.net"});
	CHECK(r.events[1].from.empty());
}

TEST_CASE("replay postfix: events come out in time order while a message is open")
{
	Run r = run(Format::postfix,
		    {at(0, 0, sasl_client),
		     // Another user's message, opened and completed while the first is still open.
		     at(0, 10, "postfix/smtpd[2]: 5BC23D4E5F: client=h.example[2001:db8::9]:4567, sasl_method=LOGIN, sasl_username=bob"),
		     at(0, 11, "postfix/smtp[3]: 5BC23D4E5F: to=<x@example.org>, relay=r, delay=1, dsn=2.0.0, status=sent (ok)"),
		     at(0, 12, "postfix/qmgr[9]: 5BC23D4E5F: removed"),
		     at(0, 20, "postfix/smtp[3]: 4AB12C3D4E: to=<y@example.org>, relay=r, delay=20, dsn=2.0.0, status=sent (ok)"),
		     at(0, 21, "postfix/qmgr[9]: 4AB12C3D4E: removed")});
	REQUIRE(r.events.size() == 4);
	CHECK(r.events[0].kind == EventKind::login);
	CHECK(r.events[0].user == "alice@example.com");
	CHECK(r.events[1].kind == EventKind::message);
	CHECK(r.events[1].user == "alice@example.com");
	CHECK(r.events[1].to == std::vector<std::string>{"y@example.org"});
	CHECK(r.events[2].kind == EventKind::login);
	CHECK(r.events[2].user == "bob");
	CHECK(r.events[2].ip == "2001:db8::9");
	CHECK(r.events[3].kind == EventKind::message);
	CHECK(r.events[3].user == "bob");
	for (std::size_t i = 1; i < r.events.size(); i++)
		CHECK(r.events[i - 1].time <= r.events[i].time);
}

TEST_CASE("replay postfix: held events wait for the open message, and finish() flushes")
{
	auto parser = make_parser(Format::postfix, 0, utc(2026, 12, 31));
	std::vector<ReplayEvent> out;
	CHECK(parser->parse(at(0, 0, sasl_client), 1, out) == LineResult::event);
	REQUIRE(out.size() == 1); // the login: nothing open is older
	CHECK(parser->parse(at(0, 5, "postfix/smtpd[2]: 5BC23D4E5F: client=a[192.0.2.2], sasl_username=bob"), 2, out) ==
	      LineResult::event);
	CHECK(out.size() == 1); // bob's login waits behind alice's open message
	CHECK(parser->parse(at(0, 6, "postfix/smtp[3]: 4AB12C3D4E: to=<r@x>, relay=r, dsn=2.0.0, status=sent (ok)"), 3, out) ==
	      LineResult::event);
	CHECK(out.size() == 1);
	parser->finish(out);
	// alice's message is closed with what was seen; bob's has no recipient: no message.
	REQUIRE(out.size() == 3);
	CHECK(out[1].kind == EventKind::message);
	CHECK(out[1].user == "alice@example.com");
	CHECK(out[1].to == std::vector<std::string>{"r@x"});
	CHECK(out[2].kind == EventKind::login);
	CHECK(out[2].user == "bob");
}

TEST_CASE("replay postfix: a queue id open for more than an hour is closed with its recipients so far")
{
	Run r = run(Format::postfix,
		    {at(0, 0, sasl_client),
		     at(0, 1, "postfix/smtp[3]: 4AB12C3D4E: to=<r@x>, relay=none, dsn=4.4.1, status=deferred (timeout)"),
		     "Dec  3 16:00:01 mx postfix/anvil[5]: statistics: max connection rate 1/60s",
		     "Dec  3 16:30:00 mx postfix/smtp[3]: 4AB12C3D4E: to=<late@x>, relay=r, dsn=2.0.0, status=sent (ok)",
		     "Dec  3 16:30:00 mx postfix/qmgr[9]: 4AB12C3D4E: removed"});
	REQUIRE(r.events.size() == 2);
	CHECK(r.events[1].to == std::vector<std::string>{"r@x"});
	// Already closed: the later lines of the queue id are nobody's.
	CHECK(r.results[3] == LineResult::ignored);
	CHECK(r.results[4] == LineResult::ignored);
}

TEST_CASE("replay postfix: mail from the internet, NOQUEUE and other lines give nothing")
{
	Run r = run(Format::postfix,
		    {at(0, 0, "postfix/smtpd[1]: 6CD34E5F60: client=mx.other.example[203.0.113.5]"),
		     at(0, 1, "postfix/qmgr[9]: 6CD34E5F60: from=<x@other.example>, size=1, nrcpt=1 (queue active)"),
		     at(0, 2, "postfix/lmtp[9]: 6CD34E5F60: to=<alice@example.com>, relay=l, dsn=2.0.0, status=sent (ok)"),
		     at(0, 3, "postfix/qmgr[9]: 6CD34E5F60: removed"),
		     at(0, 4, "postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[203.0.113.9]: 554 5.7.1 <x@y>: Relay access denied; from=<a@b> to=<x@y> proto=ESMTP helo=<h>"),
		     at(0, 5, "postfix/smtpd[1]: warning: hostname x does not resolve to address 1.2.3.4"),
		     at(0, 6, "dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=1.2.3.4"),
		     "Dec  3 15:00:07 mx postfix/smtpd[1]:", "Dec  3 15:00:07 mx postfix", "", "\xFF\xFE"});
	CHECK(r.events.empty());
	for (LineResult result : r.results)
		CHECK(result == LineResult::ignored);
}

TEST_CASE("replay postfix: long queue ids, sasl_sender, odd addresses")
{
	Run r = run(Format::postfix,
		    {at(0, 0, "postfix/smtpd[1]: 4Lr0fW3Bq0z9tZ1: client=unknown[192.0.2.3], sasl_method=PLAIN, sasl_username=we ird>, user, sasl_sender=x@y"),
		     at(0, 1, "postfix/qmgr[9]: 4Lr0fW3Bq0z9tZ1: from=<\"a>, b\"@example.com>, size=1, nrcpt=1 (queue active)"),
		     at(0, 2, "postfix/virtual[9]: 4Lr0fW3Bq0z9tZ1: to=<\"c>, d\"@example.com>, relay=virtual, dsn=2.0.0, status=sent (ok)"),
		     at(0, 2, "postfix/pipe[9]: 4Lr0fW3Bq0z9tZ1: to=<e@x>, relay=p, dsn=5.0.0, status=bounced (no)"),
		     at(0, 2, "postfix/local[9]: 4Lr0fW3Bq0z9tZ1: to=<f@x>, relay=local, dsn=4.0.0, status=expired (old)"),
		     at(0, 3, "postfix/qmgr[9]: 4Lr0fW3Bq0z9tZ1: removed")});
	REQUIRE(r.events.size() == 2);
	CHECK(r.events[0].user == "we ird>, user");
	CHECK(r.events[1].from == "\"a>, b\"@example.com");
	CHECK(r.events[1].to == std::vector<std::string>{"\"c>, d\"@example.com", "e@x", "f@x"});
}

TEST_CASE("replay postfix: many recipients, each once")
{
	std::vector<std::string> lines{at(0, 0, sasl_client)};
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 100; i++)
			lines.push_back(at(0, 1, "postfix/smtp[3]: 4AB12C3D4E: to=<r" + std::to_string(i) +
						     "@x>, relay=r, dsn=2.0.0, status=sent (ok)"));
	lines.push_back(at(0, 2, "postfix/qmgr[9]: 4AB12C3D4E: removed"));
	Run r = run(Format::postfix, lines);
	REQUIRE(r.events.size() == 2);
	REQUIRE(r.events[1].to.size() == 100);
	CHECK(r.events[1].to[99] == "r99@x");
}

TEST_CASE("replay postfix: unparsable lines")
{
	struct Case {
		std::string line;
		const char *error;
	};
	Case c = GENERATE(Case{"Dek  3 15:07:05 mx " + sasl_client, "bad timestamp"},
			  Case{at(0, 0, "postfix/smtpd[1]: 4AB12C3D4E: client=a[1.2.3.4], sasl_method=PLAIN, sasl_username="),
			       "empty sasl_username"});
	CAPTURE(c.line);
	std::string error;
	CHECK(one(Format::postfix, c.line, &error) == LineResult::unparsable);
	CHECK(error == c.error);
	// A cut to= of an open queue id.
	Run r = run(Format::postfix, {at(0, 0, sasl_client), at(0, 1, "postfix/smtp[3]: 4AB12C3D4E: to=<bob@exa")});
	CHECK(r.results[1] == LineResult::unparsable);
	CHECK(r.error == "cut to=");
}

TEST_CASE("replay postfix: RFC 3339 stamps and a New Year in the log")
{
	Run r = run(Format::postfix,
		    {"Dec 31 23:59:59 mx postfix/submission/smtpd[1]: 4AB12C3D4E: client=a[192.0.2.1], sasl_username=u",
		     "Jan  1 00:00:01 mx postfix/smtp[3]: 4AB12C3D4E: to=<r@x>, relay=r, dsn=2.0.0, status=sent (ok)",
		     "Jan  1 00:00:01 mx postfix/qmgr[3]: 4AB12C3D4E: removed",
		     "2027-01-01T01:00:00.5+01:00 mx postfix/smtpd[1]: 5BC23D4E5F: client=b[192.0.2.2], sasl_username=v"},
		    utc(2027, 1, 1, 12));
	REQUIRE(r.events.size() == 3);
	CHECK(r.events[0].time == utc(2026, 12, 31, 23, 59, 59));
	CHECK(r.events[1].time == utc(2026, 12, 31, 23, 59, 59));
	CHECK(r.events[2].time == utc(2027, 1, 1, 0, 0, 0));
	CHECK(r.events[2].user == "v");
}

TEST_CASE("replay postfix: format detection")
{
	CHECK(detect_format({"", R"({"time": 1})"}) == Format::jsonl);
	CHECK(detect_format({"Dec  3 15:07:05 mx postfix/smtpd[1]: connect from x[1.2.3.4]"}) == Format::postfix);
	CHECK(detect_format({"Dec  3 15:07:05 mx dovecot: master: up", "Dec  3 15:07:05 mx postfix-out/smtp[1]: x"}) ==
	      Format::postfix);
	CHECK(detect_format({"Dec  3 15:07:05 mx dovecot: imap-login: Login: user=<postfix>"}) == Format::dovecot);
	CHECK(detect_format({}) == Format::dovecot);
	Format f = Format::dovecot;
	CHECK(parse_format_name("jsonl", f));
	CHECK(f == Format::jsonl);
	CHECK(parse_format_name("auto", f));
	CHECK(f == Format::automatic);
	CHECK_FALSE(parse_format_name("JSONL", f));
}

// Verbatim from a real Postfix 3.7.11 (Debian 12) writing its own log (maillog_file, postlogd:
// a zero-padded day), clients set by XCLIENT ADDR= (the name stays "localhost"), recipients
// discarded; two messages open at once, the second one's client= line before the first one's
// "removed" (tests/integration/test_replay_postfix.py makes such a log).
TEST_CASE("replay postfix: real postlogd lines")
{
	Run r = run(Format::postfix, {
		"Dec 03 17:20:36 mx postfix/master[20716]: daemon started -- version 3.7.11, configuration /tmp/ag-postfix-9peaez94/conf",
		"Dec 03 17:20:36 mx postfix/smtpd[20720]: connect from localhost[127.0.0.1]",
		"Dec 03 17:20:36 mx postfix/smtpd[20720]: EE29CA823AA: client=localhost[198.18.0.7], sasl_method=PLAIN, sasl_username=alice",
		"Dec 03 17:20:36 mx postfix/cleanup[20725]: EE29CA823AA: message-id=<20261203172036.EE29CA823AA@mx.test.invalid>",
		"Dec 03 17:20:36 mx postfix/qmgr[20718]: EE29CA823AA: from=<alice@test.invalid>, size=400, nrcpt=1 (queue active)",
		"Dec 03 17:20:36 mx postfix/smtpd[20720]: disconnect from localhost[198.18.0.7] ehlo=2 xclient=0/1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=7/8",
		"Dec 03 17:20:36 mx postfix/smtpd[20720]: F250AA823AF: client=localhost[198.18.10.7], sasl_method=PLAIN, sasl_username=bob",
		"Dec 03 17:20:36 mx postfix/qmgr[20718]: F250AA823AF: from=<bob@test.invalid>, size=376, nrcpt=3 (queue active)",
		"Dec 03 17:20:36 mx postfix/discard[20726]: EE29CA823AA: to=<a-one1@example.net>, relay=none, delay=0.03, delays=0.01/0.02/0/0, dsn=2.0.0, status=sent (example.net)",
		"Dec 03 17:20:36 mx postfix/smtpd[20720]: F30E1A823B0: client=localhost[198.18.10.7], sasl_method=PLAIN, sasl_username=bob",
		"Dec 03 17:20:36 mx postfix/qmgr[20718]: EE29CA823AA: removed",
		"Dec 03 17:20:36 mx postfix/discard[20726]: F250AA823AF: to=<b-first1@example.net>, relay=none, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (example.net)",
		"Dec 03 17:20:36 mx postfix/discard[20726]: F250AA823AF: to=<b-first2@example.net>, relay=none, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (example.net)",
		"Dec 03 17:20:36 mx postfix/qmgr[20718]: F250AA823AF: removed",
	});
	REQUIRE(r.error.empty());
	for (LineResult result : r.results)
		CHECK(result != LineResult::unparsable);
	// F30E1A823B0 never completes here: finish() gives its login only (no recipient, no message).
	REQUIRE(r.events.size() == 5);
	CHECK(r.events[0].kind == EventKind::login);
	CHECK(r.events[0].user == "alice");
	CHECK(r.events[0].ip == "198.18.0.7");
	CHECK(r.events[0].time == utc(2026, 12, 3, 17, 20, 36));
	CHECK(r.events[0].line == 3);
	CHECK(r.events[1].kind == EventKind::message);
	CHECK(r.events[1].from == "alice@test.invalid");
	CHECK(r.events[1].to == std::vector<std::string>{"a-one1@example.net"});
	CHECK(r.events[2].kind == EventKind::login);
	CHECK(r.events[2].user == "bob");
	CHECK(r.events[2].line == 7);
	CHECK(r.events[3].kind == EventKind::message);
	CHECK(r.events[3].line == 7);
	CHECK(r.events[3].to == std::vector<std::string>{"b-first1@example.net", "b-first2@example.net"});
	CHECK(r.events[4].kind == EventKind::login);
	CHECK(r.events[4].line == 10);
}

// account-guard-replay's inputs as one stream: files merged by time, a syslog mail.log read
// as both the Dovecot and the Postfix log it is, unparsable lines counted and shown.

#include "event-merge.hh"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using namespace account_guard::replay;

namespace {

struct TempDir {
	std::string path;
	TempDir()
	{
		char tmpl[] = "/tmp/ag-replay-merge.XXXXXX";
		REQUIRE(mkdtemp(tmpl) != nullptr);
		path = tmpl;
	}
	~TempDir() { (void)!std::system(("rm -rf '" + path + "'").c_str()); }
	// Written with a modification time in 2026, so syslog stamps are dated 2026.
	std::string write(const std::string &name, const std::string &text) const
	{
		const std::string file = path + "/" + name;
		std::ofstream(file) << text;
		struct utimbuf times = {1798675200, 1798675200}; // 2026-12-31
		utime(file.c_str(), &times);
		return file;
	}
};

std::vector<ReplayEvent> all(EventMerge &merge)
{
	std::vector<ReplayEvent> out;
	ReplayEvent e;
	while (merge.next(e))
		out.push_back(e);
	return out;
}

} // namespace

TEST_CASE("replay merge: one syslog mail.log gives its Dovecot logins and its Postfix messages, in time order")
{
	TempDir dir;
	const std::string log = dir.write("mail.log",
		"Dec  3 10:00:00 mx postfix/submission/smtpd[10]: 4AB12C3D4E: client=unknown[192.0.2.7], sasl_method=PLAIN, sasl_username=bob@example.com\n"
		"Dec  3 10:00:01 mx postfix/qmgr[11]: 4AB12C3D4E: from=<bob@example.com>, size=300, nrcpt=1 (queue active)\n"
		"Dec  3 10:00:02 mx dovecot: imap-login: Login: user=<alice@example.com>, method=PLAIN, rip=198.51.100.7, lip=192.0.2.1, mpid=5, TLS, session=<x>\n"
		"Dec  3 10:00:03 mx postfix/smtp[12]: 4AB12C3D4E: to=<carol@example.net>, relay=mx.example.net[203.0.113.5]:25, delay=1, dsn=2.0.0, status=sent (250 ok)\n"
		"Dec  3 10:00:04 mx postfix/qmgr[11]: 4AB12C3D4E: removed\n"
		"Dec  3 10:00:05 mx dovecot: pop3-login: Login: user=<dave@example.com>, method=PLAIN, rip=2001:db8::5, lip=::1, mpid=6, session=<y>\n");
	EventMerge merge({log}, Format::automatic);
	const auto events = all(merge);
	REQUIRE(events.size() == 4);
	CHECK(events[0].kind == EventKind::login); // bob's SASL login, at his client= line
	CHECK(events[0].user == "bob@example.com");
	CHECK(events[0].service == "smtp");
	CHECK(events[1].kind == EventKind::message);
	CHECK(events[1].line == 1);
	CHECK(events[1].to == std::vector<std::string>{"carol@example.net"});
	CHECK(events[2].user == "alice@example.com");
	CHECK(events[2].service == "imap");
	CHECK(events[2].line == 3);
	CHECK(events[3].service == "pop3");
	CHECK(events[3].ip == "2001:db8::5");
	for (std::size_t i = 1; i < events.size(); i++)
		CHECK(events[i - 1].time <= events[i].time);
	// Every line counted once, though two parsers read it.
	CHECK(merge.counts().lines == 6);
	CHECK(merge.counts().unparsable == 0);
}

TEST_CASE("replay merge: several files are merged by time, each event keeps its file and line")
{
	TempDir dir;
	const std::string a = dir.write("a.jsonl",
		"{\"time\": 100, \"event\": \"login\", \"user\": \"u\", \"service\": \"imap\", \"ip\": \"192.0.2.1\"}\n"
		"{\"time\": 300, \"event\": \"login\", \"user\": \"u\", \"service\": \"imap\", \"ip\": \"192.0.2.1\"}\n");
	const std::string b = dir.write("b.jsonl",
		"{\"time\": 200, \"event\": \"password_change\", \"user\": \"u\"}\n"
		"not json\n"
		"{\"time\": 300, \"event\": \"complaint\", \"user\": \"u\"}\n");
	EventMerge merge({a, b}, Format::automatic);
	const auto events = all(merge);
	REQUIRE(events.size() == 4);
	CHECK(events[0].time == 100);
	CHECK(events[1].kind == EventKind::password_change);
	CHECK(events[1].file == 1);
	CHECK(events[1].line == 1);
	// A tie goes to the file named first.
	CHECK(events[2].file == 0);
	CHECK(events[2].line == 2);
	CHECK(events[3].kind == EventKind::complaint);
	CHECK(events[3].line == 3);
	REQUIRE(merge.counts().unparsable == 1);
	REQUIRE(merge.counts().first_unparsable.size() == 1);
	CHECK(merge.counts().first_unparsable[0].file == 1);
	CHECK(merge.counts().first_unparsable[0].line == 2);
	CHECK(merge.counts().first_unparsable[0].text == "not json");
}

TEST_CASE("replay merge: a file that cannot be opened is an error naming it")
{
	CHECK_THROWS_WITH(EventMerge({"/nonexistent/mail.log"}, Format::automatic),
			  Catch::Contains("/nonexistent/mail.log"));
}

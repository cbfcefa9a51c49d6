#include "notification.hh"

#include <catch2/catch.hpp>

using namespace account_guard;

TEST_CASE("notification: a lock mail names the account, reason, evidence and the unlock command")
{
	AccountRecord r;
	std::string error;
	r.touch_network(*parse_network("198.51.100.0/24", &error), 1790000000);
	r.touch_country(*parse_country("BR"), 1790000000);
	Lock lock;
	lock.since = 1790000000;
	lock.reason = "11 networks within 1h (limit 10/1h): 198.51.100.0/24";
	Notification n = lock_notification("alice@example.com", lock, r);
	CHECK(n.subject == "Account locked: alice@example.com");
	CHECK(n.body.find("Account:          alice@example.com") != std::string::npos);
	CHECK(n.body.find("Locked since:     2026-09-21T14:13:20Z") != std::string::npos);
	CHECK(n.body.find(lock.reason) != std::string::npos);
	CHECK(n.body.find("198.51.100.0/24  last seen 2026-09-21T14:13:20Z") != std::string::npos);
	CHECK(n.body.find("Recent countries: BR") != std::string::npos);
	CHECK(n.body.find("doveadm account-unlock 'alice@example.com'") != std::string::npos);
}

TEST_CASE("notification: a recipient mail names the limit, the counts and both commands")
{
	Notification n = recipient_notification("bob", "5/1h", 5, "5/1h 5/1d", nullptr);
	CHECK(n.subject == "Recipient limit reached: bob");
	CHECK(n.body.find("Limit reached:    5/1h (5 recipients already)") != std::string::npos);
	CHECK(n.body.find("Recipients:       5/1h 5/1d") != std::string::npos);
	CHECK(n.body.find("doveadm account-lock -r 'sent spam' 'bob'") != std::string::npos);
	CHECK(n.body.find("doveadm account-unlock -R 'bob'") != std::string::npos);
}

TEST_CASE("notification: hostile usernames cannot break the mail or the command line")
{
	Notification n = recipient_notification("x'; rm -rf /;\r\nBcc: victim@example.com", "5/1h", 5, "", nullptr);
	CHECK(n.subject.find('\r') == std::string::npos);
	CHECK(n.subject.find('\n') == std::string::npos);
	CHECK(n.body.find("\nBcc:") == std::string::npos);
	CHECK(n.body.find("'x'\\''; rm -rf /;\\x0d\\x0aBcc: victim@example.com'") != std::string::npos);
	CHECK(shell_quote("it's") == "'it'\\''s'");
}

/* plugin/guard-notify-message.c alone, against libdovecot: the headers of
   the postmaster's mail, and which bodies go out as they are (7bit) and
   which quoted-printable. */

#include "lib.h"
#include "str.h"
#include "test-common.h"
#include "guard-notify-message.h"

#include "account-guard.h"

/* 2026-09-21T14:13:20Z; the test runs with TZ=UTC (tests/meson.build). */
#define TEST_DATE 1790000000

static struct ag_notification test_notification(const char *subject,
						 const char *body)
{
	struct ag_notification n;

	i_zero(&n);
	n.user = "alice";
	n.reason = "lock";
	n.to = "abuse@example.net";
	n.from = "postmaster@mx.example.net";
	n.relay = "";
	n.subject = subject;
	n.body = body;
	return n;
}

static const char *test_message(const char *subject, const char *body)
{
	struct ag_notification n = test_notification(subject, body);

	return guard_notify_message(&n, "mx.example.net", TEST_DATE);
}

/* What follows the blank line that ends the headers. */
static const char *test_body_of(const char *msg)
{
	const char *p = strstr(msg, "\r\n\r\n");

	return p == NULL ? "" : p + 4;
}

static bool test_has_8bit(const char *msg)
{
	for (; *msg != '\0'; msg++) {
		if ((unsigned char)*msg >= 0x80)
			return TRUE;
	}
	return FALSE;
}

static void test_guard_notify_headers(void)
{
	const char *msg, *id, *end;

	test_begin("guard notify message headers");
	msg = test_message("Account locked: alice", "line one\nline two");
	test_assert(str_begins(msg, "From: postmaster@mx.example.net\r\n"
			       "To: abuse@example.net\r\n"
			       "Subject: Account locked: alice\r\n"
			       "Date: Mon, 21 Sep 2026 14:13:20 +0000\r\n"
			       "Message-ID: <account-guard."));
	test_assert(strstr(msg, "\r\nAuto-Submitted: auto-generated\r\n") != NULL);
	test_assert(strstr(msg, "\r\nMIME-Version: 1.0\r\n") != NULL);
	test_assert(strstr(msg, "\r\nContent-Type: text/plain; charset=utf-8\r\n") != NULL);

	/* <account-guard.GUID@hostname>, the GUID 32 hex digits */
	id = strstr(msg, "Message-ID: <account-guard.");
	test_assert(id != NULL);
	if (id != NULL) {
		id += strlen("Message-ID: <account-guard.");
		end = strchr(id, '@');
		test_assert(end != NULL && end - id == 32);
		test_assert(end != NULL && str_begins(end, "@mx.example.net>\r\n"));
	}
	/* Unique per mail. */
	test_assert(strcmp(msg, test_message("Account locked: alice",
					     "line one\nline two")) != 0);
	test_end();
}

static void test_guard_notify_7bit_body(void)
{
	const char *msg;

	test_begin("guard notify message 7bit body");
	msg = test_message("s", "line one\nline two");
	test_assert(strstr(msg, "Content-Transfer-Encoding: 7bit\r\n\r\n") != NULL);
	/* LF becomes CRLF, and the mail ends with one. */
	test_assert_strcmp(test_body_of(msg), "line one\r\nline two\r\n");
	msg = test_message("s", "ends with a newline\n");
	test_assert_strcmp(test_body_of(msg), "ends with a newline\r\n");
	/* 998 characters is the longest line RFC 5322 allows as it is. */
	msg = test_message("s", t_strdup_printf("%998s", "x"));
	test_assert(strstr(msg, "Content-Transfer-Encoding: 7bit\r\n") != NULL);
	test_end();
}

static void test_guard_notify_qp_body(void)
{
	const char *msg;

	test_begin("guard notify message quoted-printable body");
	/* A UTF-8 username: the relay need not offer 8BITMIME. */
	msg = test_message("s", "user: andr\xc3\xa9\nend");
	test_assert(strstr(msg, "Content-Transfer-Encoding: quoted-printable\r\n\r\n") != NULL);
	test_assert(strstr(test_body_of(msg), "andr=C3=A9\r\nend") != NULL);
	test_assert(!test_has_8bit(msg));
	test_assert(strlen(msg) > 2 && strcmp(msg + strlen(msg) - 2, "\r\n") == 0);

	/* One character over the line limit. */
	msg = test_message("s", t_strdup_printf("%999s", "x"));
	test_assert(strstr(msg, "Content-Transfer-Encoding: quoted-printable\r\n") != NULL);
	/* A carriage return of the engine's text is encoded, not sent bare. */
	msg = test_message("s", "a\rb");
	test_assert(strstr(msg, "Content-Transfer-Encoding: quoted-printable\r\n") != NULL);
	test_assert(strstr(test_body_of(msg), "a=0Db") != NULL);
	test_end();
}

static void test_guard_notify_subject_encoded(void)
{
	const char *msg;

	test_begin("guard notify message subject encoded words");
	msg = test_message("Account locked: andr\xc3\xa9", "body");
	test_assert(strstr(msg, "\r\nSubject: Account locked: =?utf-8?") != NULL);
	test_assert(!test_has_8bit(msg));
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_guard_notify_headers,
		test_guard_notify_7bit_body,
		test_guard_notify_qp_body,
		test_guard_notify_subject_encoded,
		NULL
	};
	return test_run(test_functions);
}

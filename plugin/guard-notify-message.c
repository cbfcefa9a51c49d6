/* The notification mail, composed and encoded (guard-notify-message.h). */

#include "lib.h"
#include "str.h"
#include "guid.h"
#include "message-date.h"
#include "message-header-encode.h"
#include "qp-encoder.h"
#include "guard-notify-message.h"

#include "account-guard.h"

/* RFC 5322 2.1.1: a line is at most 998 characters without its CRLF. */
#define GUARD_NOTIFY_MAX_LINE_LEN 998
/* Quoted-printable lines (RFC 2045 6.7). */
#define GUARD_NOTIFY_QP_LINE_LEN 76

/* The body goes out as it is (7bit) when it is short-lined ASCII - what the
   engine composes for ordinary usernames, and what a postmaster can read in
   any raw view. A UTF-8 username or a very long one needs quoted-printable:
   the relay need not offer 8BITMIME. */
static bool guard_notify_body_is_7bit(const char *body)
{
	size_t line_len = 0;
	const char *p;

	for (p = body; *p != '\0'; p++) {
		if (*p == '\n') {
			line_len = 0;
			continue;
		}
		if ((unsigned char)*p >= 0x80 || *p == '\r' ||
		    ++line_len > GUARD_NOTIFY_MAX_LINE_LEN)
			return FALSE;
	}
	return TRUE;
}

static void guard_notify_append_body(string_t *msg, const char *body)
{
	struct qp_encoder *qp;
	const char *p;

	if (guard_notify_body_is_7bit(body)) {
		str_append(msg, "Content-Transfer-Encoding: 7bit\r\n\r\n");
		for (p = body; *p != '\0'; p++) {
			if (*p == '\n')
				str_append_c(msg, '\r');
			str_append_c(msg, *p);
		}
	} else {
		str_append(msg, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		/* Text mode: the encoder turns the engine's LFs into CRLFs. */
		qp = qp_encoder_init(msg, GUARD_NOTIFY_QP_LINE_LEN, 0);
		qp_encoder_more(qp, body, strlen(body));
		qp_encoder_finish(qp);
		qp_encoder_deinit(&qp);
	}
	if (str_len(msg) < 2 ||
	    strcmp(str_c(msg) + str_len(msg) - 2, "\r\n") != 0)
		str_append(msg, "\r\n");
}

const char *guard_notify_message(const struct ag_notification *n,
				 const char *hostname, time_t date)
{
	string_t *msg = t_str_new(1024);
	guid_128_t guid;

	guid_128_generate(guid);
	/* to and from were validated by the engine (an '@', no whitespace,
	   no angle brackets): they cannot break a header line. */
	str_printfa(msg, "From: %s\r\n", n->from);
	str_printfa(msg, "To: %s\r\n", n->to);
	str_append(msg, "Subject: ");
	/* RFC 2047 encoded words only where needed (a UTF-8 username). */
	message_header_encode(n->subject, msg);
	str_append(msg, "\r\n");
	str_printfa(msg, "Date: %s\r\n", message_date_create(date));
	str_printfa(msg, "Message-ID: <account-guard.%s@%s>\r\n",
		    guid_128_to_string(guid), hostname);
	/* RFC 3834: no vacation or bounce loop with the postmaster's mailbox. */
	str_append(msg, "Auto-Submitted: auto-generated\r\n");
	str_append(msg, "MIME-Version: 1.0\r\n");
	str_append(msg, "Content-Type: text/plain; charset=utf-8\r\n");
	guard_notify_append_body(msg, n->body);
	return str_c(msg);
}

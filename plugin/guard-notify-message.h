#ifndef GUARD_NOTIFY_MESSAGE_H
#define GUARD_NOTIFY_MESSAGE_H

/* The postmaster's notification as a mail: headers and body, encoded.
   Pure (no I/O, no clock), so that tests/unit/test-guard-notify-message.c
   links it alone; guard-notify.c sends what this composes. */

struct ag_notification;

/* The whole message, CRLF line ends, from the data stack: From, To,
   Subject (RFC 2047 encoded words where the subject needs them), Date
   (date), a unique Message-ID at hostname, Auto-Submitted, MIME headers;
   the body as it is (7bit) when it is ASCII with lines of at most 998
   characters, else quoted-printable. Ends with CRLF. */
const char *guard_notify_message(const struct ag_notification *notification,
				 const char *hostname, time_t date);

#endif

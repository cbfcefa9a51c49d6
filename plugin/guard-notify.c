/* The postmaster's notification mail: the engine composes it (struct
   ag_notification), this sends it with lib-smtp's smtp-submit, the way
   lib-lda's mail-send.c sends rejects. Shared by the submission plugin
   (recipient limits) and the passdb driver (locks, from the auth process). */

#include "lib.h"
#include "str.h"
#include "str-sanitize.h"
#include "hostpid.h"
#include "ioloop.h"
#include "ostream.h"
#include "smtp-address.h"
#include "smtp-submit.h"
#include "guard-events.h"
#include "guard-notify.h"
#include "guard-notify-message.h"

#include "account-guard.h"

/* Connect and command timeout of the relay (or sendmail's idle timeout).
   A synchronous send (submission) holds up one SMTP session, so a dead relay
   may cost it this much, never more; the auth process sends asynchronously. */
#define GUARD_NOTIFY_TIMEOUT_SECS 10
#define GUARD_NOTIFY_SENDMAIL_PATH "/usr/sbin/sendmail"
/* Where one send stands: what the result's event needs, kept until an
   asynchronous send answers. */
struct guard_notify_send {
	struct smtp_submit *submit;
	/* Frees an asynchronous send once its callback has returned. */
	struct timeout *to_free;
	struct event *event;
	char *user, *reason, *to, *via, *subject;
};

static struct guard_notify_send *
guard_notify_send_new(const struct ag_notification *n, struct event *event)
{
	struct guard_notify_send *send = i_new(struct guard_notify_send, 1);

	send->event = event;
	event_ref(event);
	send->user = i_strdup(n->user);
	send->reason = i_strdup(n->reason);
	send->to = i_strdup(n->to);
	send->via = i_strdup(n->relay[0] != '\0' ? n->relay :
			     GUARD_NOTIFY_SENDMAIL_PATH);
	send->subject = i_strdup(n->subject);
	return send;
}

/* Composes the mail into send->submit; -1 with *error_r when the address
   is bad. */
static int
guard_notify_begin(const struct guard_notify_context *ctx,
		   const struct ag_notification *n,
		   struct guard_notify_send *send, const char **error_r)
{
	struct smtp_submit_settings set;
	struct smtp_submit_input input;
	struct smtp_address *rcpt;
	struct ostream *output;
	const char *hostname, *error;

	if (smtp_address_parse_mailbox(pool_datastack_create(), n->to, 0,
				       &rcpt, &error) < 0) {
		*error_r = t_strdup_printf(
			"account_guard_notify: invalid address '%s': %s",
			str_sanitize(n->to, 256), error);
		return -1;
	}

	hostname = ctx->hostname != NULL && ctx->hostname[0] != '\0' ?
		ctx->hostname : my_hostname;
	i_zero(&set);
	set.hostname = hostname;
	set.submission_timeout = GUARD_NOTIFY_TIMEOUT_SECS;
	if (n->relay[0] != '\0') {
		set.submission_host = n->relay;
		set.submission_ssl = "no";
	} else {
		set.sendmail_path = GUARD_NOTIFY_SENDMAIL_PATH;
	}
	i_zero(&input);
	input.event_parent = send->event;
	/* A process running as root (doveadm, as usually run) would otherwise
	   be refused the exec of sendmail. We run only the fixed sendmail
	   path, with the address as an argument after "--" and the mail on
	   stdin. */
	input.allow_root = TRUE;

	/* A NULL sender is MAIL FROM:<> (sendmail -f <>): nothing bounces
	   back to anyone. */
	send->submit = smtp_submit_init_simple(&input, &set, NULL);
	smtp_submit_add_rcpt(send->submit, rcpt);
	output = smtp_submit_send(send->submit);
	/* The SMTP client dot-stuffs the data; sendmail runs with -i. */
	o_stream_nsend_str(output, guard_notify_message(n, hostname, ioloop_time));
	return 0;
}

/* Reports how a send ended (error NULL: sent). */
static void guard_notify_report(struct guard_notify_send *send, const char *error)
{
	struct ag_event ev;

	i_zero(&ev);
	ev.user = send->user;
	ev.count = -1;
	ev.recipients = -1;
	T_BEGIN {
		if (error == NULL) {
			ev.name = "account_guard_notification_sent";
			ev.level = AG_LEVEL_INFO;
			ev.reason = send->reason;
			ev.message = t_strdup_printf(
				"Notification sent to %s via %s: %s",
				str_sanitize(send->to, 256), send->via,
				send->subject);
		} else {
			/* Nothing else to do: the engine has marked this
			   incident as notified, and a retry here would hold
			   the session up again. The log line is the record. */
			ev.name = "account_guard_backend_failed";
			ev.level = AG_LEVEL_ERROR;
			ev.reason = "notification";
			ev.message = t_strdup_printf(
				"Sending the notification to %s via %s failed: "
				"%s (it was: %s)", str_sanitize(send->to, 256),
				send->via, error, send->subject);
		}
		guard_event_emit(send->event, &ev, FALSE);
	} T_END;
}

static void guard_notify_free(struct guard_notify_send *send)
{
	timeout_remove(&send->to_free);
	if (send->submit != NULL)
		smtp_submit_deinit(&send->submit);
	event_unref(&send->event);
	i_free(send->user);
	i_free(send->reason);
	i_free(send->to);
	i_free(send->via);
	i_free(send->subject);
	i_free(send);
}

static void guard_notify_end(struct guard_notify_send *send, const char *error)
{
	guard_notify_report(send, error);
	guard_notify_free(send);
}

static void
guard_notify_sent(const struct smtp_submit_result *result,
		  struct guard_notify_send *send)
{
	guard_notify_report(send, result->status > 0 ? NULL :
			    (result->error != NULL ? result->error :
			     "unknown error"));
	/* smtp-submit is still on the stack, inside its own client: it may
	   be freed only once this callback has returned. */
	send->to_free = timeout_add_short(0, guard_notify_free, send);
}

void guard_notify(const struct ag_notification *n, void *context)
{
	const struct guard_notify_context *ctx = context;
	struct guard_notify_send *send;
	struct event *event;
	const char *error;
	int ret;

	/* One event for everything this send logs, smtp-submit's and
	   smtp-client's own errors included: it carries the recipient and,
	   where the parent's prefix does not name us, our log prefix. */
	event = event_create(ctx->event);
	event_add_str(event, "to", n->to);
	if (ctx->log_prefix)
		event_set_append_log_prefix(event, "account_guard: ");

	send = guard_notify_send_new(n, event);
	T_BEGIN {
		if (guard_notify_begin(ctx, n, send, &error) < 0)
			guard_notify_end(send, error);
		else if (ctx->async) {
			smtp_submit_run_async(send->submit, guard_notify_sent,
					      send);
		} else {
			ret = smtp_submit_run(send->submit, &error);
			guard_notify_end(send, ret > 0 ? NULL :
					 (error != NULL ? error :
					  "unknown error"));
		}
	} T_END;
	event_unref(&event);
}

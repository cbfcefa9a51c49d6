#ifndef GUARD_NOTIFY_H
#define GUARD_NOTIFY_H

struct event;
struct ag_notification;

/* Where a notification is sent from: the context of guard_notify(). */
struct guard_notify_context {
	/* Parent of the events and log lines: client->user->event in
	   submission, authdb_event(request) in auth. */
	struct event *event;
	/* Prefix log lines with "account_guard: " (FALSE where the parent's
	   prefix already names us, as in auth). */
	bool log_prefix;
	/* EHLO name towards the relay and domain of the Message-ID;
	   NULL for the system's name. */
	const char *hostname;
	/* Send on the ioloop and return at once (the auth process, which must
	   never block); otherwise the call returns when the send is done. */
	bool async;
};

/* An ag_notify_fn (engine/api/account-guard.h) taking a struct
   guard_notify_context: sends the engine's mail to notification->to with a
   null envelope sender, through notification->relay (host:port) or
   /usr/sbin/sendmail when it is empty. Synchronous unless context->async,
   bounded by a short timeout (GUARD_NOTIFY_TIMEOUT_SECS per connect/command).
   The context is not used after the call returns.

   It never fails towards its caller: success is the event
   account_guard_notification_sent (fields user, reason, to), a failure is
   logged as an error and emitted as account_guard_backend_failed with
   reason "notification". */
void guard_notify(const struct ag_notification *notification, void *context);

#endif

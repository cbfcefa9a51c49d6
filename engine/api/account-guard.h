#ifndef ACCOUNT_GUARD_H
#define ACCOUNT_GUARD_H

/*
 * The engine's only C interface: everything the Dovecot glue (plugin/) may call.
 *
 * Rules of the boundary: opaque handles, plain C types in, int results out, errors written
 * into a caller-provided buffer. No exception, allocation or C++ type crosses it; every entry
 * point catches everything. The engine never logs: what happened is reported through the
 * ag_event_fn callback and the glue turns it into Dovecot events and log lines.
 *
 * Time is an argument (`now`, seconds since the epoch): only the glue reads a clock.
 * A handle is used by one thread at a time (Dovecot processes are single-threaded).
 */

#include <stddef.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes shared by all calls. */
#define AG_OK 0
#define AG_ERR_CONFIG (-1)  /* a setting is invalid: error names setting and value */
#define AG_ERR_BACKEND (-2) /* memcached unreachable or failing */
#define AG_ERR_INTERNAL (-3) /* anything else (bug, out of memory) */

/* Looks up one setting by its full name (e.g. "account_guard_ip_limit").
   Returns NULL when it is not set, so the default applies. */
typedef const char *ag_getenv_fn(const char *name, void *context);

/* One thing that happened, for the glue to log and emit as a Dovecot event.
   Strings are valid only during the callback; unset fields are NULL (or -1 for numbers). */
struct ag_event {
	const char *name;      /* e.g. "account_guard_account_locked" (README, "Operating it"); NULL for a
	                          plain log line that is not a named event */
	int level;             /* AG_LEVEL_* */
	const char *message;   /* the log line, without the "account_guard: " prefix */
	const char *user;
	const char *reason;
	const char *networks;  /* comma-separated CIDRs */
	const char *countries; /* comma-separated ISO codes */
	const char *limit;     /* e.g. "10/1h" */
	const char *window;    /* e.g. "1h" */
	long long count;       /* distinct networks or countries; -1 if unset */
	long long recipients;  /* recipients within the window; -1 if unset */
};
#define AG_LEVEL_DEBUG 0
#define AG_LEVEL_INFO 1
#define AG_LEVEL_WARNING 2
#define AG_LEVEL_ERROR 3

typedef void ag_event_fn(const struct ag_event *event, void *context);

/* A mail for the postmaster about one incident (a lock, a recipient limit reached), to be
   sent by the glue to `to` with a null envelope sender. Strings are valid only during the
   callback. relay is "host:port", or "" for /usr/sbin/sendmail. */
struct ag_notification {
	const char *user;
	const char *reason; /* "lock" or "recipients" */
	const char *to;
	const char *from;
	const char *relay;
	const char *subject;
	const char *body; /* lines separated by "\n" */
};
typedef void ag_notify_fn(const struct ag_notification *notification, void *context);

/* ---- Engine handle: parsed settings + state store. One per process. ---- */

struct ag_engine;

/* What the process uses the engine for (flags of ag_engine_new_flags()). */
/* Decides logins - ag_login(), ag_login_start(): the auth process. Only logins look up
   GeoIP, AS numbers and locations, so only such an engine opens account_guard_geoip_db,
   account_guard_asn_db and account_guard_city_db, at once: a missing or unreadable file
   stops start-up with AG_ERR_CONFIG and an error naming the setting. Without the flag the
   files are never opened, and a login is refused as an internal error (fail_mode decides
   its verdict). */
#define AG_ENGINE_LOGINS 0x1

/* Parses and validates every account_guard_* setting through getenv.
   Does not connect to memcached (that happens lazily at the first call that needs it).
   Returns AG_OK, or AG_ERR_CONFIG with e.g.
   "account_guard_ip_limit: invalid limit '10/1x'" in error. */
int ag_engine_new_flags(ag_getenv_fn *getenv, void *getenv_context, unsigned int flags,
			struct ag_engine **engine_r, char *error, size_t error_size);
/* ag_engine_new_flags() with no flags: recipients and administration (submission, doveadm,
   the password tool). */
int ag_engine_new(ag_getenv_fn *getenv, void *getenv_context, struct ag_engine **engine_r,
		  char *error, size_t error_size);
void ag_engine_free(struct ag_engine **engine);

/* 1 if account_guard_mode = log (dry run), else 0. */
int ag_engine_is_dry_run(const struct ag_engine *engine);
/* 1 if account_guard_fail_mode = closed, else 0. */
int ag_engine_is_fail_closed(const struct ag_engine *engine);
/* account_guard_lock_message, valid while the engine lives. */
const char *ag_engine_lock_message(const struct ag_engine *engine);

/* ---- Login path (auth passdb) ---- */

struct ag_login {
	const char *user;       /* any bytes, NUL-terminated; never NULL */
	const char *service;    /* "imap", "smtp", "submission", ... */
	const char *remote_ip;  /* textual client IP; NULL or "" if unknown */
	const char *password;   /* the verified password, for the lock fingerprint only */
	size_t password_len;
	time_t now;
	/* Per-user overrides (the real passdb's extra fields); may be NULL. */
	ag_getenv_fn *user_getenv;
	void *user_getenv_context;
	/* Called when this login locked the account and account_guard_notify is set; may be NULL. */
	ag_notify_fn *on_notify;
	void *notify_context;
	/* Nonzero when nobody wants debug-level events (no debug logging, no metric on them):
	   the engine then leaves out account_guard_login_recorded and the text it needs. */
	int skip_debug_events;
};

enum ag_verdict {
	AG_VERDICT_ALLOW = 0,
	AG_VERDICT_REFUSE = 1,   /* locked: refuse with message */
	AG_VERDICT_TEMPFAIL = 2, /* backend failed and fail_mode = closed */
	AG_VERDICT_LOCKED = 3,   /* ag_rcpt only: the account is locked (a session opened before
	                            the lock); reply with ag_engine_lock_message() */
};

/* Decides one verified login, records it and locks the account if it crosses a limit.
   message (the lock message shown to the client) is filled for AG_VERDICT_REFUSE.
   Returns AG_OK (verdict set; in dry-run mode never REFUSE), AG_ERR_CONFIG (a per-user
   override is invalid; verdict follows fail_mode), or AG_ERR_BACKEND (verdict follows
   fail_mode). Events are reported through on_event in every case. */
int ag_login(struct ag_engine *engine, const struct ag_login *login,
	     enum ag_verdict *verdict_r, char *message, size_t message_size,
	     ag_event_fn *on_event, void *event_context);

/* ---- Non-blocking login path (the auth process) ----

   The same login as ag_login(), without ever blocking: memcached requests of all logins in
   flight go out pipelined over one connection per server, driven by the caller's event loop
   (Dovecot's ioloop). The engine owns the sockets; the loop only watches them and keeps one
   timer for the engine. */

#define AG_IO_READ 1
#define AG_IO_WRITE 2

struct ag_event_loop {
	/* Watch fd for the AG_IO_* events in `events` and report them with ag_engine_io();
	   0 stops watching fd. Called only when the wanted set changes. */
	void (*watch)(int fd, int events, void *context);
	/* Call ag_engine_timer() once after msecs milliseconds (0: at the next turn of the
	   loop), replacing any earlier request; -1 cancels it. */
	void (*timer)(int msecs, void *context);
	void *context;
};

/* Attaches the engine to the caller's event loop; ag_login_start() needs it. Resolves the
   memcached server names (blocking, once: call it at start-up) but opens nothing yet:
   connections are made by the first login. Returns AG_OK or AG_ERR_INTERNAL. */
int ag_engine_attach_loop(struct ag_engine *engine, const struct ag_event_loop *loop,
			  char *error, size_t error_size);
/* The event loop reports: fd is ready for the AG_IO_* events in `events`; the timer fired. */
void ag_engine_io(struct ag_engine *engine, int fd, int events);
void ag_engine_timer(struct ag_engine *engine);

/* The verdict of ag_login_start(); message is the lock message for AG_VERDICT_REFUSE (else
   ""), valid only during the call. */
typedef void ag_login_done_fn(enum ag_verdict verdict, const char *message, void *context);

/* Starts one login like ag_login(): its strings are copied (the password into memory that is
   wiped afterwards) and user_getenv is consulted before this returns. Events go to on_event,
   a lock notification to login->on_notify, then the verdict to done - exactly once, possibly
   before ag_login_start() returns (a service that records nothing, an invalid per-user
   setting). A login still in flight when the engine is freed never completes. */
void ag_login_start(struct ag_engine *engine, const struct ag_login *login, ag_event_fn *on_event,
		    ag_login_done_fn *done, void *context);

/* ---- Submission (RCPT) ---- */

struct ag_rcpt {
	const char *user;      /* the authenticated account */
	time_t now;
	/* Per-user overrides (userdb fields); may be NULL. */
	ag_getenv_fn *user_getenv;
	void *user_getenv_context;
	/* Called for the first refusal of the account in a window, cluster-wide; may be NULL. */
	ag_notify_fn *on_notify;
	void *notify_context;
	/* Also refuse (AG_VERDICT_LOCKED) if the account was locked after this session logged
	   in (the submission glue sets it on every call). Free: the lock is in the account's
	   one memcached item, which counting the recipient reads anyway. */
	int check_lock;
	/* How many recipients this call decides, in order (pipelined RCPTs of one session): all
	   with one read and one write. 0 means 1. verdict_r then has room for `count` verdicts. */
	unsigned int count;
};

/* Counts one recipient (or rcpt->count of them) in every window of
   account_guard_recipient_limit, or refuses it (verdict AG_VERDICT_REFUSE: reply 451 4.7.1,
   not counted). Returns like ag_login: AG_OK, AG_ERR_CONFIG or AG_ERR_BACKEND with the
   verdicts following fail_mode. */
int ag_rcpt(struct ag_engine *engine, const struct ag_rcpt *rcpt, enum ag_verdict *verdict_r,
	    ag_event_fn *on_event, void *event_context);

/* ---- Administration (doveadm) ---- */

/* Called once per field, in the order README "Operating it" lists them:
   user, locked, reason, since, networks, countries, recipients. */
typedef void ag_field_fn(const char *name, const char *value, void *context);

int ag_account_status(struct ag_engine *engine, const char *user, time_t now,
		      ag_field_fn *on_field, void *field_context,
		      char *error, size_t error_size);
/* reason may be NULL or "" for a generic admin reason. */
int ag_account_lock(struct ag_engine *engine, const char *user, const char *reason,
		    time_t now, ag_event_fn *on_event, void *event_context,
		    char *error, size_t error_size);
/* Lifts the lock and forgets recorded networks and countries; reset_recipients also
   clears recipient counts. Succeeds also when the account was not locked. */
int ag_account_unlock(struct ag_engine *engine, const char *user, int reset_recipients,
		      time_t now, ag_event_fn *on_event, void *event_context,
		      char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif

#ifndef GUARD_EVENTS_H
#define GUARD_EVENTS_H

struct event;
struct ag_event;

/* Every account_guard event carries this category, so metric filters can
   match all of them with category=account_guard. */
extern struct event_category event_category_account_guard;

/* Turn one engine event into a Dovecot event and its log line: category
   account_guard, the engine's name (if any), its fields, the engine's level
   and, with log_prefix, the log prefix "account_guard: ". parent supplies
   the context (e.g. authdb_event() in auth: user, service, remote_ip,
   session); it may be NULL. In auth the parent's prefix already reads
   "account_guard(user,ip,session): ", so auth passes log_prefix = FALSE. */
void guard_event_emit(struct event *parent, const struct ag_event *ev,
		      bool log_prefix);

#endif

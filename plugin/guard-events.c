/* One engine event (struct ag_event) -> one Dovecot event and log line. */

#include "lib.h"
#include "guard-events.h"

#include "account-guard.h"

#define GUARD_LOG_PREFIX "account_guard: "

struct event_category event_category_account_guard = {
	.name = "account_guard",
};

static enum log_type guard_event_log_type(int level)
{
	switch (level) {
	case AG_LEVEL_DEBUG:
		return LOG_TYPE_DEBUG;
	case AG_LEVEL_INFO:
		return LOG_TYPE_INFO;
	case AG_LEVEL_WARNING:
		return LOG_TYPE_WARNING;
	case AG_LEVEL_ERROR:
		return LOG_TYPE_ERROR;
	}
	/* A level this glue does not know yet (newer engine): log it rather
	   than lose it, but do not let it pass for an error. */
	return LOG_TYPE_INFO;
}

static void
guard_event_add_str(struct event *event, const char *key, const char *value)
{
	/* The engine leaves unset fields NULL; an absent field is what a
	   metric filter expects, not an empty one. */
	if (value != NULL)
		event_add_str(event, key, value);
}

void guard_event_emit(struct event *parent, const struct ag_event *ev,
		      bool log_prefix)
{
	struct event *event;

	event = event_create(parent);
	event_add_category(event, &event_category_account_guard);
	if (log_prefix)
		event_set_append_log_prefix(event, GUARD_LOG_PREFIX);
	/* A NULL name is a plain log line (e.g. "memcached answers again"),
	   not one of the named events of README "Operating it". */
	if (ev->name != NULL)
		event_set_name(event, ev->name);

	guard_event_add_str(event, "user", ev->user);
	guard_event_add_str(event, "reason", ev->reason);
	guard_event_add_str(event, "networks", ev->networks);
	guard_event_add_str(event, "countries", ev->countries);
	guard_event_add_str(event, "limit", ev->limit);
	guard_event_add_str(event, "window", ev->window);
	if (ev->count >= 0)
		event_add_int(event, "count", ev->count);
	if (ev->recipients >= 0)
		event_add_int(event, "recipients", ev->recipients);

	/* The message is data, never a format string: it may contain a
	   username with '%' in it. */
	e_log(event, guard_event_log_type(ev->level), "%s",
	      ev->message != NULL ? ev->message : "");
	event_unref(&event);
}

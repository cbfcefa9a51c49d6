/* Submission plugin "account_guard" (README "What it does"): every RCPT of the
   session's account goes to the engine, which counts it in every window of
   account_guard_recipient_limit, cluster-wide, or refuses it. Loaded only
   through protocol submission { mail_plugins = $mail_plugins account_guard }.
   It decides nothing itself. */

#include "lib.h"
#include "array.h"
#include "ioloop.h"
#include "smtp-server.h"
#include "module-context.h"
#include "mail-user.h"
#include "submission-common.h"
#include "submission-recipient.h"
#include "guard-events.h"
#include "guard-notify.h"

#include "account-guard.h"

/* The module is built with hidden visibility; only what Dovecot's module
   loader looks up by name is exported. */
#define SUBMISSION_GUARD_EXPORT __attribute__((visibility("default")))

#define SUBMISSION_GUARD_ERROR_MAX 1024

/* The exact text of a refused recipient (README "What it does"). Dovecot puts the
   path in front of it: "451 4.7.1 <rcpt@example.com> Recipient limit ..." */
#define SUBMISSION_GUARD_REFUSED_TEXT \
	"Recipient limit exceeded, try again later"
/* fail_mode = closed and memcached unreachable. */
#define SUBMISSION_GUARD_TEMPFAIL_TEXT \
	"Recipient limit cannot be checked now, try again later"
/* An invalid account_guard_* setting (RFC 3463 X.3.5: system incorrectly
   configured). The client learns no more; the log names setting and value. */
#define SUBMISSION_GUARD_CONFIG_TEXT \
	"Server configuration error, try again later"

#define SUBMISSION_GUARD_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, submission_guard_client_module)

struct submission_guard_client {
	union submission_module_context module_ctx;

	/* Created at the first RCPT from this user's settings (plugin {}
	   with the userdb fields applied), freed with the client. */
	struct ag_engine *engine;
	/* The engine could not be created: its RCPTs get 4.3.5. */
	bool config_failed;
	/* RCPTs waiting for their verdict: a client that pipelines RCPTs gets
	   them all decided with one memcached read and write, on the next turn
	   of the ioloop after the commands were read (to_decide). */
	ARRAY(struct submission_guard_rcpt *) waiting;
	struct timeout *to_decide;
};

/* One RCPT waiting for its verdict (allocated from its command's pool). */
struct submission_guard_rcpt {
	struct client *client;
	struct smtp_server_cmd_ctx *cmd;
	struct submission_recipient *srcpt;
	enum ag_verdict verdict;
	bool decided;
};

SUBMISSION_GUARD_EXPORT void account_guard_plugin_init(struct module *module);
SUBMISSION_GUARD_EXPORT void account_guard_plugin_deinit(void);
SUBMISSION_GUARD_EXPORT extern const char *account_guard_plugin_version;
SUBMISSION_GUARD_EXPORT extern const char account_guard_plugin_binary_dependency[];

const char *account_guard_plugin_version = DOVECOT_ABI_VERSION;
/* An array, not a pointer: the module loader takes the dlsym() address as
   the string. Keeps imap, lmtp and doveadm from loading us. */
const char account_guard_plugin_binary_dependency[] = "submission";

static MODULE_CONTEXT_DEFINE_INIT(submission_guard_client_module,
				  &submission_module_register);

static submission_client_created_func_t *next_hook_client_created;

static const char *submission_guard_getenv(const char *name, void *context)
{
	struct mail_user *user = context;

	return mail_user_plugin_getenv(user, name);
}

static void submission_guard_on_event(const struct ag_event *ev, void *context)
{
	struct client *client = context;

	guard_event_emit(client->user->event, ev, TRUE);
}

/* Where the invalid value came from, for the postmaster: the engine's error
   starts with the setting's name. */
static const char *
submission_guard_setting_origin(struct mail_user *user, const char *error)
{
	const char *const *field, *p, *name;

	p = strchr(error, ':');
	if (p == NULL || user->userdb_fields == NULL)
		return "plugin {}";
	name = t_strdup_until(error, p);
	for (field = user->userdb_fields; *field != NULL; field++) {
		if (str_begins(*field, "plugin/"))
			p = *field + strlen("plugin/");
		else
			p = *field;
		if (str_begins(p, name) && p[strlen(name)] == '=')
			return "a userdb field of this user";
	}
	return "plugin {}";
}

static struct ag_engine *
submission_guard_engine(struct client *client,
			struct submission_guard_client *gclient)
{
	char error[SUBMISSION_GUARD_ERROR_MAX];
	struct ag_event ev;

	if (gclient->engine != NULL || gclient->config_failed)
		return gclient->engine;

	/* One engine per session: with submission's defaults (client_limit
	   = 1, service_count = 1) the process's only one. It reads the user's
	   view of plugin {}, where this user's userdb fields already override
	   the settings they name - so ag_rcpt() needs no user_getenv, and a
	   raised client_limit cannot mix up two users' limits. Without
	   AG_ENGINE_LOGINS: recipients need no GeoIP, so the MaxMind files
	   are not opened for every session. */
	if (ag_engine_new(submission_guard_getenv, client->user,
			  &gclient->engine, error, sizeof(error)) == AG_OK)
		return gclient->engine;

	/* The submission process cannot refuse to start like auth does: it
	   exists for this one session. Log once, tempfail every RCPT - the
	   recipient limit must not silently disappear with a typo. */
	gclient->config_failed = TRUE;
	i_zero(&ev);
	ev.name = "account_guard_backend_failed";
	ev.level = AG_LEVEL_ERROR;
	ev.reason = "configuration";
	ev.user = client->user->username;
	ev.count = -1;
	ev.recipients = -1;
	ev.message = t_strdup_printf(
		"Invalid setting in %s: %s - recipients of this session are "
		"refused with 451 4.3.5 until it is fixed",
		submission_guard_setting_origin(client->user, error), error);
	guard_event_emit(client->user->event, &ev, TRUE);
	return NULL;
}

/* Replies to one RCPT as the engine decided. */
static void
submission_guard_reply(struct submission_guard_client *gclient,
		       struct submission_guard_rcpt *grcpt,
		       struct ag_engine *engine, enum ag_verdict verdict)
{
	struct client *client = grcpt->client;
	struct smtp_server_cmd_ctx *cmd = grcpt->cmd;
	struct submission_recipient *srcpt = grcpt->srcpt;
	int ret;

	switch (verdict) {
	case AG_VERDICT_ALLOW:
		/* On to the relay, as if we had not been here; it answers
		   later (0), or has answered (-1), or leaves the 250 to us. */
		ret = gclient->module_ctx.super.cmd_rcpt(client, cmd, srcpt);
		if (ret > 0 && !smtp_server_command_is_replied(cmd->cmd))
			smtp_server_cmd_rcpt_reply_success(cmd);
		return;
	case AG_VERDICT_REFUSE:
		/* Not counted; the transaction's other recipients go on. */
		smtp_server_recipient_reply(srcpt->rcpt, 451, "4.7.1",
					    SUBMISSION_GUARD_REFUSED_TEXT);
		return;
	case AG_VERDICT_TEMPFAIL:
		smtp_server_recipient_reply(srcpt->rcpt, 451, "4.7.1",
					    SUBMISSION_GUARD_TEMPFAIL_TEXT);
		return;
	case AG_VERDICT_LOCKED:
		/* Temporary: a legitimate client keeps the message and sends it
		   once the account is unlocked; the thief gets nowhere. */
		smtp_server_recipient_reply(srcpt->rcpt, 451, "4.7.1", "%s",
					    ag_engine_lock_message(engine));
		return;
	}
	/* A verdict this glue does not know (newer engine): not a reason to
	   let the recipient through. */
	e_error(client->user->event, "account_guard: Unknown verdict %d",
		(int)verdict);
	smtp_server_recipient_reply(srcpt->rcpt, 451, "4.7.1",
				    SUBMISSION_GUARD_TEMPFAIL_TEXT);
}

/* Decides every waiting RCPT with one engine call, then replies in order. */
static void submission_guard_decide(struct submission_guard_client *gclient)
{
	struct submission_guard_rcpt *const *waiting, *grcpt;
	struct guard_notify_context notify_ctx;
	struct ag_engine *engine = gclient->engine;
	struct client *client;
	enum ag_verdict *verdicts;
	struct ag_rcpt rcpt;
	unsigned int i, count;

	timeout_remove(&gclient->to_decide);
	waiting = array_get(&gclient->waiting, &count);
	if (count == 0)
		return;
	client = waiting[0]->client;

	T_BEGIN {
		i_zero(&notify_ctx);
		notify_ctx.event = client->user->event;
		notify_ctx.log_prefix = TRUE;
		notify_ctx.hostname = client->set->hostname;

		i_zero(&rcpt);
		rcpt.user = client->user->username;
		rcpt.now = ioloop_time;
		/* No user_getenv: the engine was built from this user's
		   settings, overrides included. */
		rcpt.on_notify = guard_notify;
		rcpt.notify_context = &notify_ctx;
		/* Free (the lock is in the item the count reads anyway), so
		   every RCPT asks: a session that logged in before its account
		   was locked - a thief's long session - sends nothing more. */
		rcpt.check_lock = 1;
		rcpt.count = count;
		verdicts = t_new(enum ag_verdict, count);

		/* Counted here, before the relay sees the RCPTs: the engine
		   checks and counts in one step, and only a check made before
		   relaying can still refuse. A recipient the relay then rejects
		   stays counted - for a thief's address list as much as for a
		   typo. The engine reports every outcome through events and
		   sets the verdicts by mode and fail_mode in every case, so its
		   return value adds nothing here. */
		(void)ag_rcpt(engine, &rcpt, verdicts,
			      submission_guard_on_event, client);
		for (i = 0; i < count; i++) {
			waiting[i]->verdict = verdicts[i];
			waiting[i]->decided = TRUE;
		}
	} T_END;

	/* One at a time off the front, each taken out before its reply: the
	   array holds only RCPTs still waiting, whatever a reply sets off (a
	   command destroyed meanwhile takes itself out through its destroy
	   hook). */
	while (array_count(&gclient->waiting) > 0) {
		grcpt = array_idx_elem(&gclient->waiting, 0);
		if (!grcpt->decided)
			break;
		array_delete(&gclient->waiting, 0, 1);
		submission_guard_reply(gclient, grcpt, engine, grcpt->verdict);
	}
	/* RCPTs read while replying wait for the next turn. */
	if (array_count(&gclient->waiting) > 0 && gclient->to_decide == NULL) {
		gclient->to_decide = timeout_add_short(
			0, submission_guard_decide, gclient);
	}
}

static void
submission_guard_rcpt_destroyed(struct smtp_server_cmd_ctx *cmd ATTR_UNUSED,
				struct submission_guard_rcpt *grcpt)
{
	struct submission_guard_client *gclient =
		SUBMISSION_GUARD_CONTEXT(grcpt->client);
	struct submission_guard_rcpt *const *waiting;
	unsigned int i, count;

	/* The client went away before the verdict: nothing to reply to. */
	waiting = array_get(&gclient->waiting, &count);
	for (i = 0; i < count; i++) {
		if (waiting[i] == grcpt) {
			array_delete(&gclient->waiting, i, 1);
			break;
		}
	}
}

static int
submission_guard_cmd_rcpt(struct client *client,
			  struct smtp_server_cmd_ctx *cmd,
			  struct submission_recipient *srcpt)
{
	struct submission_guard_client *gclient =
		SUBMISSION_GUARD_CONTEXT(client);
	struct submission_guard_rcpt *grcpt;

	/* Anonymous sessions own no account to count; the default handler
	   refuses their recipients anyway. */
	if (client->user->anonymous)
		return gclient->module_ctx.super.cmd_rcpt(client, cmd, srcpt);

	if (submission_guard_engine(client, gclient) == NULL) {
		smtp_server_recipient_reply(srcpt->rcpt, 451, "4.3.5",
					    SUBMISSION_GUARD_CONFIG_TEXT);
		return -1;
	}

	/* Decided on the next turn of the ioloop, together with whatever
	   RCPTs the client pipelined after this one (Dovecot reads up to
	   five commands ahead): one memcached round trip pair for all. */
	grcpt = p_new(cmd->pool, struct submission_guard_rcpt, 1);
	grcpt->client = client;
	grcpt->cmd = cmd;
	grcpt->srcpt = srcpt;
	smtp_server_command_add_hook(cmd->cmd, SMTP_SERVER_COMMAND_HOOK_DESTROY,
				     submission_guard_rcpt_destroyed, grcpt);
	array_push_back(&gclient->waiting, &grcpt);
	if (gclient->to_decide == NULL) {
		gclient->to_decide = timeout_add_short(
			0, submission_guard_decide, gclient);
	}
	return 0;
}

static void submission_guard_client_destroy(struct client *client)
{
	struct submission_guard_client *gclient =
		SUBMISSION_GUARD_CONTEXT(client);

	/* Waiting RCPTs were destroyed with their commands by now. */
	timeout_remove(&gclient->to_decide);
	array_free(&gclient->waiting);
	ag_engine_free(&gclient->engine);
	gclient->module_ctx.super.destroy(client);
}

static void submission_guard_client_created(struct client **clientp)
{
	struct client *client = *clientp;
	struct submission_guard_client *gclient;

	gclient = p_new(client->pool, struct submission_guard_client, 1);
	i_array_init(&gclient->waiting, 8);
	gclient->module_ctx.super = client->v;
	client->v.cmd_rcpt = submission_guard_cmd_rcpt;
	client->v.destroy = submission_guard_client_destroy;
	MODULE_CONTEXT_SET(client, submission_guard_client_module, gclient);

	if (next_hook_client_created != NULL)
		next_hook_client_created(clientp);
}

void account_guard_plugin_init(struct module *module ATTR_UNUSED)
{
	next_hook_client_created =
		submission_client_created_hook_set(
			submission_guard_client_created);
}

void account_guard_plugin_deinit(void)
{
	(void)submission_client_created_hook_set(next_hook_client_created);
}

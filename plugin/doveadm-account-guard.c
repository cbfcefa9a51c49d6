/* doveadm account-status / account-lock / account-unlock (README "Operating it").
   Each command builds an engine from plugin {} (doveadm reads its settings
   only after loading the modules, so not at init), makes one engine call and
   prints through doveadm-print so that -f flow|tab|table|json all work. */

#include "lib.h"
#include "ioloop.h"
#include "module-dir.h"
#include "doveadm.h"
#include "doveadm-cmd.h"
#include "doveadm-print.h"
#include "guard-events.h"

#include "account-guard.h"

/* The module is built with hidden visibility; only what Dovecot's module
   loader looks up by name is exported. */
#define DOVEADM_GUARD_EXPORT __attribute__((visibility("default")))

#define DOVEADM_GUARD_ERROR_MAX 1024

DOVEADM_GUARD_EXPORT void doveadm_account_guard_plugin_init(struct module *module);
DOVEADM_GUARD_EXPORT void doveadm_account_guard_plugin_deinit(void);
DOVEADM_GUARD_EXPORT extern const char *doveadm_account_guard_plugin_version;

const char *doveadm_account_guard_plugin_version = DOVECOT_ABI_VERSION;

/* README "Operating it" order; the output keeps it whatever order the engine
   reports the fields in. */
static const char *const account_status_fields[] = {
	"user", "locked", "reason", "since", "networks", "countries",
	"recipients",
};

static const char *doveadm_guard_getenv(const char *name,
					void *context ATTR_UNUSED)
{
	return doveadm_plugin_getenv(name);
}

static struct ag_engine *doveadm_guard_engine_new(void)
{
	struct ag_engine *engine;
	char error[DOVEADM_GUARD_ERROR_MAX];

	if (ag_engine_new(doveadm_guard_getenv, NULL, &engine,
			  error, sizeof(error)) != AG_OK) {
		/* The engine's message names the setting and its value. */
		i_error("account_guard: %s", error);
		doveadm_exit_code = EX_CONFIG;
		return NULL;
	}
	return engine;
}

static void doveadm_guard_engine_failed(int ret, const char *error)
{
	i_error("account_guard: %s", error);
	switch (ret) {
	case AG_ERR_BACKEND:
		/* memcached unreachable: worth retrying later. */
		doveadm_exit_code = EX_TEMPFAIL;
		break;
	case AG_ERR_CONFIG:
		doveadm_exit_code = EX_CONFIG;
		break;
	default:
		doveadm_exit_code = EX_SOFTWARE;
		break;
	}
}

static bool
doveadm_guard_get_user(struct doveadm_cmd_context *cctx, const char **user_r)
{
	if (doveadm_cmd_param_str(cctx, "user", user_r) && **user_r != '\0')
		return TRUE;
	if (cctx->conn_type == DOVEADM_CONNECTION_TYPE_CLI)
		help_ver2(cctx->cmd);
	/* help_ver2() exits the process: fine for the command line, but in
	   doveadm-server (TCP/HTTP API) it would take the server down. */
	i_error("%s: Missing user", cctx->cmd->name);
	doveadm_exit_code = EX_USAGE;
	return FALSE;
}

static struct event *doveadm_guard_event_create(const char *command)
{
	struct event *event;

	/* doveadm has no per-command event to inherit from; give ours the
	   command so that a log line says where it came from. */
	event = event_create(NULL);
	event_add_str(event, "doveadm_command", command);
	return event;
}

static void doveadm_guard_on_event(const struct ag_event *ev, void *context)
{
	struct event *parent = context;

	guard_event_emit(parent, ev, TRUE);
}

static void
doveadm_guard_status_field(const char *name, const char *value, void *context)
{
	const char **values = context;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(account_status_fields); i++) {
		if (strcmp(account_status_fields[i], name) == 0) {
			values[i] = t_strdup(value);
			return;
		}
	}
	/* A field this glue does not know yet (newer engine): left out, so
	   the output stays what README "Operating it" promises. */
}

static void cmd_account_status(struct doveadm_cmd_context *cctx)
{
	const char *values[N_ELEMENTS(account_status_fields)];
	char error[DOVEADM_GUARD_ERROR_MAX];
	struct ag_engine *engine;
	const char *user;
	unsigned int i;
	int ret;

	if (!doveadm_guard_get_user(cctx, &user))
		return;
	if ((engine = doveadm_guard_engine_new()) == NULL)
		return;

	i_zero(&values);
	ret = ag_account_status(engine, user, ioloop_time,
				doveadm_guard_status_field, values,
				error, sizeof(error));
	ag_engine_free(&engine);
	if (ret != AG_OK) {
		/* Nothing printed: a half-filled status would look like a
		   real answer. */
		doveadm_guard_engine_failed(ret, error);
		return;
	}

	doveadm_print_init(DOVEADM_PRINT_TYPE_FLOW);
	for (i = 0; i < N_ELEMENTS(account_status_fields); i++)
		doveadm_print_header_simple(account_status_fields[i]);
	for (i = 0; i < N_ELEMENTS(values); i++)
		doveadm_print(values[i] != NULL ? values[i] : "");
}

static void cmd_account_lock(struct doveadm_cmd_context *cctx)
{
	char error[DOVEADM_GUARD_ERROR_MAX];
	struct ag_engine *engine;
	struct event *event;
	const char *user, *reason;
	int ret;

	if (!doveadm_guard_get_user(cctx, &user))
		return;
	if (!doveadm_cmd_param_str(cctx, "reason", &reason))
		reason = NULL;
	if ((engine = doveadm_guard_engine_new()) == NULL)
		return;

	event = doveadm_guard_event_create(cctx->cmd->name);
	ret = ag_account_lock(engine, user, reason, ioloop_time,
			      doveadm_guard_on_event, event,
			      error, sizeof(error));
	event_unref(&event);
	ag_engine_free(&engine);
	if (ret != AG_OK)
		doveadm_guard_engine_failed(ret, error);
}

static void cmd_account_unlock(struct doveadm_cmd_context *cctx)
{
	char error[DOVEADM_GUARD_ERROR_MAX];
	struct ag_engine *engine;
	struct event *event;
	const char *user;
	bool reset_recipients;
	int ret;

	if (!doveadm_guard_get_user(cctx, &user))
		return;
	if (!doveadm_cmd_param_bool(cctx, "reset-recipients", &reset_recipients))
		reset_recipients = FALSE;
	if ((engine = doveadm_guard_engine_new()) == NULL)
		return;

	event = doveadm_guard_event_create(cctx->cmd->name);
	ret = ag_account_unlock(engine, user, reset_recipients ? 1 : 0,
				ioloop_time, doveadm_guard_on_event, event,
				error, sizeof(error));
	event_unref(&event);
	ag_engine_free(&engine);
	if (ret != AG_OK)
		doveadm_guard_engine_failed(ret, error);
}

static struct doveadm_cmd_ver2 doveadm_cmd_account_status = {
	.cmd = cmd_account_status,
	.name = "account-status",
	.usage = "<user>",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('\0', "user", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
};

static struct doveadm_cmd_ver2 doveadm_cmd_account_lock = {
	.cmd = cmd_account_lock,
	.name = "account-lock",
	.usage = "[-r <reason>] <user>",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('r', "reason", CMD_PARAM_STR, CMD_PARAM_FLAG_NONE)
DOVEADM_CMD_PARAM('\0', "user", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
};

static struct doveadm_cmd_ver2 doveadm_cmd_account_unlock = {
	.cmd = cmd_account_unlock,
	.name = "account-unlock",
	.usage = "[-R] <user>",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('R', "reset-recipients", CMD_PARAM_BOOL, CMD_PARAM_FLAG_NONE)
DOVEADM_CMD_PARAM('\0', "user", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
};

void doveadm_account_guard_plugin_init(struct module *module ATTR_UNUSED)
{
	doveadm_cmd_register_ver2(&doveadm_cmd_account_status);
	doveadm_cmd_register_ver2(&doveadm_cmd_account_lock);
	doveadm_cmd_register_ver2(&doveadm_cmd_account_unlock);
}

void doveadm_account_guard_plugin_deinit(void)
{
	/* doveadm has no unregister call; the command table goes away with
	   the process. */
}

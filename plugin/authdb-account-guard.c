/* passdb driver "account_guard" (README "What it does"): chained after the real
   passdb, it hands each verified PLAIN/LOGIN login to the engine and turns
   the engine's verdict into a passdb result. It decides nothing itself. */

#include "auth-common.h"
#include "array.h"
#include "ioloop.h"
#include "auth.h"
#include "auth-fields.h"
#include "module-dir.h"
#include "passdb.h"
#include "auth-request.h"
#include "guard-events.h"
#include "guard-loop.h"
#include "guard-notify.h"
#include "guard-settings.h"

#include "account-guard.h"

/* The module is built with hidden visibility; only what Dovecot's module
   loader looks up by name is exported. */
#define AUTHDB_GUARD_EXPORT __attribute__((visibility("default")))

#define AUTHDB_GUARD_ERROR_MAX 1024

struct account_guard_passdb_module {
	struct passdb_module module;

	/* The Dovecot config file whose plugin {} we read. */
	const char *config_path;
	struct guard_settings *set;
	struct ag_engine *engine;
	/* The engine's memcached sockets on the auth process's ioloop. */
	struct guard_loop *loop;
	/* Stands for the debug-level event a login reports: whether a log or
	   metric filter wants it is asked of this, once per login, instead of
	   having the engine build the event's text for nobody. */
	struct event *debug_probe;
};

/* One login in flight, from the request to the engine's verdict. */
struct account_guard_request {
	struct auth_request *request;
	verify_plain_callback_t *callback;
	struct guard_notify_context notify;
};

AUTHDB_GUARD_EXPORT void authdb_account_guard_init(struct module *module);
AUTHDB_GUARD_EXPORT void authdb_account_guard_deinit(void);
AUTHDB_GUARD_EXPORT extern const char *authdb_account_guard_version;

const char *authdb_account_guard_version = DOVECOT_ABI_VERSION;

static const char *account_guard_getenv(const char *name, void *context)
{
	struct account_guard_passdb_module *module = context;

	return guard_settings_get(module->set, name);
}

static struct passdb_module *
account_guard_preinit(pool_t pool, const char *args)
{
	struct account_guard_passdb_module *module;
	const char *const *arg, *path, *error;
	char errbuf[AUTHDB_GUARD_ERROR_MAX];

	module = p_new(pool, struct account_guard_passdb_module, 1);
	for (arg = t_strsplit_spaces(args, " "); *arg != NULL; arg++) {
		if (str_begins(*arg, "config="))
			module->config_path = p_strdup(pool, *arg + 7);
		else {
			/* Settings live in plugin {} only (README "Settings"):
			   refuse a copy here rather than silently ignore it. */
			i_fatal("account_guard: Unknown passdb argument '%s' "
				"(settings belong in plugin {}; the only "
				"argument is config=<path>)", *arg);
		}
	}
	if (module->config_path == NULL) {
		if (guard_settings_find_config(global_auth_settings->base_dir,
					       &path, &error) < 0)
			i_fatal("account_guard: %s", error);
		module->config_path = p_strdup(pool, path);
	}

	/* preinit runs as root, before the auth process drops privileges:
	   the one moment doveconf can surely read the whole config. */
	if (guard_settings_read(pool, module->config_path, &module->set,
				&error) < 0)
		i_fatal("account_guard: %s", error);
	/* The one process that decides logins, and so the one that opens
	   the GeoIP / ASN databases. */
	if (ag_engine_new_flags(account_guard_getenv, module, AG_ENGINE_LOGINS,
				&module->engine, errbuf, sizeof(errbuf)) != AG_OK)
		i_fatal("account_guard: %s", errbuf);
	e_debug(auth_event, "account_guard: %u settings from plugin {} of %s",
		guard_settings_count(module->set), module->config_path);

	/* Run in the auth process itself: the engine's memcached requests are
	   non-blocking and pipelined on its ioloop (guard-loop.c). Moving a
	   passdb into auth-worker costs about three quarters of Dovecot's login
	   rate even when it does nothing (tests/bench/RESULTS.md). */
	module->module.blocking = FALSE;
	/* Every login must reach the engine: a cached "ok" would skip the
	   recording and the lock. */
	module->module.default_cache_key = NULL;
	return &module->module;
}

static void account_guard_init(struct passdb_module *_module)
{
	struct account_guard_passdb_module *module =
		(struct account_guard_passdb_module *)_module;
	struct auth_passdb *passdb;
	struct auth *auth;

	const char *error;

	if (module->loop == NULL) {
		module->loop = guard_loop_attach(module->engine, &error);
		if (module->loop == NULL)
			i_fatal("account_guard: %s", error);
	}
	if (module->debug_probe == NULL) {
		module->debug_probe = event_create(NULL);
		event_add_category(module->debug_probe,
				   &event_category_account_guard);
		event_set_name(module->debug_probe,
			       "account_guard_login_recorded");
	}
	if (ag_engine_is_fail_closed(module->engine) == 0)
		return;

	/* fail_mode = closed makes us return INTERNAL_FAILURE, but with the
	   default result_internalfail = continue the earlier continue-ok
	   still ends the chain in success: the login would get through
	   exactly when fail-closed promises it won't. Identical passdb
	   blocks share one module, so check every block that uses it. */
	array_foreach_elem(&auths, auth) {
		for (passdb = auth->passdbs; passdb != NULL;
		     passdb = passdb->next) {
			if (passdb->passdb != _module ||
			    passdb->result_internalfail == AUTH_DB_RULE_RETURN_FAIL)
				continue;
			i_fatal("account_guard: account_guard_fail_mode = closed "
				"needs 'result_internalfail = return-fail' in the "
				"passdb { driver = account_guard } block - add it "
				"there, otherwise a memcached failure still lets "
				"the login through");
		}
	}
}

static void account_guard_deinit(struct passdb_module *_module)
{
	struct account_guard_passdb_module *module =
		(struct account_guard_passdb_module *)_module;

	/* The engine first: closing its sockets, it stops watching them. */
	ag_engine_free(&module->engine);
	guard_loop_detach(&module->loop);
	if (module->debug_probe != NULL)
		event_unref(&module->debug_probe);
}

static const char *account_guard_user_getenv(const char *name, void *context)
{
	struct auth_request *request = context;

	/* The real passdb's extra fields override plugin {} per user. */
	if (request->fields.extra_fields == NULL)
		return NULL;
	return auth_fields_find(request->fields.extra_fields, name);
}

static void account_guard_on_event(const struct ag_event *ev, void *context)
{
	struct account_guard_request *ctx = context;

	guard_event_emit(authdb_event(ctx->request), ev, FALSE);
}

static void account_guard_login_done(enum ag_verdict verdict,
				     const char *message, void *context)
{
	struct account_guard_request *ctx = context;
	struct auth_request *request = ctx->request;
	enum passdb_result result;

	switch (verdict) {
	case AG_VERDICT_ALLOW:
		result = PASSDB_RESULT_OK;
		break;
	case AG_VERDICT_REFUSE:
	case AG_VERDICT_LOCKED: /* ag_rcpt's; a login is refused either way */
		/* USER_DISABLED ends the chain whatever the result_* rules
		   say, is never cached, and keeps the reason field, which
		   the login process shows to the client. */
		auth_request_set_field(request, "reason", message, NULL);
		result = PASSDB_RESULT_USER_DISABLED;
		break;
	case AG_VERDICT_TEMPFAIL:
		result = PASSDB_RESULT_INTERNAL_FAILURE;
		break;
	default:
		/* A verdict this glue does not know (newer engine): not a
		   reason to panic, but not one to let the login through
		   either. */
		e_error(authdb_event(request), "account_guard: "
			"Unknown verdict %d", (int)verdict);
		result = PASSDB_RESULT_INTERNAL_FAILURE;
		break;
	}
	ctx->callback(result, request);
	auth_request_unref(&request);
}

static void
account_guard_verify_plain(struct auth_request *request, const char *password,
			   verify_plain_callback_t *callback)
{
	struct account_guard_passdb_module *module =
		(struct account_guard_passdb_module *)request->passdb->passdb;
	struct account_guard_request *ctx;
	struct ag_login login;

	if (!request->fields.skip_password_check) {
		/* Only reachable without skip = unauthenticated. We never
		   verify passwords ourselves, so an unverified login must not
		   pass through us as if it were. */
		e_error(authdb_event(request), "account_guard: "
			"Password was not verified by an earlier passdb - "
			"set skip = unauthenticated on this passdb");
		callback(PASSDB_RESULT_PASSWORD_MISMATCH, request);
		return;
	}
	if (request->fields.master_user != NULL) {
		/* The verified password is the master user's, not the
		   account's: it says nothing about who holds the account's
		   password, so it is neither recorded nor refused. */
		e_debug(authdb_event(request), "account_guard: "
			"Master user %s logging in - not recorded",
			request->fields.master_user);
		callback(PASSDB_RESULT_OK, request);
		return;
	}

	ctx = p_new(request->pool, struct account_guard_request, 1);
	ctx->request = request;
	ctx->callback = callback;
	/* The login that locks the account mails the postmaster, on the
	   ioloop like everything else here. hostname stays NULL: auth has no
	   such setting, so the system's name goes into EHLO and Message-ID. */
	ctx->notify.event = authdb_event(request);
	ctx->notify.async = TRUE;

	i_zero(&login);
	login.user = request->fields.user;
	login.service = request->fields.service;
	login.remote_ip = request->fields.remote_ip.family == 0 ? NULL :
		net_ip2addr(&request->fields.remote_ip);
	/* Passed for the lock fingerprint only; the engine keeps its copy in
	   memory it wipes, and never puts it into an event or log line. */
	login.password = password;
	login.password_len = strlen(password);
	login.now = ioloop_time;
	login.user_getenv = account_guard_user_getenv;
	login.user_getenv_context = request;
	login.on_notify = guard_notify;
	login.notify_context = &ctx->notify;
	/* auth_debug (or a debug filter matching this request), or a log or
	   metric filter on the event itself. */
	login.skip_debug_events =
		!event_want_debug(authdb_event(request)) &&
		!event_want_debug(module->debug_probe) ? 1 : 0;

	/* Held until the engine's verdict; the engine reports every outcome,
	   backend and internal failures included, through events and sets
	   the verdict according to fail_mode in every case. */
	auth_request_ref(request);
	ag_login_start(module->engine, &login, account_guard_on_event,
		       account_guard_login_done, ctx);
}

static struct passdb_module_interface passdb_account_guard = {
	.name = "account_guard",

	.preinit = account_guard_preinit,
	.init = account_guard_init,
	.deinit = account_guard_deinit,

	.verify_plain = account_guard_verify_plain,
	/* Challenge-response mechanisms call lookup_credentials before the
	   password is verified: recording there would let anyone who knows
	   a username fill the account's history (README "Install and enable",
	   step 1). */
	.lookup_credentials = NULL,
};

void authdb_account_guard_init(struct module *module ATTR_UNUSED)
{
	passdb_register_module(&passdb_account_guard);
}

void authdb_account_guard_deinit(void)
{
	passdb_unregister_module(&passdb_account_guard);
}

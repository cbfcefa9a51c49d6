#ifndef DOVECONF_CASES_H
#define DOVECONF_CASES_H

/* One table for the two parsers of "doveconf -c <config> -S plugin" output:
   the auth module's (plugin/guard-doveconf.c, tests/unit/test-guard-doveconf.c)
   and the password tool's (password-policy/dovecot-config.cc,
   tests/unit/test-password-dovecot-config.cc). Both suites read these cases,
   so the two cannot drift apart. Plain C, included by C and C++. */

struct doveconf_case {
	const char *what;
	const char *output;
	/* Every setting kept: name, value, name, value, ..., NULL. */
	const char *settings[13];
};

static const struct doveconf_case doveconf_cases[] = {
	{ "our keys only, values exactly as configured",
	  "plugin=\n"
	  "plugin/account_guard_ip_limit=10/1h 50/24h\n"
	  "plugin/account_guard_password_context_words=acme  brand=x\n"
	  "plugin/account_guard_update_command=/usr/bin/x a\tb\n"
	  "plugin/quota_password=secret\n"
	  "plugin/account_guard_lock_message=\n"
	  "plugin/account_guard_notify=abuse@example.net # not a comment\n"
	  "Warning: something\n",
	  { "account_guard_ip_limit", "10/1h 50/24h",
	    "account_guard_password_context_words", "acme  brand=x",
	    "account_guard_update_command", "/usr/bin/x a\tb",
	    "account_guard_lock_message", "",
	    "account_guard_notify", "abuse@example.net # not a comment",
	    NULL } },
	{ "nothing printed", "", { NULL } },
	{ "the last line needs no newline",
	  "plugin/account_guard_mode=log",
	  { "account_guard_mode", "log", NULL } },
	{ "a carriage return is part of the value",
	  "plugin/account_guard_mode=log\r\n",
	  { "account_guard_mode", "log\r", NULL } },
	{ "empty lines between settings",
	  "\n\nplugin/account_guard_mode=log\n\nplugin/account_guard_fail_mode=closed\n\n",
	  { "account_guard_mode", "log", "account_guard_fail_mode", "closed", NULL } },
	{ "a line without '=' is not a setting",
	  "plugin/account_guard_mode\nplugin/account_guard_fail_mode=open\n",
	  { "account_guard_fail_mode", "open", NULL } },
	{ "the prefixes must start the line and the key",
	  " plugin/account_guard_mode=log\n"
	  "account_guard_mode=log\n"
	  "plugin/xaccount_guard_mode=log\n"
	  "plugin/account_guardmode=log\n"
	  "plugin/plugin/account_guard_mode=log\n"
	  "Plugin/account_guard_mode=log\n",
	  { NULL } },
	{ "the key ends at the first '='",
	  "plugin/account_guard_a=b=c\n",
	  { "account_guard_a", "b=c", NULL } },
	{ "the prefix alone is a (useless) key",
	  "plugin/account_guard_=x\n",
	  { "account_guard_", "x", NULL } },
	{ "a key printed twice: the first line wins",
	  "plugin/account_guard_mode=log\nplugin/account_guard_mode=enforce\n",
	  { "account_guard_mode", "log", NULL } },
};

/* doveconf's complaint when it fails, as the one line our error shows. */
struct doveconf_error_case {
	const char *output;
	const char *text;
};

static const struct doveconf_error_case doveconf_error_cases[] = {
	{ "", "(no output)" },
	{ "doveconf: Fatal: Error in configuration file /etc/dovecot/dovecot.conf line 3: Unknown setting: foo\n",
	  "doveconf: Fatal: Error in configuration file /etc/dovecot/dovecot.conf line 3: Unknown setting: foo" },
	{ "first\nsecond\n", "first / second" },
	{ "first\n\nthird", "first /  / third" },
	{ "\n", "(no output)" },
	{ "tab\there\x01\x1b[31m", "tab?here??[31m" },
	{ "caf\xc3\xa9", "caf\xc3\xa9" },
};

#endif

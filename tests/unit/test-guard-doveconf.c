/* plugin/guard-doveconf.c alone, against libdovecot: the auth module's
   parser of doveconf -S output, over the cases it shares with the password
   tool's parser (doveconf-cases.h). */

#include "lib.h"
#include "str.h"
#include "test-common.h"
#include "guard-doveconf.h"

#include "doveconf-cases.h"

static void test_guard_doveconf_parse(void)
{
	const struct doveconf_case *c;
	struct guard_settings *set;
	unsigned int i, n, case_idx;
	pool_t pool;

	test_begin("guard doveconf parse");
	for (case_idx = 0; case_idx < N_ELEMENTS(doveconf_cases); case_idx++) {
		c = &doveconf_cases[case_idx];
		pool = pool_alloconly_create("guard doveconf test", 1024);
		T_BEGIN {
			set = guard_doveconf_parse(pool, c->output);
		} T_END;
		for (n = 0; c->settings[n] != NULL; n += 2) ;
		test_assert_idx(guard_settings_count(set) == n / 2, case_idx);
		for (i = 0; i < n; i += 2) {
			test_assert_strcmp_idx(guard_settings_get(set, c->settings[i]),
					       c->settings[i + 1], case_idx);
		}
		/* Never another plugin's setting, nor one not printed. */
		test_assert_idx(guard_settings_get(set, "quota_password") == NULL, case_idx);
		test_assert_idx(guard_settings_get(set, "account_guard_asn_db") == NULL, case_idx);
		pool_unref(&pool);
	}
	test_end();
}

static void test_guard_doveconf_error_text(void)
{
	const struct doveconf_error_case *c;
	unsigned int i;

	test_begin("guard doveconf error text");
	for (i = 0; i < N_ELEMENTS(doveconf_error_cases); i++) {
		c = &doveconf_error_cases[i];
		test_assert_strcmp_idx(guard_doveconf_error_text(
			(const unsigned char *)c->output, strlen(c->output)), c->text, i);
	}
	test_end();
}

static void test_guard_doveconf_error_text_bounded(void)
{
	string_t *output = t_str_new(4096);
	const char *text;

	test_begin("guard doveconf error text is bounded");
	/* A runaway doveconf must not make a log line of megabytes. */
	while (str_len(output) < 4000)
		str_append(output, "Error: line\n");
	text = guard_doveconf_error_text(output->data, output->used);
	test_assert(strlen(text) >= 1024 && strlen(text) < 1030);
	test_assert(str_begins(text, "Error: line / Error: line"));
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_guard_doveconf_parse,
		test_guard_doveconf_error_text,
		test_guard_doveconf_error_text_bounded,
		NULL
	};
	return test_run(test_functions);
}

/* doveconf -S plugin output, parsed (guard-doveconf.h). */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "guard-doveconf.h"

#define GUARD_SETTING_PREFIX "account_guard_"
#define GUARD_DOVECONF_PLUGIN_PREFIX "plugin/"
/* How much of doveconf's own message goes into our error. */
#define GUARD_DOVECONF_MAX_ERROR 1024

struct guard_settings {
	/* key, value, key, value, ... - a plugin {} section is a few dozen
	   lines, so a linear search beats a hash table here. */
	ARRAY_TYPE(const_string) pairs;
};

struct guard_settings *guard_doveconf_parse(pool_t pool, const char *output)
{
	struct guard_settings *set;
	const char *const *lines, *key, *value, *p;

	set = p_new(pool, struct guard_settings, 1);
	p_array_init(&set->pairs, pool, 32);
	/* Only our own keys are kept: other plugins' secrets have no business
	   in auth's memory. */
	for (lines = t_strsplit(output, "\n"); *lines != NULL; lines++) {
		if (!str_begins(*lines, GUARD_DOVECONF_PLUGIN_PREFIX))
			continue;
		key = *lines + strlen(GUARD_DOVECONF_PLUGIN_PREFIX);
		p = strchr(key, '=');
		if (p == NULL || !str_begins(key, GUARD_SETTING_PREFIX))
			continue;
		key = t_strdup_until(key, p);
		/* doveconf prints each key once; should it not, the first
		   stays, as in the password tool. */
		if (guard_settings_get(set, key) != NULL)
			continue;
		value = p_strdup(pool, p + 1);
		key = p_strdup(pool, key);
		array_push_back(&set->pairs, &key);
		array_push_back(&set->pairs, &value);
	}
	return set;
}

const char *guard_doveconf_error_text(const unsigned char *output, size_t size)
{
	string_t *str = t_str_new(128);
	size_t i;

	/* doveconf's message may span lines; one log line reads better. */
	for (i = 0; i < size && str_len(str) < GUARD_DOVECONF_MAX_ERROR; i++) {
		if (output[i] == '\n') {
			if (i + 1 < size)
				str_append(str, " / ");
		} else if (output[i] < 0x20) {
			str_append_c(str, '?');
		} else {
			str_append_c(str, output[i]);
		}
	}
	return str_len(str) == 0 ? "(no output)" : str_c(str);
}

const char *guard_settings_get(const struct guard_settings *set,
			       const char *name)
{
	const char *const *pairs;
	unsigned int i, count;

	pairs = array_get(&set->pairs, &count);
	for (i = 0; i + 1 < count; i += 2) {
		if (strcmp(pairs[i], name) == 0)
			return pairs[i + 1];
	}
	return NULL;
}

unsigned int guard_settings_count(const struct guard_settings *set)
{
	return array_count(&set->pairs) / 2;
}

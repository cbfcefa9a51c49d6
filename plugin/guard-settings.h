#ifndef GUARD_SETTINGS_H
#define GUARD_SETTINGS_H

/* How the auth process obtains the plugin {} settings.

   The auth process reads only its own settings (auth_setting_parser_info):
   plugin {} never reaches it. Every setting is written once, in plugin {}
   (README "Settings"), so at start-up (passdb preinit, still root) we run
   "doveconf -c <config file> -S plugin" once and keep the account_guard_*
   pairs. -S prints "plugin/<key>=<value>" lines with the exact values:
   unlike the human-readable form it neither quotes nor hides values that
   look like secrets. */

struct guard_settings;

/* Find the Dovecot config file this process runs from. Under the master,
   CONFIG_FILE (master_service_get_config_path()) names the config
   *socket*, which doveconf cannot parse; the master also keeps
   <base_dir>/dovecot.conf as a symlink to the file it was started with,
   and that is what we use. A config path given on the command line (auth
   run by hand with -c) is a regular file and is used as it is.
   Returns 0 and the path, or -1 and an error. */
int guard_settings_find_config(const char *base_dir, const char **path_r,
			       const char **error_r);

/* Run doveconf once for config_path and keep every account_guard_* pair
   of plugin {} in pool. Returns 0, or -1 and an error (the error contains
   doveconf's own message if it failed). */
int guard_settings_read(pool_t pool, const char *config_path,
			struct guard_settings **set_r, const char **error_r);

/* The value of one setting, or NULL if plugin {} does not set it. */
const char *guard_settings_get(const struct guard_settings *set,
			       const char *name);
/* Number of account_guard_* settings found (for a debug line). */
unsigned int guard_settings_count(const struct guard_settings *set);

#endif

#ifndef GUARD_DOVECONF_H
#define GUARD_DOVECONF_H

/* The output of "doveconf -c <config> -S plugin", parsed: pure, so that
   tests/unit/test-guard-doveconf.c links it alone (guard-settings.c runs
   doveconf). password-policy/dovecot-config.cc parses the same output for
   the password tool; tests/unit/doveconf-cases.h pins both parsers to one
   table of cases. */

#include "guard-settings.h"

/* Keep every account_guard_* pair of doveconf's output in pool. Lines are
   "plugin/<key>=<value>" with the value exactly as configured; anything
   else (doveconf's warnings, the empty "plugin=" root line, other
   plugins' settings) is skipped. The first line of a key wins. */
struct guard_settings *guard_doveconf_parse(pool_t pool, const char *output);

/* doveconf's own message (its output when it failed) on one line: line
   breaks become " / ", control characters '?', at most about 1 KB;
   "(no output)" when there is none. Allocated from the data stack. */
const char *guard_doveconf_error_text(const unsigned char *output, size_t size);

#endif

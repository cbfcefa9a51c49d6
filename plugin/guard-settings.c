/* plugin {} settings for the auth process: read once through doveconf.
   See guard-settings.h for why the auth process needs this at all. */

#include "lib.h"
#include "str.h"
#include "path-util.h"
#include "master-service.h"
#include "guard-doveconf.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#ifndef GUARD_DOVECONF_PATH
#  define GUARD_DOVECONF_PATH "/usr/bin/doveconf"
#endif

/* doveconf prints one line per setting; a plugin {} section this big is
   a broken config, not a reason to eat the auth process's memory. */
#define GUARD_DOVECONF_MAX_OUTPUT (1024*1024)

int guard_settings_find_config(const char *base_dir, const char **path_r,
			       const char **error_r)
{
	const char *path, *link_path, *target, *error;
	struct stat st;

	path = master_service_get_config_path(master_service);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		*path_r = path;
		return 0;
	}

	/* Started by the master: path is the config socket. The master
	   keeps <base_dir>/dovecot.conf pointing at the file it was started
	   with (create_config_symlink() in src/master/main.c). */
	link_path = t_strconcat(base_dir, "/dovecot.conf", NULL);
	if (stat(link_path, &st) < 0 || !S_ISREG(st.st_mode)) {
		*error_r = t_strdup_printf(
			"Cannot find the Dovecot config file to read plugin {} from: "
			"%s is not a file and %s does not lead to one - "
			"add config=<path> to the passdb args", path, link_path);
		return -1;
	}
	/* Name the real file: it is what the postmaster recognises in a
	   log line, and doveconf resolves !include relative to it anyway. */
	if (t_readlink(link_path, &target, &error) == 0)
		*path_r = t_abspath_to(target, base_dir);
	else
		*path_r = link_path;
	return 0;
}

static void ATTR_NORETURN
guard_settings_exec_doveconf(int out_fd, const char *config_path)
{
	const char *argv[] = {
		GUARD_DOVECONF_PATH, "-c", config_path, "-S", "plugin", NULL
	};
	/* doveconf gets none of our environment: the auth process's variables
	   are lib-master's description of *this* process (CONFIG_FILE is the
	   config socket, LOG_SERVICE_FD, SOCKET_COUNT, ...), and doveconf -
	   a lib-master program itself - would act on them. */
	const char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	const char *msg;
	int null_fd;

	/* stderr goes into the same pipe, so that doveconf's own complaint
	   ("Error in configuration file ...") ends up in our error. */
	if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)
		_exit(127);
	null_fd = open("/dev/null", O_RDONLY);
	if (null_fd >= 0)
		(void)dup2(null_fd, STDIN_FILENO);

	execve(argv[0], (char *const *)argv, (char *const *)envp);
	/* Only async-signal-safe calls after fork(): no Dovecot logging. */
	msg = "execve(" GUARD_DOVECONF_PATH ") failed\n";
	(void)write(STDOUT_FILENO, msg, strlen(msg));
	_exit(127);
}

static int
guard_settings_run_doveconf(const char *config_path, string_t *output,
			    const char **error_r)
{
	unsigned char buf[4096];
	int fd[2], status;
	ssize_t ret;
	pid_t pid;

	if (pipe(fd) < 0) {
		*error_r = t_strdup_printf("pipe() failed: %m");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		*error_r = t_strdup_printf("fork() failed: %m");
		i_close_fd(&fd[0]);
		i_close_fd(&fd[1]);
		return -1;
	}
	if (pid == 0) {
		(void)close(fd[0]);
		guard_settings_exec_doveconf(fd[1], config_path);
	}
	i_close_fd(&fd[1]);

	while ((ret = read(fd[0], buf, sizeof(buf))) != 0) {
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			*error_r = t_strdup_printf("read(doveconf) failed: %m");
			break;
		}
		if (output->used + ret > GUARD_DOVECONF_MAX_OUTPUT) {
			*error_r = "doveconf printed too much output";
			ret = -1;
			break;
		}
		buffer_append(output, buf, ret);
	}
	i_close_fd(&fd[0]);

	/* Always reap the child, even after a read error, so no zombie is
	   left behind in a long-lived auth process. */
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			*error_r = t_strdup_printf("waitpid(doveconf) failed: %m");
			return -1;
		}
	}
	if (ret < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*error_r = t_strdup_printf(
			"%s -c %s -S plugin failed (%s %d): %s",
			GUARD_DOVECONF_PATH, config_path,
			WIFEXITED(status) ? "exit code" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			guard_doveconf_error_text(output->data, output->used));
		return -1;
	}
	return 0;
}

int guard_settings_read(pool_t pool, const char *config_path,
			struct guard_settings **set_r, const char **error_r)
{
	string_t *output;

	output = t_str_new(1024);
	if (guard_settings_run_doveconf(config_path, output, error_r) < 0)
		return -1;
	*set_r = guard_doveconf_parse(pool, str_c(output));
	return 0;
}

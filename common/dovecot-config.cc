#include "dovecot-config.hh"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace account_guard {

namespace {

constexpr std::string_view plugin_prefix = "plugin/";
constexpr std::string_view setting_prefix = "account_guard_";
// A plugin {} section is a few dozen lines; more than this is a broken configuration.
constexpr std::size_t max_output = 1024 * 1024;

} // namespace

std::string doveconf_error_text(std::string_view text)
{
	std::string out;
	for (std::size_t i = 0; i < text.size() && out.size() < 1024; i++) {
		unsigned char c = static_cast<unsigned char>(text[i]);
		if (c == '\n') {
			if (i + 1 < text.size())
				out += " / ";
		} else {
			out += c < 0x20 ? '?' : static_cast<char>(c);
		}
	}
	return out.empty() ? "(no output)" : out;
}

const char *PluginSettings::get(const char *name) const
{
	auto it = values_.find(name);
	return it == values_.end() ? nullptr : it->second.c_str();
}

PluginSettings parse_doveconf_output(std::string_view output)
{
	PluginSettings settings;
	while (!output.empty()) {
		std::size_t nl = output.find('\n');
		std::string_view line = output.substr(0, nl);
		output.remove_prefix(nl == std::string_view::npos ? output.size() : nl + 1);
		if (line.substr(0, plugin_prefix.size()) != plugin_prefix)
			continue;
		line.remove_prefix(plugin_prefix.size());
		std::size_t eq = line.find('=');
		if (eq == std::string_view::npos)
			continue;
		std::string_view key = line.substr(0, eq);
		// Only our own keys: other plugins' secrets have no business in our memory.
		if (key.substr(0, setting_prefix.size()) != setting_prefix)
			continue;
		// doveconf prints each key once; should it not, the first stays.
		if (settings.get(std::string(key).c_str()) == nullptr)
			settings.set(std::string(key), std::string(line.substr(eq + 1)));
	}
	return settings;
}

Result<PluginSettings> read_plugin_settings(const std::string &config_path, const std::string &doveconf)
{
	int fd[2];
	if (pipe2(fd, O_CLOEXEC) < 0)
		return failure(std::string("pipe() failed: ") + std::strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fd[0]);
		close(fd[1]);
		return failure(std::string("fork() failed: ") + std::strerror(e));
	}
	if (pid == 0) {
		const char *argv[] = {doveconf.c_str(), "-c", config_path.c_str(), "-S", "plugin", nullptr};
		// None of our environment: doveconf is a lib-master program and would act on
		// variables meant for someone else (CONFIG_FILE, LOG_SERVICE_FD, ...).
		const char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", nullptr};
		// stderr into the same pipe: doveconf's complaint ends up in our error.
		if (dup2(fd[1], STDOUT_FILENO) < 0 || dup2(fd[1], STDERR_FILENO) < 0)
			_exit(127);
		int null_fd = open("/dev/null", O_RDONLY);
		if (null_fd >= 0)
			(void)dup2(null_fd, STDIN_FILENO);
		execve(argv[0], const_cast<char *const *>(argv), const_cast<char *const *>(envp));
		const char msg[] = "execve() failed\n";
		(void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
		_exit(127);
	}
	close(fd[1]);
	std::string output;
	std::string error;
	char buf[4096];
	for (;;) {
		ssize_t n = read(fd[0], buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error = std::string("read(doveconf) failed: ") + std::strerror(errno);
			break;
		}
		if (output.size() + static_cast<std::size_t>(n) > max_output) {
			error = "doveconf printed too much output";
			break;
		}
		output.append(buf, static_cast<std::size_t>(n));
	}
	close(fd[0]);
	if (!error.empty())
		(void)kill(pid, SIGKILL); // it may be blocked writing to the pipe we stopped reading
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return failure(std::string("waitpid(doveconf) failed: ") + std::strerror(errno));
	}
	if (!error.empty())
		return failure(error);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		return failure(doveconf + " -c " + config_path + " -S plugin failed (" +
			       (WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
						  : "signal " + std::to_string(WTERMSIG(status))) +
			       "): " + doveconf_error_text(output));
	}
	return parse_doveconf_output(output);
}

} // namespace account_guard

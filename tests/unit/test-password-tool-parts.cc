// The parts account-guard-passwd is built from: reading plugin {} through doveconf, running
// the update command, reading password lines.
#include "dovecot-config.hh"
#include "line-reader.hh"
#include "update-command.hh"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

using namespace account_guard;

namespace {

struct TempDir {
	std::string path;
	TempDir()
	{
		char templ[] = "/tmp/ag-tool-test-XXXXXX";
		REQUIRE(mkdtemp(templ) != nullptr);
		path = templ;
	}
	~TempDir()
	{
		std::string cmd = "rm -rf '" + path + "'";
		(void)!std::system(cmd.c_str());
	}
};

void write_file(const std::string &path, const std::string &content, mode_t mode = 0644)
{
	{
		std::ofstream f(path, std::ios::binary | std::ios::trunc);
		f << content;
	}
	REQUIRE(chmod(path.c_str(), mode) == 0);
}

std::string read_file(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

// Lines read from a pipe fed with input.
std::vector<std::string> read_lines(const std::string &input, std::size_t max_line)
{
	int fd[2];
	REQUIRE(pipe(fd) == 0);
	std::thread writer([&] {
		(void)!write(fd[1], input.data(), input.size());
		close(fd[1]);
	});
	LineReader reader(fd[0], max_line);
	std::vector<std::string> out;
	SecretString line;
	for (;;) {
		auto st = reader.next(line);
		if (st == LineReader::Status::eof)
			break;
		REQUIRE(st != LineReader::Status::error);
		out.push_back(st == LineReader::Status::overlong ? "<overlong>" : std::string(line.view()));
	}
	writer.join();
	close(fd[0]);
	return out;
}

} // namespace

TEST_CASE("dovecot config: doveconf -S output, our keys only")
{
	PluginSettings s = parse_doveconf_output(
		"plugin=\n"
		"plugin/account_guard_password_min_length=20\n"
		"plugin/account_guard_password_context_words=acme  brand=x\n"
		"plugin/account_guard_memcached_servers=127.0.0.1:11211\n"
		"plugin/quota_password=secret\n"
		"plugin/account_guard_lock_message=\n"
		"Warning: something\n"
		"plugin/account_guard_password_update_command=/usr/bin/x a\tb");
	CHECK(std::string(s.get("account_guard_password_min_length")) == "20");
	CHECK(std::string(s.get("account_guard_password_context_words")) == "acme  brand=x");
	CHECK(std::string(s.get("account_guard_memcached_servers")) == "127.0.0.1:11211");
	CHECK(std::string(s.get("account_guard_lock_message")).empty());
	CHECK(std::string(s.get("account_guard_password_update_command")) == "/usr/bin/x a\tb");
	CHECK(s.get("quota_password") == nullptr);
	CHECK(s.get("account_guard_password_scheme") == nullptr);
	CHECK(s.values().size() == 5);
}

TEST_CASE("dovecot config: doveconf runs with a clean environment")
{
	TempDir dir;
	const std::string fake = dir.path + "/doveconf";
	// Prints its arguments and a variable of ours as settings.
	write_file(fake,
		   "#!/bin/sh\n"
		   "echo \"plugin/account_guard_args=$*\"\n"
		   "echo \"plugin/account_guard_env=${AG_TEST_SECRET:-unset}\"\n",
		   0755);
	setenv("AG_TEST_SECRET", "leaked", 1);
	auto s = read_plugin_settings("/some/dovecot.conf", fake);
	unsetenv("AG_TEST_SECRET");
	REQUIRE(s.ok());
	CHECK(std::string(s->get("account_guard_args")) == "-c /some/dovecot.conf -S plugin");
	CHECK(std::string(s->get("account_guard_env")) == "unset");
}

TEST_CASE("dovecot config: doveconf's failure becomes the error")
{
	TempDir dir;
	const std::string fake = dir.path + "/doveconf";
	write_file(fake, "#!/bin/sh\necho 'doveconf: Fatal: Error in configuration file x line 3:' >&2\necho 'Unknown setting: foo' >&2\nexit 89\n",
		   0755);
	auto s = read_plugin_settings("/x.conf", fake);
	REQUIRE_FALSE(s.ok());
	CHECK(s.error() == fake + " -c /x.conf -S plugin failed (exit code 89): doveconf: Fatal: Error in "
				  "configuration file x line 3: / Unknown setting: foo");
	auto missing = read_plugin_settings("/x.conf", dir.path + "/no-such-doveconf");
	REQUIRE_FALSE(missing.ok());
	CHECK(missing.error().find("failed (exit code 127): execve() failed") != std::string::npos);
}

TEST_CASE("dovecot config: the real doveconf reads plugin {}")
{
	REQUIRE(access(default_doveconf, X_OK) == 0); // dovecot-core is a test dependency
	TempDir dir;
	write_file(dir.path + "/dovecot.conf",
		   "base_dir = " + dir.path + "/base\n"
		   "plugin {\n"
		   "  account_guard_password_min_length = 20\n"
		   "  account_guard_password_context_words = acme example\n"
		   "  other_plugin_password = hidden\n"
		   "}\n");
	auto s = read_plugin_settings(dir.path + "/dovecot.conf");
	INFO((s.ok() ? "" : s.error()));
	REQUIRE(s.ok());
	CHECK(std::string(s->get("account_guard_password_min_length")) == "20");
	CHECK(std::string(s->get("account_guard_password_context_words")) == "acme example");
	CHECK(s->get("other_plugin_password") == nullptr);
	auto bad = read_plugin_settings(dir.path + "/missing.conf");
	REQUIRE_FALSE(bad.ok());
	CHECK(bad.error().find("-S plugin failed (exit code") != std::string::npos);
}

TEST_CASE("update command: user as the last argument, the hash on stdin")
{
	TempDir dir;
	const std::string script = dir.path + "/store";
	write_file(script,
		   "#!/bin/sh\n"
		   "printf '%s|' \"$@\" > \"$(dirname \"$0\")/args\"\n"
		   "cat > \"$(dirname \"$0\")/stdin\"\n",
		   0755);
	REQUIRE(run_update_command({script, "/etc/dovecot/users"}, "alice@example.com", "{X}hash").ok());
	CHECK(read_file(dir.path + "/args") == "/etc/dovecot/users|alice@example.com|");
	CHECK(read_file(dir.path + "/stdin") == "{X}hash\n");
	// A user name is one argument, whatever it holds: no shell.
	REQUIRE(run_update_command({script}, "a b;$(touch x)'", "{X}h").ok());
	CHECK(read_file(dir.path + "/args") == "a b;$(touch x)'|");
}

TEST_CASE("update command: failures are reported")
{
	TempDir dir;
	const std::string fail = dir.path + "/fail";
	write_file(fail, "#!/bin/sh\ncat >/dev/null\nexit 3\n", 0755);
	auto r = run_update_command({fail}, "alice", "{X}h");
	REQUIRE_FALSE(r.ok());
	CHECK(r.error() == "update command " + fail + " failed with exit code 3");

	auto missing = run_update_command({dir.path + "/missing"}, "alice", "{X}h");
	REQUIRE_FALSE(missing.ok());
	CHECK(missing.error() == "update command " + dir.path + "/missing cannot be run: No such file or directory");

	const std::string noexec = dir.path + "/noexec";
	write_file(noexec, "#!/bin/sh\nexit 0\n", 0644);
	auto denied = run_update_command({noexec}, "alice", "{X}h");
	REQUIRE_FALSE(denied.ok());
	CHECK(denied.error() == "update command " + noexec + " cannot be run: Permission denied");

	// Exits without reading its stdin: no SIGPIPE for us (this test does not ignore it).
	const std::string early = dir.path + "/early";
	write_file(early, "#!/bin/sh\nexit 0\n", 0755);
	for (int i = 0; i < 20; i++) {
		auto e = run_update_command({early}, "alice", std::string(200000, 'h'));
		REQUIRE_FALSE(e.ok());
		CHECK(e.error() == "update command " + early + " exited without reading the hash from its stdin");
	}

	const std::string killed = dir.path + "/killed";
	write_file(killed, "#!/bin/sh\nkill -9 $$\n", 0755);
	auto k = run_update_command({killed}, "alice", "{X}h");
	REQUIRE_FALSE(k.ok());
	CHECK(k.error() == "update command " + killed + " was killed by signal 9");

	const std::string slow = dir.path + "/slow";
	write_file(slow, "#!/bin/sh\nexec sleep 10\n", 0755);
	auto t = run_update_command({slow}, "alice", "{X}h", std::chrono::milliseconds(300));
	REQUIRE_FALSE(t.ok());
	CHECK(t.error() == "update command " + slow + " did not finish within 300ms and was killed");

	auto none = run_update_command({}, "alice", "{X}h");
	REQUIRE_FALSE(none.ok());
}

TEST_CASE("line reader: lines, CRLF, overlong lines, no final newline")
{
	CHECK(read_lines("", 100).empty());
	CHECK(read_lines("one\n", 100) == std::vector<std::string>{"one"});
	CHECK(read_lines("one\ntwo", 100) == std::vector<std::string>{"one", "two"});
	CHECK(read_lines("one\r\ntwo\r\n", 100) == std::vector<std::string>{"one", "two"});
	CHECK(read_lines("\n\nx\n", 100) == std::vector<std::string>{"", "", "x"});
	CHECK(read_lines("a\rb\n", 100) == std::vector<std::string>{"a\rb"});
	const std::string big(50000, 'x');
	CHECK(read_lines("short\n" + big + "\nafter\n", 1000) ==
	      std::vector<std::string>{"short", "<overlong>", "after"});
	CHECK(read_lines(big, 1000) == std::vector<std::string>{"<overlong>"});
	CHECK(read_lines(big + "\n", 100000) == std::vector<std::string>{big});
}

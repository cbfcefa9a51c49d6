// passwd-file updates: only the password field of the user's line changes.
#include "passwd-file.hh"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace account_guard;

namespace {

struct TempDir {
	std::string path;
	TempDir()
	{
		char templ[] = "/tmp/ag-passwd-file-test-XXXXXX";
		REQUIRE(mkdtemp(templ) != nullptr);
		path = templ;
	}
	~TempDir()
	{
		std::string cmd = "rm -rf '" + path + "'";
		(void)!std::system(cmd.c_str());
	}
};

void write_file(const std::string &path, const std::string &content)
{
	std::ofstream f(path, std::ios::binary | std::ios::trunc);
	f << content;
}

std::string read_file(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

std::string replaced(std::string_view content, std::string_view user, std::string_view hash)
{
	auto r = replace_passwd_file_password(content, user, hash);
	INFO((r.ok() ? "" : r.error()));
	REQUIRE(r.ok());
	return r->content;
}

} // namespace

TEST_CASE("passwd-file: only the user's password field changes")
{
	const std::string h = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA";
	struct Row {
		std::string name, before, user, after;
	};
	const std::vector<Row> rows = {
		{"full line", "alice:{PLAIN}old:1000:1000::/home/alice::userdb_quota=1G\n", "alice",
		 "alice:" + h + ":1000:1000::/home/alice::userdb_quota=1G\n"},
		{"other lines untouched",
		 "# comment: alice\n\nbob:{PLAIN}b::::::\nalice:{PLAIN}a::::::\ncarol:{PLAIN}c::::::\n", "alice",
		 "# comment: alice\n\nbob:{PLAIN}b::::::\nalice:" + h + "::::::\ncarol:{PLAIN}c::::::\n"},
		{"two fields only", "alice:{PLAIN}old\n", "alice", "alice:" + h + "\n"},
		{"empty password field", "alice:::::::\n", "alice", "alice:" + h + "::::::\n"},
		{"no final newline", "bob:x\nalice:{PLAIN}old", "alice", "bob:x\nalice:" + h},
		{"CRLF kept", "alice:{PLAIN}old\r\nbob:x::\r\n", "alice", "alice:" + h + "\r\nbob:x::\r\n"},
		{"CRLF after more fields", "alice:{PLAIN}old::\r\n", "alice", "alice:" + h + "::\r\n"},
		{"prefix of another user", "al:{PLAIN}1::\nalice:{PLAIN}2::\n", "al", "al:" + h + "::\nalice:{PLAIN}2::\n"},
		{"longer user", "al:{PLAIN}1::\nalice:{PLAIN}2::\n", "alice", "al:{PLAIN}1::\nalice:" + h + "::\n"},
		{"every line of the user", "alice:1::\nbob:2::\nalice:3::\n", "alice",
		 "alice:" + h + "::\nbob:2::\nalice:" + h + "::\n"},
		{"UTF-8 user", "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@example.com:{PLAIN}x::\n", "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@example.com",
		 "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@example.com:" + h + "::\n"},
		{"odd bytes elsewhere kept", "bob:\xff\xfe::\x01::\nalice:old\n", "alice", "bob:\xff\xfe::\x01::\nalice:" + h + "\n"},
	};
	for (const Row &row : rows) {
		CAPTURE(row.name);
		CHECK(replaced(row.before, row.user, h) == row.after);
	}
	auto two = replace_passwd_file_password("alice:1::\nbob:2::\nalice:3::\n", "alice", h);
	REQUIRE(two.ok());
	CHECK(two->lines_changed == 2);
}

TEST_CASE("passwd-file: refused users and hashes")
{
	struct Row {
		std::string user, hash, error;
	};
	const std::vector<Row> rows = {
		{"nobody", "{PLAIN}x", "user not found"},
		{"", "{PLAIN}x", "empty user name"},
		{"ali:ce", "{PLAIN}x", "user name contains ':'"},
		{"alice\nbob", "{PLAIN}x", "user name contains a control character (such as a newline)"},
		{"alice\r", "{PLAIN}x", "user name contains a control character (such as a newline)"},
		{"#alice", "{PLAIN}x", "user name starts with '#' (a comment in a passwd-file)"},
		{"alice", "", "empty hash"},
		{"alice", "{PLAIN}a:b", "hash contains ':'"},
		{"alice", "{PLAIN}a\nb", "hash contains a space or a control character"},
		{"alice", "{PLAIN}a b", "hash contains a space or a control character"},
	};
	for (const Row &row : rows) {
		CAPTURE(row.user, row.hash);
		auto r = replace_passwd_file_password("alice:old::\n#alice:x\n", row.user, row.hash);
		REQUIRE_FALSE(r.ok());
		CHECK(r.error() == row.error);
	}
}

TEST_CASE("passwd-file: the file is replaced whole, keeping its mode")
{
	TempDir dir;
	const std::string path = dir.path + "/users";
	write_file(path, "alice:{PLAIN}a::::::\nbob:{PLAIN}b::::::\n");
	REQUIRE(chmod(path.c_str(), 0640) == 0);
	struct stat before;
	REQUIRE(stat(path.c_str(), &before) == 0);
	REQUIRE(update_passwd_file(path, "bob", "{PLAIN}new").ok());
	CHECK(read_file(path) == "alice:{PLAIN}a::::::\nbob:{PLAIN}new::::::\n");
	struct stat after;
	REQUIRE(stat(path.c_str(), &after) == 0);
	CHECK((after.st_mode & 07777) == 0640);
	CHECK(after.st_ino != before.st_ino); // renamed into place, not rewritten in place
	CHECK(access((path + ".lock").c_str(), F_OK) == 0);

	auto missing = update_passwd_file(path, "carol", "{PLAIN}x");
	REQUIRE_FALSE(missing.ok());
	CHECK(missing.error() == "user not found in " + path);
	CHECK(read_file(path) == "alice:{PLAIN}a::::::\nbob:{PLAIN}new::::::\n");

	auto nofile = update_passwd_file(dir.path + "/nope", "bob", "{PLAIN}x");
	REQUIRE_FALSE(nofile.ok());
	CHECK(nofile.error() == "cannot find " + dir.path + "/nope: No such file or directory");
}

TEST_CASE("passwd-file: a symlinked file is updated where it is")
{
	TempDir dir;
	const std::string real = dir.path + "/real-users";
	const std::string link = dir.path + "/users";
	write_file(real, "alice:{PLAIN}a::\n");
	REQUIRE(symlink(real.c_str(), link.c_str()) == 0);
	REQUIRE(update_passwd_file(link, "alice", "{PLAIN}b").ok());
	struct stat st;
	REQUIRE(lstat(link.c_str(), &st) == 0);
	CHECK(S_ISLNK(st.st_mode));
	CHECK(read_file(real) == "alice:{PLAIN}b::\n");
}

TEST_CASE("passwd-file: concurrent updates lose nothing")
{
	TempDir dir;
	const std::string path = dir.path + "/users";
	const int users = 8, rounds = 25;
	std::string content = "# header line\n";
	for (int u = 0; u < users; u++)
		content += "user" + std::to_string(u) + ":{PLAIN}start:" + std::to_string(1000 + u) + "::::x=y\n";
	write_file(path, content);
	std::vector<std::thread> threads;
	std::vector<int> failures(users, 0);
	for (int u = 0; u < users; u++) {
		threads.emplace_back([&, u] {
			for (int r = 0; r < rounds; r++) {
				if (!update_passwd_file(path, "user" + std::to_string(u),
							"{PLAIN}u" + std::to_string(u) + "r" + std::to_string(r)).ok())
					failures[u]++;
			}
		});
	}
	for (auto &t : threads)
		t.join();
	std::string expected = "# header line\n";
	for (int u = 0; u < users; u++) {
		CHECK(failures[u] == 0);
		expected += "user" + std::to_string(u) + ":{PLAIN}u" + std::to_string(u) + "r" +
			    std::to_string(rounds - 1) + ":" + std::to_string(1000 + u) + "::::x=y\n";
	}
	CHECK(read_file(path) == expected);
}

#include "lock-item.hh"

#include <catch2/catch.hpp>

using namespace account_guard;

TEST_CASE("lock-item: a login's lock round trips with its fingerprint")
{
	Lock lock;
	lock.since = 1234567890;
	lock.reason = "11 networks within 1h (limit 10/1h): a, b";
	lock.has_fingerprint = true;
	lock.salt = 0xdeadbeef;
	lock.fingerprint = 0xabc;
	LockItem back = decode_lock(encode_lock(lock));
	REQUIRE(back.lock);
	CHECK_FALSE(back.malformed);
	CHECK_FALSE(back.lifted);
	CHECK(back.lock->since == 1234567890);
	CHECK(back.lock->reason == lock.reason);
	CHECK(back.lock->has_fingerprint);
	CHECK(back.lock->salt == 0xdeadbeef);
	CHECK(back.lock->fingerprint == 0xabc);
}

TEST_CASE("lock-item: an administrator's lock learns its fingerprint by append, the first one counts")
{
	Lock lock;
	lock.since = 1790000000;
	lock.reason = "abuse desk";
	std::string item = encode_lock(lock);
	LockItem back = decode_lock(item);
	REQUIRE(back.lock);
	CHECK_FALSE(back.lock->has_fingerprint);
	CHECK(back.lock->reason == "abuse desk");

	item += encode_lock_fingerprint(7, 0x0102);
	item += encode_lock_fingerprint(9, 0x0304); // a racing login's, later
	back = decode_lock(item);
	REQUIRE(back.lock);
	REQUIRE(back.lock->has_fingerprint);
	CHECK(back.lock->salt == 7);
	CHECK(back.lock->fingerprint == 0x0102);
	CHECK(back.lock->since == 1790000000);
}

TEST_CASE("lock-item: a replica's tombstone says when the lock was lifted")
{
	LockItem back = decode_lock(encode_lock_lifted(1790000123));
	CHECK_FALSE(back.lock);
	CHECK_FALSE(back.malformed);
	REQUIRE(back.lifted);
	CHECK(*back.lifted == 1790000123);
}

TEST_CASE("lock-item: malformed values are recognised, never trusted")
{
	Lock lock;
	lock.since = 5;
	lock.reason = "r";
	const std::string good = encode_lock(lock) + encode_lock_fingerprint(1, 2);
	for (std::size_t n = 0; n < good.size(); n++) {
		if (n == 1 + 4 + 1 + 1) // the lock without its fingerprint entry is valid
			continue;
		INFO("truncated to " << n);
		CHECK(decode_lock(good.substr(0, n)).malformed);
	}
	CHECK(decode_lock(good + "x").malformed);
	CHECK(decode_lock("Z").malformed);
	CHECK(decode_lock(encode_lock_lifted(1) + "x").malformed);
	// Too many appended entries is not our value.
	std::string many = encode_lock(lock);
	for (int i = 0; i < 65; i++)
		many += encode_lock_fingerprint(1, 2);
	CHECK(decode_lock(many).malformed);
	// What stands for an unreadable one is still a lock.
	CHECK(unreadable_lock().reason == "lock item unreadable");
}

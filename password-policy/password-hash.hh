#pragma once
// Hashing an accepted password in a Dovecot password scheme, in this process, producing exactly
// what Dovecot 2.3's own generator (doveadm pw -s SCHEME) produces and its verifier accepts:
//
//   ARGON2ID      {ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$SALT$HASH  libsodium, like Dovecot
//                 (crypto_pwhash_argon2id_str, ops 3, 64 MiB); Dovecot verifies it with
//                 libsodium's crypto_pwhash_str_verify
//   ARGON2I       {ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$...  libsodium, Dovecot's parameters
//   SHA512-CRYPT  {SHA512-CRYPT}$6$SALT$HASH    libxcrypt crypt(3), 5000 rounds like Dovecot
//   SHA256-CRYPT  {SHA256-CRYPT}$5$SALT$HASH    libxcrypt crypt(3), 5000 rounds
//   BLF-CRYPT     {BLF-CRYPT}$2y$05$SALTHASH    libxcrypt bcrypt, cost 5 like Dovecot
//
// In-process rather than piping the password into `doveadm pw`: doveadm reads a password
// from a non-tty stdin only up to the first CR or LF and asks for it twice, costs a process
// and a config parse per password, and its generator is the same library calls as above.
// The exact bytes given are hashed (the user's typing, not a normalised form).

#include "result.hh"

#include <optional>
#include <string>
#include <string_view>

namespace account_guard {

enum class HashScheme { argon2id, argon2i, sha512_crypt, sha256_crypt, blf_crypt };

// Case-insensitive, as in Dovecot's configuration.
std::optional<HashScheme> parse_hash_scheme(std::string_view name);
const char *hash_scheme_name(HashScheme scheme);
// "ARGON2ID, ARGON2I, SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT"
const char *supported_hash_schemes();

// "{SCHEME}..." for a password without NUL bytes (Dovecot's verifier stops at a NUL).
Result<std::string> hash_password(HashScheme scheme, std::string_view password);

// Checks a "{SCHEME}..." hash made by hash_password against a password (for tests and for
// the tool's self-check after hashing).
bool verify_password_hash(std::string_view hash, std::string_view password);

} // namespace account_guard

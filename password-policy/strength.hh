#pragma once
// The strength estimate: zxcvbn-c (Debian's libzxcvbn-dev), the C port of Dropbox's zxcvbn.
// It finds dictionary words (with l33t substitutions), names, dates, keyboard patterns,
// repeats and sequences, and returns the number of guesses an attacker who knows those
// patterns needs. We do not write our own: the value of zxcvbn is its frequency lists and
// its tuned scoring, and the Debian package ships both compiled in (no data file to find).

#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

// log10 of the estimated number of guesses for password (UTF-8, no NUL byte), with
// user_words (the context words: user name, domain, brand) counted as especially bad.
// An exact repetition of a shorter unit counts as the unit's guesses times the copies
// (zxcvbn-c alone rates "Password1!Password1!Password1!" as strong).
double estimate_guesses_log10(std::string_view password, const std::vector<std::string> &user_words);

} // namespace account_guard

#include "strength.hh"

#include "secret.hh"

#include <zxcvbn.h>

#include <algorithm>
#include <cmath>

namespace account_guard {

namespace {

double zxcvbn_guesses_log10(std::string_view password, const std::vector<std::string> &user_words)
{
	// zxcvbn wants NUL-terminated strings.
	SecretString pw(password);
	std::vector<const char *> dict;
	dict.reserve(user_words.size() + 1);
	for (const std::string &w : user_words) {
		if (!w.empty())
			dict.push_back(w.c_str());
	}
	dict.push_back(nullptr);
	// ZxcvbnMatch returns the entropy in bits, i.e. log2 of the guesses.
	double bits = ZxcvbnMatch(pw.c_str(), dict.data(), nullptr);
	return bits * std::log10(2.0);
}

// The shortest unit the password is an exact repetition of (the password itself if none), by
// the prefix function. A byte-level period of UTF-8 text always falls on character boundaries
// (every copy starts with the lead byte the text starts with).
std::size_t repetition_unit(std::string_view s)
{
	const std::size_t n = s.size();
	if (n < 2)
		return n;
	std::vector<std::size_t> pi(n, 0);
	for (std::size_t i = 1; i < n; i++) {
		std::size_t k = pi[i - 1];
		while (k > 0 && s[i] != s[k])
			k = pi[k - 1];
		if (s[i] == s[k])
			k++;
		pi[i] = k;
	}
	const std::size_t period = n - pi[n - 1];
	return n % period == 0 ? period : n;
}

} // namespace

double estimate_guesses_log10(std::string_view password, const std::vector<std::string> &user_words)
{
	double estimate = zxcvbn_guesses_log10(password, user_words);
	// zxcvbn-c overrates long repetitions of a multi-character unit ("Password1!" three times
	// scores as strong). As the original zxcvbn's repeat matcher does: the unit's guesses times
	// the number of copies.
	const std::size_t unit = repetition_unit(password);
	if (unit < password.size()) {
		const double copies = static_cast<double>(password.size() / unit);
		estimate = std::min(estimate,
				    zxcvbn_guesses_log10(password.substr(0, unit), user_words) + std::log10(copies));
	}
	return estimate;
}

} // namespace account_guard

#include "policy.hh"

#include "context-words.hh"
#include "edit-distance.hh"
#include "strength.hh"
#include "unicode.hh"

#include <algorithm>

namespace account_guard {

namespace {

constexpr std::size_t old_password_min_distance = 2;

void refuse(Verdict &v, const char *code, std::string message)
{
	v.reasons.push_back(Reason{code, std::move(message)});
}

const char *context_message(ContextKind kind)
{
	switch (kind) {
	case ContextKind::user_name:
		return "The password is too close to your user name; choose one that is not based on it.";
	case ContextKind::domain:
		return "The password is too close to your e-mail domain; choose one that is not based on it.";
	case ContextKind::configured:
		break;
	}
	return "The password is too close to a name that cannot be used here (such as the name of "
	       "this service); choose one that is not based on it.";
}

} // namespace

bool Verdict::has(std::string_view code) const
{
	return std::any_of(reasons.begin(), reasons.end(), [&](const Reason &r) { return r.code == code; });
}

Result<PasswordPolicy> PasswordPolicy::create(PasswordSettings settings)
{
	std::optional<BreachedDb> breached;
	if (!settings.breached_db.empty()) {
		auto db = BreachedDb::open(settings.breached_db);
		if (!db)
			return failure("account_guard_password_breached_db: " + db.error());
		breached.emplace(std::move(*db));
	}
	return PasswordPolicy(std::move(settings), std::move(breached));
}

Result<Verdict> PasswordPolicy::check(const Candidate &c) const
{
	Verdict v;
	const std::string_view pw = c.password;

	// Rule 2 first: nothing else means anything for bytes that are not text.
	if (!is_valid_utf8(pw)) {
		refuse(v, "invalid_utf8", "The password is not valid UTF-8 text; type it again.");
		return v;
	}
	const SecretCodePoints cps = decode_utf8(pw);
	const bool has_control = std::any_of(cps.begin(), cps.end(), is_control);
	if (has_control)
		refuse(v, "control_character",
		       "The password contains a control character (such as a tab or a line break); "
		       "use only visible characters and spaces.");
	if (!cps.empty() && (is_white_space(cps.front()) || is_white_space(cps.back())))
		refuse(v, "leading_trailing_space",
		       "The password starts or ends with a space; remove the space at the start or end.");
	if (pw.size() > password_max_bytes) {
		// Rule 1's byte limit. Nothing more is computed for an oversized input.
		refuse(v, "too_many_bytes",
		       "The password is too long: it must fit in 512 bytes; use fewer characters.");
		return v;
	}
	if (!is_nfc(pw))
		refuse(v, "not_nfc",
		       "The password contains characters written in an unusual way (accents or marks "
		       "stored apart from their letters), so it would not work from every device; type it "
		       "again, or choose another one.");

	// Rule 1: length in code points after NFKC.
	const SecretString nfkc = to_nfkc(pw);
	const std::size_t length = count_code_points(nfkc.view());
	bool length_ok = true;
	if (length < settings_.min_length) {
		refuse(v, "too_short",
		       "The password is too short: use at least " + std::to_string(settings_.min_length) +
			       " characters.");
		length_ok = false;
	}
	if (length > settings_.max_length) {
		refuse(v, "too_long",
		       "The password is too long: use at most " + std::to_string(settings_.max_length) +
			       " characters.");
		length_ok = false;
	}

	// Rule 5: context words.
	const SecretString folded = fold(pw);
	const std::vector<ContextWord> words = make_context_words(c.user, settings_.context_words);
	if (const ContextWord *w = find_close_context_word(strip_to_core(folded.view()), words))
		refuse(v, w->kind == ContextKind::user_name ? "context_user_name"
			  : w->kind == ContextKind::domain  ? "context_domain"
							    : "context_word",
		       context_message(w->kind));

	// Rule 7: the old password.
	if (c.old_password) {
		if (*c.old_password == pw) {
			refuse(v, "same_as_old", "The new password is the same as the old one; choose a new password.");
		} else {
			const std::string_view old = *c.old_password;
			const SecretString old_folded = is_valid_utf8(old) ? fold(old) : SecretString(old);
			const SecretCodePoints a = decode_utf8(folded.view());
			const SecretCodePoints b = decode_utf8(old_folded.view());
			if (within_edit_distance(std::u32string_view(a.data(), a.size()),
						 std::u32string_view(b.data(), b.size()), old_password_min_distance))
				refuse(v, "similar_to_old",
				       "The new password is too similar to the old one; choose a new password, "
				       "not a small change of the old one.");
		}
	}

	// Rule 6: breached passwords, as typed and (if different) in NFKC ("ｐａｓｓｗｏｒｄ").
	if (breached_) {
		auto found = breached_->contains(pw);
		if (found && !*found && nfkc.view() != pw)
			found = breached_->contains(nfkc.view());
		if (!found)
			return failure("account_guard_password_breached_db: " + found.error());
		if (*found)
			refuse(v, "breached",
			       "The password appears in a list of passwords exposed in data breaches, so "
			       "attackers try it first; choose a different one.");
	}

	// Rule 4: strength, only for a password of acceptable length and characters (a too short
	// one needs to get longer first; that is the reason to give).
	if (length_ok && !has_control) {
		std::vector<std::string> user_words;
		user_words.reserve(words.size());
		for (const ContextWord &w : words)
			user_words.push_back(w.folded);
		if (estimate_guesses_log10(nfkc.view(), user_words) < settings_.min_guesses_log10)
			refuse(v, "too_weak",
			       "The password is too easy to guess (it is built from common words, names, "
			       "dates, keyboard patterns or repetitions); make it longer, for example with "
			       "several unrelated words.");
	}
	return v;
}

} // namespace account_guard

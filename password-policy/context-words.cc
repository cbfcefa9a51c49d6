#include "context-words.hh"

#include "edit-distance.hh"
#include "unicode.hh"

#include <algorithm>

namespace account_guard {

namespace {

void add(std::vector<ContextWord> &words, std::string_view word, ContextKind kind)
{
	if (word.empty() || !is_valid_utf8(word))
		return;
	SecretString f = fold(word);
	std::string folded(f.view());
	if (folded.empty())
		return;
	for (const ContextWord &w : words) {
		if (w.folded == folded)
			return;
	}
	SecretCodePoints core = strip_to_core(folded);
	words.push_back(ContextWord{std::move(folded), std::u32string(core.begin(), core.end()), kind});
}

} // namespace

std::vector<ContextWord> make_context_words(std::string_view user,
					    const std::vector<std::string> &configured)
{
	std::vector<ContextWord> words;
	if (!user.empty()) {
		add(words, user, ContextKind::user_name);
		std::size_t at = user.rfind('@');
		if (at != std::string_view::npos) {
			add(words, user.substr(0, at), ContextKind::user_name);
			std::string_view domain = user.substr(at + 1);
			while (!domain.empty()) {
				std::size_t dot = domain.find('.');
				std::string_view label = domain.substr(0, dot);
				if (is_valid_utf8(label) && count_code_points(label) >= min_domain_label_length)
					add(words, label, ContextKind::domain);
				if (dot == std::string_view::npos)
					break;
				domain.remove_prefix(dot + 1);
			}
		}
	}
	for (const std::string &w : configured)
		add(words, w, ContextKind::configured);
	return words;
}

SecretCodePoints strip_to_core(std::string_view folded_password)
{
	SecretCodePoints cps = decode_utf8(folded_password);
	auto first = std::find_if(cps.begin(), cps.end(), is_letter_or_mark);
	auto last = std::find_if(cps.rbegin(), cps.rend(), is_letter_or_mark).base();
	if (first >= last)
		return SecretCodePoints();
	return SecretCodePoints(first, last);
}

const ContextWord *find_close_context_word(const SecretCodePoints &core,
					   const std::vector<ContextWord> &words)
{
	if (core.empty())
		return nullptr;
	const std::u32string_view c(core.data(), core.size());
	for (const ContextWord &w : words) {
		if (w.core.size() >= min_core_length && within_edit_distance(c, w.core, 1))
			return &w;
	}
	return nullptr;
}

} // namespace account_guard

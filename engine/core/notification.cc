#include "notification.hh"

#include "login-policy.hh"
#include "text.hh"

namespace account_guard {

namespace {

std::string history_lines(const AccountRecord &record)
{
	std::string out;
	out += "Recent networks:  ";
	if (record.networks.empty())
		out += "(none recorded)";
	for (std::size_t i = 0; i < record.networks.size(); i++) {
		const NetworkSeen &n = record.networks[i];
		out += (i == 0 ? "" : "\n                  ") + n.network.to_string() + "  last seen " +
		       format_time_utc(n.last_seen);
	}
	out += "\nRecent countries: ";
	std::vector<std::string> countries;
	for (const CountrySeen &c : record.countries)
		countries.push_back(format_country(c.country));
	out += countries.empty() ? "(none recorded)" : join(countries, ", ");
	out += "\n";
	return out;
}

} // namespace

std::string shell_quote(std::string_view text)
{
	std::string out = "'";
	for (char c : printable(text, 1024)) {
		if (c == '\'')
			out += "'\\''";
		else
			out += c;
	}
	return out + "'";
}

Notification lock_notification(std::string_view user, const Lock &lock, const AccountRecord &record)
{
	Notification n;
	n.user = printable(user);
	n.reason = "lock";
	n.subject = "Account locked: " + printable(user, 128);
	n.body = "The account guard locked an account after suspicious logins.\n\n"
		 "Account:          " + printable(user) + "\n"
		 "Locked since:     " + format_time_utc(lock.since) + "\n"
		 "Reason:           " + printable(lock.reason, 1024) + "\n" +
		 history_lines(record) +
		 "\nLogins of this account are refused until its password is changed (the first\n"
		 "login with the new password lifts the lock) or an administrator unlocks it:\n\n"
		 "    doveadm account-unlock " + shell_quote(user) + "\n\n"
		 "Current state:\n\n"
		 "    doveadm account-status " + shell_quote(user) + "\n";
	return n;
}

Notification recipient_notification(std::string_view user, std::string_view limit, std::uint64_t count,
				    std::string_view counts, const AccountRecord *record)
{
	Notification n;
	n.user = printable(user);
	n.reason = "recipients";
	n.subject = "Recipient limit reached: " + printable(user, 128);
	n.body = "The account guard refused recipients on submission: the account reached its\n"
		 "recipient limit. Further recipients get 451 4.7.1 until the window slides.\n\n"
		 "Account:          " + printable(user) + "\n"
		 "Limit reached:    " + std::string(limit) + " (" + std::to_string(count) + " recipients already)\n"
		 "Recipients:       " + std::string(counts) + "\n" +
		 (record ? history_lines(*record) : std::string()) +
		 "\nIf the account sends spam, lock it (its logins are then refused):\n\n"
		 "    doveadm account-lock -r 'sent spam' " + shell_quote(user) + "\n\n"
		 "If the mail is legitimate, reset its counts (and consider a per-user\n"
		 "account_guard_recipient_limit for it):\n\n"
		 "    doveadm account-unlock -R " + shell_quote(user) + "\n";
	return n;
}

} // namespace account_guard

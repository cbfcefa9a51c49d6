#include "login-request.hh"

#include "c-translation.hh"

#include <stdexcept>

namespace account_guard {

bool prepare_login(ag_engine &engine, const struct ag_login &login, PreparedLogin &prepared,
		   ag_event_fn *on_event, void *event_context)
{
	if (engine.use != EngineUse::logins)
		throw std::logic_error("a login on an engine made without AG_ENGINE_LOGINS");
	const std::string_view user = login.user != nullptr ? login.user : "";
	try {
		prepared.settings.emplace(engine.settings, login.user_getenv, login.user_getenv_context);
	} catch (const SettingError &e) {
		report_invalid_override(user, e, on_event, event_context);
		return false;
	}
	const Settings &settings = prepared.settings->get();
	LoginInput &input = prepared.input;
	input.user = user;
	input.service = login.service != nullptr ? login.service : "";
	prepared.needs_state = login_needs_state(settings, input.service);
	if (!prepared.needs_state)
		return true;
	if (login.remote_ip != nullptr)
		input.ip = parse_ip(login.remote_ip);
	if (engine.geo && input.ip) {
		emit_all(engine.geo->refresh(login.now), on_event, event_context);
		// Countries matter only with a country limit, AS numbers only when exempt or NAT
		// ASNs are listed.
		GeoInfo geo = engine.geo->lookup(*input.ip, !settings.country_limit.empty(),
						 !settings.exempt_asns.empty() || !settings.nat_asns.empty());
		input.country = geo.country;
		input.asn = geo.asn;
	}
	if (login.password != nullptr)
		input.password = std::string_view(login.password, login.password_len);
	input.now = static_cast<std::uint32_t>(login.now);
	input.new_salt = static_cast<std::uint32_t>(engine.salt_rng());
	input.debug_events = login.skip_debug_events == 0;
	return true;
}

int deliver_login(ag_engine &engine, const Settings &settings, std::string_view user,
		  const LoginOutcome &outcome, const struct ag_login &login, ag_event_fn *on_event,
		  void *event_context, enum ag_verdict *verdict_r)
{
	if (outcome.failed) {
		emit(engine.outage.failed(user, outcome.error, "login", settings.fail_mode), on_event,
		     event_context);
		*verdict_r = failure_verdict(settings);
		return AG_ERR_BACKEND;
	}
	if (auto recovered = engine.outage.answered())
		emit(*recovered, on_event, event_context);
	const LoginResult &r = outcome.result;
	emit_all(r.events, on_event, event_context);
	notify(settings, r.notification, login.on_notify, login.notify_context);
	*verdict_r = to_c_verdict(r.verdict);
	return AG_OK;
}

int login_now(ag_engine &engine, const struct ag_login &login, enum ag_verdict *verdict_r,
	      std::string &message_r, ag_event_fn *on_event, void *event_context)
{
	PreparedLogin prepared;
	if (!prepare_login(engine, login, prepared, on_event, event_context)) {
		*verdict_r = failure_verdict(engine.settings);
		return AG_ERR_CONFIG;
	}
	const Settings &settings = prepared.settings->get();
	// Without state AccountService::login() would answer an empty allow: no call. Delivered
	// all the same, as ag_login() always did (an outage is then reported as over; only
	// ag_login_start() answers such a login without delivering it).
	LoginOutcome outcome;
	if (prepared.needs_state) {
		try {
			outcome.result = engine.service.login(settings, prepared.input);
		} catch (const StoreError &e) {
			outcome.failed = true;
			outcome.error = e.what();
		}
	}
	const std::string_view user = login.user != nullptr ? login.user : "";
	int ret = deliver_login(engine, settings, user, outcome, login, on_event, event_context, verdict_r);
	if (*verdict_r == AG_VERDICT_REFUSE)
		message_r = settings.lock_message;
	return ret;
}

} // namespace account_guard

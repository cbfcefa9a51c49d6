"""The simulated ISP population of the detection evaluation: its Internet, its kinds of customers
and thieves, their shares and behaviours, and the per-account event generator.

Every number carries a comment: a source (the figures are those collected in the project's
research note on low-and-slow compromises, cited by author and year) or "assumption". The
RESULTS.md of tests/detection/run prints the same tables from the data below, so the report
cannot drift from the code.

Determinism: every account draws from its own random.Random seeded by (seed, account index);
nothing depends on hash() order or on the set of other accounts.
"""

import bisect
import math
import random

# -------------------------------------------------------------------------------------------
# Time
# -------------------------------------------------------------------------------------------

MONTH_START = 1711929600  # 2024-04-01T00:00:00Z, a Monday
HOUR = 3600
DAY = 86400
TZ_OFFSET = 2 * HOUR  # customers live at UTC+2 (the ISP's country in summer time): assumption
HOME_CC = "DE"  # the ISP's country: assumption (any single-country ISP works the same)
DOMAIN = "isp.example"

# -------------------------------------------------------------------------------------------
# The simulated Internet. Fixed (seed-independent), so that tests/detection/isp.conf can name
# its networks and ASNs. Addresses are synthetic: only the geo databases written by
# make-geo.pl give them a country and an owner.
# -------------------------------------------------------------------------------------------

ISP_ASN = 64600          # the ISP's own fixed-line network (home DSL/cable, business lines)
CARRIER_ASNS = (64610, 64611, 64612)  # the three mobile carriers of HOME_CC
CARRIER_SHARES = (0.40, 0.35, 0.25)   # assumption (a three-carrier market)
CARRIER_POOL_24S = 96    # public /24s of one carrier's CGNAT pool a phone hops across: assumption
OTHER_HOME_ASNS = (64620, 64621, 64622)  # other residential ISPs of HOME_CC (proxies, bots)
GOOGLE_ASN = 15169       # Google's mail fetchers (the real ASN, as isp.conf must name it)
GOOGLE_FETCH_24S = 64    # distinct Google /24s fetches come from: assumption
HOSTING = (  # hosting / VPS / VPN providers: (asn, country)
    (64700, "US"), (64701, "DE"), (64702, "NL"), (64703, "FR"), (64704, "SG"),
    (64705, "GB"), (64706, "CH"), (64707, "US"),
)
# Countries reached by travellers, with their access networks (hotel/cafe/airport wifi,
# local carriers): one ASN each. Weights: assumption (neighbours and holiday destinations).
TRAVEL_COUNTRIES = (
    ("AT", 10), ("IT", 10), ("ES", 9), ("FR", 8), ("NL", 7), ("CH", 6), ("HR", 5), ("GR", 5),
    ("PL", 5), ("DK", 4), ("CZ", 4), ("PT", 4), ("TR", 4), ("GB", 4), ("US", 4), ("BE", 3),
    ("SE", 2), ("TH", 2), ("EG", 2), ("AE", 2),
)
HUB_COUNTRIES = ("NL", "FR", "GB", "TR", "AE", "CH", "AT")  # airport hubs of connecting flights
# Residential networks abroad where botnet nodes (and residential proxies) live: assumption,
# a broad spread with the manual hijackers' five countries (Bursztein et al. 2014) among them.
BOT_COUNTRIES = (
    "US", "BR", "IN", "VN", "ID", "RU", "CN", "TR", "MX", "AR", "CO", "PH", "TH", "EG", "PK",
    "BD", "NG", "ZA", "MA", "DZ", "IR", "UA", "PL", "RO", "IT", "ES", "FR", "GB", "KR", "TW",
    "MY", "CI", "KE", "PE", "CL", "VE", "SA", "IQ", "KZ", "NP",
)
HIJACKER_COUNTRIES = ("CN", "CI", "MY", "NG", "ZA")  # Bursztein et al. 2014: mostly these five

FOREIGN_CCS = tuple(sorted(set(c for c, _ in TRAVEL_COUNTRIES) | set(HUB_COUNTRIES)
                           | set(BOT_COUNTRIES)))
FOREIGN_ASN = {cc: 65000 + i for i, cc in enumerate(FOREIGN_CCS)}


def _rr(rng, a, b=None):
    """randrange(a, b) from one random() call: several times faster than Random.randrange,
    and as deterministic."""
    if b is None:
        a, b = 0, a
    return a + int(rng.random() * (b - a))


def _pick(rng, seq):
    return seq[int(rng.random() * len(seq))]


def _v4(n):
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def _v4int(a, b, c=0, d=0):
    return (a << 24) | (b << 16) | (c << 8) | d


class Internet:
    """Address blocks with owner ASN and country; functions that draw client addresses."""

    def __init__(self):
        self.networks = []  # (cidr, country, asn, organisation) for the geo databases
        self._next16 = _v4int(20, 0)
        self._next_v6 = 0x2a10_0000
        # The ISP: infrastructure (webmail), business lines, dynamic pools, IPv6.
        infra = self._alloc16(HOME_CC, ISP_ASN, "Example ISP")
        self.webmail_net = _v4(infra + (1 << 8)) + "/24"
        self.webmail_base = infra + (1 << 8)
        self.business16 = self._alloc16(HOME_CC, ISP_ASN, "Example ISP")
        self.isp_pools = [self._alloc16(HOME_CC, ISP_ASN, "Example ISP") for _ in range(24)]
        self.isp_v6 = self._alloc_v6(HOME_CC, ISP_ASN, "Example ISP")
        # Mobile carriers: CGNAT pools of public /24s; the first also hands out IPv6.
        self.carrier_24s = {}
        self.carrier_v6 = {}
        for i, asn in enumerate(CARRIER_ASNS):
            b = [self._alloc16(HOME_CC, asn, f"Mobile Carrier {i + 1}") for _ in range(2)]
            self.carrier_24s[asn] = [b[k % 2] + ((k // 2) << 8) for k in range(CARRIER_POOL_24S)]
            if i == 0:
                self.carrier_v6[asn] = self._alloc_v6(HOME_CC, asn, f"Mobile Carrier {i + 1}")
        self.other_home = {asn: [self._alloc16(HOME_CC, asn, f"Other ISP {asn}") for _ in range(4)]
                           for asn in OTHER_HOME_ASNS}
        self.foreign = {cc: [self._alloc16(cc, FOREIGN_ASN[cc], f"Access {cc}") for _ in range(2)]
                        for cc in FOREIGN_CCS}
        self.hosting = {asn: (cc, self._alloc16(cc, asn, f"Hosting {asn}")) for asn, cc in HOSTING}
        # Google: real ranges (the fetchers' ranges named in isp.conf by ASN only).
        for cidr in ("209.85.128.0/17", "74.125.0.0/16", "2a00:1450::/32"):
            self.networks.append((cidr, "US", GOOGLE_ASN, "GOOGLE"))
        self.google_24s = [_v4int(209, 85, 128 + k) for k in range(GOOGLE_FETCH_24S)]

    def _alloc16(self, cc, asn, org):
        base = self._next16
        self._next16 += 1 << 16
        self.networks.append((_v4(base) + "/16", cc, asn, org))
        return base

    def _alloc_v6(self, cc, asn, org):
        p = self._next_v6
        self._next_v6 += 1
        self.networks.append((f"{p >> 16:x}:{p & 0xffff:x}::/32", cc, asn, org))
        return p

    # --- addresses ---------------------------------------------------------------------------
    @staticmethod
    def v6(p32, a, b, host):
        return f"{p32 >> 16:x}:{p32 & 0xffff:x}:{a:x}:{b:x}::{host:x}"

    def isp_home_v4(self, rng):
        return _v4(_pick(rng, self.isp_pools) + (_rr(rng, 256) << 8) + _rr(rng, 1, 255))

    def isp_home_v6_prefix(self, rng):
        # a delegated /56: the customer's devices use /64s inside it (one /64 per home LAN)
        return (_rr(rng, 1 << 16), _rr(rng, 1 << 8) << 8)

    def isp_home_v6(self, prefix, rng):
        return self.v6(self.isp_v6, prefix[0], prefix[1], _rr(rng, 1, 1 << 16))

    def business_v4(self, rng):
        return _v4(self.business16 + (_rr(rng, 256) << 8) + _rr(rng, 1, 255))

    def webmail(self, rng):
        return _v4(self.webmail_base + _rr(rng, 10, 20))  # ten webmail servers

    def carrier(self, asn, rng, v6=False):
        if v6 and asn in self.carrier_v6:  # a new /64 per connection
            return self.v6(self.carrier_v6[asn], _rr(rng, 1 << 16), _rr(rng, 1 << 16), 1)
        return _v4(_pick(rng, self.carrier_24s[asn]) + _rr(rng, 1, 255))

    def foreign_addr(self, cc, rng):
        return _v4(_pick(rng, self.foreign[cc]) + (_rr(rng, 256) << 8) + _rr(rng, 1, 255))

    def other_home_addr(self, rng):
        asn = _pick(rng, OTHER_HOME_ASNS)
        return _v4(_pick(rng, self.other_home[asn]) + (_rr(rng, 256) << 8)
                   + _rr(rng, 1, 255))

    def hosting_addr(self, rng, country=None):
        choices = [a for a, cc in HOSTING if country is None or cc == country] or [HOSTING[0][0]]
        cc, base = self.hosting[_pick(rng, choices)]
        return _v4(base + (_rr(rng, 256) << 8) + _rr(rng, 1, 255))

    def google_addr(self, rng):
        if rng.random() < 0.2:  # assumption: a fifth of fetches over IPv6
            return f"2a00:1450:{_rr(rng, 0x4000, 0x4100):x}:{_rr(rng, 1 << 16):x}::{_rr(rng, 1, 256):x}"
        return _v4(_pick(rng, self.google_24s) + _rr(rng, 1, 255))

    def bot_addr(self, rng):
        return self.foreign_addr(_pick(rng, BOT_COUNTRIES), rng)


# -------------------------------------------------------------------------------------------
# Kinds: shares and behaviours as data. Each number: source or "assumption".
# -------------------------------------------------------------------------------------------

CUSTOMER_KINDS = {
    # name: (share, description)
    "home": (0.22, "fixed line only: a desktop/laptop client at home on the ISP's DSL/cable, "
                   "dynamic address re-assigned now and then; some webmail"),
    "phone": (0.40, "home client plus a smartphone on a mobile carrier's CGNAT (a new public "
                    "/24 of the carrier's pool on almost every connection), home wifi at night"),
    "traveller": (0.08, "a phone customer on one trip abroad this month: 3-14 days, 1-3 "
                        "countries, hotel/cafe wifi there, home-routed roaming, airport hubs"),
    "business": (0.07, "small business: office line with a fixed address, staff phones, a "
                       "company VPN whose 1-3 exits may be abroad, 10-40 messages a workday"),
    "webmail": (0.12, "webmail only: every login comes from the ISP's webmail servers"),
    "gmail": (0.10, "Gmail fetches the mailbox by POP3/IMAP every 15-60 min from many Google "
                    "/24s and sends as the address through the ISP's submission from Google"),
    "newsletter": (0.01, "a phone customer who sends a club newsletter weekly to 80-1500 "
                         "recipients in Bcc batches within minutes"),
}
# Shares: assumption throughout. No public breakdown of an ISP's mailbox users by client type
# was found; the split keeps phones the largest group (smartphone mail is the common case) and
# gives every kind enough accounts (>= 100 at 10,000) for its share locked to be measured.

THIEF_SHARE = 0.03
# assumption: 3% of the accounts are stolen within the month. Google measured manual hijacking
# at 9 incidents per million users per day (Bursztein et al. 2014), i.e. 0.03% a month, for a
# provider with strong login defences; ISP accounts with reused passwords fall far more often,
# and the evaluation over-samples thieves so that each kind has dozens of cases.

THIEF_KINDS = {
    # name: (share among stolen accounts, description)
    "checker": (0.30, "credential-stuffing check: one login from a botnet address, never sends "
                      "(stolen, no abuse: first abuse undefined)"),
    "botnet": (0.20, "logins from many bots in many countries and ASNs, each session a burst "
                     "of 1-3 messages of 20-60 recipients every 2-15 min, round the clock"),
    "vps": (0.15, "one hosting address, high volume: a session every 5-30 min with 5-20 "
                  "messages of 10-50 recipients"),
    "slow": (0.20, "one address (a residential proxy in the victim's country, else a hosting "
                   "address), 0-6 messages an hour of 1-10 recipients in daytime, for 3-21 days"),
    "hijacker": (0.15, "manual: one foreign address or a VPN exit, reads mail for minutes in "
                       "office hours, then mails the victim's address book in 1-2 bursts"),
}
# Shares among thieves: assumption. The research found no published split of stolen-account
# uses; checkers are the largest group because stuffing lists are checked in bulk and most
# checked accounts are resold rather than used (Shah et al. 2020 see two access modes: one
# group steals and checks, another uses).

BEHAVIOUR = {
    # Logins and devices
    "home_v6_share": (0.5, "assumption: share of home lines with IPv6 in use (dual stack)"),
    "home_lease_days": ((1, 7, 30), (0.3, 0.4, 0.3),
                        "assumption: a home line's address changes every 1, 7 or 30 days "
                        "(forced daily reconnect on some DSL lines; the rest keep it longer)"),
    "desktop_gap_min": ((45, 150), "assumption: a desktop IMAP client reconnects every 45-150 min"),
    "phone_gap_min": ((60, 180), "assumption: a phone's mail app logs in every 60-180 min, 7-24 h"),
    "phone_home_wifi": (0.6, "assumption: a phone's logins after 19 h and before 8 h use home wifi"),
    "gmail_gap_min": ((15, 60), "assumption: Gmail's POP/IMAP fetch interval (Gmail adapts it to "
                                "the mailbox's traffic)"),
    "gmail_pop3": (0.7, "assumption: share of Gmail fetchers using POP3 (rest IMAP)"),
    "webmail_logins_per_day": ((0, 4), "assumption: webmail sessions a day, each 2-6 IMAP logins"),
    # Mail volume
    "msgs_per_day": ({"home": 0.5, "phone": 0.8, "traveller": 0.8, "business": 18.0,
                      "webmail": 0.4, "gmail": 0.6, "newsletter": 1.0},
                     "assumption: messages submitted per day (Poisson); business on workdays"),
    "rcpts_per_msg": ("1 + geometric(p=0.6), business 10% of messages 5-40",
                      "assumption: most personal mail has one or two recipients"),
    "contacts_median": (40, "assumption: address book size, log-normal, median 40, 5..800"),
    "newsletter_list": ((80, 1500, 250), "assumption: newsletter list size min, max, median"),
    "routine_password_change": (0.01, "assumption: share of accounts changing the password in a month"),
    # Travel
    "trip_days": ((3, 14), "assumption: trip length"),
    "trip_countries": ((1, 2, 3), (0.6, 0.3, 0.1), "assumption: countries on one trip (brief: 1-3)"),
    "hub_connection": (0.15, "assumption: a move between countries connects through an airport "
                             "hub (most moves in Europe are by road or rail: roaming is home-routed)"),
    "roaming_home_routed": (0.5, "assumption: share of a traveller's phone logins over roaming "
                                 "data, which is home-routed (the home carrier's addresses)"),
    "desktop_on_while_away": (0.3, "assumption: the home computer keeps polling during a trip"),
    # Thieves
    "slow_residential": (8 / 9, "Cequence (research note §1.7): over 8M of 9M attack IPs were "
                                "residential proxies in the targets' country"),
    "hijacker_vpn": (0.5, "assumption, informed by Thomas et al. 2017 (83% of phishing kits "
                          "collect the victim's geolocation, so an exit in the victim's country "
                          "can be chosen); the rest come from the five countries of Bursztein 2014"),
    "hijacker_minutes": ((3, 25), "Bursztein et al. 2014: about 3 min to judge the account, more "
                                  "than 20 min in it when it is worth exploiting"),
    "hijacker_hours": ((9, 17), "Bursztein et al. 2014 (USA Today): office hours, weekdays"),
    "hijacker_second_burst": (0.5, "assumption: share of hijackers mailing the book twice"),
    "discovery_botnet_h": ((12, 72), "assumption: blocklists and complaints reveal a noisy "
                                     "thief to the ISP within 1-3 days; then a password change"),
    "discovery_vps_h": ((6, 48), "assumption, as botnet (higher volume, found sooner)"),
    "discovery_slow_d": ((3, 21), "Shah et al. 2020: attackers dwell multiple days to weeks"),
    "discovery_hijacker_h": ((2, 48), "CSO on Bursztein et al. 2014: recovery took up to 13 h "
                                      "for half of the victims"),
    "check_to_abuse_h": ((1, 72), "assumption: hours between the credential check and abuse"),
}


def behaviour(name):
    return BEHAVIOUR[name][0]


# -------------------------------------------------------------------------------------------
# Generator of one account's events
# -------------------------------------------------------------------------------------------

class Account:
    """One account and its events: self.events = [(time, index, seq, line, mark)], mark None
    for the customer's own events, ("login",) for a thief's login and ("message", n) for a
    thief's (abusive) message of n recipients."""

    def __init__(self, index, seed, kind, thief, days, net):
        self.index = index
        self.user = f"c{index:05d}@{DOMAIN}"
        self.kind = kind
        self.thief = thief
        self.days = days
        self.end = MONTH_START + days * DAY
        self.net = net
        self.rng = random.Random(f"ag-detection:{seed}:{index}")
        self.events = []
        self.seq = 0
        self.logins = 0
        self.password_changes = 0
        self.legit_messages = 0
        self.legit_recipients = 0
        self.abusive_messages = 0
        self.abusive_recipients = 0
        self.theft_time = None
        self.first_abuse = None
        self.discovered = None
        rng = self.rng
        n_contacts = int(min(800, max(5, rng.lognormvariate(math.log(behaviour("contacts_median")), 0.9))))
        doms = ("gmail.example", "web.example", "gmx.example", DOMAIN, "outlook.example",
                "work.example")
        self.contacts = [f"k{index}x{j}@{doms[(index + j) % len(doms)]}" for j in range(n_contacts)]

    # --- event writers -------------------------------------------------------------------
    def _add(self, t, line, mark=None):
        self.seq += 1
        self.events.append((t, self.index, self.seq, line, mark))

    def login(self, t, service, ip, mark=None):
        self.logins += 1
        self._add(t, f'{{"time": {t}, "event": "login", "user": "{self.user}", '
                     f'"service": "{service}", "ip": "{ip}"}}', mark)

    def message(self, t, ip, rcpts, abusive=False):
        to = '", "'.join(rcpts)
        line = (f'{{"time": {t}, "event": "message", "user": "{self.user}", "ip": "{ip}", '
                f'"from": "{self.user}", "to": ["{to}"]}}')
        if abusive:
            self._add(t, line, ("message", len(rcpts)))
            self.abusive_messages += 1
            self.abusive_recipients += len(rcpts)
            if self.first_abuse is None or t < self.first_abuse:
                self.first_abuse = t
        else:
            self._add(t, line)
            self.legit_messages += 1
            self.legit_recipients += len(rcpts)

    def send(self, t, ip, rcpts, abusive=False):
        """A client sending: a submission login, then the message a few seconds later."""
        self.login(t, "submission", ip, ("login",) if abusive else None)
        self.message(t + 2, ip, rcpts, abusive)

    def password_change(self, t):
        self.password_changes += 1
        self._add(t, f'{{"time": {t}, "event": "password_change", "user": "{self.user}"}}')

    # --- helpers -------------------------------------------------------------------------
    def day_start(self, d):
        return MONTH_START + d * DAY - TZ_OFFSET  # local midnight of day d

    def poisson(self, lam):
        rng = self.rng
        if lam > 30:
            return max(0, int(rng.gauss(lam, math.sqrt(lam)) + 0.5))
        limit, k, p = math.exp(-lam), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k

    def sessions(self, start, end, gap):
        """Login times from start to end, gaps uniform in gap (minutes)."""
        rng = self.rng
        lo, span = gap[0] * 60, (gap[1] - gap[0]) * 60
        r = rng.random
        t = start + int(r() * gap[1] * 60)
        out = []
        while t < end:
            out.append(t)
            t += lo + int(r() * span)
        return out

    def recipients(self, n):
        rng = self.rng
        out = []
        for _ in range(n):
            if rng.random() < 0.8:  # assumption: 80% to known contacts, favourites first
                j = min(len(self.contacts) - 1, int(rng.expovariate(1.0 / max(2.0, len(self.contacts) / 8))))
                out.append(self.contacts[j])
            else:
                out.append(f"n{rng.randrange(10 ** 6)}@{rng.choice(('web.example', 'gmail.example', 'shop.example'))}")
        return out

    def n_rcpts(self):
        rng = self.rng
        n = 1
        while rng.random() < 0.4:
            n += 1
        if self.kind == "business" and rng.random() < 0.1:
            n = rng.randint(5, 40)
        return n


class Home:
    """The customer's home line: a schedule of dynamic addresses (and a /56 with IPv6)."""

    def __init__(self, acct):
        rng, net = acct.rng, acct.net
        lease = rng.choices(*BEHAVIOUR["home_lease_days"][:2])[0] * DAY
        self.v6 = rng.random() < behaviour("home_v6_share")
        self.starts, self.v4s, self.v6s = [], [], []
        t = MONTH_START - rng.randrange(lease)
        while t < acct.end:
            self.starts.append(t)
            self.v4s.append(net.isp_home_v4(rng))
            self.v6s.append(net.isp_home_v6_prefix(rng))
            t += lease
        self.net = net

    def addr(self, t, rng):
        i = max(0, bisect.bisect_right(self.starts, t) - 1)
        if self.v6 and rng.random() < 0.8:
            return self.net.isp_home_v6(self.v6s[i], rng)
        return self.v4s[i]


def generate_account(index, seed, kind, thief, days, net):
    a = Account(index, seed, kind, thief, days, net)
    rng = a.rng
    home = Home(a)
    carrier = rng.choices(CARRIER_ASNS, CARRIER_SHARES)[0]
    phone_v6 = rng.random() < 0.5

    trip = None  # list of (start, end, country) stays, plus hub connections
    if kind == "traveller":
        trip = make_trip(a)

    def location(t):
        if trip:
            for s, e, cc in trip:
                if s <= t < e:
                    return cc
        return None

    def phone_ip(t):
        local_h = ((t + TZ_OFFSET) % DAY) // HOUR
        cc = location(t)
        if cc is not None:
            if cc == HOME_CC or rng.random() < behaviour("roaming_home_routed"):
                return net.carrier(carrier, rng, phone_v6)
            return net.foreign_addr(cc, rng)
        if (local_h >= 19 or local_h < 8) and rng.random() < behaviour("phone_home_wifi"):
            return home.addr(t, rng)
        return net.carrier(carrier, rng, phone_v6)

    desktop_on_away = rng.random() < behaviour("desktop_on_while_away")

    def desktop_ip(t):
        if location(t) is not None and not desktop_on_away:
            return None
        return home.addr(t, rng)

    office_ip = net.business_v4(rng)
    vpn_exits = []
    if kind == "business":
        for k in range(rng.choices((1, 2, 3), (0.6, 0.3, 0.1))[0]):  # exits: assumption
            cc = HOME_CC if (k == 0 and rng.random() < 0.7) else rng.choice(("NL", "GB", "US", "CH", "FR", "DE"))
            vpn_exits.append(net.hosting_addr(rng, cc))

    has_desktop = kind in ("home", "business") or (kind in ("phone", "traveller", "newsletter") and rng.random() < 0.7)
    has_phone = kind in ("phone", "traveller", "newsletter", "business") or (kind == "gmail" and rng.random() < 0.3)
    uses_webmail = kind == "webmail" or rng.random() < 0.3
    senders = []  # functions t -> ip or None: the devices a message can be sent from

    for d in range(days):
        ds = a.day_start(d)
        weekday = (d % 7) < 5
        # Desktop: morning and evening sessions (business: the office on workdays)
        if has_desktop:
            if kind == "business":
                if weekday:
                    for t in a.sessions(ds + 8 * HOUR, ds + 18 * HOUR, behaviour("desktop_gap_min")):
                        a.login(t, "imap", office_ip)
            else:
                for lo, hi in ((7, 9), (18, 23)):
                    if rng.random() < 0.8:
                        for t in a.sessions(ds + lo * HOUR, ds + hi * HOUR, behaviour("desktop_gap_min")):
                            ip = desktop_ip(t)
                            if ip:
                                a.login(t, "imap", ip)
        if has_phone:
            for t in a.sessions(ds + 7 * HOUR, ds + 24 * HOUR, behaviour("phone_gap_min")):
                a.login(t, "imap", phone_ip(t))
        if kind == "business" and vpn_exits and rng.random() < 0.5:  # staff working from home
            for t in a.sessions(ds + 8 * HOUR, ds + 20 * HOUR, (60, 180)):
                a.login(t, "imap", rng.choice(vpn_exits))
        if kind == "gmail":
            service = "pop3" if (index % 10) < 7 else "imap"
            for t in a.sessions(ds, ds + DAY, behaviour("gmail_gap_min")):
                a.login(t, service, net.google_addr(rng))
        if uses_webmail:
            for _ in range(rng.randint(*behaviour("webmail_logins_per_day")) if kind == "webmail"
                           else (1 if rng.random() < 0.15 else 0)):
                t0 = ds + rng.randrange(7 * HOUR, 23 * HOUR)
                for k in range(rng.randint(2, 6)):
                    a.login(t0 + k * rng.randrange(5, 120), "imap", net.webmail(rng))

        # Messages
        lam = behaviour("msgs_per_day")[kind]
        if kind == "business" and not weekday:
            lam = 1.0
        for _ in range(a.poisson(lam)):
            if kind == "business" and weekday:
                t = ds + rng.randrange(8 * HOUR, 18 * HOUR)
                r = rng.random()
                ip = office_ip if r < 0.7 else (rng.choice(vpn_exits) if r < 0.85 else phone_ip(t))
            else:
                t = ds + rng.randrange(7 * HOUR, 23 * HOUR)
                ip = None
                choices = []
                if kind == "webmail" or (uses_webmail and rng.random() < 0.2):
                    ip = net.webmail(rng)
                elif kind == "gmail":
                    ip = net.google_addr(rng)
                else:
                    if has_desktop:
                        choices.append(desktop_ip)
                    if has_phone:
                        choices.append(phone_ip)
                    if kind == "business":
                        choices.append(lambda t: office_ip)
                    for f in rng.sample(choices, len(choices)):
                        ip = f(t)
                        if ip:
                            break
                if ip is None:
                    ip = net.webmail(rng)
            a.send(t, ip, a.recipients(a.n_rcpts()))
        if kind == "newsletter" and d % 7 == index % 7:
            newsletter(a, ds, home if has_desktop else None, phone_ip)
        if kind == "business" and weekday and rng.random() < 0.03:  # a customer mailing
            t = ds + rng.randrange(9 * HOUR, 17 * HOUR)
            n = rng.randint(100, 400)  # assumption
            rc = [f"m{index}x{j}@cust.example" for j in range(n)]
            for k in range(0, n, 50):
                a.send(t + k * 6, office_ip, rc[k:k + 50])

    routine = None
    if rng.random() < behaviour("routine_password_change"):
        routine = MONTH_START + rng.randrange(days * DAY)
    if thief:
        THIEVES[thief](a, routine)
    elif routine is not None:
        a.password_change(routine)
    return a


def make_trip(a):
    rng = a.rng
    lo, hi = behaviour("trip_days")
    length = rng.randint(lo, hi)
    start_day = rng.randrange(0, max(1, a.days - length))
    ncc = rng.choices(*BEHAVIOUR["trip_countries"][:2])[0]
    names = [c for c, _ in TRAVEL_COUNTRIES]
    weights = [w for _, w in TRAVEL_COUNTRIES]
    ccs = []
    while len(ccs) < ncc:
        c = rng.choices(names, weights)[0]
        if c not in ccs:
            ccs.append(c)
    t = a.day_start(start_day) + rng.randrange(6 * HOUR, 14 * HOUR)
    end = t + length * DAY
    stays = []
    per = (end - t) // ncc
    for i, cc in enumerate(ccs):
        if rng.random() < behaviour("hub_connection"):  # the connection before this stay
            hub = rng.choice([h for h in HUB_COUNTRIES if h != cc])
            stays.append((t, t + 2 * HOUR, hub))
            t += 2 * HOUR
        stays.append((t, t + per, cc))
        t += per
    return stays


def newsletter(a, ds, home, phone_ip):
    rng = a.rng
    lo, hi, med = behaviour("newsletter_list")
    if not hasattr(a, "newsletter_list"):
        n = int(min(hi, max(lo, rng.lognormvariate(math.log(med), 0.7))))
        a.newsletter_list = [f"l{a.index}x{j}@club.example" for j in range(n)]
        a.newsletter_batch = rng.choice((50, 100, 100, 250, n))  # Bcc batch, or all in one
    t = ds + rng.randrange(18 * HOUR, 22 * HOUR)
    ip = home.addr(t, rng) if home else phone_ip(t)
    lst, b = a.newsletter_list, a.newsletter_batch
    for k in range(0, len(lst), b):
        a.send(t + (k // b) * rng.randrange(20, 120), ip, lst[k:k + b])


# --- thieves ---------------------------------------------------------------------------------

def _spam_rcpts(rng, n):
    r = rng.random
    return [f"s{int(r() * 1e8)}@d{int(r() * 1000)}.example" for _ in range(n)]


def _start(a, latest_day):
    # the theft: uniform over the month, leaving room for the campaign (assumption)
    return MONTH_START + a.rng.randrange(HOUR, max(2 * HOUR, latest_day * DAY))


def _end(a, t, routine):
    """The thief's access ends at discovery (a password change) or at the customer's routine
    password change, whichever is first; the month's end otherwise."""
    if routine is not None and routine > (a.theft_time or 0) and routine < t:
        t = routine
    if routine is not None and routine != t:
        a.password_change(routine)  # before the theft, or after the thief's end
    if t < a.end:
        a.discovered = t
        a.password_change(t)
        return t
    return a.end


def _check(a, t):
    a.theft_time = t
    a.login(t, a.rng.choice(("imap", "submission")), a.net.bot_addr(a.rng), ("login",))


def thief_checker(a, routine):
    _check(a, _start(a, a.days))
    if routine is not None:
        a.password_change(routine)


def thief_botnet(a, routine):
    rng = a.rng
    t0 = _start(a, a.days - 3)
    _check(a, t0)
    t = t0 + rng.randrange(*[h * HOUR for h in behaviour("check_to_abuse_h")])
    end = _end(a, t + rng.randrange(*[h * HOUR for h in behaviour("discovery_botnet_h")]), routine)
    while t < end:
        ip = a.net.bot_addr(rng)
        a.login(t, "submission", ip, ("login",))
        for k in range(rng.choices((1, 2, 3), (0.6, 0.3, 0.1))[0]):  # exits: assumption
            a.message(t + 2 + k, ip, _spam_rcpts(rng, rng.randint(20, 60)), abusive=True)
        t += rng.randrange(120, 900)


def thief_vps(a, routine):
    rng = a.rng
    t0 = _start(a, a.days - 2)
    _check(a, t0)
    ip = a.net.hosting_addr(rng)
    t = t0 + rng.randrange(*[h * HOUR for h in behaviour("check_to_abuse_h")])
    end = _end(a, t + rng.randrange(*[h * HOUR for h in behaviour("discovery_vps_h")]), routine)
    while t < end:
        a.login(t, "submission", ip, ("login",))
        for k in range(rng.randint(5, 20)):
            a.message(t + 2 + k, ip, _spam_rcpts(rng, rng.randint(10, 50)), abusive=True)
        t += rng.randrange(300, 1800)


def thief_slow(a, routine):
    rng = a.rng
    t0 = _start(a, a.days - 3)
    _check(a, t0)
    ip = (a.net.other_home_addr(rng) if rng.random() < behaviour("slow_residential")
          else a.net.hosting_addr(rng))
    t = t0 + rng.randrange(*[h * HOUR for h in behaviour("check_to_abuse_h")])
    end = _end(a, t + rng.randrange(*[d * DAY for d in behaviour("discovery_slow_d")]), routine)
    hour = t - t % HOUR
    while hour < end:
        local_h = ((hour + TZ_OFFSET) % DAY) // HOUR
        if 8 <= local_h < 22:
            for _ in range(rng.randint(0, 6)):
                m = hour + rng.randrange(HOUR)
                if t <= m < end:
                    a.send(m, ip, _spam_rcpts(rng, rng.randint(1, 10)), abusive=True)
        hour += HOUR


def thief_hijacker(a, routine):
    rng = a.rng
    # a weekday, office hours of the hijacker (in UTC: roughly those of its five countries)
    while True:
        t = _start(a, a.days - 2)
        day = (t - MONTH_START) // DAY
        if day % 7 < 5:
            break
    lo, hi = behaviour("hijacker_hours")
    t = MONTH_START + day * DAY + rng.randrange(lo * HOUR, hi * HOUR)
    a.theft_time = t
    ip = (a.net.hosting_addr(rng, rng.choice(("DE", "NL", "CH"))) if rng.random() < behaviour("hijacker_vpn")
          else a.net.foreign_addr(rng.choice(HIJACKER_COUNTRIES), rng))
    minutes = rng.randint(*behaviour("hijacker_minutes"))
    for k in range(0, minutes, 4):
        a.login(t + k * 60, "imap", ip, ("login",))
    t += minutes * 60
    book = list(a.contacts)
    bursts = [t]
    if rng.random() < behaviour("hijacker_second_burst"):
        bursts.append(t + rng.randrange(HOUR, 30 * HOUR))
    end = _end(a, bursts[-1] + rng.randrange(*[h * HOUR for h in behaviour("discovery_hijacker_h")]), routine)
    for b in bursts:
        if b >= end:
            break
        size = rng.randint(10, 50)  # recipients per message (webmail/Bcc): assumption
        for k in range(0, len(book), size):
            a.send(b + k * 3, ip, book[k:k + size], abusive=True)


THIEVES = {"checker": thief_checker, "botnet": thief_botnet, "vps": thief_vps,
           "slow": thief_slow, "hijacker": thief_hijacker}


def assign_kinds(seed, accounts):
    """The kind and thief kind of every account, drawn in order from one Random(seed)."""
    rng = random.Random(f"ag-detection-kinds:{seed}")
    names = list(CUSTOMER_KINDS)
    weights = [CUSTOMER_KINDS[k][0] for k in names]
    tnames = list(THIEF_KINDS)
    tweights = [THIEF_KINDS[k][0] for k in tnames]
    out = []
    for _ in range(accounts):
        kind = rng.choices(names, weights)[0]
        thief = rng.choices(tnames, tweights)[0] if rng.random() < THIEF_SHARE else None
        out.append((kind, thief))
    return out

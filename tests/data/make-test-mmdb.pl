#!/usr/bin/perl
# Writes the small GeoIP test databases (country, ASN and city, MaxMind DB format) that the
# unit and integration tests use, so that no binary of unknown origin lives in the repository.
# Usage: make-test-mmdb.pl [--city CITY.mmdb] COUNTRY.mmdb ASN.mmdb [VARIANT]
# VARIANT "moved" maps 192.0.2.0/24 to AT (Vienna) instead of DE (Berlin): the tests replace
# the file with it to prove a running process switches to a new database.
use strict;
use warnings;
use Getopt::Long;
use MaxMind::DB::Writer::Tree;

my $city_out;
GetOptions('city=s' => \$city_out) or die "usage: $0 [--city CITY.mmdb] COUNTRY.mmdb ASN.mmdb [moved]\n";
my ($country_out, $asn_out, $variant) = @ARGV;
die "usage: $0 [--city CITY.mmdb] COUNTRY.mmdb ASN.mmdb [moved]\n" unless $country_out && $asn_out;
$variant //= '';

# Documentation and benchmark ranges only; never real client networks.
my @networks = (
	['192.0.2.0/24',    $variant eq 'moved' ? 'AT' : 'DE', 64496],
	['198.51.100.0/24', 'FR', 64497],
	['203.0.113.0/24',  'BR', 64498],
	['198.18.0.0/15',   'US', 64499], # many /24s of one ASN: exempt-ASN tests
	['100.64.0.0/10',   'NL', 64500], # a carrier NAT pool: NAT-ASN tests
	['233.252.0.0/24',  'IT', 64502],
	['2001:db8::/32',   'JP', 64501],
	['192.31.196.0/24', 'AU', 64503], # AS112's anycast sink, never a client: the city tests
);

# The city database: real places, so that tests compute real distances (Berlin - Paris is
# 878 km). Networks may be finer than the country database's, with the same countries.
# Fields as GeoLite2-City's: location.{latitude, longitude, accuracy_radius} (km, MaxMind's
# 67% confidence circle), city.names.en. A place of undef has no location at all; a radius
# of undef is left out of the record.
my @cities = (
	$variant eq 'moved' ? ['192.0.2.0/24', 'AT', 'Vienna', 48.2082, 16.3738, 20]
			    : ['192.0.2.0/24', 'DE', 'Berlin', 52.5200, 13.4050, 20],
	['198.51.100.0/24', 'FR', 'Paris',     48.8566,   2.3522,  10],
	['203.0.113.0/24',  'BR', 'Sao Paulo', -23.5505, -46.6333, 50],
	['198.18.0.0/16',   'US', 'New York',  40.7128, -74.0060,  5],
	['198.19.0.0/17',   'US', 'Chicago',   41.8781, -87.6298,  undef],
	['198.19.128.0/17', 'US', undef],
	['100.64.0.0/10',   'NL', 'Amsterdam', 52.3676,   4.9041, 100],
	# Placed only to the country, as MaxMind places many networks: its middle, 1000 km.
	['233.252.0.0/24',  'IT', undef,       42.5000,  12.5000, 1000],
	['2001:db8::/32',   'JP', 'Tokyo',     35.6762, 139.6503, 50],
	['192.31.196.0/24', 'AU', 'Sydney',   -33.8688, 151.2093, 20],
);

my %types = (
	country => 'map',
	iso_code => 'utf8_string',
	autonomous_system_number => 'uint32',
	autonomous_system_organization => 'utf8_string',
	city => 'map',
	names => 'map',
	en => 'utf8_string',
	location => 'map',
	latitude => 'double',
	longitude => 'double',
	accuracy_radius => 'uint16',
);

sub tree {
	my ($type) = @_;
	return MaxMind::DB::Writer::Tree->new(
		ip_version => 6,
		record_size => 24,
		database_type => $type,
		languages => ['en'],
		description => { en => "dovecot-account-guard test $type" },
		map_key_type_callback => sub { $types{ $_[0] } },
		# Keep the documentation ranges the tests use (they are "reserved").
		remove_reserved_networks => 0,
		alias_ipv6_to_ipv4 => 1,
	);
}

my $country = tree('GeoLite2-Country');
my $asn = tree('GeoLite2-ASN');
for my $n (@networks) {
	my ($net, $cc, $as) = @$n;
	$country->insert_network($net, { country => { iso_code => $cc } });
	$asn->insert_network($net, { autonomous_system_number => $as,
				     autonomous_system_organization => "Test AS$as" });
}

my @outputs = ([$country, $country_out], [$asn, $asn_out]);
if ($city_out) {
	my $city = tree('GeoLite2-City');
	for my $c (@cities) {
		my ($net, $cc, $name, $lat, $lon, $radius) = @$c;
		my %record = (country => { iso_code => $cc });
		$record{city} = { names => { en => $name } } if defined $name;
		if (defined $lat) {
			$record{location} = { latitude => $lat, longitude => $lon };
			$record{location}{accuracy_radius} = $radius if defined $radius;
		}
		$city->insert_network($net, \%record);
	}
	push @outputs, [$city, $city_out];
}

for (@outputs) {
	my ($t, $path) = @$_;
	my $tmp = "$path.tmp.$$";
	open(my $fh, '>:raw', $tmp) or die "$tmp: $!\n";
	$t->write_tree($fh);
	close($fh) or die "$tmp: $!\n";
	rename($tmp, $path) or die "$path: $!\n";
}

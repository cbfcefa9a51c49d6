#!/usr/bin/perl
# Writes the small GeoIP test databases (country and ASN, MaxMind DB format) that the unit and
# integration tests use, so that no binary of unknown origin lives in the repository.
# Usage: make-test-mmdb.pl COUNTRY.mmdb ASN.mmdb [VARIANT]
# VARIANT "moved" maps 192.0.2.0/24 to AT instead of DE: the tests replace the file with it
# to prove a running process switches to a new database.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my ($country_out, $asn_out, $variant) = @ARGV;
die "usage: $0 COUNTRY.mmdb ASN.mmdb [moved]\n" unless $country_out && $asn_out;
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
);

my %types = (
	country => 'map',
	iso_code => 'utf8_string',
	autonomous_system_number => 'uint32',
	autonomous_system_organization => 'utf8_string',
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

for ([$country, $country_out], [$asn, $asn_out]) {
	my ($t, $path) = @$_;
	my $tmp = "$path.tmp.$$";
	open(my $fh, '>:raw', $tmp) or die "$tmp: $!\n";
	$t->write_tree($fh);
	close($fh) or die "$tmp: $!\n";
	rename($tmp, $path) or die "$path: $!\n";
}

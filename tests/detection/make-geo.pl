#!/usr/bin/perl
# Writes the MaxMind-format country and ASN databases of the simulated Internet of the
# detection evaluation (tests/detection/generate.py writes the network list).
# Usage: make-geo.pl NETWORKS.tsv COUNTRY.mmdb ASN.mmdb
# NETWORKS.tsv: one network a line, tab-separated: CIDR, ISO country code, AS number, AS name.
# The database types are those of MaxMind's free databases (GeoLite2-Country, GeoLite2-ASN),
# as in tests/data/make-test-mmdb.pl, so that the engine accepts them.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my ($list, $country_out, $asn_out) = @ARGV;
die "usage: $0 NETWORKS.tsv COUNTRY.mmdb ASN.mmdb\n" unless $list && $country_out && $asn_out;

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
		description => { en => "dovecot-account-guard detection evaluation $type" },
		map_key_type_callback => sub { $types{ $_[0] } },
		remove_reserved_networks => 0,
		alias_ipv6_to_ipv4 => 1,
	);
}

my $country = tree('GeoLite2-Country');
my $asn = tree('GeoLite2-ASN');
open(my $in, '<', $list) or die "$list: $!\n";
while (my $line = <$in>) {
	chomp $line;
	next if $line eq '' || $line =~ /^#/;
	my ($net, $cc, $as, $org) = split /\t/, $line;
	die "$list:$.: bad line\n" unless defined $org;
	$country->insert_network($net, { country => { iso_code => $cc } });
	$asn->insert_network($net, { autonomous_system_number => $as,
				     autonomous_system_organization => $org });
}
close($in);

for ([$country, $country_out], [$asn, $asn_out]) {
	my ($t, $path) = @$_;
	my $tmp = "$path.tmp.$$";
	open(my $fh, '>:raw', $tmp) or die "$tmp: $!\n";
	$t->write_tree($fh);
	close($fh) or die "$tmp: $!\n";
	rename($tmp, $path) or die "$path: $!\n";
}

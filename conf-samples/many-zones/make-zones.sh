#!/bin/sh
# Write zones.conf: 1,000 secondary zones for many-zones/named.conf.
#   ./make-zones.sh > zones.conf
# A fleet would generate this from its inventory, or use a catalog zone.
set -eu
count=${1:-1000}
echo "// $count secondary zones, included by named.conf; made by make-zones.sh."
echo "// Every zone uses the named primaries list 'fleet' and the options' directory."
i=1
while [ "$i" -le "$count" ]; do
	name=$(printf 'customer-%04d.example' "$i")
	printf 'zone "%s" { type secondary; file "%s.db"; primaries { fleet; }; };\n' "$name" "$name"
	i=$((i + 1))
done

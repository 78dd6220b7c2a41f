#!/bin/sh
# gen-node.sh N: a libvirt test-driver node XML with N domains on stdout:
# most running with a fixed vsock CID, every 10th without vsock, every 7th
# shut off.  For bench/run.sh (guest list against virsh list --all).
n=${1:?N}
awk -v n="$n" 'BEGIN {
	print "<node xmlns:test=\"http://libvirt.org/schemas/domain/test/1.0\">"
	for (i = 1; i <= n; i++) {
		printf "<domain type=\"test\"><name>vm%05d</name>", i
		printf "<uuid>%08x-0000-4000-8000-%012x</uuid>", i, i
		printf "<memory>65536</memory><os><type>hvm</type></os>"
		if (i % 10 != 0)
			printf "<devices><vsock model=\"virtio\"><cid auto=\"no\" address=\"%d\"/></vsock></devices>", i + 2
		if (i % 7 == 0)
			printf "<test:runstate>5</test:runstate>"
		print "</domain>"
	}
	print "</node>"
}'

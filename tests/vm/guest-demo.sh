# The demo, run inside the nested guest by scripts/demo.sh: the agent on
# vsock, then guest vsh, guest socat, guest socat-listen, guest console and
# guest cp over real AF_VSOCK (loopback transport: CID 1 is this machine).
step() { printf '\n$ %s\n' "$*"; }
echo "== inside a QEMU guest: $(uname -sr), vsock CID 1 by loopback"
echo "== the owner's public key came in as an SMBIOS type 11 credential (QEMU -smbios)"
step "guest-agent --listen vsock:9001 --allow-cid 1 &"
guest-agent --listen vsock:9001 --allow-cid 1 2>/tmp/agent.log &
# (It makes its host key first: under TCG that takes a moment.)
i=0
while [ $i -lt 100 ] && ! grep -q 'listening on' /tmp/agent.log; do
	sleep 0.1
	i=$((i + 1))
done
cat /tmp/agent.log
step "guest vsh 0 1 -- uname -a   (signed with ~/.ssh/id_ed25519; the agent's key is pinned on first use)"
guest vsh 0 1 -- uname -a
step "guest -i /test/stranger vsh 0 1 -- true   (a key the guest does not trust)"
guest -i /test/stranger vsh 0 1 -- true; echo "status $?"
step "guest info 0 1"
guest info 0 1
step "guest vsh 0 1 -- sh -c 'echo out; echo err >&2; exit 3'; echo status \$?"
guest vsh 0 1 -- sh -c 'echo out; echo err >&2; exit 3'; echo "status $?"
step "printf 'a\\nb\\n' | guest vsh 0 1 -- wc -l"
printf 'a\nb\n' | guest vsh 0 1 -- wc -l
step "ptyrun 30 100 guest vsh 0 1 -t -- stty size   (a PTY, the window size follows)"
ptyrun 30 100 guest vsh 0 1 -t -- stty size | tr -d '\r'
step "guest vsh 0 1 7777 -- true   (nothing on that port)"
guest vsh 0 1 7777 -- true; echo "status $?"
step "guest vsh 0 7 -- true   (no such CID)"
guest vsh 0 7 -- true; echo "status $?"
step "socat VSOCK-LISTEN:7000 SYSTEM:'wc -c' &  then  head -c 1M /dev/urandom | guest socat 0 1 7000"
socat VSOCK-LISTEN:7000 SYSTEM:'wc -c' &
sleep 0.3
head -c 1048576 /dev/urandom | guest socat 0 1 7000
step "guest socat-listen 0 7001 -v > /tmp/copy &  then  socat -u FILE:/tmp/orig VSOCK-CONNECT:2:7001"
head -c 1048576 /dev/urandom >/tmp/orig
(sleep 3 | guest socat-listen 0 7001 -v >/tmp/copy) &
L=$!
sleep 0.3
socat -u FILE:/tmp/orig VSOCK-CONNECT:2:7001
wait $L
cmp /tmp/orig /tmp/copy && echo "/tmp/copy is byte-identical to /tmp/orig"
step "echo 'uname -r; echo set > /tmp/mark' | guest console 0 1   (types a line into the console and detaches)"
echo 'uname -r; echo set > /tmp/mark' | guest console 0 1 --no-history
sleep 1
step "guest console 0 1 --log   (what the console printed while nobody was attached)"
guest console 0 1 --log | tr -d '\r'
echo
step "cp: guest cp /tmp/orig 1:/tmp/pushed && guest cp 1:/tmp/pushed /tmp/back"
guest cp -q /tmp/orig 1:/tmp/pushed && guest cp -q 1:/tmp/pushed /tmp/back
cmp /tmp/orig /tmp/back && echo "/tmp/back is byte-identical (checked with XXH3-128 on the way)"
echo
echo "== demo done"

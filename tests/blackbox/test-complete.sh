# guest completion: the bash script driven as bash drives it at a Tab
# (COMP_LINE, COMP_POINT, COMP_WORDS, then _guest and its COMPREPLY), the
# same function under zsh's bashcompinit, and guest __complete itself:
# commands, options, subcommands, environments and guests from the
# inventory (libvirt's test driver, refreshed once by guest list), local
# paths, GUEST: and ENV/GUEST: for guest cp.
. "$(dirname "$0")/lib.sh"
cp "$(dirname "$0")/../inventory/node.xml" "$T/node.xml"
"$GUEST" env add "test://$T/node.xml" --name lab >/dev/null
"$GUEST" list lab >/dev/null
mkdir -p "$T/files/sub"
: >"$T/files/alpha.img"
: >"$T/files/sub/beta"

# bash LINE: what Tab at the end of LINE offers, sorted, space-separated.
bash_tab() {
	(cd "$T/files" && bash --norc --noprofile -c '
		eval "$("$1" completion bash)"
		COMP_WORDBREAKS=$'"'"' \t\n"'"'"'"'"'"'"'"'"'><=;|&(:'"'"'
		COMP_LINE=$2 COMP_POINT=${#2}
		read -ra COMP_WORDS <<<"$2"
		[[ $2 == *" " ]] && COMP_WORDS+=("")
		COMP_WORDS[0]=$1 COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_guest
		printf "%s\n" "${COMPREPLY[@]}"' _ "$GUEST" "$1") |
	    sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//'
}
tab() { expect_eq "Tab after '$1'" "$2" "$(bash_tab "$1")"; }

tab "guest " "balloon balloon-stats completion console cp env forget help info launch list serial socat socat-listen stop vsh"
tab "guest so" "socat socat-listen"
tab "guest --inv" "--inventory"
tab "guest -" "--connect --connect-timeout --help --identity --inventory --verbose --version"
tab "guest serial --" "--device --force --help --idle"
tab "guest vsh -" "--args --dry-run --env --help --user --workdir"
tab "guest vsh " "db1 lab off1 plain web1"
tab "guest vsh w" "web1"
tab "guest vsh lab " "db1 off1 plain web1"
tab "guest vsh lab web1 " ""
tab "guest vsh -u root we" "web1"
tab "guest vsh web1 -- " ""
tab "guest stop --timeout " ""
tab "guest env " "add list remove"
tab "guest env remove " "lab"
tab "guest env add --" "--help --name --transport"
tab "guest help ba" "balloon balloon-stats"
tab "guest list " "lab"
tab "guest cp " "alpha.img db1: lab/ off1: plain: sub web1:"
tab "guest cp al" "alpha.img"
tab "guest cp su" "sub"
tab "guest cp we" "web1:"
tab "guest cp lab/" "lab/db1: lab/off1: lab/plain: lab/web1:"
tab "guest cp web1:/tm" ""
tab "guest cp -- al" "alpha.img"
tab "guest cp -r -- -" ""
tab "guest launch lab al" "alpha.img"
tab "guest launch --initrd al" "alpha.img"
tab "guest --inventory $T/none.db vsh " "0"
tab "guest nosuch " ""
tab "guest completion " ""
# A real Tab in an interactive bash (tmux): the word is completed on the
# line, and GUEST: is left open for the path.
mkdir -p "$T/bin"
ln -s "$GUEST" "$T/bin/guest"
TM="tmux -L guest-complete-$$ -f /dev/null"
$TM new-session -d -x 150 -y 20 "cd '$T/files' && env -i TERM=screen HOME='$T' PATH='$T/bin:$PATH' GUEST_INVENTORY='$GUEST_INVENTORY' PS1='$ ' bash --norc --noprofile"
$TM send-keys 'eval "$(guest completion bash)"' Enter
# (Typed as a guest command, then made an echo of itself: C-a, C-e.)
$TM send-keys 'guest cp lab/we' Tab
$TM send-keys C-a 'echo [' C-e 'x]' Enter
$TM send-keys 'guest vsh lab pl' Tab
$TM send-keys C-a 'echo [' C-e 'x]' Enter
for w in $(seq 1 50); do
	[ "$($TM capture-pane -p | grep -c '^\[guest')" = 2 ] && break
	sleep 0.1
done
expect_eq "a real Tab in bash completes on the line" \
    "[guest cp lab/web1:x] [guest vsh lab plain x]" \
    "$($TM capture-pane -p | grep '^\[guest' | tr '\n' ' ' | sed 's/ $//')"
$TM kill-server

# A hidden command is not offered, and --help does not list it.
case $("$GUEST" --help) in *__complete*) fail "--help lists __complete" ;;
*) pass "--help does not list __complete" ;; esac

# zsh: the same function through bashcompinit.
if command -v zsh >/dev/null; then
	out=$(cd "$T/files" && zsh -f -c '
		eval "$("$1" completion zsh)" 2>/dev/null
		COMP_LINE=$2 COMP_POINT=${#2} COMP_WORDS=("$1")
		_guest
		print -l -- "${COMPREPLY[@]}"' _ "$GUEST" "guest vsh lab w" 2>&1)
	expect_eq "zsh: Tab after 'guest vsh lab w'" "web1" "$out"
else
	fail "zsh is missing (scripts/deps.sh test installs it)"
fi

# guest __complete, and bad input: one line, nothing else.
out=$("$GUEST" __complete "guest cp lab/w")
expect_eq "__complete: flags, the word, the candidates" \
    "f =lab/w lab/web1:" "$(printf '%s\n' "$out" | tr '\n' ' ' | sed 's/ $//')"
out=$("$GUEST" __complete "guest vsh 'we" 2>&1); rc=$?
expect_eq "an open quote: status" 0 "$rc"
expect_in "an open quote: the word without it" "=we" "$out"
out=$("$GUEST" __complete "$(printf 'x %.0s' $(seq 1 400))" 2>&1); rc=$?
expect_eq "400 words: status" 0 "$rc"
expect_eq "400 words: nothing offered" "- =" "$(printf '%s\n' "$out" | tr '\n' ' ' | sed 's/ $//')"
out=$("$GUEST" completion fish 2>&1); rc=$?
expect_eq "completion fish: status" 2 "$rc"
expect_eq "completion fish: one line" "guest: completion: no completion for 'fish' (bash or zsh)" "$out"
finish

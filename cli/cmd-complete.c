/*
 * guest completion bash|zsh: the shell's completion script, and the hidden
 * guest __complete LINE that it calls at each Tab.  Everything it offers
 * comes from the command table (commands, their long options, what their
 * operands are) and from the inventory, opened read-only and without
 * libvirt: so it never drifts from the code, and a Tab costs one start of
 * guest.
 *
 * __complete prints a line of flags ("f": the shell adds local file names
 * too; "-": nothing more), the word being completed after "=", then one
 * candidate a line.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"
#include "guest/inventory.h"

#define MAX_WORDS	256

struct line {
	char	*w[MAX_WORDS];
	int	 n;		/* words before the one being completed */
	char	*cur;		/* the word being completed (may be "") */
	bool	 over;		/* more words than MAX_WORDS */
};

static FILE *cand;	/* the candidates, printed after the flags */

/* Split the line up to the cursor as the shell would for simple words:
 * blanks part them, quotes and backslashes keep what they hold. */
static void
split(const char *s, struct line *l, char *buf)
{
	char *o = buf, q = 0;
	bool in = false;

	l->n = 0;
	l->cur = NULL;
	l->over = false;
	for (; *s != '\0'; s++) {
		if (q == 0 && isspace((unsigned char)*s)) {
			if (in) {
				*o++ = '\0';
				in = false;
				if (l->n < MAX_WORDS - 1)
					l->n++;
				else
					l->over = true;
			}
			continue;
		}
		if (!in) {
			l->w[l->n] = o;
			in = true;
		}
		if (q == 0 && (*s == '\'' || *s == '"'))
			q = *s;
		else if (q != 0 && *s == q)
			q = 0;
		else if (*s == '\\' && q != '\'' && s[1] != '\0')
			*o++ = *++s;
		else
			*o++ = *s;
	}
	*o++ = '\0';
	l->cur = in ? l->w[l->n] : o - 1;
}

static void
offer(const char *cur, const char *word, const char *suffix)
{
	if (word != NULL && strncmp(word, cur, strlen(cur)) == 0)
		fprintf(cand, "%s%s\n", word, suffix);
}

static const struct option *
find_long(const struct option *o, const char *name, size_t len)
{
	for (; o != NULL && o->name != NULL; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static const struct option *
find_short(const struct option *o, char c)
{
	for (; o != NULL && o->name != NULL; o++)
		if (o->val == c)
			return o;
	return NULL;
}

/* Does option word w (with no "=VALUE") take the next word as its value? */
static const struct option *
takes_value(const struct option *opts, const char *w)
{
	const struct option *o;

	if (strncmp(w, "--", 2) == 0) {
		if (strchr(w, '=') != NULL)
			return NULL;
		o = find_long(opts, w + 2, strlen(w + 2));
	} else if (w[0] == '-' && w[1] != '\0' && w[2] == '\0')
		o = find_short(opts, w[1]);
	else
		return NULL;
	return o != NULL && o->has_arg == required_argument ? o : NULL;
}

static void
offer_options(const char *cur, const struct option *o)
{
	char name[64];

	if (o == NULL) {
		offer(cur, "--help", "");
		return;
	}
	/* (An option's value comes as the next word: "--name", not "--name=".) */
	for (; o->name != NULL; o++) {
		snprintf(name, sizeof name, "--%s", o->name);
		offer(cur, name, "");
	}
}

/* The inventory, read-only; NULL when there is none yet. */
struct inv {
	struct guest_inventory	*inv;
	struct guest_env	*envs;
	size_t			 n;
};

static void
inv_open(struct inv *v, const char *override)
{
	struct guest_error e = { 0 };
	char path[4096];

	memset(v, 0, sizeof *v);
	if (guest_inventory_path(override, path, sizeof path, &e) == 0 &&
	    guest_inventory_open(path, GUEST_INV_READONLY, &v->inv, &e) < 0)
		v->inv = NULL;
	if (guest_inventory_envs(v->inv, &v->envs, &v->n, &e) < 0)
		v->n = 0;
}

static void
inv_close(struct inv *v)
{
	guest_env_list_free(v->envs, v->n);
	if (v->inv != NULL)
		guest_inventory_close(v->inv);
}

static void
offer_envs(struct inv *v, const char *cur, const char *suffix)
{
	char num[16];
	size_t i;

	for (i = 0; i < v->n; i++) {
		snprintf(num, sizeof num, "%u", v->envs[i].id);
		offer(cur, v->envs[i].name != NULL ? v->envs[i].name : num,
		    suffix);
	}
}

static void
offer_guests(struct inv *v, const struct guest_env *env, const char *cur,
    const char *prefix, const char *suffix)
{
	struct guest_record *g = NULL;
	struct guest_error e = { 0 };
	char word[512];
	size_t n = 0, i;

	if (v->inv == NULL || env == NULL ||
	    guest_inventory_guests(v->inv, env->id, &g, &n, &e) < 0)
		return;
	for (i = 0; i < n; i++) {
		snprintf(word, sizeof word, "%s%s", prefix, g[i].vm.name);
		offer(cur, word, suffix);
	}
	guest_record_list_free(g, n);
}

static const struct guest_env *
env_of(struct inv *v, const char *spec)
{
	return spec != NULL ? guest_env_find(v->envs, v->n, spec) :
	    guest_env_find(v->envs, v->n, "0");
}

/* guest cp's operands: local paths (the shell's), GUEST: and ENV/GUEST:. */
static const char *
complete_cp(struct inv *v, const char *cur)
{
	const struct guest_env *env;
	const char *slash = strchr(cur, '/'), *colon = strchr(cur, ':');
	char env_name[256];

	if (colon != NULL && (slash == NULL || colon < slash))
		return "-";	/* a path in the guest: not ours to list */
	if (slash != NULL) {
		snprintf(env_name, sizeof env_name, "%.*s",
		    (int)(slash - cur), cur);
		if ((env = env_of(v, env_name)) != NULL) {
			snprintf(env_name, sizeof env_name, "%.*s/",
			    (int)(slash - cur), cur);
			offer_guests(v, env, cur, env_name, ":");
		}
		return "f";
	}
	offer_guests(v, env_of(v, NULL), cur, "", ":");
	offer_envs(v, cur, "/");
	return "f";
}

/* The k-th operand (0-based) of a command whose operands are ops. */
static const char *
complete_operand(struct inv *v, const char *ops, char **done, int k,
    const char *cur)
{
	const struct guest_env *env;

	if (ops == NULL)
		return "-";
	if (strcmp(ops, "cp") == 0)
		return complete_cp(v, cur);
	if (strcmp(ops, "env") == 0) {
		if (k == 0)
			offer_envs(v, cur, "");
		return "-";
	}
	if (strcmp(ops, "image") == 0) {
		if (k == 0)
			offer_envs(v, cur, "");
		return k == 0 || (k == 1 && env_of(v, done[0]) != NULL) ?
		    "f" : "-";
	}
	/* target: [ENV] GUEST [PORT] */
	if (k == 0) {
		offer_envs(v, cur, "");
		offer_guests(v, env_of(v, NULL), cur, "", "");
	} else if (k == 1 && (env = env_of(v, done[0])) != NULL)
		offer_guests(v, env, cur, "", "");
	return "-";
}

/* Option values that are local files. */
static bool
file_value(const struct option *o)
{
	static const char *const names[] = { "inventory", "identity",
	    "initrd", NULL };
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(o->name, names[i]) == 0)
			return true;
	return false;
}

static const char *
complete(struct line *l, const char *override_inv, struct inv *v)
{
	const struct cmd_entry *c = NULL;
	const struct cmd_sub *sub = NULL;
	const struct option *opts = cli_global_opts, *o;
	char *operands[MAX_WORDS];
	const char *inv_path = override_inv;
	bool dashdash = false;
	int i = 1, k = 0;
	size_t j;

	if (l->over)
		return "-";
	/* guest's own options, then the command. */
	for (; i < l->n && l->w[i][0] == '-'; i++) {
		if ((o = takes_value(opts, l->w[i])) != NULL &&
		    ++i < l->n && strcmp(o->name, "inventory") == 0)
			inv_path = l->w[i];
		else if (strncmp(l->w[i], "--inventory=", 12) == 0)
			inv_path = l->w[i] + 12;
	}
	if (i > l->n)	/* completing an option's value */
		return (o = takes_value(opts, l->w[l->n - 1])) != NULL &&
		    file_value(o) ? "f" : "-";
	inv_open(v, inv_path);
	if (i == l->n) {
		if (l->cur[0] == '-') {
			offer_options(l->cur, opts);
			return "-";
		}
		for (j = 0; cmd_table[j] != NULL; j++)
			if (!cmd_table[j]->hidden)
				offer(l->cur, cmd_table[j]->name, "");
		offer(l->cur, "help", "");
		return "-";
	}
	if (strcmp(l->w[i], "help") == 0) {
		if (i + 1 == l->n)
			for (j = 0; cmd_table[j] != NULL; j++)
				if (!cmd_table[j]->hidden)
					offer(l->cur, cmd_table[j]->name, "");
		return "-";
	}
	if ((c = cmd_find(l->w[i])) == NULL || c->hidden)
		return "-";
	opts = c->opts;
	/* Its options and operands up to the word being completed.  After
	 * "--" only operands follow: for a target, the command to run in
	 * the guest (not ours to complete). */
	for (i++; i < l->n; i++) {
		if (strcmp(l->w[i], "--") == 0 && !dashdash) {
			if (c->operands != NULL &&
			    strcmp(c->operands, "target") == 0)
				return "-";
			dashdash = true;
			continue;
		}
		if (!dashdash && l->w[i][0] == '-' && l->w[i][1] != '\0') {
			if (takes_value(opts, l->w[i]) != NULL && ++i == l->n)
				return file_value(takes_value(opts,
				    l->w[i - 1])) ? "f" : "-";
			continue;
		}
		if (c->subs != NULL && sub == NULL) {
			for (sub = c->subs; sub->name != NULL; sub++)
				if (strcmp(sub->name, l->w[i]) == 0)
					break;
			if (sub->name == NULL)
				return "-";
			opts = sub->opts;
			continue;
		}
		operands[k++] = l->w[i];
	}
	if (l->cur[0] == '-' && !dashdash) {
		offer_options(l->cur, opts);
		return "-";
	}
	if (c->subs != NULL && sub == NULL) {
		for (sub = c->subs; sub->name != NULL; sub++)
			offer(l->cur, sub->name, "");
		return "-";
	}
	return complete_operand(v, sub != NULL ? sub->operands : c->operands,
	    operands, k, l->cur);
}

static int
cmd_complete(struct cli *cli, const struct cmd_entry *c, int argc,
    char **argv)
{
	struct line l;
	struct inv v = { 0 };
	const char *flags;
	char *buf, *out = NULL;
	size_t len = 0;

	if (argc != 2) {
		cli_error(c, "expected the command line up to the cursor");
		return EXIT_USAGE;
	}
	if ((buf = malloc(strlen(argv[1]) + 2)) == NULL)
		return EXIT_LOCAL;
	split(argv[1], &l, buf);
	if ((cand = open_memstream(&out, &len)) == NULL) {
		free(buf);
		return EXIT_LOCAL;
	}
	flags = complete(&l, cli->inventory, &v);
	fclose(cand);
	printf("%s\n=%s\n%s", flags, l.cur, out);
	free(out);
	inv_close(&v);
	free(buf);
	return 0;
}

const struct cmd_entry cmd_complete_entry = {
	.name = "__complete",
	.usage = "LINE",
	.summary = "what the completion script calls at each Tab",
	.exec = cmd_complete,
	.hidden = true,
};

static const char bash_script[] =
"# guest's completion for bash, from 'guest completion bash'.\n"
"_guest()\n"
"{\n"
"\tlocal out=() w cur flags\n"
"\t[[ -n ${ZSH_VERSION-} ]] && emulate -L ksh\n"
"\twhile IFS= read -r w; do out+=(\"$w\"); done \\\n"
"\t    < <(command \"${COMP_WORDS[0]}\" __complete \\\n"
"\t    \"${COMP_LINE:0:$COMP_POINT}\" 2>/dev/null)\n"
"\t[[ ${#out[@]} -ge 2 ]] || return 0\n"
"\tflags=${out[0]} cur=${out[1]#=}\n"
"\tCOMPREPLY=(\"${out[@]:2}\")\n"
"\tif [[ $flags == *f* ]]; then\n"
"\t\tcompopt -o filenames 2>/dev/null\n"
"\t\twhile IFS= read -r w; do COMPREPLY+=(\"$w\"); done \\\n"
"\t\t    < <(compgen -f -- \"$cur\")\n"
"\tfi\n"
"\t# GUEST: and ENV/ go on without a space.\n"
"\tif [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *[:/] ]]; then\n"
"\t\tcompopt -o nospace 2>/dev/null\n"
"\tfi\n"
"\t# bash takes ':' as the end of a word: only what follows is replaced.\n"
"\tif [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then\n"
"\t\tw=${cur%\"${cur##*:}\"}\n"
"\t\tCOMPREPLY=(\"${COMPREPLY[@]#\"$w\"}\")\n"
"\tfi\n"
"}\n"
"complete -F _guest guest\n";

static int
cmd_completion(struct cli *cli, const struct cmd_entry *c, int argc,
    char **argv)
{
	int r;

	if ((r = cli_no_options(c, argc, argv)) >= 0)
		return r;
	if (optind + 1 != argc) {
		cmd_usage(c, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "bash") == 0)
		fputs(bash_script, stdout);
	else if (strcmp(argv[optind], "zsh") == 0)
		printf("#compdef guest\n"
		    "# guest's completion for zsh, from 'guest completion "
		    "zsh': bash's, through zsh's bashcompinit.\n"
		    "(( $+functions[compdef] )) || "
		    "{ autoload -U +X compinit && compinit -i; }\n"
		    "autoload -U +X bashcompinit && bashcompinit\n%s",
		    bash_script);
	else {
		cli_error(c, "no completion for '%s' (bash or zsh)",
		    argv[optind]);
		return EXIT_USAGE;
	}
	return 0;
}

const struct cmd_entry cmd_completion_entry = {
	.name = "completion",
	.usage = "bash | zsh",
	.summary = "Print the shell's completion script",
	.help =
	    "Commands, their options, environment and guest names (from the\n"
	    "inventory, read-only), local paths and GUEST: for guest cp.\n"
	    "bash:  eval \"$(guest completion bash)\"   (in ~/.bashrc), or\n"
	    "       guest completion bash >/etc/bash_completion.d/guest\n"
	    "zsh:   eval \"$(guest completion zsh)\"    (in ~/.zshrc)\n",
	.exec = cmd_completion,
};

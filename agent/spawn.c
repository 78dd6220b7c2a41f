/*
 * Starting a program for a service (exec, console): the login
 * environment, a PTY or three pipes, a new session, the user switch, and
 * failures before exec reported with the shell's codes.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <linux/close_range.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

#include "agent.h"
#include "guest/util.h"

/* Where spawning failed, left by the child in memory it shares with us. */
enum stage { ST_PTY = 1, ST_USER, ST_CHDIR, ST_EXEC };

#define MAX_GROUPS	256
#define CHILD_STACK	(64 * 1024)

/* What the child needs, all of it made before the clone: between clone
 * and exec the child shares our memory and may only make system calls. */
struct child {
	const struct spawn_req *req;
	const char	*file;		/* argv[0] or the shell */
	char		**argv;
	const char	*path;		/* the PATH to search, from envp */
	const char	*slave;		/* the PTY's, or NULL for pipes */
	int		 in, out, err;	/* the pipes' child ends */
	bool		 switch_user;
	gid_t		 groups[MAX_GROUPS];
	size_t		 n_groups;
	/* Set by the child when it fails; still 0 after a good exec. */
	volatile int	 stage, error;
};

static void
ws_set(int master, const struct winsize *w)
{
	struct winsize ws = *w;

	if (ws.ws_row == 0 || ws.ws_col == 0) {
		ws.ws_row = 24;
		ws.ws_col = 80;
	}
	(void)ioctl(master, TIOCSWINSZ, &ws);
}

static void __attribute__((noreturn))
child_fail(struct child *ch, int stage, int err)
{
	ch->error = err;
	ch->stage = stage;
	_exit(127);
}

/* execvp with the PATH of the program's own environment, as execvp
 * would search it: the first that runs; EACCES remembered over ENOENT;
 * a file without a #! line is run by /bin/sh. */
static void
exec_search(struct child *ch)
{
	const struct spawn_req *req = ch->req;
	const char *p = ch->path, *end;
	char buf[PATH_MAX], *sh_argv[256 + 2];
	size_t dl, fl = strlen(ch->file), i;
	bool denied = false;
	int e = ENOENT;

	if (strchr(ch->file, '/') != NULL)
		p = NULL;
	for (;;) {
		if (p == NULL) {
			if (fl >= sizeof buf)
				child_fail(ch, ST_EXEC, ENAMETOOLONG);
			memcpy(buf, ch->file, fl + 1);
		} else {
			end = strchrnul(p, ':');
			dl = (size_t)(end - p);
			if (dl + 1 + fl >= sizeof buf) {
				e = ENAMETOOLONG;
				goto next;
			}
			memcpy(buf, p, dl);
			if (dl == 0)
				buf[dl++] = '.';
			buf[dl] = '/';
			memcpy(buf + dl + 1, ch->file, fl + 1);
		}
		execve(buf, ch->argv, req->envp);
		e = errno;
		if (e == ENOEXEC) {
			/* A script without #!: the shell runs it. */
			sh_argv[0] = (char *)"sh";
			sh_argv[1] = buf;
			for (i = 1; ch->argv[i] != NULL && i < 256; i++)
				sh_argv[i + 1] = ch->argv[i];
			sh_argv[i + 1] = NULL;
			execve("/bin/sh", sh_argv, req->envp);
			e = errno;
		}
		if (e == EACCES)
			denied = true;
		else if (e != ENOENT && e != ENOTDIR && e != ESTALE &&
		    e != ENODEV && e != ETIMEDOUT && p != NULL)
			break;		/* as execvp: a real error stops it */
	next:
		if (p == NULL || *end == '\0')
			break;
		p = end + 1;
	}
	child_fail(ch, ST_EXEC, denied && e == ENOENT ? EACCES : e);
}

static int
child_main(void *arg)
{
	struct child *ch = arg;
	const struct spawn_req *req = ch->req;
	const struct passwd *pw = req->pw;
	sigset_t none;
	int s;

	/* The agent changes one disposition (SIGPIPE ignored) and resets
	 * every other at start, so the program gets all at default. */
	signal(SIGPIPE, SIG_DFL);
	setsid();
	if (ch->slave != NULL) {
		s = open(ch->slave, O_RDWR);
		if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
			child_fail(ch, ST_PTY, errno);
		if (dup2(s, 0) < 0 || dup2(s, 1) < 0 || dup2(s, 2) < 0)
			child_fail(ch, ST_PTY, errno);
		if (s > 2)
			close(s);
	} else if (dup2(ch->in, 0) < 0 || dup2(ch->out, 1) < 0 ||
	    dup2(ch->err, 2) < 0)
		child_fail(ch, ST_PTY, errno);
	/* The program holds fds 0-2 and nothing else. */
	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
		for (s = 3; s < 4096; s++)
			(void)fcntl(s, F_SETFD, FD_CLOEXEC);
	/* Raw system calls: glibc's wrappers would also signal the other
	 * threads of the process whose memory this is. */
	if (ch->switch_user && (syscall(SYS_setgroups, ch->n_groups,
	    ch->groups) < 0 || syscall(SYS_setresgid, pw->pw_gid, pw->pw_gid,
	    pw->pw_gid) < 0 || syscall(SYS_setresuid, pw->pw_uid, pw->pw_uid,
	    pw->pw_uid) < 0))
		child_fail(ch, ST_USER, errno);
	if (req->cwd != NULL && *req->cwd != '\0') {
		if (chdir(req->cwd) < 0)
			child_fail(ch, ST_CHDIR, errno);
	} else if (chdir(pw->pw_dir) < 0 && chdir("/") < 0)
		child_fail(ch, ST_CHDIR, errno);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	exec_search(ch);
	return 127;
}

int
agent_env_put(struct agent_env *env, char *entry)
{
	const char *eq = strchr(entry, '=');
	size_t i, len;

	if (eq == NULL || eq == entry)
		return -EINVAL;
	len = (size_t)(eq - entry) + 1;
	for (i = 0; i < env->n; i++)
		if (strncmp(env->envp[i], entry, len) == 0) {
			env->envp[i] = entry;
			return 0;
		}
	if (env->n >= AGENT_MAX_ENV)
		return -E2BIG;
	env->envp[env->n++] = entry;
	env->envp[env->n] = NULL;
	return 0;
}

void
agent_env_login(struct agent_env *env, const struct passwd *pw,
    const char *term)
{
	static char root_path[] = "PATH=/usr/local/sbin:/usr/local/bin:"
	    "/usr/sbin:/usr/bin:/sbin:/bin";
	static char user_path[] = "PATH=/usr/local/bin:/usr/bin:/bin";

	env->n = 0;
	env->envp[0] = NULL;
	snprintf(env->home, sizeof env->home, "HOME=%s", pw->pw_dir);
	snprintf(env->user, sizeof env->user, "USER=%s", pw->pw_name);
	snprintf(env->logname, sizeof env->logname, "LOGNAME=%s",
	    pw->pw_name);
	snprintf(env->shell, sizeof env->shell, "SHELL=%s",
	    pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh");
	agent_env_put(env, env->home);
	if (*pw->pw_name != '\0') {	/* a uid with no name has neither */
		agent_env_put(env, env->user);
		agent_env_put(env, env->logname);
	}
	agent_env_put(env, env->shell);
	agent_env_put(env, pw->pw_uid == 0 ? root_path : user_path);
	if (term != NULL) {
		snprintf(env->term, sizeof env->term, "TERM=%s",
		    *term ? term : "dumb");
		agent_env_put(env, env->term);
	}
}

/*
 * Start the program with clone(CLONE_VM | CLONE_VFORK), as posix_spawn
 * does: no copy of our page tables, no copy-on-write faults after, and
 * no pipe to learn whether exec worked (the child writes its failure
 * into our memory, and we go on once it has exec'd or exited).
 */
int
agent_spawn(const struct spawn_req *req, struct spawned *out, char *msg,
    size_t msglen, unsigned *code)
{
	static uint8_t stack[CHILD_STACK] __attribute__((aligned(16)));
	const struct passwd *pw = req->pw;
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, er[2] = { -1, -1 };
	int master = -1, r = 0, st;
	char slave[64], shell0[PATH_MAX], **argv = NULL;
	const char *shell, *base;
	struct child *ch;
	sigset_t all, old;
	size_t i, n;
	pid_t pid;

	out->pid = -1;
	out->in_fd = out->out_fd = out->err_fd = -1;
	if ((ch = calloc(1, sizeof *ch)) == NULL)
		return -ENOMEM;
	ch->req = req;
	ch->in = ch->out = ch->err = -1;
	if (req->pty) {
		master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || grantpt(master) < 0 ||
		    unlockpt(master) < 0 ||
		    ptsname_r(master, slave, sizeof slave) != 0) {
			r = -errno;
			goto fail;
		}
		ws_set(master, &req->ws);
		ch->slave = slave;
	} else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0 ||
	    pipe2(er, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	} else {
		ch->in = in[0];
		ch->out = o[1];
		ch->err = er[1];
	}

	/* argv: the command, or the login shell ("-bash") with its args. */
	shell = pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh";
	n = req->argc > 0 ? req->argc : req->n_shell_args + 1;
	if ((argv = calloc(n + 1, sizeof *argv)) == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	if (req->argc > 0) {
		ch->file = req->argv[0];
		for (i = 0; i < n; i++)
			argv[i] = req->argv[i];
	} else {
		ch->file = shell;
		base = strrchr(shell, '/');
		snprintf(shell0, sizeof shell0, "-%s", base ? base + 1 : shell);
		argv[0] = shell0;
		for (i = 1; i < n; i++)
			argv[i] = req->shell_args[i - 1];
	}
	ch->argv = argv;
	ch->path = "/usr/local/bin:/usr/bin:/bin";
	for (i = 0; req->envp[i] != NULL; i++)
		if (strncmp(req->envp[i], "PATH=", 5) == 0)
			ch->path = req->envp[i] + 5;
	/* Looked up here: the child may not use NSS (it allocates). */
	ch->switch_user = pw->pw_uid != geteuid() || pw->pw_gid != getegid();
	if (ch->switch_user)
		ch->n_groups = agent_user_groups(pw->pw_name, pw->pw_gid,
		    ch->groups, MAX_GROUPS);

	/* Every signal blocked until the child has set its own mask: no
	 * handler of ours may run on its stack. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
#ifdef __SANITIZE_ADDRESS__
	/* The last child's frames never returned (it exec'd): their
	 * redzones would still mark this one's stack, in a session process
	 * that serves again. */
	ASAN_UNPOISON_MEMORY_REGION(stack, sizeof stack);
#endif
	pid = clone(child_main, stack + sizeof stack,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, ch);
	if (pid < 0)
		r = -errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		goto fail;

	if (ch->stage != 0) {
		/* It failed before exec: say why, with the shell's codes. */
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		switch (ch->stage) {
		case ST_EXEC:
			if (ch->error == ENOENT) {
				*code = 127;
				snprintf(msg, msglen, "%s: command not found",
				    ch->file);
			} else {
				*code = 126;
				snprintf(msg, msglen, "%s: %s", ch->file,
				    strerror(ch->error));
			}
			break;
		case ST_CHDIR:
			*code = 1;
			snprintf(msg, msglen, "cannot change directory to %s: "
			    "%s", req->cwd && *req->cwd ? req->cwd : pw->pw_dir,
			    strerror(ch->error));
			break;
		case ST_USER:
			*code = 1;
			snprintf(msg, msglen, "cannot switch to user %s: %s",
			    pw->pw_name, strerror(ch->error));
			break;
		default:
			*code = 1;
			snprintf(msg, msglen, "cannot set up the terminal: %s",
			    strerror(ch->error));
			break;
		}
		r = 1;
		goto fail;
	}

	if (req->pty) {
		out->in_fd = master;
		out->out_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
		master = -1;
		if (out->out_fd < 0) {
			r = -errno;
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			guest_closep(&out->in_fd);
			goto fail;
		}
	} else {
		guest_closep(&in[0]);
		guest_closep(&o[1]);
		guest_closep(&er[1]);
		out->in_fd = in[1];
		out->out_fd = o[0];
		out->err_fd = er[0];
		in[1] = o[0] = er[0] = -1;
		/* Bigger pipes mean fewer, larger frames on bulk output. */
		(void)fcntl(out->out_fd, F_SETPIPE_SZ, 1024 * 1024);
		(void)fcntl(out->err_fd, F_SETPIPE_SZ, 1024 * 1024);
		(void)fcntl(out->in_fd, F_SETPIPE_SZ, 1024 * 1024);
		(void)guest_set_nonblock(out->err_fd, 1);
	}
	(void)guest_set_nonblock(out->in_fd, 1);
	(void)guest_set_nonblock(out->out_fd, 1);
	out->pid = pid;
	free(argv);
	free(ch);
	return 0;
fail:
	for (i = 0; i < 2; i++) {
		guest_closep(&in[i]);
		guest_closep(&o[i]);
		guest_closep(&er[i]);
	}
	guest_closep(&master);
	free(argv);
	free(ch);
	return r;
}

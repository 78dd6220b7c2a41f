/*
 * Starting a program for a service (exec, console): the login
 * environment, a PTY or three pipes, a new session, the user switch, and
 * failures before exec reported with the shell's codes.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <linux/close_range.h>

#include "agent.h"
#include "guest/util.h"

/* Where spawning failed, reported by the child through a pipe. */
enum stage { ST_PTY = 1, ST_USER, ST_CHDIR, ST_EXEC };
struct spawn_err {
	int	stage;
	int	err;
};

static void
child_fail(int fd, int stage, int err)
{
	struct spawn_err se = { stage, err };

	(void)!write(fd, &se, sizeof se);
	_exit(127);
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
 * Fork and exec.  The child reports a failure before exec through errfd
 * (close-on-exec, so a successful exec closes it with nothing written).
 */
int
agent_spawn(const struct spawn_req *req, struct spawned *out, char *msg,
    size_t msglen, unsigned *code)
{
	const struct passwd *pw = req->pw;
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, er[2] = { -1, -1 };
	int ep[2] = { -1, -1 }, master = -1, r = 0;
	char slave[64], shell0[PATH_MAX], **argv;
	const char *file, *shell, *base;
	struct spawn_err se;
	struct winsize ws;
	sigset_t all;
	size_t i, n;
	ssize_t got;
	pid_t pid;

	out->pid = -1;
	out->in_fd = out->out_fd = out->err_fd = -1;
	if (pipe2(ep, O_CLOEXEC) < 0)
		return -errno;
	if (req->pty) {
		master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || grantpt(master) < 0 ||
		    unlockpt(master) < 0 ||
		    ptsname_r(master, slave, sizeof slave) != 0) {
			r = -errno;
			goto fail;
		}
		ws = req->ws;
		if (ws.ws_row == 0 || ws.ws_col == 0) {
			ws.ws_row = 24;
			ws.ws_col = 80;
		}
		(void)ioctl(master, TIOCSWINSZ, &ws);
	} else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0 ||
	    pipe2(er, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}

	/* argv: the command, or the login shell ("-bash") with its args. */
	shell = pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh";
	n = req->argc > 0 ? req->argc : req->n_shell_args + 1;
	if ((argv = calloc(n + 1, sizeof *argv)) == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	if (req->argc > 0) {
		file = req->argv[0];
		for (i = 0; i < n; i++)
			argv[i] = req->argv[i];
	} else {
		file = shell;
		base = strrchr(shell, '/');
		snprintf(shell0, sizeof shell0, "-%s", base ? base + 1 : shell);
		argv[0] = shell0;
		for (i = 1; i < n; i++)
			argv[i] = req->shell_args[i - 1];
	}

	pid = fork();
	if (pid < 0) {
		r = -errno;
		free(argv);
		goto fail;
	}
	if (pid == 0) {
		int s;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		for (s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		setsid();
		if (req->pty) {
			s = open(slave, O_RDWR);
			if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
				child_fail(ep[1], ST_PTY, errno);
			if (dup2(s, 0) < 0 || dup2(s, 1) < 0 || dup2(s, 2) < 0)
				child_fail(ep[1], ST_PTY, errno);
			if (s > 2)
				close(s);
		} else if (dup2(in[0], 0) < 0 || dup2(o[1], 1) < 0 ||
		    dup2(er[1], 2) < 0)
			child_fail(ep[1], ST_PTY, errno);
		/* The program holds fds 0-2 and nothing else. */
		if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
			for (s = 3; s < 4096; s++)
				(void)fcntl(s, F_SETFD, FD_CLOEXEC);
		if (pw->pw_uid != geteuid() || pw->pw_gid != getegid()) {
			if (agent_initgroups(pw->pw_name, pw->pw_gid) < 0 ||
			    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
			    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
				child_fail(ep[1], ST_USER, errno);
		}
		if (req->cwd != NULL && *req->cwd != '\0') {
			if (chdir(req->cwd) < 0)
				child_fail(ep[1], ST_CHDIR, errno);
		} else if (chdir(pw->pw_dir) < 0 && chdir("/") < 0)
			child_fail(ep[1], ST_CHDIR, errno);
		/* execvp searches the PATH of environ, so switch first. */
		environ = req->envp;
		execvp(file, argv);
		child_fail(ep[1], ST_EXEC, errno);
	}
	free(argv);
	close(ep[1]);
	ep[1] = -1;
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
		close(in[0]);
		close(o[1]);
		close(er[1]);
		in[0] = o[1] = er[1] = -1;
		out->in_fd = in[1];
		out->out_fd = o[0];
		out->err_fd = er[0];
		/* Bigger pipes mean fewer, larger frames on bulk output. */
		(void)fcntl(out->out_fd, F_SETPIPE_SZ, 1024 * 1024);
		(void)fcntl(out->err_fd, F_SETPIPE_SZ, 1024 * 1024);
		(void)fcntl(out->in_fd, F_SETPIPE_SZ, 1024 * 1024);
		(void)guest_set_nonblock(out->err_fd, 1);
	}
	(void)guest_set_nonblock(out->in_fd, 1);
	(void)guest_set_nonblock(out->out_fd, 1);
	out->pid = pid;

	do
		got = read(ep[0], &se, sizeof se);
	while (got < 0 && errno == EINTR);
	close(ep[0]);
	if (got != (ssize_t)sizeof se)
		return 0;

	/* It failed before exec: say why, with the shell's codes. */
	waitpid(pid, NULL, 0);
	out->pid = -1;
	guest_closep(&out->in_fd);
	guest_closep(&out->out_fd);
	guest_closep(&out->err_fd);
	switch (se.stage) {
	case ST_EXEC:
		if (se.err == ENOENT) {
			*code = 127;
			snprintf(msg, msglen, "%s: command not found", file);
		} else {
			*code = 126;
			snprintf(msg, msglen, "%s: %s", file,
			    strerror(se.err));
		}
		break;
	case ST_CHDIR:
		*code = 1;
		snprintf(msg, msglen, "cannot change directory to %s: %s",
		    req->cwd && *req->cwd ? req->cwd : pw->pw_dir,
		    strerror(se.err));
		break;
	case ST_USER:
		*code = 1;
		snprintf(msg, msglen, "cannot switch to user %s: %s",
		    pw->pw_name, strerror(se.err));
		break;
	default:
		*code = 1;
		snprintf(msg, msglen, "cannot set up the terminal: %s",
		    strerror(se.err));
		break;
	}
	return 1;
fail:
	for (i = 0; i < 2; i++) {
		guest_closep(&in[i]);
		guest_closep(&o[i]);
		guest_closep(&er[i]);
		guest_closep(&ep[i]);
	}
	guest_closep(&master);
	return r;
}

/*
 * guest-agent internals: the listener (agent.c), per-connection sessions
 * (session.c), one file per service (exec.c, info.c, copy.c, console.c)
 * and starting programs (spawn.c).
 */
#ifndef GUEST_AGENT_H
#define GUEST_AGENT_H

#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "guest/conn.h"
#include "guest/key.h"
#include "guest/policy.h"
#include "guest/session.h"

/* The console's program and ring buffer (guest-agent --console-*). */
struct console_opts {
	char		**argv;		/* NULL: the agent user's login shell */
	size_t		  argc;
	size_t		  buffer;	/* ring buffer bytes */
	bool		  at_start;	/* start it with the agent */
};

struct agent {
	struct guest_policy	policy;
	struct guest_identity	id;
	int			verbose;
	const char		*journal;	/* directories with cp temps */
	int			console_fd;	/* to the console keeper */
	struct guest_key	host_key;
	bool			no_auth;	/* --no-auth */
	const char		*keys_file;	/* --authorized-keys */
	char			*cred_keys;	/* the credential's lines */
	int			startup_fd;	/* session: tell the listener */
};

extern struct agent agent;
extern const char *const agent_services[];

void	agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	agent_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Serve one accepted connection (vsock: from a vsock peer); returns the
 * process exit status. */
int	session_run(int fd, const char *peer, bool vsock);

/* Authentication (auth.c): the host key (made at first start under
 * state), the trusted keys, and the mode; logs what it found.  0 or -1. */
#define AGENT_KEYS_FILE	"/etc/guest-agent/authorized_keys"
int	auth_init(const char *state, bool no_auth, const char *keys_file);
/* How many good lines a text in authorized_keys' form has. */
size_t	auth_count_keys(const char *text);
/* Is any key trusted now (the file is read again each time)? */
bool	auth_have_keys(void);
/* Check a client's Auth for a session as user: 0 when a trusted key that
 * may act as user signed it, else a negative errno with why. */
int	auth_check(const Guest__V1__Auth *, const uint8_t *client_nonce,
	    const uint8_t *agent_nonce, const char *user, const char *peer,
	    char *why, size_t why_len);
/* An Auth: its request decoded into req (cleared on failure), and, when
 * required, checked with auth_check for the request's user (its own, or
 * the agent's).  0; -EACCES (refused) or -EPROTO (malformed) with why. */
int	auth_request(const Guest__V1__Auth *, const uint8_t *client_nonce,
	    const uint8_t *agent_nonce, bool required, const char *peer,
	    struct guest_msg *req, char *why, size_t why_len);
/* The strings of SMBIOS type 11 structures in a DMI table that carry the
 * credential guest-agent.authorized_keys (text or base64), one per line,
 * in *out (malloc'ed): 1, 0 when there are none, -ENOMEM. */
int	auth_smbios_credential(const uint8_t *table, size_t n, char **out);

/* Services.  Each owns the connection until it returns. */
int	exec_serve(struct guest_conn *, const Guest__V1__ExecRequest *);
int	info_serve(struct guest_conn *, const Guest__V1__InfoRequest *);
int	copy_serve(struct guest_conn *, const Guest__V1__CopyRequest *);
/* Hand the connection to the console keeper (console.c). */
int	console_serve(struct guest_conn *, const Guest__V1__ConsoleRequest *,
	    const char *peer);
/* The keeper process: serves connections handed over on ctl; never
 * returns.  parent is the listener, whose death ends it. */
void	console_keeper(int ctl, pid_t parent, const struct console_opts *)
	    __attribute__((noreturn));

/* Starting programs (spawn.c). */
#define AGENT_MAX_ENV	1024

/* An environment as login gives it, then NAME=VALUE entries on top. */
struct agent_env {
	char	*envp[AGENT_MAX_ENV + 1];
	size_t	 n;
	char	 home[PATH_MAX + 8], user[300], logname[300];
	char	 shell[PATH_MAX + 8], term[300];
};
/* HOME, USER, LOGNAME, SHELL, PATH, and TERM unless term is NULL. */
void	agent_env_login(struct agent_env *, const struct passwd *,
	    const char *term);
/* Set entry (NAME=VALUE, kept by reference), replacing an earlier NAME:
 * -EINVAL when it is not NAME=VALUE, -E2BIG past AGENT_MAX_ENV. */
int	agent_env_put(struct agent_env *, char *entry);

struct spawn_req {
	const struct passwd *pw;	/* run as this user, in its home */
	char *const	*argv;		/* the program; argc 0: login shell */
	size_t		 argc;
	char *const	*shell_args;	/* given to the login shell */
	size_t		 n_shell_args;
	char		**envp;
	const char	*cwd;		/* NULL or "": the home directory */
	bool		 pty;
	struct winsize	 ws;		/* with pty; 0x0 means 24x80 */
};

struct spawned {
	pid_t	pid;
	int	in_fd;		/* the PTY master, or the stdin pipe */
	int	out_fd;		/* a dup of the master, or stdout's pipe */
	int	err_fd;		/* stderr's pipe; -1 with a PTY */
};

/* Start req in a new session, its fds non-blocking on our side.  0 when
 * it runs; 1 when it failed before exec, with the shell's code (127 not
 * found, 126 not executable, 1 otherwise) and the reason in msg; a
 * negative errno when nothing could be started. */
int	agent_spawn(const struct spawn_req *, struct spawned *, char *msg,
	    size_t msglen, unsigned *code);

/* User lookups that still work in a static agent (user.c). */
struct passwd *agent_getpwnam(const char *name);
struct passwd *agent_getpwuid(uid_t uid);
/* The supplementary groups of user (gid first): how many were put in
 * groups, at most max. */
size_t	agent_user_groups(const char *user, gid_t gid, gid_t *groups,
	    size_t max);
/* The agent's own user; with no passwd entry for its uid, a stand-in
 * (that uid and gid, HOME /, /bin/sh, named root for uid 0 and nothing
 * otherwise), and *stand_in set. */
struct passwd *agent_self(bool *stand_in);

/* Write out everything queued, waiting at most timeout_ms. */
int	agent_flush(struct guest_conn *, int timeout_ms);

#endif

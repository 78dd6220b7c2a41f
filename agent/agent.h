/*
 * guest-agent internals: the listener (agent.c), per-connection sessions
 * (session.c) and one file per service (exec.c, info.c).
 */
#ifndef GUEST_AGENT_H
#define GUEST_AGENT_H

#include <stdbool.h>
#include <sys/types.h>

#include "guest/conn.h"
#include "guest/policy.h"
#include "guest/session.h"

struct agent {
	struct guest_policy	policy;
	struct guest_identity	id;
	int			verbose;
	const char		*journal;	/* directories with cp temps */
};

extern struct agent agent;
extern const char *const agent_services[];

void	agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	agent_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Serve one accepted connection; returns the process exit status. */
int	session_run(int fd, const char *peer);

/* Services.  Each owns the connection until it returns. */
int	exec_serve(struct guest_conn *, const Guest__V1__ExecRequest *);
int	info_serve(struct guest_conn *, const Guest__V1__InfoRequest *);
int	copy_serve(struct guest_conn *, const Guest__V1__CopyRequest *);

/* User lookups that still work in a static agent (user.c). */
struct passwd *agent_getpwnam(const char *name);
struct passwd *agent_getpwuid(uid_t uid);
int	agent_initgroups(const char *user, gid_t gid);

/* Write out everything queued, waiting at most timeout_ms. */
int	agent_flush(struct guest_conn *, int timeout_ms);

#endif

/*
 * User lookups for the exec service.  NSS first (LDAP, homed, ...), then
 * /etc/passwd and /etc/group read directly: a static agent dropped into a
 * guest with another glibc cannot load that glibc's NSS modules, and must
 * still find root and the local users.  A guest with no entry at all for
 * the agent's own uid (an initramfs, a distroless image, a rescue system)
 * still gets its commands run: as that uid, at /, with /bin/sh.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"


static struct passwd *
scan_passwd(const char *name, uid_t uid)
{
	struct passwd *pw;
	FILE *f;

	if ((f = fopen("/etc/passwd", "re")) == NULL)
		return NULL;
	while ((pw = fgetpwent(f)) != NULL)
		if (name != NULL ? strcmp(pw->pw_name, name) == 0 :
		    pw->pw_uid == uid)
			break;
	fclose(f);
	return pw;
}

struct passwd *
agent_getpwnam(const char *name)
{
	struct passwd *pw = getpwnam(name);

	return pw != NULL ? pw : scan_passwd(name, 0);
}

struct passwd *
agent_getpwuid(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	return pw != NULL ? pw : scan_passwd(NULL, uid);
}

struct passwd *
agent_self(bool *stand_in)
{
	static struct passwd self;
	static char name[] = "root", none[] = "", home[] = "/",
	    shell[] = "/bin/sh";
	struct passwd *pw = agent_getpwuid(geteuid());

	if (stand_in != NULL)
		*stand_in = pw == NULL;
	if (pw != NULL)
		return pw;
	self.pw_uid = geteuid();
	self.pw_gid = getegid();
	/* Only uid 0 has a name that needs no entry. */
	self.pw_name = self.pw_uid == 0 ? name : none;
	self.pw_passwd = none;
	self.pw_gecos = none;
	self.pw_dir = home;
	self.pw_shell = shell;
	return &self;
}

size_t
agent_user_groups(const char *user, gid_t gid, gid_t *groups, size_t max)
{
	struct group *gr;
	size_t n = 0, i;
	int ng = (int)max;
	FILE *f;

	/* NSS first; where it has nothing beyond the primary group (a
	 * static agent in a guest whose NSS it cannot load), the file. */
	if (getgrouplist(user, gid, groups, &ng) >= 0 && ng > 1)
		return (size_t)ng;
	if (ng > 1 && ng > (int)max)
		return max;
	groups[n++] = gid;
	if ((f = fopen("/etc/group", "re")) != NULL) {
		while ((gr = fgetgrent(f)) != NULL && n < max) {
			if (gr->gr_gid == gid)
				continue;
			for (i = 0; gr->gr_mem[i] != NULL; i++)
				if (strcmp(gr->gr_mem[i], user) == 0) {
					groups[n++] = gr->gr_gid;
					break;
				}
		}
		fclose(f);
	}
	return n;
}

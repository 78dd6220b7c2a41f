/*
 * The info service: who and what the guest is.
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent.h"
#include "version.h"

static void
os_pretty_name(char *buf, size_t n)
{
	char line[512];
	FILE *f;
	size_t len;

	snprintf(buf, n, "Linux");
	if ((f = fopen("/etc/os-release", "re")) == NULL &&
	    (f = fopen("/usr/lib/os-release", "re")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "PRETTY_NAME=", 12) != 0)
			continue;
		len = strcspn(line + 12, "\r\n");
		line[12 + len] = '\0';
		if (line[12] == '"' && len >= 2 && line[12 + len - 1] == '"') {
			line[12 + len - 1] = '\0';
			snprintf(buf, n, "%s", line + 13);
		} else
			snprintf(buf, n, "%s", line + 12);
		break;
	}
	fclose(f);
}

int
info_serve(struct guest_conn *c, const Guest__V1__InfoRequest *req)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__InfoReply r = GUEST__V1__INFO_REPLY__INIT;
	char os[256], kernel[3 * 65 + 3];
	struct utsname u;
	double up = 0;
	FILE *f;
	size_t n = 0;

	os_pretty_name(os, sizeof os);
	if (uname(&u) == 0)
		snprintf(kernel, sizeof kernel, "%s %s %s", u.sysname,
		    u.release, u.machine);
	else
		kernel[0] = '\0';
	if ((f = fopen("/proc/uptime", "re")) != NULL) {
		if (fscanf(f, "%lf", &up) != 1)
			up = 0;
		fclose(f);
	}
	while (agent_services[n] != NULL)
		n++;
	r.hostname = agent.id.hostname;
	r.vm_uuid = agent.id.vm_uuid;
	r.os = os;
	r.kernel = kernel;
	r.uptime_seconds = (uint64_t)up;
	r.agent = (char *)"guest-agent " GUEST_VERSION;
	r.agent_pid = (uint32_t)getppid();
	r.agent_uid = (uint32_t)geteuid();
	r.n_services = n;
	r.services = (char **)agent_services;
	m.body_case = GUEST__V1__MESSAGE__BODY_INFO_REPLY;
	m.info_reply = &r;
	if (guest_conn_send(c, &m) < 0 || agent_flush(c, 10000) < 0)
		return 1;
	return 0;
}

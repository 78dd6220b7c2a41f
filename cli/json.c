/*
 * --json, one style for every command (guest(1), JSON OUTPUT): a document
 * is one object with "schema" first; keys are snake_case; what is not
 * known is null, never "-" or a missing key; times are RFC 3339 in UTC;
 * sizes are bytes; a table is an array of objects under a plural key.
 * A command prints one document, pretty, or (--watch) one per line.
 * Written through json-c, which escapes what it must.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "guest.h"
#include "guest/inventory.h"

json_object *
cli_json_doc(void)
{
	json_object *o = json_object_new_object();

	if (o != NULL)
		json_object_object_add(o, "schema",
		    json_object_new_int(CLI_JSON_SCHEMA));
	return o;
}

/* (An empty string is something not known, too: null.) */
json_object *
cli_json_str(const char *s)
{
	return s != NULL && *s != '\0' ? json_object_new_string(s) : NULL;
}

json_object *
cli_json_time(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		return NULL;
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(buf);
}

json_object *
cli_json_env(const struct guest_env *env)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "env", json_object_new_int64(env->id));
	json_object_object_add(o, "name", cli_json_str(env->name));
	json_object_object_add(o, "uri", cli_json_str(env->uri));
	json_object_object_add(o, "transport", cli_json_str(env->transport));
	json_object_object_add(o, "default",
	    json_object_new_boolean(env->implicit));
	json_object_object_add(o, "refreshed", cli_json_time(env->refreshed));
	return o;
}

int
cli_json_print(json_object *doc, bool line)
{
	const char *s;
	int r = 0;

	if (doc == NULL) {
		fprintf(stderr, "guest: out of memory\n");
		return -ENOMEM;
	}
	s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_NOSLASHESCAPE |
	    JSON_C_TO_STRING_SPACED | (line ? 0 : JSON_C_TO_STRING_PRETTY));
	if (s == NULL || printf("%s\n", s) < 0 || fflush(stdout) != 0)
		r = -EIO;
	json_object_put(doc);
	return r;
}

/*
 * The inventory: environments and guests in SQLite (host only).
 *
 * WAL, so readers never wait; a busy timeout, and every write in BEGIN
 * IMMEDIATE, so concurrent writers queue instead of failing with "database
 * is locked" (a deferred transaction that upgrades from read to write can
 * fail without waiting).  libvirt is asked outside any transaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "guest/inventory.h"
#include "guest/util.h"

#define APPLICATION_ID	0x47554553	/* "GUES" */
#define BUSY_MS		10000

struct guest_inventory {
	sqlite3		*db;
	char		 path[PATH_MAX];
	bool		 readonly;
};

/* Schema migrations: entry N takes user_version N to N + 1. */
static const char *const migrations[] = {
	"CREATE TABLE env ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT UNIQUE,"
	"  uri TEXT NOT NULL,"
	"  transport TEXT NOT NULL,"
	"  implicit INTEGER NOT NULL DEFAULT 0,"
	"  refreshed INTEGER NOT NULL DEFAULT 0,"
	"  stale_since INTEGER NOT NULL DEFAULT 0,"
	"  stale_reason TEXT);"
	"CREATE TABLE guest ("
	"  env INTEGER NOT NULL REFERENCES env(id) ON DELETE CASCADE,"
	"  uuid TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  dom_id INTEGER NOT NULL,"
	"  cid INTEGER,"
	"  has_vsock INTEGER NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  PRIMARY KEY (env, uuid)) WITHOUT ROWID;"
	"CREATE INDEX guest_by_cid ON guest(env, cid);"
	"CREATE INDEX guest_by_name ON guest(env, name);",
};
_Static_assert(sizeof migrations / sizeof migrations[0] ==
    GUEST_INVENTORY_SCHEMA, "one migration per schema version");

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
db_error(struct guest_inventory *inv, int rc, const char *what,
    struct guest_error *e)
{
	int err = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? -EBUSY :
	    rc == SQLITE_READONLY || rc == SQLITE_PERM ? -EACCES :
	    rc == SQLITE_FULL ? -ENOSPC : -EIO;

	return guest_error_set(e, err, "inventory %s: %s: %s", inv->path,
	    what, inv->db != NULL ? sqlite3_errmsg(inv->db) :
	    sqlite3_errstr(rc));
}

static int
exec_sql(struct guest_inventory *inv, const char *sql, struct guest_error *e)
{
	int rc = sqlite3_exec(inv->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_error(inv, rc, sql, e);
}

/* One integer from a query with no parameters; the SQLite code on error. */
static int
query_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

static char *
column_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s != NULL ? strdup((const char *)s) : NULL;
}

int
guest_inventory_path(const char *override, char *buf, size_t n,
    struct guest_error *e)
{
	const char *s, *home;
	int len;

	if (override != NULL && *override != '\0')
		len = snprintf(buf, n, "%s", override);
	else if ((s = getenv("GUEST_INVENTORY")) != NULL && *s != '\0')
		len = snprintf(buf, n, "%s", s);
	else if ((s = getenv("XDG_STATE_HOME")) != NULL && *s == '/')
		len = snprintf(buf, n, "%s/guest/inventory.db", s);
	else if ((home = getenv("HOME")) != NULL && *home == '/')
		len = snprintf(buf, n, "%s/.local/state/guest/inventory.db",
		    home);
	else
		return guest_error_set(e, -ENOENT, "no place for the inventory:"
		    " set HOME, XDG_STATE_HOME or GUEST_INVENTORY");
	if (len < 0 || (size_t)len >= n)
		return guest_error_set(e, -ENAMETOOLONG,
		    "inventory path too long");
	return 0;
}

enum check { CHECK_OK, CHECK_EMPTY, CHECK_BAD };

/* Is the open file ours, empty, or something else (corrupt, foreign)? */
static enum check
check_file(struct guest_inventory *inv, bool deep, int64_t *version,
    char *why, size_t n)
{
	int64_t app = 0, ntab = 0, v = 0;
	int rc;

	if ((rc = query_int(inv->db, "PRAGMA application_id", &app)) ||
	    (rc = query_int(inv->db, "PRAGMA user_version", &v)) ||
	    (rc = query_int(inv->db, "SELECT count(*) FROM sqlite_master",
	    &ntab))) {
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			return CHECK_OK;	/* busy is not bad: caller errs */
		snprintf(why, n, "%s", sqlite3_errstr(rc));
		return CHECK_BAD;
	}
	*version = v;
	if (app == 0 && v == 0 && ntab == 0)
		return CHECK_EMPTY;
	if (app != APPLICATION_ID) {
		snprintf(why, n, "not a guest inventory");
		return CHECK_BAD;
	}
	if (deep && v <= GUEST_INVENTORY_SCHEMA) {
		sqlite3_stmt *st;
		const unsigned char *res = NULL;

		rc = sqlite3_prepare_v2(inv->db, "PRAGMA quick_check(1)", -1,
		    &st, NULL);
		if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			res = sqlite3_column_text(st, 0);
		if (res == NULL || strcmp((const char *)res, "ok") != 0) {
			snprintf(why, n, "%s", res != NULL ? (const char *)res :
			    sqlite3_errmsg(inv->db));
			if (rc == SQLITE_OK)
				sqlite3_finalize(st);
			return CHECK_BAD;
		}
		sqlite3_finalize(st);
	}
	return CHECK_OK;
}

/* Bring the schema to ours, in one IMMEDIATE transaction; another process
 * may have done it while we waited, so the version is read again inside. */
static int
migrate(struct guest_inventory *inv, struct guest_error *e)
{
	char sql[64], app[64];
	int64_t v = 0;
	int rc, r;

	if ((r = exec_sql(inv, "BEGIN IMMEDIATE", e)) < 0)
		return r;
	if ((rc = query_int(inv->db, "PRAGMA user_version", &v)) != SQLITE_OK) {
		r = db_error(inv, rc, "reading the schema version", e);
		goto fail;
	}
	for (; v < GUEST_INVENTORY_SCHEMA; v++)
		if ((r = exec_sql(inv, migrations[v], e)) < 0)
			goto fail;
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d",
	    GUEST_INVENTORY_SCHEMA);
	snprintf(app, sizeof app, "PRAGMA application_id = %d", APPLICATION_ID);
	if ((r = exec_sql(inv, app, e)) < 0 ||
	    (r = exec_sql(inv, sql, e)) < 0 ||
	    (r = exec_sql(inv, "COMMIT", e)) < 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(inv->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* Move a bad file (and its WAL) aside, under a lock so that two processes
 * finding it bad do not move each other's fresh one. */
static int
move_aside(const char *path, const struct stat *bad, const char *why,
    struct guest_error *e)
{
	char lock[PATH_MAX + 8], to[PATH_MAX + 64], side[PATH_MAX + 80];
	char stamp[32];
	struct stat st;
	time_t now = time(NULL);
	int fd, r = 0;

	snprintf(lock, sizeof lock, "%s.lock", path);
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return guest_error_set(e, -errno, "cannot lock %s: %s", lock,
		    strerror(errno));
	(void)flock(fd, LOCK_EX);
	if (stat(path, &st) == 0 && st.st_ino == bad->st_ino &&
	    st.st_dev == bad->st_dev) {
		strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", localtime(&now));
		snprintf(to, sizeof to, "%s.bad-%s", path, stamp);
		if (rename(path, to) < 0)
			r = guest_error_set(e, -errno, "inventory %s is unusable "
			    "(%s) and cannot be moved aside: %s", path, why,
			    strerror(errno));
		else {
			snprintf(side, sizeof side, "%s-wal", path);
			(void)unlink(side);
			snprintf(side, sizeof side, "%s-shm", path);
			(void)unlink(side);
			fprintf(stderr, "guest: warning: inventory %s is unusable "
			    "(%s): moved to %s, starting a new one\n", path, why,
			    to);
		}
	}
	close(fd);
	return r;
}

static void
inventory_free(struct guest_inventory *inv)
{
	if (inv == NULL)
		return;
	if (inv->db != NULL)
		sqlite3_close(inv->db);
	free(inv);
}

int
guest_inventory_open(const char *path, int flags,
    struct guest_inventory **out, struct guest_error *e)
{
	struct guest_inventory *inv;
	bool ro = (flags & GUEST_INV_READONLY) != 0;
	char why[256];
	struct stat st;
	int64_t v = 0;
	int attempt, rc, r;
	enum check ck;

	*out = NULL;
	if (strlen(path) >= PATH_MAX)
		return guest_error_set(e, -ENAMETOOLONG, "%s: path too long",
		    path);
	if (ro && access(path, F_OK) < 0)
		return guest_error_set(e, -ENOENT, "no inventory at %s", path);
	/* Its directories 0700, like ssh's. */
	if (!ro && (r = guest_mkdir_parents(path, 0700, false)) < 0)
		return guest_error_set(e, r, "cannot create the directories of "
		    "%s: %s", path, strerror(-r));
	for (attempt = 0; attempt < 3; attempt++) {
		if ((inv = calloc(1, sizeof *inv)) == NULL)
			return guest_error_set(e, -ENOMEM, "out of memory");
		snprintf(inv->path, sizeof inv->path, "%s", path);
		inv->readonly = ro;
		rc = sqlite3_open_v2(path, &inv->db, SQLITE_OPEN_READWRITE |
		    (ro ? 0 : SQLITE_OPEN_CREATE), NULL);
		if (rc == SQLITE_CANTOPEN && ro) {
			sqlite3_close(inv->db);
			inv->db = NULL;
			rc = sqlite3_open_v2(path, &inv->db,
			    SQLITE_OPEN_READONLY, NULL);
		}
		if (rc != SQLITE_OK) {
			r = db_error(inv, rc, "cannot open", e);
			inventory_free(inv);
			return r;
		}
		sqlite3_busy_timeout(inv->db, BUSY_MS);
		/* The last one out would checkpoint and fsync: leave that
		 * to the automatic checkpoint, every 1000 pages. */
		(void)sqlite3_db_config(inv->db,
		    SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
		sqlite3_extended_result_codes(inv->db, 0);
		if (!ro)
			(void)chmod(path, 0600);
		ck = check_file(inv, !ro, &v, why, sizeof why);
		if (ck == CHECK_BAD) {
			if (ro) {
				r = guest_error_set(e, -EIO, "inventory %s is "
				    "unusable (%s)", path, why);
				inventory_free(inv);
				return r;
			}
			if (stat(path, &st) < 0 ||
			    (r = move_aside(path, &st, why, e)) < 0) {
				inventory_free(inv);
				return r < 0 ? r : guest_error_set(e, -errno,
				    "%s: %s", path, strerror(errno));
			}
			inventory_free(inv);
			continue;
		}
		if (v > GUEST_INVENTORY_SCHEMA) {
			r = guest_error_set(e, -EPROTONOSUPPORT, "inventory %s "
			    "has schema %lld, newer than this guest knows (%d)",
			    path, (long long)v, GUEST_INVENTORY_SCHEMA);
			inventory_free(inv);
			return r;
		}
		if (ro) {
			if (ck == CHECK_EMPTY || v < GUEST_INVENTORY_SCHEMA) {
				inventory_free(inv);
				return guest_error_set(e, -ENOENT,
				    "no inventory at %s yet", path);
			}
			*out = inv;
			return 0;
		}
		/* WAL persists in the file: set it once. */
		if ((r = exec_sql(inv, "PRAGMA journal_mode = WAL", e)) < 0 ||
		    (r = exec_sql(inv, "PRAGMA synchronous = NORMAL", e)) < 0 ||
		    (r = exec_sql(inv, "PRAGMA foreign_keys = ON", e)) < 0 ||
		    (v < GUEST_INVENTORY_SCHEMA && (r = migrate(inv, e)) < 0)) {
			inventory_free(inv);
			return r;
		}
		*out = inv;
		return 0;
	}
	return guest_error_set(e, -EIO, "inventory %s: cannot be rebuilt",
	    path);
}

void
guest_inventory_close(struct guest_inventory *inv)
{
	inventory_free(inv);
}

/* Environments ----------------------------------------------------------- */

void
guest_env_clear(struct guest_env *env)
{
	free(env->name);
	free(env->uri);
	free(env->transport);
	free(env->stale_reason);
	memset(env, 0, sizeof *env);
}

void
guest_env_list_free(struct guest_env *envs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		guest_env_clear(&envs[i]);
	free(envs);
}

static const char *
default_uri(void)
{
	const char *s = getenv("LIBVIRT_DEFAULT_URI");

	return s != NULL && *s != '\0' ? s : "qemu:///system";
}

/* The implicit env 0. */
static int
guest_env_default(struct guest_env *out)
{
	memset(out, 0, sizeof *out);
	out->implicit = true;
	out->uri = strdup(default_uri());
	out->transport = strdup(GUEST_TEMPLATE_DEFAULT);
	if (out->uri == NULL || out->transport == NULL) {
		guest_env_clear(out);
		return -ENOMEM;
	}
	return 0;
}

const struct guest_env *
guest_env_find(const struct guest_env *envs, size_t n, const char *spec)
{
	char *end;
	unsigned long v;
	size_t i;

	errno = 0;
	v = strtoul(spec, &end, 10);
	if (*spec >= '0' && *spec <= '9' && *end == '\0' && errno == 0) {
		for (i = 0; i < n; i++)
			if (envs[i].id == v)
				return &envs[i];
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (envs[i].name != NULL && strcmp(envs[i].name, spec) == 0)
			return &envs[i];
	return NULL;
}

/* The implicit env 0 as stored, made to match today's default URI: a
 * changed $LIBVIRT_DEFAULT_URI is another environment, so its guests go.
 * Inside a write transaction. */
static int
sync_implicit(struct guest_inventory *inv, struct guest_error *e)
{
	sqlite3_stmt *st;
	int64_t configured = 0;
	int rc;

	if ((rc = query_int(inv->db, "SELECT count(*) FROM env WHERE "
	    "implicit = 0", &configured)) != SQLITE_OK)
		return db_error(inv, rc, "reading environments", e);
	if (configured > 0)
		return 0;
	rc = sqlite3_prepare_v2(inv->db, "DELETE FROM env WHERE id = 0 AND "
	    "uri <> ?1", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, default_uri(), -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_OK)
		return db_error(inv, rc, "updating env 0", e);
	rc = sqlite3_prepare_v2(inv->db, "INSERT OR IGNORE INTO env (id, uri, "
	    "transport, implicit) VALUES (0, ?1, ?2, 1)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, default_uri(), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, GUEST_TEMPLATE_DEFAULT, -1,
		    SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_DONE)
		return db_error(inv, rc, "updating env 0", e);
	return 0;
}

int
guest_inventory_envs(struct guest_inventory *inv, struct guest_env **out,
    size_t *n, struct guest_error *e)
{
	struct guest_env *envs = NULL, *t;
	sqlite3_stmt *st;
	size_t cap = 0, cnt = 0;
	int rc, r = 0;

	*out = NULL;
	*n = 0;
	if (inv == NULL) {		/* no store: only the default */
		if ((envs = calloc(1, sizeof *envs)) == NULL ||
		    guest_env_default(envs) < 0) {
			free(envs);
			return guest_error_set(e, -ENOMEM, "out of memory");
		}
		*out = envs;
		*n = 1;
		return 0;
	}
	rc = sqlite3_prepare_v2(inv->db, "SELECT id, name, uri, transport, "
	    "implicit, refreshed, stale_since, stale_reason FROM env "
	    "ORDER BY id", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_error(inv, rc, "reading environments", e);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 4;
			if ((t = realloc(envs, cap * sizeof *t)) == NULL) {
				r = guest_error_set(e, -ENOMEM, "out of memory");
				goto out;
			}
			envs = t;
		}
		t = &envs[cnt++];
		memset(t, 0, sizeof *t);
		t->id = (uint32_t)sqlite3_column_int64(st, 0);
		t->name = column_dup(st, 1);
		t->uri = column_dup(st, 2);
		t->transport = column_dup(st, 3);
		t->implicit = sqlite3_column_int(st, 4) != 0;
		t->refreshed = sqlite3_column_int64(st, 5);
		t->stale_since = sqlite3_column_int64(st, 6);
		t->stale_reason = column_dup(st, 7);
		if (t->uri == NULL || t->transport == NULL) {
			r = guest_error_set(e, -ENOMEM, "out of memory");
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		r = db_error(inv, rc, "reading environments", e);
		goto out;
	}
	/* Only the implicit env 0 (or nothing): it follows today's default,
	 * and a stored one for another URI says nothing about this one. */
	if (cnt == 0 || (cnt == 1 && envs[0].implicit &&
	    strcmp(envs[0].uri, default_uri()) != 0)) {
		sqlite3_finalize(st);
		guest_env_list_free(envs, cnt);
		return guest_inventory_envs(NULL, out, n, e);
	}
out:
	sqlite3_finalize(st);
	if (r < 0) {
		guest_env_list_free(envs, cnt);
		return r;
	}
	*out = envs;
	*n = cnt;
	return 0;
}

int
guest_inventory_env_add(struct guest_inventory *inv, const char *uri,
    const char *name, const char *transport, uint32_t *id,
    struct guest_error *e)
{
	sqlite3_stmt *st = NULL;
	int64_t next = 0, same = 0, dup = 0;
	int rc, r;

	if (transport == NULL)
		transport = GUEST_TEMPLATE_DEFAULT;
	if ((r = guest_template_check(transport, e)) < 0)
		return r;
	if (name != NULL && (*name == '\0' || strspn(name, "0123456789") ==
	    strlen(name) || strcspn(name, " \t\n/:") != strlen(name)))
		return guest_error_set(e, -EINVAL, "'%s': an environment name "
		    "is a word that is not a number", name);
	if ((r = exec_sql(inv, "BEGIN IMMEDIATE", e)) < 0)
		return r;
	rc = sqlite3_prepare_v2(inv->db, "SELECT count(*) FROM env WHERE "
	    "implicit = 0 AND (uri = ?1 AND transport = ?2 OR name = ?3)", -1,
	    &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, transport, -1, SQLITE_STATIC);
		if (name != NULL)
			sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			dup = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc != SQLITE_OK) {
		r = db_error(inv, rc, "reading environments", e);
		goto fail;
	}
	if (dup > 0) {
		r = guest_error_set(e, -EEXIST, "%s is already an environment",
		    name != NULL ? name : uri);
		goto fail;
	}
	/* The first one added takes the place of the implicit env 0. */
	rc = sqlite3_prepare_v2(inv->db, "SELECT count(*) FROM env WHERE id = 0 "
	    "AND implicit = 1 AND uri = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			same = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc != SQLITE_OK) {
		r = db_error(inv, rc, "reading environments", e);
		goto fail;
	}
	if (same > 0)
		rc = sqlite3_prepare_v2(inv->db, "UPDATE env SET implicit = 0, "
		    "name = ?2, transport = ?3 WHERE id = 0 RETURNING id", -1,
		    &st, NULL);
	else {
		if ((r = exec_sql(inv, "DELETE FROM env WHERE implicit = 1",
		    e)) < 0)
			goto fail;
		/* The lowest free number. */
		rc = sqlite3_prepare_v2(inv->db, "SELECT id FROM env ORDER BY id",
		    -1, &st, NULL);
		while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (sqlite3_column_int64(st, 0) != next)
				break;
			next++;
			rc = SQLITE_OK;
		}
		if (st != NULL)
			sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			r = db_error(inv, rc, "numbering", e);
			goto fail;
		}
		rc = sqlite3_prepare_v2(inv->db, "INSERT INTO env (id, uri, "
		    "name, transport) VALUES (?4, ?1, ?2, ?3) RETURNING id", -1,
		    &st, NULL);
	}
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
		if (name != NULL)
			sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, transport, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, next);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			*id = (uint32_t)sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
			(void)sqlite3_step(st);
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc != SQLITE_OK) {
		r = db_error(inv, rc, "adding the environment", e);
		goto fail;
	}
	if ((r = exec_sql(inv, "COMMIT", e)) < 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(inv->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int
guest_inventory_env_remove(struct guest_inventory *inv, uint32_t id,
    struct guest_error *e)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(inv->db, "DELETE FROM env WHERE id = ?1 AND "
	    "implicit = 0", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_DONE)
		return db_error(inv, rc, "removing the environment", e);
	if (sqlite3_changes(inv->db) == 0)
		return guest_error_set(e, -ENOENT, "env %u is not configured",
		    id);
	return 0;
}

/* Guests ---------------------------------------------------------------- */

void
guest_record_list_free(struct guest_record *g, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(g[i].vm.name);
	free(g);
}

void
guest_vm_list_free(struct guest_vm *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* The stored guests of env, ordered by name or by uuid. */
static int
load_guests(struct guest_inventory *inv, uint32_t env, bool by_uuid,
    struct guest_record **out, size_t *n, struct guest_error *e)
{
	struct guest_record *g = NULL, *t;
	sqlite3_stmt *st;
	size_t cap = 0, cnt = 0;
	int rc, r = 0;

	*out = NULL;
	*n = 0;
	/* Every stored guest was seen by the last good refresh (those it
	 * did not see are deleted): that is when each was last seen. */
	rc = sqlite3_prepare_v2(inv->db, by_uuid ?
	    "SELECT uuid, g.name, state, dom_id, cid, has_vsock, first_seen, "
	    "e.refreshed FROM guest g JOIN env e ON e.id = g.env "
	    "WHERE g.env = ?1 ORDER BY uuid" :
	    "SELECT uuid, g.name, state, dom_id, cid, has_vsock, first_seen, "
	    "e.refreshed FROM guest g JOIN env e ON e.id = g.env "
	    "WHERE g.env = ?1 ORDER BY g.name, uuid", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_error(inv, rc, "reading guests", e);
	sqlite3_bind_int64(st, 1, env);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((t = realloc(g, cap * sizeof *t)) == NULL) {
				r = guest_error_set(e, -ENOMEM, "out of memory");
				goto out;
			}
			g = t;
		}
		t = &g[cnt++];
		memset(t, 0, sizeof *t);
		snprintf(t->vm.uuid, sizeof t->vm.uuid, "%s",
		    (const char *)sqlite3_column_text(st, 0));
		t->vm.name = column_dup(st, 1);
		snprintf(t->vm.state, sizeof t->vm.state, "%s",
		    (const char *)sqlite3_column_text(st, 2));
		t->vm.id = sqlite3_column_int(st, 3);
		t->vm.active = t->vm.id >= 0;
		t->vm.cid = sqlite3_column_type(st, 4) == SQLITE_NULL ?
		    GUEST_NO_CID : sqlite3_column_int64(st, 4);
		t->vm.has_vsock = sqlite3_column_int(st, 5) != 0;
		t->env = env;
		t->first_seen = sqlite3_column_int64(st, 6);
		t->last_seen = sqlite3_column_int64(st, 7);
		if (t->vm.name == NULL) {
			r = guest_error_set(e, -ENOMEM, "out of memory");
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		r = db_error(inv, rc, "reading guests", e);
out:
	sqlite3_finalize(st);
	if (r < 0) {
		guest_record_list_free(g, cnt);
		return r;
	}
	*out = g;
	*n = cnt;
	return 0;
}

int
guest_inventory_guests(struct guest_inventory *inv, uint32_t env,
    struct guest_record **out, size_t *n, struct guest_error *e)
{
	return load_guests(inv, env, false, out, n, e);
}

static int
mark_stale(struct guest_inventory *inv, const struct guest_env *env,
    const char *reason)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_exec(inv->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return -EBUSY;
	if (env->implicit && sync_implicit(inv, NULL) < 0)
		goto fail;
	rc = sqlite3_prepare_v2(inv->db, "UPDATE env SET stale_since = "
	    "CASE WHEN stale_since = 0 THEN ?2 ELSE stale_since END, "
	    "stale_reason = ?3 WHERE id = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, env->id);
	sqlite3_bind_int64(st, 2, wall_ms());
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE ||
	    sqlite3_exec(inv->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	sqlite3_exec(inv->db, "ROLLBACK", NULL, NULL, NULL);
	return -EIO;
}

static int
vm_cmp(const void *a, const void *b)
{
	return strcmp(((const struct guest_vm *)a)->uuid,
	    ((const struct guest_vm *)b)->uuid);
}

static bool
vm_same(const struct guest_vm *a, const struct guest_vm *b)
{
	return strcmp(a->name, b->name) == 0 &&
	    strcmp(a->state, b->state) == 0 && a->active == b->active &&
	    a->id == b->id && a->cid == b->cid && a->has_vsock == b->has_vsock;
}

/* Bring the stored guests of env to vms (sorted here by UUID), writing
 * only what changed, in one IMMEDIATE transaction: what is stored is read
 * again inside it, since another process may have refreshed meanwhile. */
static int
store_vms(struct guest_inventory *inv, const struct guest_env *env,
    struct guest_vm *vms, size_t n, struct guest_error *e)
{
	struct guest_record *old = NULL;
	sqlite3_stmt *up = NULL, *del = NULL, *st = NULL;
	int64_t now = wall_ms();
	size_t nold = 0, i = 0, j = 0;
	int rc = SQLITE_OK, r, c;

	if (n > 0)	/* an empty daemon gives NULL */
		qsort(vms, n, sizeof *vms, vm_cmp);
	if ((r = exec_sql(inv, "BEGIN IMMEDIATE", e)) < 0)
		return r;
	if (env->implicit && (r = sync_implicit(inv, e)) < 0)
		goto fail;
	if ((r = load_guests(inv, env->id, true, &old, &nold, e)) < 0)
		goto fail;
	if ((rc = sqlite3_prepare_v2(inv->db, "INSERT INTO guest (env, uuid, "
	    "name, state, dom_id, cid, has_vsock, first_seen) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (env, uuid) DO UPDATE SET "
	    "name = ?3, state = ?4, dom_id = ?5, cid = ?6, has_vsock = ?7", -1,
	    &up, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(inv->db, "DELETE FROM guest WHERE env = ?1 "
	    "AND uuid = ?2", -1, &del, NULL)) != SQLITE_OK)
		goto db_fail;
	/* A merge of two lists sorted by UUID. */
	while (i < n || j < nold) {
		c = i == n ? 1 : j == nold ? -1 :
		    strcmp(vms[i].uuid, old[j].vm.uuid);
		if (c > 0) {		/* gone from libvirt: gone here */
			sqlite3_bind_int64(del, 1, env->id);
			sqlite3_bind_text(del, 2, old[j].vm.uuid, -1,
			    SQLITE_STATIC);
			rc = sqlite3_step(del);
			sqlite3_reset(del);
			j++;
			if (rc != SQLITE_DONE)
				goto db_fail;
			continue;
		}
		if (c == 0 && vm_same(&vms[i], &old[j].vm)) {
			i++;
			j++;
			continue;
		}
		sqlite3_bind_int64(up, 1, env->id);
		sqlite3_bind_text(up, 2, vms[i].uuid, -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 3, vms[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 4, vms[i].state, -1, SQLITE_STATIC);
		sqlite3_bind_int(up, 5, vms[i].active ? vms[i].id : -1);
		if (vms[i].cid >= 0)
			sqlite3_bind_int64(up, 6, vms[i].cid);
		else
			sqlite3_bind_null(up, 6);
		sqlite3_bind_int(up, 7, vms[i].has_vsock);
		sqlite3_bind_int64(up, 8, now);
		rc = sqlite3_step(up);
		sqlite3_reset(up);
		i++;
		if (c == 0)
			j++;
		if (rc != SQLITE_DONE)
			goto db_fail;
	}
	rc = sqlite3_prepare_v2(inv->db, "UPDATE env SET refreshed = ?2, "
	    "stale_since = 0, stale_reason = NULL WHERE id = ?1", -1, &st,
	    NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, env->id);
		sqlite3_bind_int64(st, 2, now);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE)
		goto db_fail;
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	sqlite3_finalize(del);
	guest_record_list_free(old, nold);
	if ((r = exec_sql(inv, "COMMIT", e)) < 0) {
		sqlite3_exec(inv->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	return 0;
db_fail:
	r = db_error(inv, rc, "storing guests", e);
fail:
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	sqlite3_finalize(del);
	guest_record_list_free(old, nold);
	sqlite3_exec(inv->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int
guest_inventory_refresh(struct guest_inventory *inv,
    const struct guest_env *env, size_t *xml_fetched, struct guest_error *e)
{
	struct guest_record *known = NULL;
	struct guest_vm *kv = NULL, *vms = NULL;
	size_t nknown = 0, nvms = 0, fetched = 0, i;
	struct guest_error local;
	bool stored = true;
	int r;

	if (e == NULL)
		e = &local;
	if (inv->readonly)
		return guest_error_set(e, -EROFS, "inventory opened read-only");
	/* The implicit env 0 stored for another URI knows nothing of this
	 * one. */
	if (env->implicit && env->refreshed == 0)
		stored = false;
	if (stored && (r = load_guests(inv, env->id, true, &known, &nknown,
	    e)) < 0)
		return r;
	if (nknown > 0 && (kv = calloc(nknown, sizeof *kv)) == NULL) {
		guest_record_list_free(known, nknown);
		return guest_error_set(e, -ENOMEM, "out of memory");
	}
	for (i = 0; i < nknown; i++)
		kv[i] = known[i].vm;	/* names stay owned by known */
	r = guest_virt_discover(env->uri, kv, nknown, &vms, &nvms, &fetched, e);
	free(kv);
	guest_record_list_free(known, nknown);
	if (r < 0) {
		(void)mark_stale(inv, env, e->msg);
		return r;
	}
	r = store_vms(inv, env, vms, nvms, e);
	guest_vm_list_free(vms, nvms);
	if (xml_fetched != NULL)
		*xml_fetched = fetched;
	return r;
}

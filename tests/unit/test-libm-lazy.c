/*
 * SQLite's SQL math functions through libguest/libm-lazy.c: guest does not
 * load libm at start (test-list.sh checks that guest does not need it),
 * and they still give libm's answers when called.
 */
#include <link.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

static int
find_libm(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if (strstr(info->dlpi_name, "libm.so") != NULL)
		*(int *)arg = 1;
	return 0;
}

static int
libm_loaded(void)
{
	int found = 0;

	dl_iterate_phdr(find_libm, &found);
	return found;
}

static void
test_sql_math(void **state)
{
	static const struct {
		const char	*sql;
		double		 want;
	} cases[] = {
		{ "SELECT sin(0.5)",		0.479425538604203 },
		{ "SELECT cos(0.5)",		0.8775825618903728 },
		{ "SELECT tan(0.5)",		0.5463024898437905 },
		{ "SELECT asin(0.5)",		0.5235987755982989 },
		{ "SELECT acos(0.5)",		1.0471975511965979 },
		{ "SELECT atan(0.5)",		0.4636476090008061 },
		{ "SELECT atan2(1, 2)",		0.4636476090008061 },
		{ "SELECT sinh(0.5)",		0.5210953054937474 },
		{ "SELECT cosh(0.5)",		1.1276259652063807 },
		{ "SELECT tanh(0.5)",		0.46211715726000974 },
		{ "SELECT asinh(0.5)",		0.48121182505960347 },
		{ "SELECT acosh(1.5)",		0.9624236501192069 },
		{ "SELECT atanh(0.5)",		0.5493061443340549 },
		{ "SELECT exp(1)",		2.718281828459045 },
		{ "SELECT ln(10)",		2.302585092994046 },
		{ "SELECT pow(2, 10)",		1024 },
		{ "SELECT sqrt(2)",		1.4142135623730951 },
		{ "SELECT mod(7.5, 2)",		1.5 },
		{ "SELECT trunc(-2.7)",		-2 },
	};
	sqlite3 *db;
	sqlite3_stmt *st;
	size_t i;
	/* (A sanitizer's runtime brings libm itself.) */
	int before = libm_loaded();

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(libm_loaded(), before);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(sqlite3_prepare_v2(db, cases[i].sql, -1, &st,
		    NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		if (fabs(sqlite3_column_double(st, 0) - cases[i].want) > 1e-12)
			fail_msg("%s: %.17g, wanted %.17g", cases[i].sql,
			    sqlite3_column_double(st, 0), cases[i].want);
		sqlite3_finalize(st);
	}
	assert_true(libm_loaded());
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sql_math),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

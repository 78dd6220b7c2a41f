/*
 * The math functions the statically linked SQLite refers to (its SQL
 * functions sin(), pow(), ...), loaded from libm only when one is first
 * called.  guest's own SQL never calls them, yet linking libm made every
 * command load it at start: about 0.4 ms of a 2 ms start on a machine
 * where page-table work is dear (docs/BENCHMARKS.md).  Host only.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef double (*fn1)(double);
typedef double (*fn2)(double, double);

/* The function name from libm, resolved once (a race resolves it twice to
 * the same address). */
static void *
libm_sym(void **cache, const char *name)
{
	static void *libm;
	void *h, *f;

	if ((f = __atomic_load_n(cache, __ATOMIC_ACQUIRE)) != NULL)
		return f;
	if ((h = __atomic_load_n(&libm, __ATOMIC_ACQUIRE)) == NULL) {
		if ((h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL)) == NULL) {
			fprintf(stderr, "guest: cannot load libm: %s\n",
			    dlerror());
			abort();
		}
		__atomic_store_n(&libm, h, __ATOMIC_RELEASE);
	}
	if ((f = dlsym(h, name)) == NULL) {
		fprintf(stderr, "guest: libm has no %s\n", name);
		abort();
	}
	__atomic_store_n(cache, f, __ATOMIC_RELEASE);
	return f;
}

#define LAZY1(name)							\
	double name(double x)						\
	{								\
		static void *f;						\
		return ((fn1)libm_sym(&f, #name))(x);			\
	}
#define LAZY2(name)							\
	double name(double x, double y)					\
	{								\
		static void *f;						\
		return ((fn2)libm_sym(&f, #name))(x, y);		\
	}

LAZY1(acos) LAZY1(acosh) LAZY1(asin) LAZY1(asinh) LAZY1(atan) LAZY1(atanh)
LAZY1(cos) LAZY1(cosh) LAZY1(exp) LAZY1(log) LAZY1(sin) LAZY1(sinh)
LAZY1(sqrt) LAZY1(tan) LAZY1(tanh) LAZY1(trunc)
LAZY2(atan2) LAZY2(fmod) LAZY2(pow)

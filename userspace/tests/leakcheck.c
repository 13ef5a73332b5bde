// SPDX-License-Identifier: GPL-2.0
/*
 * Every unit test leak-checked.  The kselftest harness runs each test in a
 * child it forks (a TEST_F's body in a grandchild) and the child leaves by
 * _exit(), so LeakSanitizer's check at exit never ran there: a test
 * leaking memory passed.  The unit tests are linked with
 * -Wl,--wrap=_exit (Makefile), which sends every _exit() of the harness
 * and of the tests here: in the ASan build LeakSanitizer checks the
 * process first, and a leak makes it leave with KSFT_FAIL, which fails the
 * test.  The harness itself stays the kernel's, unmodified.
 */
#include <stdio.h>
#include <unistd.h>

#include "kselftest.h"
#include "leakcheck.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

void __real__exit(int status) __attribute__((noreturn));
void __wrap__exit(int status) __attribute__((noreturn));

void __wrap__exit(int status)
{
#ifdef __SANITIZE_ADDRESS__
	/* The report is on stderr already; this names the test's failure. */
	if (__lsan_do_recoverable_leak_check()) {
		fprintf(stderr, "# LeakSanitizer: memory leaked (report above), the test fails\n");
		fflush(stderr);
		status = KSFT_FAIL;
	}
#endif
	__real__exit(status);
}

void leakcheck_exit_unchecked(int status)
{
	__real__exit(status);
}

#ifdef __SANITIZE_ADDRESS__
/*
 * Once in the harness's process, before any test: the check reads every
 * writable page of every module (12 MB, most of it the sanitizer
 * runtimes' own zeroed data), and a page read here is mapped in each
 * forked test already instead of faulting in again for each check, which
 * halves what the check adds to a test.  A leak found here fails the
 * program at its exit (LeakSanitizer's own check).
 */
static void __attribute__((constructor)) leakcheck_map_pages(void)
{
	__lsan_do_recoverable_leak_check();
}
#endif

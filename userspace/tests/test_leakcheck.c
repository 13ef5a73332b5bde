// SPDX-License-Identifier: GPL-2.0
/* The unit tests' leak check (leakcheck.c): a process leaving by _exit(),
 * as the harness's test children do, is checked by LeakSanitizer first and
 * leaves with KSFT_FAIL when it leaked.  Each test forks a child that
 * leaves as a test does and reads what it printed and how it ended. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define LEAK_SIZE 4099		/* a size the report is recognised by */

static void *volatile sink;

/* LEAK_SIZE bytes, then the last pointer to them forgotten. */
static void __attribute__((noinline)) leak(void)
{
	sink = malloc(LEAK_SIZE);
	if (sink)
		memset(sink, 0x5a, LEAK_SIZE);
	sink = NULL;
}

static void __attribute__((noinline)) no_leak(void)
{
	sink = malloc(LEAK_SIZE);
	free(sink);
	sink = NULL;
}

/* Runs fn in a child that leaves by _exit(0); its stderr into err (NUL
 * terminated, cut at len - 1), its wait status returned, -1 on error. */
static int child_exit(void (*fn)(void), char *err, size_t len)
{
	size_t got = 0;
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		fn();
		_exit(0);
	}
	close(p[1]);
	while (pid > 0 && (n = read(p[0], err + got, len - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = '\0';
	close(p[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static char err[65536];

TEST(leak_before_exit_fails_the_process)
{
#ifdef __SANITIZE_ADDRESS__
	char want[64];
	int status = child_exit(leak, err, sizeof(err));

	ASSERT_NE(-1, status);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(KSFT_FAIL, WEXITSTATUS(status));
	snprintf(want, sizeof(want), "Direct leak of %d byte(s)", LEAK_SIZE);
	EXPECT_NE(NULL, strstr(err, want));
	EXPECT_NE(NULL, strstr(err, " in leak "));	/* the allocation's stack */
#else
	SKIP(return, "LeakSanitizer checks: the asan build only");
#endif
}

TEST(no_leak_exits_as_asked)
{
	int status = child_exit(no_leak, err, sizeof(err));

	ASSERT_NE(-1, status);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_STREQ("", err);
}

TEST_HARNESS_MAIN

/*
 * Runs every test of the suites linked into this binary, each in a forked
 * child with a timeout. Usage: unit-tests [NAME-SUBSTRING]
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
/* The nn engine's tests reuse this runner with their own list of suites. */
#ifdef VG_SUITES_FILE
#include VG_SUITES_FILE
#else
#include "suites.h"
#endif

#define TEST_TIMEOUT_S 60

static int run_one(const vg_test *t)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(TEST_TIMEOUT_S);
		t->fn();
		fflush(NULL);
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "%s: killed by signal %d%s\n", t->name, WTERMSIG(status),
			WTERMSIG(status) == SIGALRM ? " (timed out)" : "");
	}
	return 1;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	int n = 0, passed = 0, failed = 0, skipped = 0;
	for (const vg_test *const *suite = vg_all_suites; *suite; suite++) {
		for (const vg_test *t = *suite; t->name; t++) {
			if (filter && !strstr(t->name, filter))
				continue;
			int rc = run_one(t);
			n++;
			if (rc == 0) {
				passed++;
				printf("ok %d - %s\n", n, t->name);
			} else if (rc == 77) {
				skipped++;
				printf("ok %d - %s # SKIP\n", n, t->name);
			} else {
				failed++;
				printf("not ok %d - %s\n", n, t->name);
			}
			fflush(stdout);
		}
	}
	printf("1..%d\n", n);
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	else
		printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

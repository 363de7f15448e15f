/*
 * 2008-lanes - one job on several threads: lane 0 always takes part and
 * can finish alone, workers join while the run is open, every piece of
 * work is done exactly once, a run returns only when the workers that
 * joined are out (the job lives on the caller's stack), workers block
 * signals, and a forked child starts its own workers.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lanes.h"
#include "test-lib.h"

#define ITEMS	20000

struct job {
	atomic_size_t next;
	atomic_int done[ITEMS];		/* each item: times done */
	unsigned long by_lane[LANES_MAX];
	int signals_blocked;		/* in every worker that joined */
	atomic_int inside;		/* lanes in fn now */
};

static void work(void *v, int lane)
{
	struct job *jb = v;
	size_t i;

	atomic_fetch_add(&jb->inside, 1);
	if (lane > 0) {
		sigset_t set;

		if (pthread_sigmask(SIG_BLOCK, NULL, &set) != 0 ||
		    !sigismember(&set, SIGTERM) || !sigismember(&set, SIGALRM))
			jb->signals_blocked = 0;
	}
	while ((i = atomic_fetch_add(&jb->next, 1)) < ITEMS) {
		volatile unsigned k, x = 0;

		for (k = 0; k < 200; k++)	/* a little work per item */
			x += k;
		atomic_fetch_add(&jb->done[i], 1);
		jb->by_lane[lane]++;
	}
	atomic_fetch_sub(&jb->inside, 1);
}

/* RUNS jobs; 1 when every item of every run was done exactly once and
   no lane was still inside when lanes_run() returned */
static int runs(struct lanes *l, int n_runs, unsigned long *helped,
		int *blocked)
{
	int r, ok = 1;
	size_t i;

	*helped = 0;
	*blocked = 1;
	for (r = 0; r < n_runs; r++) {
		struct job *jb = calloc(1, sizeof(*jb));

		if (jb == NULL)
			return 0;
		atomic_init(&jb->next, 0);
		atomic_init(&jb->inside, 0);
		jb->signals_blocked = 1;
		lanes_run(l, work, jb);
		if (atomic_load(&jb->inside) != 0)
			ok = 0;
		for (i = 0; i < ITEMS; i++)
			if (atomic_load(&jb->done[i]) != 1)
				ok = 0;
		for (i = 1; i < LANES_MAX; i++)
			*helped += jb->by_lane[i];
		if (!jb->signals_blocked)
			*blocked = 0;
		free(jb);	/* a late worker touching it: ASan says so */
	}
	return ok;
}

int main(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int want = cpus >= 2 ? 2 : 1, blocked, status = -1;
	struct lanes *l = lanes_init(2), *one = lanes_init(1);
	unsigned long helped;
	atomic_size_t v;
	pid_t pid;

	TEST_IS_INT(lanes_count(l), want, "2 lanes asked, %ld CPU(s): %d",
		    cpus, want);
	TEST_IS_INT(lanes_count(one), 1, "1 lane asked: 1");
	TEST_OK(runs(one, 20, &helped, &blocked), "one lane: every item once");
	TEST_IS_INT(helped, 0, "one lane: no worker");

	TEST_OK(runs(l, 300, &helped, &blocked),
		"two lanes, 300 runs: every item done exactly once, nobody "
		"inside after a run");
	if (want == 2)
		TEST_OK(helped > 0, "the worker joined and did %lu items",
			helped);
	else
		TEST_IS_INT(helped, 0, "one CPU: no worker");
	TEST_OK(blocked, "workers block signals");

	/* a child forked from a process with workers starts its own */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int ok = runs(l, 100, &helped, &blocked);

		lanes_deinit(&l);
		_exit(ok && (want == 1 || helped > 0) ? 0 : 1);
	}
	TEST_OK(pid > 0 && waitpid(pid, &status, 0) == pid &&
		WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"a forked child runs jobs on its own workers");
	TEST_OK(runs(l, 20, &helped, &blocked),
		"the parent's workers still run after the fork");

	atomic_init(&v, 5);
	lanes_wait_for(&v, 5);
	TEST_OK(1, "lanes_wait_for returns at once when the count is there");

	lanes_deinit(&l);
	lanes_deinit(&one);
	TEST_OK(l == NULL && one == NULL, "freed (workers joined)");
	return test_done();
}

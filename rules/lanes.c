/*
 * lanes - run one job on several threads (see lanes.h).
 *
 * A run: lane 0 publishes the job (fn, arg, a new run number) and wakes
 * the workers; a worker joins by adding itself to the run's count while
 * the run is open; lane 0, done with its own part, closes the run and
 * waits until the count is back to 0.  The count and the closed flag
 * are one atomic word, so a worker either joins before the close (and
 * is waited for) or sees it closed (and goes back to sleep).
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "lanes.h"
#include "msg.h"
#include "mymalloc.h"

#define CLOSED		0x40000000	/* in state: the run takes no one */
#define SPIN_NS		50000	/* lane 0 spins this long for the workers
				   before it sleeps: a sleep and a wake-up
				   cost more than that on a virtual machine */

struct lane_self {
	struct lanes *l;
	int lane;
	unsigned long seen;	/* the last run it looked at */
};

struct lanes {
	int want;		/* lanes asked for */
	int n;			/* lanes a run may use: 1 + workers */
	pid_t pid;		/* the process whose workers these are */
	pthread_t th[LANES_MAX - 1];
	struct lane_self self[LANES_MAX - 1];
	int n_th;
	pthread_mutex_t lock;
	pthread_cond_t go, done;
	unsigned long gen;	/* runs started (under lock) */
	int quit;
	void (*fn)(void *, int);
	void *arg;
	atomic_int state;	/* workers in the run, | CLOSED */
};

static void *worker(void *v)
{
	struct lane_self *me = v;
	struct lanes *l = me->l;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		int st;

		while (!l->quit && l->gen == me->seen)
			pthread_cond_wait(&l->go, &l->lock);
		if (l->quit)
			break;
		me->seen = l->gen;
		pthread_mutex_unlock(&l->lock);
		/* join unless lane 0 has closed the run */
		st = atomic_load(&l->state);
		while (!(st & CLOSED) &&
		       !atomic_compare_exchange_weak(&l->state, &st, st + 1))
			;
		if (!(st & CLOSED)) {
			l->fn(l->arg, me->lane);
			if (atomic_fetch_sub(&l->state, 1) == (CLOSED | 1)) {
				/* the last one out of a closed run */
				pthread_mutex_lock(&l->lock);
				pthread_cond_signal(&l->done);
				pthread_mutex_unlock(&l->lock);
			}
		}
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

struct lanes *lanes_init(int n)
{
	struct lanes *l = mycalloc(1, sizeof(*l));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (n > LANES_MAX)
		n = LANES_MAX;
	if (cpus > 0 && n > cpus)
		n = (int)cpus;
	l->want = n < 1 ? 1 : n;
	l->n = 1;
	return l;
}

int lanes_count(const struct lanes *l)
{
	return l->pid == getpid() ? l->n : l->want;
}

/* this process's workers, once: a forked child starts its own */
static void start_workers(struct lanes *l)
{
	sigset_t all, old;
	int i;

	if (l->pid == getpid())
		return;
	l->pid = getpid();
	l->n_th = 0;
	l->n = 1;
	if (l->want < 2)
		return;
	if (pthread_mutex_init(&l->lock, NULL) != 0 ||
	    pthread_cond_init(&l->go, NULL) != 0 ||
	    pthread_cond_init(&l->done, NULL) != 0) {
		msg_warn("rules: cannot set up the scoring threads; one "
			 "thread scores");
		l->want = 1;
		return;
	}
	l->quit = 0;
	l->gen = 0;
	atomic_init(&l->state, CLOSED);
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 1; i < l->want; i++) {
		struct lane_self *me = &l->self[l->n_th];

		me->l = l;
		me->lane = i;
		me->seen = 0;
		if (pthread_create(&l->th[l->n_th], NULL, worker, me) != 0) {
			msg_warn("rules: cannot start a scoring thread; %d "
				 "score", l->n_th + 1);
			break;
		}
		l->n_th++;
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	l->n = 1 + l->n_th;
}

static long elapsed_ns(const struct timespec *t0)
{
	struct timespec t;

	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

void lanes_run(struct lanes *l, void (*fn)(void *arg, int lane), void *arg)
{
	struct timespec t0;
	unsigned i;

	start_workers(l);
	if (l->n_th == 0) {
		fn(arg, 0);
		return;
	}
	pthread_mutex_lock(&l->lock);
	l->fn = fn;
	l->arg = arg;
	atomic_store(&l->state, 0);	/* open */
	l->gen++;
	pthread_cond_broadcast(&l->go);
	pthread_mutex_unlock(&l->lock);
	fn(arg, 0);
	if ((atomic_fetch_or(&l->state, CLOSED) & ~CLOSED) == 0)
		return;		/* no worker inside */
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 1; atomic_load(&l->state) != CLOSED; i++)
		if ((i & 63) == 0 && elapsed_ns(&t0) > SPIN_NS)
			break;
	if (atomic_load(&l->state) == CLOSED)
		return;
	pthread_mutex_lock(&l->lock);
	while (atomic_load(&l->state) != CLOSED)
		pthread_cond_wait(&l->done, &l->lock);
	pthread_mutex_unlock(&l->lock);
}

void lanes_wait_for(const atomic_size_t *v, size_t n)
{
	unsigned i;

	for (i = 1; atomic_load(v) < n; i++)
		if ((i & 255) == 0)
			(void)sched_yield();
}

void lanes_deinit(struct lanes **lp)
{
	struct lanes *l = *lp;
	int i;

	if (l == NULL)
		return;
	/* workers of another process (a parent's) are not ours to stop */
	if (l->pid == getpid() && l->want > 1) {
		pthread_mutex_lock(&l->lock);
		l->quit = 1;
		pthread_cond_broadcast(&l->go);
		pthread_mutex_unlock(&l->lock);
		for (i = 0; i < l->n_th; i++)
			(void)pthread_join(l->th[i], NULL);
		pthread_mutex_destroy(&l->lock);
		pthread_cond_destroy(&l->go);
		pthread_cond_destroy(&l->done);
	}
	free(l);
	*lp = NULL;
}

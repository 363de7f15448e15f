/*
 * lanes - run one job on several threads of the calling process.
 *
 * A job is a function called on lane 0, the caller's thread, and on
 * those of lanes 1..n-1, worker threads kept for the next job, that
 * join in time: a worker that wakes after lane 0 has returned from the
 * job stays out of it.  So a job must be one lane 0 can finish alone,
 * its work shared out as the lanes come (an atomic counter over a list,
 * say); on a busy machine the workers simply add nothing.  The call
 * returns when lane 0 has returned and every worker that joined has.
 * The workers block every signal: signals go to the caller's thread as
 * before.
 *
 * The workers are started on the first run in a process: a process
 * forked from one that had them (the lmtpd sessions, from the master)
 * starts its own.  Internal to rules/.
 */
#ifndef SPAMTRAP_LANES_H
#define SPAMTRAP_LANES_H

#include <stdatomic.h>
#include <stddef.h>

#define LANES_MAX	4

struct lanes;

/* up to N lanes (1 to LANES_MAX), no more than the CPUs online */
struct lanes *lanes_init(int n);

/* how many lanes a run may use */
int lanes_count(const struct lanes *l);

/*
 * FN(ARG, lane) on lane 0 and on the workers that join in time.  When
 * the workers cannot be started, lane 0 runs alone (lanes_count() says 1
 * from then on).  Not reentrant: one run at a time per struct lanes.
 */
void lanes_run(struct lanes *l, void (*fn)(void *arg, int lane), void *arg);

/*
 * Spin (yielding now and then) until *V is at least N: for a lane that
 * waits a few microseconds for work another lane has taken.
 */
void lanes_wait_for(const atomic_size_t *v, size_t n);

void lanes_deinit(struct lanes **lp);

#endif

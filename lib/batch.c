// batch.c: see batch.h. A pool of workers over a window of records. The
// main thread reads records into the window and writes the finished ones in
// input order; each worker, as soon as it is free, takes the oldest record
// not yet taken. There is no barrier between records: on a shared machine
// one core often runs slower than the other for seconds at a time, and
// batches that all workers had to finish before the next one began left the
// fast core waiting for the slow one at every batch.
#include "batch.h"

#include <pthread.h>
#include <stdlib.h>

#include "nn/ops.h"

typedef struct {
    bc_record rec;
    int done, failed;
    bc_err err;
} slot;

// Record i of the stream lives in slots[i % cap] from when it is read until
// it is written; read, taken and written count records from the start.
typedef struct {
    const bc_batch_job *job;
    slot *slots;
    size_t cap;
    size_t read, taken, written;
    int eof;         // no more records will be read
    int stop;        // a record failed without --keep-going: take no more
    int threads;     // --threads, shared among the workers still running
    int running;     // workers not yet finished
    pthread_mutex_t lock;
    pthread_cond_t work;  // a record was read (or eof, or stop)
    pthread_cond_t done;  // a record was finished
} pool;

typedef struct {
    pool *p;
    void *state;  // job->worker_new's
    pthread_t tid;
} worker;

// The ops' threads, split among the workers still running: at the end of
// the stream, those left take the cores of those gone (a result does not
// depend on the thread count, so it may change while a record runs).
static void share_threads(pool *p) {
    int n = p->running > 0 ? p->threads / p->running : p->threads;
    bc_ops_set_threads(n > 0 ? n : 1);
}

static void *worker_main(void *arg) {
    worker *wk = arg;
    pool *p = wk->p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->taken == p->read && !p->eof && !p->stop) pthread_cond_wait(&p->work, &p->lock);
        if (p->stop || p->taken == p->read) break;  // stopped, or the stream is done
        slot *s = &p->slots[p->taken++ % p->cap];
        pthread_mutex_unlock(&p->lock);
        s->failed = p->job->process(wk->state, &s->rec, &s->err) < 0;
        pthread_mutex_lock(&p->lock);
        s->done = 1;
        pthread_cond_signal(&p->done);
    }
    p->running--;
    share_threads(p);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int bc_batch_workers(bc_tool *t) {
    if (t->batch <= 0) t->batch = t->threads < 8 ? t->threads : 8;
    int workers = t->batch < t->threads ? t->batch : t->threads;
    if (workers < 1) workers = 1;
    bc_ops_set_threads(t->threads / workers > 0 ? t->threads / workers : 1);
    return workers;
}

// Reads records into the window until it is full or the stream ends.
static void fill(bc_tool *t, pool *p) {
    // only this thread changes read and eof: reading them unlocked is safe
    while (!p->eof && p->read - p->written < p->cap) {
        slot *s = &p->slots[p->read % p->cap];  // free: no worker looks past read
        int more = bc_tool_next(t, &s->rec);
        pthread_mutex_lock(&p->lock);
        if (more) {
            s->done = 0;
            p->read++;
        } else {
            p->eof = 1;
        }
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->lock);
    }
}

void bc_batch_run(bc_tool *t, const bc_batch_job *job, int workers) {
    if (workers < 1) workers = 1;
    // At least twice the workers: a worker that is done may run a record or
    // two ahead of a slower one holding the oldest, before it waits for that
    // one to be written.
    size_t cap = (size_t)(t->batch > 2 * workers ? t->batch : 2 * workers);
    pool p = {.job = job, .slots = bc_calloc(cap, sizeof(slot)), .cap = cap, .threads = t->threads,
              .running = workers};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.work, NULL);
    pthread_cond_init(&p.done, NULL);
    worker *wk = bc_calloc((size_t)workers, sizeof *wk);
    for (int i = 0; i < workers; i++) {
        wk[i] = (worker){.p = &p, .state = job->worker_new(job->shared)};
        if (pthread_create(&wk[i].tid, NULL, worker_main, &wk[i]) != 0)
            bc_die(BC_EXIT_FATAL, "cannot start a thread");
    }
    // A stream shorter than the workers: the idle ones leave at once and
    // give their threads to the ops of the busy ones (share_threads).
    for (;;) {
        fill(t, &p);
        if (p.written == p.read) break;  // eof, all written
        slot *s = &p.slots[p.written % p.cap];
        pthread_mutex_lock(&p.lock);
        while (!s->done) pthread_cond_wait(&p.done, &p.lock);
        if (s->failed && !t->keep_going) {
            p.stop = 1;  // the tool stops at this record: let the workers finish theirs first
            pthread_cond_broadcast(&p.work);
        }
        pthread_mutex_unlock(&p.lock);
        if (p.stop)
            for (int i = 0; i < workers; i++) pthread_join(wk[i].tid, NULL);
        if (s->failed) {
            bc_tool_fail(t, &s->rec, &s->err);  // exits without --keep-going
        } else {
            if (job->unit) bc_progress_add(&t->prog, 0, 1, job->unit);
            bc_tool_emit(t, &s->rec);
        }
        p.written++;
    }
    for (int i = 0; i < workers; i++) {
        pthread_join(wk[i].tid, NULL);
        job->worker_free(wk[i].state);
    }
    free(wk);
    free(p.slots);
    pthread_cond_destroy(&p.work);
    pthread_cond_destroy(&p.done);
    pthread_mutex_destroy(&p.lock);
}

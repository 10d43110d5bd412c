// batch.c: see batch.h. Workers take the next record of the batch under a
// lock; the main thread waits for the batch, then writes it in order.
#include "batch.h"

#include <pthread.h>
#include <stdlib.h>

#include "nn/ops.h"

typedef struct {
    bc_record rec;
    int failed;
    bc_err err;
} slot;

typedef struct {
    const bc_batch_job *job;
    slot *slots;
    size_t n, next;  // records in this batch; the next one to take
    pthread_mutex_t lock;
} batch;

typedef struct {
    batch *b;
    void *state;  // job->worker_new's, kept across batches
} worker;

static void *worker_main(void *arg) {
    worker *wk = arg;
    batch *b = wk->b;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next++;
        pthread_mutex_unlock(&b->lock);
        if (i >= b->n) return NULL;
        slot *s = &b->slots[i];
        s->failed = b->job->process(wk->state, &s->rec, &s->err) < 0;
    }
}

int bc_batch_workers(bc_tool *t) {
    if (t->batch <= 0) t->batch = t->threads < 8 ? t->threads : 8;
    int workers = t->batch < t->threads ? t->batch : t->threads;
    if (workers < 1) workers = 1;
    bc_ops_set_threads(t->threads / workers > 0 ? t->threads / workers : 1);
    return workers;
}

void bc_batch_run(bc_tool *t, const bc_batch_job *job, int workers) {
    int size = t->batch > 0 ? t->batch : 1;
    batch b = {.job = job, .slots = bc_calloc((size_t)size, sizeof(slot))};
    pthread_mutex_init(&b.lock, NULL);
    worker *wk = bc_calloc((size_t)workers, sizeof *wk);
    pthread_t *tids = bc_calloc((size_t)workers, sizeof *tids);
    for (int i = 0; i < workers; i++) wk[i] = (worker){&b, job->worker_new(job->shared)};
    for (int more = 1; more;) {
        b.n = b.next = 0;
        while (b.n < (size_t)size && (more = bc_tool_next(t, &b.slots[b.n].rec))) b.n++;
        if (b.n == 0) break;
        // A batch with fewer records than workers (a short stream, the last
        // batch) gives the idle workers' threads to the ops of the busy ones.
        int busy = (size_t)workers < b.n ? workers : (int)b.n;
        bc_ops_set_threads(t->threads / busy > 0 ? t->threads / busy : 1);
        if (workers == 1 || b.n == 1) {
            worker_main(&wk[0]);
        } else {
            int started = 0;
            for (; started < workers && (size_t)started < b.n; started++)
                if (pthread_create(&tids[started], NULL, worker_main, &wk[started]) != 0)
                    bc_die(BC_EXIT_FATAL, "cannot start a thread");
            for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
        }
        for (size_t i = 0; i < b.n; i++) {  // in input order
            slot *s = &b.slots[i];
            if (s->failed) {
                bc_tool_fail(t, &s->rec, &s->err);
            } else {
                if (job->unit) bc_progress_add(&t->prog, 0, 1, job->unit);
                bc_tool_emit(t, &s->rec);
            }
        }
    }
    for (int i = 0; i < workers; i++) job->worker_free(wk[i].state);
    free(wk);
    free(tids);
    free(b.slots);
    pthread_mutex_destroy(&b.lock);
}

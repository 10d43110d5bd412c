// batch.h: the record loop of a tool whose records are independent
// (vq-decode, the score-* tools): records run on several worker threads at
// once — each worker with its own buffers and caches, all sharing one
// read-only model —, a worker taking the next record as soon as it is free,
// and they are written in input order, failures handled as bc_tool_fail
// does. Memory stays bounded by a window of records whatever the stream
// length, and a record's result never depends on the batch, the worker it
// ran on or the records around it.
#ifndef BICOT_BATCH_H
#define BICOT_BATCH_H

#include "tool.h"

typedef struct {
    void *shared;                       // the model and options: read-only while records run
    void *(*worker_new)(void *shared);  // one worker's own buffers and caches
    void (*worker_free)(void *worker);
    // Processes one record in place (sets its keys); -1 with err: the record
    // fails (reported, passed through with `errors` under --keep-going).
    int (*process)(void *worker, bc_record *rec, bc_err *err);
    const char *unit;  // what progress counts per record ("images")
} bc_batch_job;

// Splits --threads between records and the ops: min(--batch, --threads)
// workers (--batch 0, "not given", becomes min(--threads, 8)), each with
// --threads / workers ops threads (bc_ops_set_threads). Call after
// bc_tool_start; returns the worker count.
int bc_batch_workers(bc_tool *t);

// Runs the whole stream through job with `workers` threads, holding at most
// max(--batch, 2 · workers) records. When the stream runs out, the workers
// left with a record share --threads among themselves.
void bc_batch_run(bc_tool *t, const bc_batch_job *job, int workers);

#endif

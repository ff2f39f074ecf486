//! The task scheduler. A task is one (stage, partition). Tasks run on a rayon pool; a
//! stage's tasks are spawned as soon as every stage it reads has finished, and idle workers
//! steal queued tasks. A failing or panicking task cancels the query and its error (a panic
//! becomes [`Error::Internal`]) is the query's result.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::error::{panic_message, Error, Result};
use crate::exec::metrics::TaskMetrics;
use crate::exec::shuffle::{hash_split, StageOutput};
use crate::exec::task::{QueryContext, TaskContext};
use crate::physical::ops::exchange::Partitioning;
use crate::physical::plan::BatchStream;
use crate::stage::{StageGraph, StageSink};

struct RunState<'g> {
    graph: &'g StageGraph,
    query: Arc<QueryContext>,
    /// Per stage: inputs not yet finished.
    pending_inputs: Vec<AtomicUsize>,
    /// Per stage: tasks not yet finished.
    pending_tasks: Vec<AtomicUsize>,
    /// Per stage: consumers not yet finished (its output is released at zero).
    pending_consumers: Vec<AtomicUsize>,
    error: Mutex<Option<Error>>,
    start: Instant,
}

/// Runs every stage of `graph` on `pool` and streams the result stage's batches, in
/// partition order. What the result stage could not keep in memory was spilled; the stream
/// reads it back and holds the query's spill area until it is dropped.
pub fn run_streaming(graph: &StageGraph, query: Arc<QueryContext>, pool: &rayon::ThreadPool) -> Result<BatchStream> {
    let result_stage = graph
        .stages
        .last()
        .ok_or_else(|| Error::internal("empty stage graph"))?;
    let state = RunState {
        graph,
        query: Arc::clone(&query),
        pending_inputs: graph.stages.iter().map(|s| AtomicUsize::new(s.inputs.len())).collect(),
        pending_tasks: graph.stages.iter().map(|s| AtomicUsize::new(s.partitions)).collect(),
        pending_consumers: graph
            .stages
            .iter()
            .map(|s| AtomicUsize::new(graph.consumers(s.id).len()))
            .collect(),
        error: Mutex::new(None),
        start: Instant::now(),
    };
    query
        .progress
        .set_stages(graph.stages.iter().map(|s| (s.id, s.kind().to_string(), s.partitions)));
    pool.scope(|scope| {
        for stage in &graph.stages {
            if stage.inputs.is_empty() {
                start_stage(scope, &state, stage.id);
            }
        }
    });
    if let Some(e) = state
        .error
        .lock()
        .map_err(|_| Error::internal("scheduler lock poisoned"))?
        .take()
    {
        return Err(e);
    }
    if query.cancelled.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    let output = query.shuffles.get(result_stage.id)?;
    query.shuffles.release(result_stage.id);
    let buckets = (0..output.num_buckets())
        .map(|p| output.bucket(p))
        .collect::<Result<Vec<_>>>()?;
    let mut stream = buckets.into_iter().flatten();
    // The closure owns the query, so its spill area lives as long as the stream.
    Ok(Box::new(std::iter::from_fn(move || {
        if query.cancelled.load(Ordering::Relaxed) {
            return Some(Err(Error::Cancelled));
        }
        stream.next()
    })))
}

fn fail(state: &RunState, e: Error) {
    if let Ok(mut slot) = state.error.lock() {
        if slot.is_none() {
            *slot = Some(e);
        }
    }
    state.query.cancelled.store(true, Ordering::Relaxed);
}

fn start_stage<'s>(scope: &rayon::Scope<'s>, state: &'s RunState<'s>, id: usize) {
    let stage = &state.graph.stages[id];
    let buckets = match &stage.sink {
        StageSink::Exchange(Partitioning::Hash(_, n) | Partitioning::Forward(n)) => *n,
        StageSink::Exchange(Partitioning::Broadcast | Partitioning::Gather) => 1,
        StageSink::Result => stage.partitions,
    };
    let label = format!("ShuffleWrite (stage {id})");
    let reservation = state.query.memory.reservation(label.clone());
    let spill = Arc::clone(&state.query.spill);
    let output = match &stage.sink {
        StageSink::Exchange(Partitioning::Forward(_)) => {
            StageOutput::forward(stage.root.schema(), buckets, reservation, spill, label)
        }
        _ => StageOutput::new(
            stage.root.schema(),
            buckets,
            stage.partitions,
            reservation,
            spill,
            label,
        ),
    };
    let one_reader_per_bucket = match &stage.sink {
        StageSink::Exchange(Partitioning::Hash(..) | Partitioning::Forward(_)) => true,
        StageSink::Exchange(Partitioning::Gather) => state
            .graph
            .consumers(id)
            .iter()
            .all(|&c| state.graph.stages[c].partitions == 1),
        StageSink::Exchange(Partitioning::Broadcast) => false,
        // The scheduler itself reads the result once.
        StageSink::Result => true,
    };
    let readers = match stage.sink {
        StageSink::Result => 1,
        StageSink::Exchange(_) => state.graph.shuffle_reads(id),
    };
    let output = if readers == 1 { output.sole_reader() } else { output };
    let output = Arc::new(if one_reader_per_bucket && readers == 1 {
        output.read_once()
    } else {
        output
    });
    if let Err(e) = state.query.shuffles.register(id, output) {
        fail(state, e);
        return;
    }
    if stage.partitions == 0 {
        finish_stage(scope, state, id);
        return;
    }
    // The stage's shared work first, then its tasks, all from one job so the preparation
    // can use every worker (none of them is waiting on it inside a task).
    scope.spawn(move |scope| {
        if !state.query.cancelled.load(Ordering::Relaxed) {
            if let Err(e) = guard_panics(|| format!("preparing stage {id}"), || prepare_stage(state, id)) {
                fail(state, e);
            }
        }
        for partition in 0..stage.partitions {
            scope.spawn(move |scope| {
                if !state.query.cancelled.load(Ordering::Relaxed) {
                    state.query.progress.task_started(id);
                    let what = || format!("task (stage {id}, partition {partition})");
                    let result = guard_panics(what, || run_task(state, id, partition));
                    state.query.progress.task_done(id);
                    if let Err(e) = result {
                        fail(state, e);
                    }
                }
                if state.pending_tasks[id].fetch_sub(1, Ordering::AcqRel) == 1 {
                    finish_stage(scope, state, id);
                }
            });
        }
    });
}

/// Runs `work`, turning a panic into an error naming `what` panicked.
fn guard_panics(what: impl FnOnce() -> String, work: impl FnOnce() -> Result<()>) -> Result<()> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        Err(Error::internal(format!(
            "{} panicked: {}",
            what(),
            panic_message(&*panic)
        )))
    })
}

/// Prepares stage `id`'s plan (see [`crate::physical::plan::ExecutionPlan::prepare`]).
fn prepare_stage(state: &RunState, id: usize) -> Result<()> {
    let ctx = TaskContext {
        stage_id: id,
        partition: 0,
        query: Arc::clone(&state.query),
        operator: 0,
    };
    crate::physical::plan::prepare_measured(&state.graph.stages[id].root, &ctx)
}

fn finish_stage<'s>(scope: &rayon::Scope<'s>, state: &'s RunState<'s>, id: usize) {
    // Inputs are no longer needed once this stage is done.
    for &input in &state.graph.stages[id].inputs {
        if state.pending_consumers[input].fetch_sub(1, Ordering::AcqRel) == 1 {
            state.query.shuffles.release(input);
        }
    }
    if state.query.cancelled.load(Ordering::Relaxed) {
        return;
    }
    for consumer in state.graph.consumers(id) {
        if state.pending_inputs[consumer].fetch_sub(1, Ordering::AcqRel) == 1 {
            start_stage(scope, state, consumer);
        }
    }
}

fn run_task(state: &RunState, id: usize, partition: usize) -> Result<()> {
    let stage = &state.graph.stages[id];
    let ctx = TaskContext {
        stage_id: id,
        partition,
        query: Arc::clone(&state.query),
        operator: 0,
    };
    let started = state.start.elapsed();
    let output = state.query.shuffles.get(id)?;
    let stream = crate::physical::plan::execute_measured(&stage.root, partition, &ctx)?;
    let (mut rows, mut bytes) = (0u64, 0u64);
    for batch in stream {
        ctx.check_cancelled()?;
        let batch = batch?;
        rows += batch.num_rows() as u64;
        bytes += batch.get_array_memory_size() as u64;
        match &stage.sink {
            StageSink::Result => output.push(partition, partition, batch)?,
            StageSink::Exchange(Partitioning::Broadcast | Partitioning::Gather) => output.push(0, partition, batch)?,
            StageSink::Exchange(Partitioning::Forward(_)) => output.push(partition, partition, batch)?,
            StageSink::Exchange(Partitioning::Hash(keys, n)) => {
                let key_arrays = keys.iter().map(|k| k.evaluate(&batch)).collect::<Result<Vec<_>>>()?;
                for (bucket, part) in hash_split(&batch, &key_arrays, *n)?.into_iter().enumerate() {
                    if let Some(part) = part {
                        output.push(bucket, partition, part)?;
                    }
                }
            }
        }
    }
    output.finish_task(partition)?;
    state.query.metrics.record(TaskMetrics {
        stage_id: id,
        partition,
        worker: rayon::current_thread_index().unwrap_or(0),
        start: started,
        elapsed: state.start.elapsed().saturating_sub(started),
        output_rows: rows,
        output_bytes: bytes,
    });
    Ok(())
}

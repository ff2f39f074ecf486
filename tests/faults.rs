//! Faults inside a query: a task that panics or fails while its siblings are busy sorting
//! (and spilling) a large input. The query must end with that task's error (a panic becomes
//! an internal error naming the task), promptly: the other tasks stop at their next batch
//! instead of finishing their input, and every byte of memory and every spill file the
//! query held is released.

use std::any::Any;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rask::error::{Error, Result};
use rask::exec::memory::MemoryPool;
use rask::exec::scheduler::run_streaming;
use rask::exec::task::{ExecConfig, QueryContext, TaskContext};
use rask::physical::expr::PhysicalExpr;
use rask::physical::ops::range::RangeExec;
use rask::physical::ops::sort::{PhysSortExpr, SortExec};
use rask::physical::plan::{BatchStream, ExecutionPlan, PlanRef};
use rask::stage::split::split_into_stages;

/// What the faulty partition does after its first `after` batches.
#[derive(Debug, Clone, Copy)]
enum Fault {
    Panic,
    Error,
}

/// Passes its input through, except that partition 0 faults after `after` batches.
#[derive(Debug)]
struct FaultyExec {
    input: PlanRef,
    fault: Fault,
    after: usize,
}

impl ExecutionPlan for FaultyExec {
    fn name(&self) -> &'static str {
        "Faulty"
    }
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
    fn children(&self) -> Vec<&PlanRef> {
        vec![&self.input]
    }
    fn with_new_children(self: Arc<Self>, mut children: Vec<PlanRef>) -> Result<PlanRef> {
        Ok(Arc::new(FaultyExec {
            input: children.remove(0),
            fault: self.fault,
            after: self.after,
        }))
    }
    fn output_partitions(&self) -> Option<usize> {
        self.input.output_partitions()
    }
    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        let input = self.input.execute(partition, ctx)?;
        if partition != 0 {
            return Ok(input);
        }
        let (fault, after) = (self.fault, self.after);
        Ok(Box::new(input.enumerate().map(move |(i, batch)| {
            if i == after {
                match fault {
                    Fault::Panic => panic!("injected fault"),
                    Fault::Error => return Err(Error::execution("injected fault")),
                }
            }
            batch
        })))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Sorts a billion rows in four partitions under a 32 MB memory limit (so the sorts spill)
/// with partition 0 faulting early; returns the error, the time taken, the pool and the
/// spill directory.
fn run_with_fault(fault: Fault) -> (Error, Duration, Arc<MemoryPool>, tempfile::TempDir) {
    let spill_dir = tempfile::tempdir().unwrap();
    let config = ExecConfig {
        threads: 2,
        target_partitions: 4,
        batch_size: 8192,
        temp_dir: Some(spill_dir.path().to_path_buf()),
        ..ExecConfig::default()
    };
    let schema = Arc::new(Schema::new(vec![Field::new("range", DataType::Int64, false)]));
    let range = Arc::new(RangeExec::new(0, 1, 1_000_000_000, 4, config.batch_size, schema));
    let faulty = Arc::new(FaultyExec {
        input: range,
        fault,
        after: 200,
    });
    let key = PhysSortExpr::new(PhysicalExpr::column(0, "range"), true, false);
    let sort: PlanRef = Arc::new(SortExec::try_new(faulty, vec![key], None).unwrap());
    let graph = split_into_stages(sort).unwrap();
    let memory = MemoryPool::for_memory_limit(32 << 20);
    let query = Arc::new(QueryContext::new(
        config.clone(),
        Arc::clone(&memory),
        Arc::new(AtomicBool::new(false)),
    ));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .unwrap();
    let start = Instant::now();
    let result = run_streaming(&graph, query, &pool).and_then(|stream| stream.collect::<Result<Vec<_>>>());
    let elapsed = start.elapsed();
    (result.expect_err("the query fails"), elapsed, memory, spill_dir)
}

fn assert_released(memory: &MemoryPool, spill_dir: &tempfile::TempDir) {
    assert_eq!(memory.used(), 0, "memory still reserved after the failed query");
    let left: Vec<_> = walk(spill_dir.path());
    assert!(left.is_empty(), "spill files left behind: {left:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

// The whole sort (a billion rows, spilled) would take many minutes; a fault 200 batches in
// must end the query long before. The bound is generous for slow machines, not a benchmark.
const PROMPT: Duration = Duration::from_secs(60);

#[test]
fn a_panicking_task_cancels_the_query_and_frees_everything() {
    let (err, elapsed, memory, spill_dir) = run_with_fault(Fault::Panic);
    let text = err.to_string();
    assert!(matches!(err, Error::Internal(_)), "{text}");
    assert!(
        text.contains("task (stage 0, partition 0) panicked: injected fault"),
        "{text}"
    );
    assert!(elapsed < PROMPT, "took {elapsed:?}");
    assert_released(&memory, &spill_dir);
}

#[test]
fn a_failing_task_cancels_the_query_and_frees_everything() {
    let (err, elapsed, memory, spill_dir) = run_with_fault(Fault::Error);
    assert_eq!(err.to_string(), "Execution Error: injected fault");
    assert!(elapsed < PROMPT, "took {elapsed:?}");
    assert_released(&memory, &spill_dir);
}

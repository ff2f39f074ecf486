//! The live progress display: while a query has run for about a second (at once with
//! `--progress`), a line on stderr shows the running stages with their tasks done out of
//! all, the rows and bytes read, the bytes spilled, the elapsed time and an estimate of what
//! is left. It goes away when the query ends or its rows start printing, and is never drawn
//! when stderr is not a terminal or with `--no-progress`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::exec::memory::human_bytes;
use crate::exec::progress::{QueryProgress, RunningQuery};

/// When to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// After a query has run about a second, when stderr is a terminal.
    Auto,
    /// From the start of each query, when stderr is a terminal.
    Always,
    /// Never.
    Never,
}

static MODE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Sets when the display is drawn, for the whole process (from `--progress`/`--no-progress`).
pub fn set_mode(mode: ProgressMode) {
    let code = match mode {
        ProgressMode::Auto => 0,
        ProgressMode::Always => 1,
        ProgressMode::Never => 2,
    };
    MODE.store(code, Ordering::SeqCst);
}

/// When the display is drawn.
pub fn mode() -> ProgressMode {
    match MODE.load(Ordering::SeqCst) {
        1 => ProgressMode::Always,
        2 => ProgressMode::Never,
        _ => ProgressMode::Auto,
    }
}

/// How long a query runs before the display appears in [`ProgressMode::Auto`].
const DELAY_SECONDS: f64 = 1.0;
const TICK: Duration = Duration::from_millis(100);

/// A running progress display; dropping it removes it.
pub struct Progress {
    stop: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    /// Whether the line is on the screen now.
    shown: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts watching `running`, or returns `None` when nothing is to be drawn.
    pub fn start(running: RunningQuery, mode: ProgressMode) -> Option<Progress> {
        if mode == ProgressMode::Never || !std::io::stderr().is_terminal() {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let shown = Arc::new(AtomicBool::new(false));
        let flags = (Arc::clone(&stop), Arc::clone(&paused), Arc::clone(&shown));
        let thread = std::thread::Builder::new()
            .name("rask-progress".into())
            .spawn(move || watch(&running, mode, &flags.0, &flags.1, &flags.2))
            .ok()?;
        Some(Progress {
            stop,
            paused,
            shown,
            thread: Some(thread),
        })
    }

    /// Hides the display while results print; [`Progress::resume`] lets it come back for
    /// the next query.
    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
        // When the line is on the screen, wait (a tick at most) until it is gone.
        for _ in 0..20 {
            if !self.shown.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(TICK / 10);
        }
    }

    /// Lets the display come back.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn watch(running: &RunningQuery, mode: ProgressMode, stop: &AtomicBool, paused: &AtomicBool, on_screen: &AtomicBool) {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::term_like(Box::new(NarrowStderr::new())));
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:24}] {pos}/{len} tasks  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut shown = false;
    let mut watched: Option<*const QueryProgress> = None;
    while !stop.load(Ordering::SeqCst) {
        on_screen.store(shown, Ordering::SeqCst);
        std::thread::sleep(TICK / 2);
        let query = running.get();
        let visible = !paused.load(Ordering::SeqCst)
            && query.as_ref().is_some_and(|q| {
                let p = &q.progress;
                let (done, total) = p.tasks();
                total > 0 && done < total && (mode == ProgressMode::Always || p.elapsed() >= DELAY_SECONDS)
            });
        match (visible, query) {
            (true, Some(q)) => {
                let p: &QueryProgress = &q.progress;
                if watched != Some(p as *const _) {
                    watched = Some(p as *const _);
                    bar.reset();
                }
                let (done, total) = p.tasks();
                bar.set_length(total as u64);
                bar.set_position(done as u64);
                bar.set_message(describe(p, q.spill.total_bytes(), done, total));
                bar.tick();
                shown = true;
            }
            _ if shown => {
                bar.finish_and_clear();
                shown = false;
            }
            _ => {}
        }
    }
    if shown {
        bar.finish_and_clear();
    }
    on_screen.store(false, Ordering::SeqCst);
}

/// Standard error, told to indicatif as two columns narrower than it is: indicatif pads its
/// line to the full width, and a `^C` the terminal echoes would then wrap onto a new line that
/// indicatif clears instead of the bar.
#[derive(Debug)]
struct NarrowStderr(console::Term);

impl NarrowStderr {
    fn new() -> Self {
        NarrowStderr(console::Term::stderr())
    }
}

impl indicatif::TermLike for NarrowStderr {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(2).max(20)
    }
    fn height(&self) -> u16 {
        self.0.size().0
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The text after the bar: running stages, rows and bytes read, spill, time and ETA.
pub fn describe(p: &QueryProgress, spilled: u64, done: usize, total: usize) -> String {
    let stages: Vec<String> = p
        .stages()
        .iter()
        .filter(|s| s.running() > 0)
        .map(|s| format!("stage {} {} {}/{}", s.id, s.kind, s.done(), s.tasks))
        .collect();
    let (rows, bytes) = p.read();
    let elapsed = p.elapsed();
    let mut text = format!(
        "{} · {} rows, {} read",
        if stages.is_empty() {
            "starting".to_string()
        } else {
            stages.join(", ")
        },
        human_count(rows),
        human_bytes(bytes as usize)
    );
    if spilled > 0 {
        text.push_str(&format!(" · {} spilled", human_bytes(spilled as usize)));
    }
    text.push_str(&format!(" · {elapsed:.1}s"));
    if done > 0 && done < total {
        let left = elapsed / done as f64 * (total - done) as f64;
        if left >= 1.0 {
            text.push_str(&format!(", about {left:.0}s left"));
        }
    }
    text
}

/// 1234567 as `1.2M`.
fn human_count(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}K", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}G", n as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_running_stages_reads_spill_and_time_left() {
        let p = QueryProgress::default();
        p.set_stages([(0, "map".to_string(), 4), (1, "result".to_string(), 2)]);
        p.task_started(0);
        p.task_started(0);
        p.task_done(0);
        p.add_read(1_234_567, 10 << 20);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let text = describe(&p, 3 << 20, 1, 1000);
        assert!(
            text.starts_with("stage 0 map 1/4 · 1.2M rows, 10.0 MiB read · 3.0 MiB spilled · "),
            "{text}"
        );
        assert!(text.contains("left"), "{text}");
        assert_eq!(human_count(999), "999");
        assert_eq!(human_count(12_345), "12.3K");
    }
}

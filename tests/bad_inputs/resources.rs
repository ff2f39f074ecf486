//! Running out of memory or disk, and being interrupted: the query stops with a clear error,
//! and its spill files and half-written output are gone.

use std::time::{Duration, Instant};

use crate::harness::{send_signal, spawn, wait_at_most, Dir, Run};

#[test]
fn cartesian_product_that_does_not_fit() {
    let dir = Dir::new();
    let sql = "SET max_temp_directory_size = '16MB'; \
               SELECT a.range * b.range AS p, a.range AS x FROM range(100000) a, range(100000) b ORDER BY p";
    dir.rask(&["-m", "64MB", "-c", sql, "-o", "out.parquet"])
        .fails("cartesian_product_that_does_not_fit", "Resources exhausted");
}

#[test]
fn disk_full_during_spill() {
    let dir = Dir::new();
    let spill = dir.path().join("spill");
    std::fs::create_dir_all(&spill).unwrap();
    // A 2 MB file system as the spill directory: spilling fills it.
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&spill)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("notice: disk_full_during_spill not run: cannot mount a small tmpfs here (needs root)");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(spill);
    let sql = "SELECT range % 1000003 AS k, 'padding-' || range AS v FROM range(3000000) ORDER BY v DESC";
    dir.rask(&["-m", "32MB", "-c", sql, "-o", "out.csv"])
        .fails("disk_full_during_spill", "Resources exhausted");
}

/// Starts a long write, waits until its temporary output file (`.rask-write-…`) appears,
/// sends `signal`, and checks that rask stops promptly as cancelled, leaving nothing behind.
fn interrupt_a_write(case: &str, signal: &str, args: &[&str]) {
    let dir = Dir::new();
    let before = dir.listing();
    let child = spawn(&dir, args);
    let writing = || dir.listing().iter().any(|name| name.starts_with(".rask-write-"));
    let started = Instant::now();
    while !writing() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{case}: the output's temporary file never appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    send_signal(child.id(), signal);
    let output = wait_at_most(child, Duration::from_secs(20));
    Run::new(&dir, before, output).fails_with_code(case, "Query cancelled", 130);
}

/// A result rask must finish computing before it writes (40 million rows, spilled under
/// the memory limit): the signal arrives while the file is being written.
const LONG: &str = "SELECT range AS a, range * 2 AS b, 'row ' || range AS c FROM range(40000000)";

#[test]
fn ctrl_c_during_a_write() {
    let copy = format!("COPY ({LONG}) TO 'out.parquet'");
    interrupt_a_write("ctrl_c_during_a_write", "INT", &["-m", "256MB", "-c", &copy]);
}

#[test]
fn sigterm_during_a_write() {
    interrupt_a_write(
        "sigterm_during_a_write",
        "TERM",
        &["-m", "256MB", "-c", LONG, "-o", "out.csv"],
    );
}

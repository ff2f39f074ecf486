//! Running one catalogue case: a scratch directory holding the case's input files, the real
//! `rask` binary run inside it (spill files in `spill/` of it), and the checks every case
//! makes: the exit code, the error class and text users see (an insta snapshot named after
//! the case, with the directory's path written `<dir>`), and that the run left nothing
//! behind: no output file, no half-written temporary, no spill file.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A case's scratch directory.
pub struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes an input file (parent directories included).
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Every file and directory under the scratch directory, relative to it, except the
    /// (empty) spill directory itself.
    pub fn listing(&self) -> BTreeSet<String> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                out.insert(path.strip_prefix(root).unwrap().display().to_string());
                if path.is_dir() && !path.is_symlink() {
                    walk(root, &path, out);
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(self.path(), self.path(), &mut out);
        out.remove("spill");
        out
    }

    /// The `rask` command for `args`, run in the scratch directory with spill files in
    /// its `spill/`.
    pub fn command(&self, args: &[&str]) -> Command {
        std::fs::create_dir_all(self.path().join("spill")).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rask"));
        cmd.current_dir(self.path())
            .arg("--temp-dir")
            .arg(self.path().join("spill"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs `rask args…` to completion and checks what every case checks.
    pub fn rask(&self, args: &[&str]) -> Run<'_> {
        let before = self.listing();
        let output = self.command(args).output().unwrap();
        Run::new(self, before, output)
    }
}

/// A finished run of rask in a case's directory.
pub struct Run<'a> {
    dir: &'a Dir,
    before: BTreeSet<String>,
    pub output: Output,
}

impl<'a> Run<'a> {
    pub fn new(dir: &'a Dir, before: BTreeSet<String>, output: Output) -> Self {
        Self { dir, before, output }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// What rask printed on stderr, with the case directory written `<dir>` and the random
    /// parts of spill file names (`rask-spill-<id>/<n>.arrow`) written as such.
    pub fn stderr(&self) -> String {
        let text =
            String::from_utf8_lossy(&self.output.stderr).replace(&self.dir.path().display().to_string(), "<dir>");
        let spill = regex::Regex::new(r"rask-spill-[A-Za-z0-9]+/[0-9]+\.arrow").unwrap();
        spill.replace_all(&text, "rask-spill-<id>/<n>.arrow").into_owned()
    }

    /// Asserts the run failed with exit code 1, an error of `class` (the text before the
    /// first colon, e.g. `Invalid Input Error`), nothing on stdout, the error text matching
    /// the case's snapshot, and nothing left behind.
    pub fn fails(&self, case: &str, class: &str) {
        self.fails_with_code(case, class, 1);
    }

    /// As [`Run::fails`], with exit code `code`.
    pub fn fails_with_code(&self, case: &str, class: &str, code: i32) {
        let stderr = self.stderr();
        assert_eq!(
            self.output.status.code(),
            Some(code),
            "{case}: exit status; stderr:\n{stderr}"
        );
        let first = stderr.lines().next().unwrap_or_default();
        let shown_class = first.strip_prefix("Error: ").and_then(|rest| rest.split(':').next());
        assert_eq!(shown_class, Some(class), "{case}: error class; stderr:\n{stderr}");
        assert_eq!(self.stdout(), "", "{case}: no rows may be printed on failure");
        self.left_nothing_behind(case);
        snapshot(case, &stderr);
    }

    /// Asserts the run succeeded, printed `stdout` and nothing on stderr, and (for reads)
    /// wrote no file.
    pub fn succeeds(&self, case: &str, stdout: &str) {
        let stderr = self.stderr();
        assert_eq!(
            self.output.status.code(),
            Some(0),
            "{case}: exit status; stderr:\n{stderr}"
        );
        assert_eq!(self.stdout(), stdout, "{case}: output");
        assert_eq!(stderr, "", "{case}: stderr");
        self.left_nothing_behind(case);
    }

    /// No file appeared in the case's directory and the spill directory is empty.
    pub fn left_nothing_behind(&self, case: &str) {
        let after = self.dir.listing();
        let new: Vec<&String> = after.difference(&self.before).collect();
        assert!(new.is_empty(), "{case}: files left behind: {new:?}");
        let spill = self.dir.path().join("spill");
        if spill.exists() {
            let left: Vec<_> = std::fs::read_dir(&spill).unwrap().map(|e| e.unwrap().path()).collect();
            assert!(left.is_empty(), "{case}: spill files left behind: {left:?}");
        }
    }
}

/// Checks `stderr` against the case's snapshot in `tests/bad_inputs/snapshots/` (regenerate
/// with `INSTA_UPDATE=always cargo test --test bad_inputs`, then review the diff).
pub fn snapshot(case: &str, stderr: &str) {
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(case, stderr);
    });
}

/// Starts `rask args…` in the background, in the case's directory.
pub fn spawn(dir: &Dir, args: &[&str]) -> Child {
    dir.command(args).spawn().unwrap()
}

/// Waits for `child` at most `limit`; panics (after killing it) when it is still running.
pub fn wait_at_most(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            child.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
            child.stderr.take().unwrap().read_to_end(&mut stderr).unwrap();
            return Output { status, stdout, stderr };
        }
        if start.elapsed() > limit {
            child.kill().ok();
            panic!("rask did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` (e.g. `INT`, `TERM`) to process `pid`.
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

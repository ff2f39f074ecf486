//! Command-line arguments (clap derive) and the ordered list of SQL sources they name.

use std::path::PathBuf;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};

use crate::cli::format::OutputFormat;
use crate::exec::memory::parse_bytes;

/// `rask [OPTIONS] [SCRIPT]...`: SQL over CSV, Parquet and JSON files.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "rask",
    version,
    about = "SQL over CSV, Parquet and JSON files, from the command line",
    after_help = "With no SQL source, rask reads the script from stdin when stdin is not a \
                  terminal, and starts the REPL when it is."
)]
pub struct Args {
    /// Run SQL and exit; repeatable, run in order. Stdin stays free for data (FROM '-').
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub commands: Vec<String>,

    /// Read `-c` texts and stdin as the dataframe DSL instead of SQL (`.rask` files always are).
    #[arg(long = "dsl")]
    pub dsl: bool,

    /// Run the SQL script at PATH; repeatable.
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// SQL scripts to run, in order.
    #[arg(value_name = "SCRIPT")]
    pub scripts: Vec<PathBuf>,

    /// Output format (default: table on a terminal, csv otherwise; with -o, from the extension).
    #[arg(short = 'F', long = "format", value_enum, value_name = "FMT")]
    pub format: Option<OutputFormat>,

    /// Worker threads (default: all cores).
    #[arg(short = 't', long = "threads", value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,

    /// Memory limit, e.g. 512MB or 4GB (default: a share of physical memory).
    #[arg(short = 'm', long = "memory-limit", value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<usize>,

    /// Directory for spill files.
    #[arg(long = "temp-dir", value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,

    /// Run queries on a Spark cluster through Spark Connect, e.g. sc://host:15002 (planned
    /// here, executed there; see the README's "Running on a Spark cluster").
    #[arg(long = "remote", value_name = "URL", env = "RASK_REMOTE")]
    pub remote: Option<String>,

    /// Show the live progress display from the start of each query (on a terminal).
    #[arg(long = "progress", overrides_with = "no_progress")]
    pub progress: bool,

    /// Never show the live progress display (by default it appears on a terminal when a
    /// query runs longer than a second).
    #[arg(long = "no-progress")]
    pub no_progress: bool,

    /// Print the elapsed time of each statement to stderr.
    #[arg(long = "timer")]
    pub timer: bool,

    /// Switch off an optimizer rule by name; repeatable.
    #[arg(long = "disable-rule", value_name = "NAME")]
    pub disable_rules: Vec<String>,

    /// Gives `$NAME` in the scripts the value VALUE, as a constant (a number when it reads as
    /// one, else a string; never spliced into the SQL text). Repeatable.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,

    /// Draw the task graph of the last query run: `.dot` as Graphviz source, `.svg`/`.png`/`.pdf`
    /// through Graphviz's `dot`.
    #[arg(long = "graph", value_name = "FILE.dot|FILE.svg")]
    pub graph: Option<std::path::PathBuf>,

    /// Write one self-contained HTML page about the run: each query's text, stage graph, stage
    /// timings, task timeline and per-operator figures.
    #[arg(long = "report", value_name = "FILE.html")]
    pub report: Option<std::path::PathBuf>,

    /// Write a Chrome trace-event file of the run (open it in Perfetto or chrome://tracing):
    /// a track per worker thread, a slice per task, spill events.
    #[arg(long = "trace", value_name = "FILE.json")]
    pub trace: Option<std::path::PathBuf>,

    /// Write results to PATH instead of stdout (format from the extension unless -F is given).
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Leave out the header row in csv and tsv output.
    #[arg(long = "no-header")]
    pub no_header: bool,

    /// The SQL sources in the order given on the command line (filled by [`Args::parse_env`]
    /// and [`Args::try_parse_from_iter`]).
    #[arg(skip)]
    pub sources: Vec<Source>,
}

/// Where one piece of SQL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The text of a `-c` option.
    Command(String),
    /// A script file (`-f PATH` or a positional argument).
    File(PathBuf),
}

impl Args {
    /// Parses the process arguments; on a usage error clap prints it and exits with code 2.
    pub fn parse_env() -> Self {
        let matches = Self::command().get_matches();
        match Self::from_matches(&matches) {
            Ok(args) => args,
            Err(e) => e.exit(),
        }
    }

    /// Parses `argv` (the first item is the program name).
    pub fn try_parse_from_iter<I, T>(argv: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Self::command().try_get_matches_from(argv)?;
        Self::from_matches(&matches)
    }

    fn from_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = Self::from_arg_matches(matches)?;
        args.sources = ordered_sources(matches, &args);
        Ok(args)
    }
}

/// Merges `-c`, `-f` and positional scripts into one list in command-line order.
fn ordered_sources(matches: &ArgMatches, args: &Args) -> Vec<Source> {
    let mut tagged: Vec<(usize, Source)> = Vec::new();
    let indices = |id: &str| -> Vec<usize> { matches.indices_of(id).map(|i| i.collect()).unwrap_or_default() };
    for (i, text) in indices("commands").into_iter().zip(&args.commands) {
        tagged.push((i, Source::Command(text.clone())));
    }
    for (i, path) in indices("files").into_iter().zip(&args.files) {
        tagged.push((i, Source::File(path.clone())));
    }
    for (i, path) in indices("scripts").into_iter().zip(&args.scripts) {
        tagged.push((i, Source::File(path.clone())));
    }
    tagged.sort_by_key(|(i, _)| *i);
    tagged.into_iter().map(|(_, s)| s).collect()
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    crate::params::Params::parse_assignment(text).map_err(|e| e.to_string())
}

fn parse_threads(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_size(text: &str) -> Result<usize, String> {
    parse_bytes(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Args {
        let mut full = vec!["rask"];
        full.extend_from_slice(argv);
        Args::try_parse_from_iter(full).unwrap()
    }

    #[test]
    fn sources_keep_command_line_order() {
        let args = parse(&["a.sql", "-c", "select 1", "-f", "b.sql", "-c", "select 2", "c.sql"]);
        assert_eq!(
            args.sources,
            vec![
                Source::File("a.sql".into()),
                Source::Command("select 1".into()),
                Source::File("b.sql".into()),
                Source::Command("select 2".into()),
                Source::File("c.sql".into()),
            ]
        );
    }

    #[test]
    fn options_parse() {
        let args = parse(&[
            "-F",
            "ndjson",
            "-t",
            "3",
            "-m",
            "512MB",
            "--timer",
            "--disable-rule",
            "predicate_pushdown",
            "--disable-rule",
            "projection_pushdown",
            "--no-header",
            "-o",
            "out.csv",
            "--temp-dir",
            "/tmp/spill",
        ]);
        assert_eq!(args.format, Some(OutputFormat::Ndjson));
        assert_eq!(args.threads, Some(3));
        assert_eq!(args.memory_limit, Some(512_000_000));
        assert!(args.timer);
        assert!(args.no_header);
        assert_eq!(args.disable_rules, vec!["predicate_pushdown", "projection_pushdown"]);
        assert_eq!(args.output, Some(PathBuf::from("out.csv")));
        assert_eq!(args.temp_dir, Some(PathBuf::from("/tmp/spill")));
        assert!(args.sources.is_empty());
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for argv in [
            vec!["rask", "-t", "0"],
            vec!["rask", "-m", "lots"],
            vec!["rask", "-F", "xml"],
            vec!["rask", "--nope"],
        ] {
            let err = Args::try_parse_from_iter(argv).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{err}");
        }
    }
}

//! The command line: arguments, running scripts, the REPL and output formats.

pub mod args;
pub mod format;
pub mod output_file;
pub mod progress;
pub mod repl;
pub mod report;
pub mod run;

//! The command line: arguments, running scripts, the REPL and output formats.

pub mod run;

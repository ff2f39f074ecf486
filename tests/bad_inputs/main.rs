//! The catalogue of bad inputs: what people point rask at and type, and what they see.
//! Every case runs the real binary and asserts the exact error class, the error text (a
//! snapshot in `snapshots/`, one per case), and that the run left no output file, no
//! temporary file and no spill file behind. Some inputs are not errors at all (a BOM, mixed
//! line endings, a huge field, an enormous IN list): those cases assert the right answer.
//!
//! Regenerate the snapshots with `INSTA_UPDATE=always cargo test --test bad_inputs` and
//! review the diff before committing.

mod files;
mod harness;
mod resources;
mod sql;
mod text;

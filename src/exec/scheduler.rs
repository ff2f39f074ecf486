//! The task scheduler.

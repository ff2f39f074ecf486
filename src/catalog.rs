//! The catalog: named tables (in memory), views (logical plans) and file sources.

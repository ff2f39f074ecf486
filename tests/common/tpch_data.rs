//! TPC-H data at scale factor 0.1 for the tests that run the 22 queries (`tests/tpch.rs`,
//! `tests/remote.rs`): generated with the `tpchgen` crates (the Rust port of dbgen,
//! deterministic) as Parquet under Cargo's test temp dir, once; later runs reuse it.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator, PartSuppGenerator,
    RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow, SupplierArrow,
};

/// The scale factor of the generated data.
pub const SCALE_FACTOR: f64 = 0.1;
/// The eight tables.
pub const TABLES: [&str; 8] = [
    "lineitem", "orders", "customer", "part", "partsupp", "supplier", "nation", "region",
];

/// Where the generated Parquet files live (`RASK_TPCH_DATA` overrides it, for the DuckDB script).
pub fn data_dir() -> PathBuf {
    match std::env::var_os("RASK_TPCH_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_TARGET_TMPDIR")).join("tpch-sf0.1"),
    }
}

/// Writes the eight tables as `{dir}/{table}.parquet` unless a previous run completed them.
pub fn generate(dir: &Path) -> Result<(), String> {
    let marker = dir.join("COMPLETE");
    if marker.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let sf = SCALE_FACTOR;
    write_table(dir, "lineitem", LineItemArrow::new(LineItemGenerator::new(sf, 1, 1)))?;
    write_table(dir, "orders", OrderArrow::new(OrderGenerator::new(sf, 1, 1)))?;
    write_table(dir, "customer", CustomerArrow::new(CustomerGenerator::new(sf, 1, 1)))?;
    write_table(dir, "part", PartArrow::new(PartGenerator::new(sf, 1, 1)))?;
    write_table(dir, "partsupp", PartSuppArrow::new(PartSuppGenerator::new(sf, 1, 1)))?;
    write_table(dir, "supplier", SupplierArrow::new(SupplierGenerator::new(sf, 1, 1)))?;
    write_table(dir, "nation", NationArrow::new(NationGenerator::new(sf, 1, 1)))?;
    write_table(dir, "region", RegionArrow::new(RegionGenerator::new(sf, 1, 1)))?;
    std::fs::write(&marker, b"").map_err(|e| format!("{}: {e}", marker.display()))
}

fn write_table(dir: &Path, name: &str, batches: impl arrow::record_batch::RecordBatchReader) -> Result<(), String> {
    let path = dir.join(format!("{name}.parquet"));
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = File::create(&path).map_err(|e| fail(&e))?;
    let mut writer = ArrowWriter::try_new(file, batches.schema(), None).map_err(|e| fail(&e))?;
    for batch in batches {
        writer.write(&batch.map_err(|e| fail(&e))?).map_err(|e| fail(&e))?;
    }
    writer.close().map_err(|e| fail(&e))?;
    Ok(())
}

/// A session with a view per table over the generated files in `data`.
pub fn tpch_session(data: &Path) -> Result<rask::Session, String> {
    let mut session = rask::Session::new(super::test_config(false)).map_err(|e| e.to_string())?;
    for table in TABLES {
        let path = data.join(format!("{table}.parquet"));
        session
            .execute(&format!("CREATE VIEW {table} AS SELECT * FROM '{}'", path.display()))
            .map_err(|e| e.to_string())?;
    }
    Ok(session)
}

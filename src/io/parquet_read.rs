//! Reading one partition of a Parquet file: the projected root columns, in rask's types
//! ([`ReadLayout`]), and, for a scan that filters its rows, the filter applied while the
//! row groups are decoded ([`StagedFilter`]): the columns a filter reads are decoded
//! first, and the others only for the rows it keeps (late materialization). In TPC-H q19
//! 0.08% of lineitem's rows pass the scan's filters and its join filter; its two widest
//! columns are decoded for those alone.

use std::collections::VecDeque;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions};
use arrow::compute::{cast, concat, filter_record_batch};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowSelection, RowSelectionPolicy,
};
use parquet::arrow::ProjectionMask;

use crate::error::{Error, Result};
use crate::io::parquet_file::ParquetFile;

/// One step of a [`StagedFilter`]: its id, and the output columns it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterStage {
    /// Identifies the stage to [`StagedFilter::keep`].
    pub id: usize,
    /// Output positions of the columns the stage reads, in the order its batches hold them.
    pub columns: Vec<usize>,
}

/// A scan's row filter, in steps a reader can apply while it decodes.
pub trait StagedFilter: Send + Sync {
    /// The stages to read the next row group in, in order: each is decoded for the rows the
    /// ones before it kept, and the columns none of them reads for the rows all of them
    /// kept. Empty when the row group is better read whole and filtered by
    /// [`StagedFilter::apply`] (the rows passing are spread too thin for the reader to
    /// skip the others, or the first stage reads every column).
    fn stages(&self) -> Vec<FilterStage>;

    /// Which rows of `batch` (stage `id`'s columns, in its order) to keep.
    fn keep(&self, id: usize, batch: &RecordBatch) -> Result<BooleanArray>;

    /// The rows of `batch` (all output columns) the whole filter keeps.
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch>;

    /// Notes that `read` rows were read in stages and that the rows they kept and those
    /// they skipped came in `runs` runs: the other columns were decoded for the kept rows
    /// alone when the runs are long ([`MASK_BELOW_RUN_LENGTH`]), whole otherwise.
    fn record(&self, read: usize, runs: usize);

    /// Notes that a stage gave up on a row group of `rows` rows (it kept too many of them,
    /// or the memory pool could not hold them), which was then read whole.
    fn gave_up(&self, rows: usize);

    /// Reserves `bytes` for the rows of a row group held between stages, in place of what
    /// was held before (0 once they are handed on); false when the memory pool cannot
    /// spare them (the row group is then read whole instead).
    fn hold(&self, bytes: usize) -> bool;
}

/// Rows a stage sees of a row group before it may give up on reading it in stages.
const GIVE_UP_AFTER_ROWS: usize = 1 << 15;

/// A stage that keeps more than one in this many rows it saw gives up on reading its row
/// group in stages (as does one whose kept rows the memory pool cannot hold).
const GIVE_UP_PASS_DENOMINATOR: usize = 4;

/// Selections whose runs of kept or skipped rows are shorter than this on average are
/// decoded whole and filtered; longer runs are skipped. The reader's default, 32, decodes
/// whole the selections of a few percent of the rows that stages make; with 8, TPC-H SF1
/// q15 ran 17% faster, q12 14%, q06 9% and q19 6% (medians of 5 alternating runs).
pub const MASK_BELOW_RUN_LENGTH: usize = 8;

/// The string columns a scan keeps dictionary-encoded are `Dictionary(Int32, Utf8)`.
pub(crate) fn string_dictionary() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// How a partition's projected columns are read and brought to their output types.
pub(crate) struct ReadLayout {
    /// The file's metadata, asking for the encoded string columns as dictionaries.
    pub meta: ArrowReaderMetadata,
    /// Root column of each output column.
    projection: Vec<usize>,
    /// The projected roots, sorted and without repeats: the reader's column order.
    sorted: Vec<usize>,
    /// Output column → its position among `sorted`.
    positions: Vec<usize>,
    /// The output schema (encoded string columns as dictionaries).
    pub out_schema: SchemaRef,
    /// Output columns handed on dictionary-encoded.
    keep_encoded: Vec<bool>,
}

impl ReadLayout {
    /// The layout reading `projection` (roots of `schema`) with `meta`; `encoded` are the
    /// roots the reader gives as dictionaries.
    pub fn new(meta: ArrowReaderMetadata, schema: &SchemaRef, projection: &[usize], encoded: &[usize]) -> Self {
        let mut sorted = projection.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let positions = projection
            .iter()
            .map(|p| sorted.binary_search(p).unwrap_or(0))
            .collect();
        let out_schema = Arc::new(Schema::new(
            projection
                .iter()
                .map(|&i| {
                    let field = schema.field(i).clone();
                    if encoded.contains(&i) {
                        field.with_data_type(string_dictionary())
                    } else {
                        field
                    }
                })
                .collect::<Vec<_>>(),
        ));
        let keep_encoded = projection.iter().map(|root| encoded.contains(root)).collect();
        Self {
            meta,
            projection: projection.to_vec(),
            sorted,
            positions,
            out_schema,
            keep_encoded,
        }
    }

    /// The reader's mask of all projected roots.
    pub fn mask(&self) -> ProjectionMask {
        ProjectionMask::roots(self.meta.parquet_schema(), self.sorted.iter().copied())
    }

    /// Output column `i` from `column` as the reader gave it.
    fn column(&self, i: usize, column: &ArrayRef) -> Result<ArrayRef> {
        let field = self.out_schema.field(i);
        Ok(if column.data_type() == field.data_type() {
            Arc::clone(column)
        } else if self.keep_encoded[i] {
            cast(column, &string_dictionary())?
        } else {
            cast(column, field.data_type())?
        })
    }

    /// The output batch of a batch the reader gave.
    pub fn normalize(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let columns = self
            .positions
            .iter()
            .enumerate()
            .map(|(i, &pos)| self.column(i, batch.column(pos)))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.out_schema),
            columns,
            &options,
        )?)
    }

    /// The roots of output columns `columns`, sorted and without repeats.
    fn roots_of(&self, columns: &[usize]) -> Vec<usize> {
        let mut roots: Vec<usize> = columns
            .iter()
            .filter_map(|&c| self.projection.get(c).copied())
            .collect();
        roots.sort_unstable();
        roots.dedup();
        roots
    }

    /// A stage's batch (output columns `columns`, in that order) from the reader's batch of
    /// the roots `roots` (sorted; theirs among them).
    fn stage_batch(&self, columns: &[usize], roots: &[usize], raw: &RecordBatch) -> Result<RecordBatch> {
        let fields = columns
            .iter()
            .map(|&c| self.out_schema.field(c).clone())
            .collect::<Vec<_>>();
        let arrays = columns
            .iter()
            .map(|&c| {
                let root = self.projection[c];
                let pos = roots.binary_search(&root).unwrap_or(0);
                self.column(c, raw.column(pos))
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(raw.num_rows()));
        Ok(RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            arrays,
            &options,
        )?)
    }
}

/// Runs `decode` on Parquet data of file `name`. The Parquet decoder asserts on some
/// corrupt inputs instead of returning an error; such a panic becomes the error a corrupt
/// file deserves, naming the file, instead of ending the query as a bug in rask.
pub(crate) fn decoding<T>(name: &str, decode: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).unwrap_or_else(|panic| {
        Err(Error::InvalidInput(format!(
            "{name}: corrupt Parquet data ({})",
            crate::error::panic_message(&*panic)
        )))
    })
}

/// The batches of a partition's row groups, each row group read on its own so that its
/// filter stages are chosen when it is reached (a join's filter may have been published
/// meanwhile; a filter most rows pass reads the rest whole).
pub(crate) struct FilteredRowGroups {
    file: ParquetFile,
    name: String,
    layout: Arc<ReadLayout>,
    batch_size: usize,
    row_groups: VecDeque<usize>,
    filter: Arc<dyn StagedFilter>,
    /// The current row group: what is left to read of it.
    current: Option<GroupRead>,
    failed: bool,
}

/// What is left to read of a row group.
enum GroupRead {
    /// Read whole, to be filtered batch by batch.
    Whole(ParquetRecordBatchReader),
    /// Read in stages: the rows every stage kept, with the columns the stages decoded
    /// (`kept`, from row `offset` on), and the other roots with a reader of them for those
    /// rows.
    Staged {
        kept: Decoded,
        offset: usize,
        rest: Option<(Vec<usize>, ParquetRecordBatchReader)>,
    },
}

/// How a filter stage over a row group ended.
enum StageOutcome {
    /// The rows it kept, with the columns decoded so far, and their selection among the
    /// rows it saw.
    Kept(Decoded, RowSelection),
    /// It kept too many to be worth holding.
    GaveUp,
}

/// Some root columns of some rows of a row group, as the reader gave them.
struct Decoded {
    /// The roots, sorted.
    roots: Vec<usize>,
    /// Their columns, in that order.
    batch: RecordBatch,
}

impl Decoded {
    /// No columns of `rows` rows.
    fn empty(rows: usize) -> Result<Decoded> {
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(Decoded {
            roots: Vec::new(),
            batch: RecordBatch::try_new_with_options(Arc::new(Schema::empty()), Vec::new(), &options)?,
        })
    }

    /// Rows `offset..offset + rows` of these columns beside `other`'s columns (`other_roots`,
    /// sorted) of the same rows: the union of the roots, sorted.
    fn beside(&self, offset: usize, other_roots: &[usize], other: &RecordBatch) -> Result<Decoded> {
        let rows = other.num_rows();
        if offset + rows > self.batch.num_rows() {
            return Err(Error::internal(format!(
                "a Parquet reader gave {} rows past row {offset} of {} selected",
                rows,
                self.batch.num_rows()
            )));
        }
        let mine = self.batch.slice(offset, rows);
        let mut roots: Vec<usize> = self.roots.iter().chain(other_roots).copied().collect();
        roots.sort_unstable();
        roots.dedup();
        let mut fields = Vec::with_capacity(roots.len());
        let mut columns = Vec::with_capacity(roots.len());
        for root in &roots {
            let (batch, pos) = match self.roots.binary_search(root) {
                Ok(pos) => (&mine, pos),
                Err(_) => (other, other_roots.binary_search(root).unwrap_or(0)),
            };
            fields.push(batch.schema().field(pos).clone());
            columns.push(Arc::clone(batch.column(pos)));
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(Decoded {
            roots,
            batch: RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)?,
        })
    }
}

impl FilteredRowGroups {
    /// Reads `row_groups` of `file` (shown as `name`) with `layout`, keeping what `filter`
    /// keeps.
    pub fn new(
        file: ParquetFile,
        name: String,
        layout: Arc<ReadLayout>,
        batch_size: usize,
        row_groups: Vec<usize>,
        filter: Arc<dyn StagedFilter>,
    ) -> Self {
        Self {
            file,
            name,
            layout,
            batch_size,
            row_groups: row_groups.into(),
            filter,
            current: None,
            failed: false,
        }
    }

    /// A reader of the root columns `roots` of row group `group`, of the rows `selection`
    /// selects (all when `None`).
    fn reader(
        &self,
        group: usize,
        roots: &[usize],
        selection: Option<&RowSelection>,
    ) -> Result<ParquetRecordBatchReader> {
        let mask = ProjectionMask::roots(self.layout.meta.parquet_schema(), roots.iter().copied());
        let mut builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(self.file.clone(), self.layout.meta.clone())
                .with_projection(mask)
                .with_row_groups(vec![group])
                .with_batch_size(self.batch_size);
        if let Some(selection) = selection {
            builder = builder.with_row_selection(selection.clone());
            builder = builder.with_row_selection_policy(RowSelectionPolicy::Auto {
                threshold: MASK_BELOW_RUN_LENGTH,
            });
        }
        builder.build().map_err(|e| self.corrupt(e))
    }

    /// A decoding error, naming the file.
    fn corrupt(&self, e: impl std::fmt::Display) -> Error {
        Error::InvalidInput(format!("{}: {e}", self.name))
    }

    /// The next batch of `reader`.
    fn read(&self, reader: &mut ParquetRecordBatchReader) -> Result<Option<RecordBatch>> {
        reader.next().transpose().map_err(|e| self.corrupt(e))
    }

    /// Starts reading row group `group`: whole, or in stages, each stage decoding its
    /// columns not decoded yet for the rows the stages before it kept. A stage that keeps
    /// most of many rows reads the row group whole after all: holding what it keeps would
    /// take much memory, and decoding the rest for most rows saves nothing.
    fn open(&self, group: usize) -> Result<GroupRead> {
        let stages = self.filter.stages();
        let whole = || Ok(GroupRead::Whole(self.reader(group, &self.layout.sorted, None)?));
        if stages.is_empty() {
            return whole();
        }
        let rows = self
            .layout
            .meta
            .metadata()
            .row_groups()
            .get(group)
            .map_or(0, |g| usize::try_from(g.num_rows()).unwrap_or(0));
        let mut kept = Decoded::empty(rows)?;
        let mut selection: Option<RowSelection> = None;
        for stage in &stages {
            let (after, stage_selection) = match self.run_stage(group, stage, &kept, selection.as_ref())? {
                StageOutcome::Kept(after, stage_selection) => (after, stage_selection),
                StageOutcome::GaveUp => {
                    self.filter.gave_up(rows);
                    self.filter.hold(0);
                    return whole();
                }
            };
            kept = after;
            self.filter.hold(kept.batch.get_array_memory_size());
            selection = Some(match selection {
                Some(before) => before.and_then(&stage_selection),
                None => stage_selection,
            });
            if kept.batch.num_rows() == 0 {
                break;
            }
        }
        let runs = selection.as_ref().map_or(1, |s| s.iter().count());
        self.filter.record(rows, runs);
        let rest: Vec<usize> = self.rest_roots(&kept);
        let rest = if rest.is_empty() || kept.batch.num_rows() == 0 {
            None
        } else {
            let reader = self.reader(group, &rest, selection.as_ref())?;
            Some((rest, reader))
        };
        Ok(GroupRead::Staged { kept, offset: 0, rest })
    }

    /// The projected roots not in `kept`.
    fn rest_roots(&self, kept: &Decoded) -> Vec<usize> {
        self.layout
            .sorted
            .iter()
            .copied()
            .filter(|r| kept.roots.binary_search(r).is_err())
            .collect()
    }

    /// Runs `stage` over the rows `selection` selects of row group `group` (all when
    /// `None`), whose columns decoded so far are `kept`: the rows it keeps, with its
    /// columns added, and the selection of them among `kept`'s; or
    /// [`StageOutcome::GaveUp`] when it keeps most of many rows (see
    /// [`FilteredRowGroups::open`]).
    fn run_stage(
        &self,
        group: usize,
        stage: &FilterStage,
        kept: &Decoded,
        selection: Option<&RowSelection>,
    ) -> Result<StageOutcome> {
        let new_roots: Vec<usize> = self
            .layout
            .roots_of(&stage.columns)
            .into_iter()
            .filter(|r| kept.roots.binary_search(r).is_err())
            .collect();
        let mut pieces: Vec<RecordBatch> = Vec::new();
        let mut masks: Vec<BooleanArray> = Vec::new();
        let mut roots = kept.roots.clone();
        let (mut seen, mut passed) = (0, 0);
        // What the stages before held, and what this one keeps.
        let kept_bytes = kept.batch.get_array_memory_size();
        let mut held = 0;
        let mut keep_piece = |piece: Decoded| -> Result<bool> {
            let batch = self.layout.stage_batch(&stage.columns, &piece.roots, &piece.batch)?;
            let mask = null_as_false(self.filter.keep(stage.id, &batch)?);
            seen += mask.len();
            passed += mask.true_count();
            pieces.push(filter_record_batch(&piece.batch, &mask)?);
            held += pieces.last().map_or(0, RecordBatch::get_array_memory_size);
            roots = piece.roots;
            masks.push(mask);
            Ok((seen < GIVE_UP_AFTER_ROWS || passed * GIVE_UP_PASS_DENOMINATOR <= seen)
                && self.filter.hold(kept_bytes + held))
        };
        if new_roots.is_empty() {
            if !keep_piece(Decoded {
                roots: kept.roots.clone(),
                batch: kept.batch.clone(),
            })? {
                return Ok(StageOutcome::GaveUp);
            }
        } else {
            let mut reader = self.reader(group, &new_roots, selection)?;
            let mut offset = 0;
            while let Some(batch) = self.read(&mut reader)? {
                let rows = batch.num_rows();
                if !keep_piece(kept.beside(offset, &new_roots, &batch)?)? {
                    return Ok(StageOutcome::GaveUp);
                }
                offset += rows;
            }
        }
        let kept = match pieces.first() {
            // No row was left to see.
            None => Decoded::empty(0)?,
            Some(first) => {
                let options = RecordBatchOptions::new().with_row_count(Some(passed));
                let columns = (0..first.num_columns())
                    .map(|c| {
                        let parts: Vec<&dyn Array> = pieces.iter().map(|p| p.column(c).as_ref()).collect();
                        Ok(concat(&parts)?)
                    })
                    .collect::<Result<Vec<ArrayRef>>>()?;
                Decoded {
                    roots,
                    batch: RecordBatch::try_new_with_options(first.schema(), columns, &options)?,
                }
            }
        };
        Ok(StageOutcome::Kept(kept, RowSelection::from_filters(&masks)))
    }

    /// The next batch of the current row group (`None` at its end), in the reader's types.
    fn next_of_group(&self, current: &mut GroupRead) -> Result<Option<(RecordBatch, bool)>> {
        match current {
            GroupRead::Whole(reader) => Ok(self.read(reader)?.map(|b| (b, false))),
            GroupRead::Staged { kept, offset, rest } => {
                let decoded = match rest {
                    Some((rest_roots, reader)) => match self.read(reader)? {
                        Some(batch) => kept.beside(*offset, rest_roots, &batch)?,
                        None if *offset < kept.batch.num_rows() => {
                            return Err(Error::internal(format!(
                                "a Parquet reader gave {offset} of {} selected rows",
                                kept.batch.num_rows()
                            )))
                        }
                        None => return Ok(None),
                    },
                    None if *offset < kept.batch.num_rows() => {
                        let rows = self.batch_size.min(kept.batch.num_rows() - *offset);
                        Decoded {
                            roots: kept.roots.clone(),
                            batch: kept.batch.slice(*offset, rows),
                        }
                    }
                    None => return Ok(None),
                };
                *offset += decoded.batch.num_rows();
                Ok(Some((decoded.batch, true)))
            }
        }
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            let mut current = match self.current.take() {
                Some(current) => current,
                None => {
                    let Some(group) = self.row_groups.pop_front() else {
                        return Ok(None);
                    };
                    decoding(&self.name, || self.open(group))?
                }
            };
            let Some((raw, staged)) = decoding(&self.name, || self.next_of_group(&mut current))? else {
                if matches!(current, GroupRead::Staged { .. }) {
                    self.filter.hold(0);
                }
                continue;
            };
            self.current = Some(current);
            let batch = self.layout.normalize(&raw)?;
            let batch = if staged { batch } else { self.filter.apply(batch)? };
            if batch.num_rows() > 0 {
                return Ok(Some(batch));
            }
        }
    }
}

impl Iterator for FilteredRowGroups {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_batch().transpose();
        self.failed = matches!(next, Some(Err(_)));
        next
    }
}

/// `mask` with its NULLs as false.
fn null_as_false(mask: BooleanArray) -> BooleanArray {
    if mask.null_count() == 0 {
        mask
    } else {
        arrow::compute::prep_null_mask_filter(&mask)
    }
}

#[cfg(test)]
#[path = "parquet_read_tests.rs"]
mod tests;

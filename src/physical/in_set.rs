//! `e [NOT] IN (c1, c2, …)` over a long list of constants: the constants go into a hash set
//! once, and each row is looked up in it, so the cost is one probe a row instead of one
//! comparison a row per constant (a 100,000-value IN list over a million rows is a million
//! probes, not 10^11 comparisons). Values are compared in Arrow's row format, which makes
//! equal values equal bytes for every type.

use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringArray};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, SortField};
use datafusion_common::ScalarValue;
use hashbrown::HashSet;

use crate::error::Result;

/// Lists at least this long are looked up in a set; shorter ones compare value by value.
pub const MIN_SET_LEN: usize = 16;

/// Lists of strings at least this long are looked up in a set: hashing a short string once
/// beats comparing it with every constant (each comparison a `memcmp` call over the batch).
pub const MIN_STRING_SET_LEN: usize = 3;

/// Whether an IN list of `len` constants tested against `data_type` is worth a set.
pub fn worth_a_set(len: usize, data_type: &DataType) -> bool {
    len >= if *data_type == DataType::Utf8 {
        MIN_STRING_SET_LEN
    } else {
        MIN_SET_LEN
    }
}

/// The constants of an IN list, ready for membership tests.
pub struct InSet {
    /// The constants as given (for display).
    values: ArrayRef,
    converter: RowConverter,
    /// Each non-NULL constant in row format, or as its UTF-8 bytes when `raw_strings`.
    members: HashSet<Box<[u8]>>,
    /// The constants are `Utf8` strings kept as their bytes: a tested string is looked up as
    /// it is, without a row-format copy of the batch.
    raw_strings: bool,
    /// Whether the list holds a NULL: then a value not found is NULL, not false.
    has_null: bool,
}

impl InSet {
    /// The set of `values`, which must all have type `data_type` (the tested expression's);
    /// `None` when they do not.
    pub fn try_new(values: &[ScalarValue], data_type: &DataType) -> Result<Option<Self>> {
        if values.iter().any(|v| v.data_type() != *data_type) {
            return Ok(None);
        }
        let values = ScalarValue::iter_to_array(values.iter().cloned())?;
        let converter = RowConverter::new(vec![SortField::new(data_type.clone())])?;
        let rows = converter.convert_columns(&[Arc::clone(&values)])?;
        let raw_strings = values.as_string_opt::<i32>();
        let members = (0..values.len())
            .filter(|&i| values.is_valid(i))
            .map(|i| match raw_strings {
                Some(strings) => Box::from(strings.value(i).as_bytes()),
                None => Box::from(rows.row(i).as_ref()),
            })
            .collect();
        Ok(Some(Self {
            raw_strings: raw_strings.is_some(),
            has_null: values.null_count() > 0,
            values,
            converter,
            members,
        }))
    }

    /// For each value of `tested`: whether it is in the set (`negated`: is not), with SQL's
    /// NULLs (a NULL value, or a value not found in a list with a NULL, gives NULL).
    pub fn contains(&self, tested: &ArrayRef, negated: bool) -> Result<BooleanArray> {
        if let Some(strings) = tested.as_string_opt::<i32>().filter(|_| self.raw_strings) {
            return Ok(self.contains_strings(strings, negated));
        }
        let rows = self.converter.convert_columns(&[Arc::clone(tested)])?;
        let absent = if self.has_null { None } else { Some(negated) };
        Ok((0..tested.len())
            .map(|i| {
                if tested.is_null(i) {
                    None
                } else if self.members.contains(rows.row(i).as_ref()) {
                    Some(!negated)
                } else {
                    absent
                }
            })
            .collect())
    }

    /// [`Self::contains`] for `Utf8` strings against raw-string members: one hash lookup of
    /// each value's bytes, building the result's buffers directly.
    fn contains_strings(&self, tested: &StringArray, negated: bool) -> BooleanArray {
        let found = BooleanBuffer::collect_bool(tested.len(), |i| self.members.contains(tested.value(i).as_bytes()));
        // With a NULL in the list, a value not found is NULL.
        let nulls = if self.has_null {
            NullBuffer::union(tested.nulls(), Some(&NullBuffer::new(found.clone())))
        } else {
            tested.nulls().cloned()
        };
        let values = if negated { !&found } else { found };
        BooleanArray::new(values, nulls)
    }

    /// The constants, as `ScalarValue`s (for display).
    pub fn values(&self) -> impl Iterator<Item = Result<ScalarValue>> + '_ {
        (0..self.values.len()).map(|i| Ok(ScalarValue::try_from_array(&self.values, i)?))
    }
}

impl fmt::Debug for InSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InSet")
            .field("values", &self.values)
            .field("has_null", &self.has_null)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};

    use super::*;

    /// Checks IN and NOT IN of `tested` against `values` (found per row: `found`, `None` for a
    /// NULL row), then against `values` plus `null`, where a value not found is NULL.
    fn check_sql_nulls(
        values: &[ScalarValue],
        null: ScalarValue,
        data_type: &DataType,
        tested: ArrayRef,
        found: &[Option<bool>],
    ) -> InSet {
        let set = InSet::try_new(values, data_type).unwrap().unwrap();
        let negated: Vec<Option<bool>> = found.iter().map(|f| f.map(|f| !f)).collect();
        assert_eq!(
            set.contains(&tested, false).unwrap(),
            BooleanArray::from(found.to_vec())
        );
        assert_eq!(set.contains(&tested, true).unwrap(), BooleanArray::from(negated));
        let mut with_null = values.to_vec();
        with_null.push(null);
        let with_null = InSet::try_new(&with_null, data_type).unwrap().unwrap();
        let in_found =
            |yes: bool| -> Vec<Option<bool>> { found.iter().map(|f| (*f == Some(true)).then_some(yes)).collect() };
        assert_eq!(
            with_null.contains(&tested, false).unwrap(),
            BooleanArray::from(in_found(true))
        );
        assert_eq!(
            with_null.contains(&tested, true).unwrap(),
            BooleanArray::from(in_found(false))
        );
        set
    }

    #[test]
    fn membership_follows_sql_nulls() {
        let values: Vec<ScalarValue> = (0..20).map(|i| ScalarValue::Int64(Some(i * 2))).collect();
        let tested: ArrayRef = Arc::new(Int64Array::from(vec![Some(4), Some(5), None, Some(38), Some(40)]));
        let found = [Some(true), Some(false), None, Some(true), Some(false)];
        let set = check_sql_nulls(&values, ScalarValue::Int64(None), &DataType::Int64, tested, &found);
        assert!(!set.raw_strings);
    }

    #[test]
    fn strings_and_mismatched_types() {
        let values: Vec<ScalarValue> = ["a", "bb", ""]
            .iter()
            .map(|s| ScalarValue::Utf8(Some(s.to_string())))
            .collect();
        let set = InSet::try_new(&values, &DataType::Utf8).unwrap().unwrap();
        let tested: ArrayRef = Arc::new(StringArray::from(vec!["", "b", "bb", "A"]));
        assert_eq!(
            set.contains(&tested, false).unwrap(),
            BooleanArray::from(vec![true, false, true, false])
        );
        assert!(InSet::try_new(&values, &DataType::LargeUtf8).unwrap().is_none());
    }

    #[test]
    fn strings_follow_sql_nulls_without_row_format() {
        let values: Vec<ScalarValue> = ["13", "31", "x"]
            .iter()
            .map(|s| ScalarValue::Utf8(Some(s.to_string())))
            .collect();
        let tested: ArrayRef = Arc::new(StringArray::from(vec![
            Some("13"),
            None,
            Some("1"),
            Some("x"),
            Some(""),
        ]));
        let found = [Some(true), None, Some(false), Some(true), Some(false)];
        let set = check_sql_nulls(&values, ScalarValue::Utf8(None), &DataType::Utf8, tested, &found);
        assert!(set.raw_strings);
    }

    #[test]
    fn short_string_lists_are_worth_a_set_and_short_number_lists_are_not() {
        assert!(worth_a_set(3, &DataType::Utf8));
        assert!(!worth_a_set(2, &DataType::Utf8));
        assert!(!worth_a_set(3, &DataType::Int64));
        assert!(worth_a_set(MIN_SET_LEN, &DataType::Int64));
    }
}

//! Group tables agree with each other: the packed and the row layout, and the direct lookup
//! by slots, give the same group indices and emit the same keys as hashing rows alone,
//! including NULLs and the switch from packed to rows.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Date32Array, Int16Array, Int64Array, StringArray, UInt8Array};
use arrow::datatypes::{DataType, Int32Type};

use super::*;

fn intern_all(table: &mut GroupTable, batches: &[Vec<ArrayRef>]) -> Vec<usize> {
    let mut all = Vec::new();
    let mut out = Vec::new();
    for keys in batches {
        table.intern(keys, &mut out).unwrap();
        all.extend_from_slice(&out);
    }
    all
}

/// Group indices from hashing alone (no slot lookup).
fn intern_hashed(table: &mut GroupTable, batches: &[Vec<ArrayRef>]) -> Vec<usize> {
    let mut all = Vec::new();
    let mut out = Vec::new();
    for keys in batches {
        table.layout.intern(keys, &mut out).unwrap();
        all.extend_from_slice(&out);
    }
    all
}

/// A table of the row layout, whatever the types.
fn rows_table(types: &[DataType]) -> GroupTable {
    GroupTable {
        layout: Layout::Rows(RowGroupTable::try_new(types).unwrap()),
        slots: SlotGroups::default(),
    }
}

fn is_packed(table: &GroupTable) -> bool {
    matches!(table.layout, Layout::Packed(_))
}

fn types(keys: &[ArrayRef]) -> Vec<DataType> {
    keys.iter().map(|k| k.data_type().clone()).collect()
}

fn check_same_as_rows(batches: Vec<Vec<ArrayRef>>, expect_packed: bool) -> Vec<ArrayRef> {
    let types = types(&batches[0]);
    let mut table = GroupTable::try_new(&types).unwrap();
    assert_eq!(is_packed(&table), expect_packed, "{types:?}");
    let mut rows = rows_table(&types);
    assert_eq!(intern_all(&mut table, &batches), intern_hashed(&mut rows, &batches));
    assert_eq!(table.len(), rows.len());
    let emitted = table.emit().unwrap();
    assert_eq!(emitted, rows.emit().unwrap());
    emitted
}

#[test]
fn two_short_strings_pack() {
    let a: ArrayRef = Arc::new(StringArray::from(vec![Some("A"), Some("N"), None, Some("A"), Some("")]));
    let b: ArrayRef = Arc::new(StringArray::from(vec![
        Some("F"),
        Some("O"),
        Some("F"),
        Some("F"),
        None,
    ]));
    let emitted = check_same_as_rows(vec![vec![a.clone(), b.clone()], vec![b, a]], true);
    let first = emitted[0].as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(first.len(), 8);
    assert_eq!(first.value(0), "A");
    assert!(first.is_null(2));
    assert_eq!(first.value(3), "");
    assert_eq!(first.value(4), "F");
}

#[test]
fn integers_dates_and_booleans_pack_with_nulls() {
    let i: ArrayRef = Arc::new(Int16Array::from(vec![Some(-1), None, Some(-1), Some(0), None]));
    let d: ArrayRef = Arc::new(Date32Array::from(vec![Some(10), Some(10), Some(10), None, None]));
    let b: ArrayRef = Arc::new(BooleanArray::from(vec![
        Some(true),
        None,
        Some(true),
        Some(false),
        None,
    ]));
    let u: ArrayRef = Arc::new(UInt8Array::from(vec![1, 2, 1, 3, 2]));
    let emitted = check_same_as_rows(vec![vec![i, d, b, u]], true);
    assert_eq!(emitted[0].len(), 4);
}

#[test]
fn one_int64_key_with_nulls_packs() {
    let k: ArrayRef = Arc::new(Int64Array::from(vec![
        Some(i64::MIN),
        None,
        Some(i64::MAX),
        None,
        Some(0),
    ]));
    let emitted = check_same_as_rows(vec![vec![k.clone()], vec![k]], true);
    assert_eq!(emitted[0].len(), 4);
}

#[test]
fn long_string_leaves_the_packed_layout_keeping_indices() {
    let short: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "a"]));
    let long: ArrayRef = Arc::new(StringArray::from(vec!["b", "a much longer string than a slot", "a"]));
    let types = vec![DataType::Utf8];
    let mut table = GroupTable::try_new(&types).unwrap();
    assert!(is_packed(&table));
    let indices = intern_all(&mut table, &[vec![short], vec![long]]);
    assert!(!is_packed(&table));
    assert_eq!(indices, vec![0, 1, 0, 1, 2, 0]);
    let emitted = table.emit().unwrap();
    let strings = emitted[0].as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(strings.value(2), "a much longer string than a slot");
}

#[test]
fn wide_keys_use_rows() {
    let a: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
    check_same_as_rows(vec![vec![a.clone(), a]], false);
    let f: ArrayRef = Arc::new(arrow::array::Float64Array::from(vec![1.0, 2.0]));
    check_same_as_rows(vec![vec![f]], false);
}

#[test]
fn strings_after_an_integer_and_in_sliced_arrays_match_rows() {
    // An integer column first puts the string slot at an offset; sliced arrays start their
    // values mid-buffer; NULLs and the empty string are distinct groups.
    let words = ["id001", "id010", "", "x", "id001", "abcdefg", "id010", "zz"];
    let strings: Vec<Option<&str>> = (0..200)
        .map(|i| (i % 13 != 0).then(|| words[i % words.len()]))
        .collect();
    let s: ArrayRef = Arc::new(StringArray::from(strings));
    let n: ArrayRef = Arc::new(Int64Array::from_iter_values((0..200).map(|i| i % 3)));
    let emitted = check_same_as_rows(
        vec![vec![n.clone(), s.clone()], vec![n.slice(150, 50), s.slice(150, 50)]],
        true,
    );
    assert_eq!(emitted[0].len(), emitted[1].len());
    let alone = check_same_as_rows(vec![vec![s.slice(7, 193)], vec![s.slice(190, 10)]], true);
    assert_eq!(
        alone[0].len(),
        words.iter().collect::<std::collections::HashSet<_>>().len() + 1
    );
}

/// Dictionary-encoded keys (as a Parquet scan hands them on) group as their strings do:
/// alone (each used value interned once, unused values adding no group) and beside another
/// key (each value packed once), with NULL keys and NULL dictionary values.
#[test]
fn dictionary_keys_group_as_their_strings() {
    use arrow::array::{DictionaryArray, Int32Array};
    let values: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), Some("unused"), None, Some("y")]));
    let dictionary = |indices: Vec<Option<i32>>| -> ArrayRef {
        Arc::new(DictionaryArray::<Int32Type>::try_new(Int32Array::from(indices), Arc::clone(&values)).unwrap())
    };
    let batches = [
        dictionary(vec![Some(3), Some(0), None, Some(3), Some(2)]),
        dictionary(vec![Some(0), Some(0), Some(3), Some(0)]),
    ];
    let plain: Vec<ArrayRef> = batches
        .iter()
        .map(|b| arrow::compute::cast(b, &DataType::Utf8).unwrap())
        .collect();
    let mut table = GroupTable::try_new(&[DataType::Utf8]).unwrap();
    let mut expected = GroupTable::try_new(&[DataType::Utf8]).unwrap();
    let as_batches = |columns: &[ArrayRef]| columns.iter().map(|c| vec![Arc::clone(c)]).collect::<Vec<_>>();
    assert_eq!(
        intern_all(&mut table, &as_batches(&batches)),
        intern_all(&mut expected, &as_batches(&plain))
    );
    assert_eq!(table.len(), 3);
    assert_eq!(table.emit().unwrap(), expected.emit().unwrap());

    let other: ArrayRef = Arc::new(Int64Array::from(vec![1, 1, 2, 1, 2]));
    let mut table = GroupTable::try_new(&[DataType::Utf8, DataType::Int64]).unwrap();
    let mut expected = GroupTable::try_new(&[DataType::Utf8, DataType::Int64]).unwrap();
    assert_eq!(
        intern_all(&mut table, &[vec![Arc::clone(&batches[0]), Arc::clone(&other)]]),
        intern_all(&mut expected, &[vec![Arc::clone(&plain[0]), other]])
    );
    assert!(is_packed(&table));
    assert_eq!(table.emit().unwrap(), expected.emit().unwrap());
}

/// The groups of a dictionary's values are kept across batches over the same values (also
/// when each batch wraps them in a new array, as a Parquet reader does), values and NULLs
/// first used in a later batch get new groups, another dictionary is looked up afresh, and
/// emptying the table forgets them all.
#[test]
fn dictionary_groups_carry_over_batches_until_emitted() {
    use arrow::array::{DictionaryArray, Int32Array};
    let values: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c"]));
    let batch = |indices: Vec<Option<i32>>| -> ArrayRef {
        // A fresh array over the same buffers each time.
        let rewrapped = arrow::array::make_array(values.to_data());
        Arc::new(DictionaryArray::<Int32Type>::try_new(Int32Array::from(indices), rewrapped).unwrap())
    };
    let mut table = GroupTable::try_new(&[DataType::Utf8]).unwrap();
    let first = intern_all(
        &mut table,
        &[
            vec![batch(vec![Some(2), Some(0), Some(2)])],
            vec![batch(vec![Some(0), Some(1), None, Some(2), Some(1)])],
        ],
    );
    assert_eq!(first, vec![0, 1, 0, 1, 2, 3, 0, 2]);
    let keys = table.emit().unwrap();
    let expected: ArrayRef = Arc::new(StringArray::from(vec![Some("c"), Some("a"), Some("b"), None]));
    assert_eq!(&keys[0], &expected);
    // After the emit, the same dictionary starts from group 0 again.
    let again = intern_all(&mut table, &[vec![batch(vec![Some(1), Some(1), Some(0)])]]);
    assert_eq!(again, vec![0, 0, 1]);
    // Another dictionary's values are looked up afresh: "a" keeps its group.
    let other: ArrayRef = Arc::new(
        DictionaryArray::<Int32Type>::try_new(
            Int32Array::from(vec![1, 0, 1]),
            Arc::new(StringArray::from(vec!["z", "a"])),
        )
        .unwrap(),
    );
    assert_eq!(intern_all(&mut table, &[vec![other]]), vec![1, 2, 1]);
    assert_eq!(table.len(), 3);
}

/// Checks a table against hashing rows alone over `batches`, and whether the last batch was
/// looked up by slots.
fn check_slots(batches: Vec<Vec<ArrayRef>>, last_by_slots: bool) -> Vec<usize> {
    // A dictionary-encoded key's groups are of its value type.
    let types: Vec<DataType> = types(&batches[0])
        .into_iter()
        .map(|t| match t {
            DataType::Dictionary(_, value) => *value,
            t => t,
        })
        .collect();
    let mut table = GroupTable::try_new(&types).unwrap();
    let mut rows = rows_table(&types);
    let indices = intern_all(&mut table, &batches);
    assert_eq!(indices, intern_hashed(&mut rows, &batches));
    let mut out = Vec::new();
    let by_slots = table
        .slots
        .intern(usize::MAX, batches.last().unwrap(), &mut out, |_, _| Ok(()))
        .unwrap();
    assert_eq!(by_slots, last_by_slots, "{types:?}");
    assert_eq!(table.emit().unwrap(), rows.emit().unwrap());
    indices
}

/// An integer key's window grows up and down as values leave it; NULLs have their own
/// slot; a batch too spread for a window is hashed, and later batches are looked up again.
#[test]
fn integer_windows_grow_and_too_spread_batches_are_hashed() {
    let batch = |values: Vec<Option<i64>>| -> Vec<ArrayRef> { vec![Arc::new(Int64Array::from(values))] };
    let spread = |range: std::ops::Range<i64>| batch(range.map(|v| (v % 7 != 0).then_some(v)).collect());
    let indices = check_slots(
        vec![
            batch(vec![Some(5), Some(7), None, Some(5)]),
            // Grows the window up and down (as many rows as slots: worth renumbering).
            spread(-50..250),
            // Too spread for any window: hashed.
            batch(vec![Some(i64::MIN), Some(5), Some(i64::MAX)]),
            // Inside the grown window.
            batch(vec![Some(-50), Some(249), Some(6), None]),
        ],
        true,
    );
    assert_eq!(&indices[..4], &[0, 1, 2, 0]);
    assert_eq!(indices.len(), 4 + 300 + 3 + 4);
    // Small integer types, dates and unsigned values number alike.
    check_slots(
        vec![vec![
            Arc::new(UInt8Array::from(vec![Some(255), None, Some(0), Some(255)])),
            Arc::new(Date32Array::from(vec![Some(19000), Some(-3), Some(19000), Some(19000)])),
            Arc::new(Int16Array::from(vec![Some(-1), Some(-1), None, Some(-1)])),
        ]],
        false,
    );
    check_slots(
        vec![vec![
            Arc::new(UInt8Array::from(vec![Some(255), None, Some(0), Some(255)])),
            Arc::new(Int16Array::from(vec![Some(-1), Some(-1), None, Some(-1)])),
        ]],
        true,
    );
}

/// Several key columns combine their slots: a dictionary whose values change between
/// batches (a new row group, its values in another order and one more) beside an integer,
/// with NULLs in both and in the values.
#[test]
fn dictionary_and_integer_keys_combine_slots() {
    use arrow::array::{DictionaryArray, Int32Array};
    let first: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("b")]));
    let second: ArrayRef = Arc::new(StringArray::from(vec![Some("b"), Some("c"), Some("a")]));
    let dictionary = |values: &ArrayRef, keys: Vec<Option<i32>>| -> ArrayRef {
        Arc::new(DictionaryArray::<Int32Type>::try_new(Int32Array::from(keys), Arc::clone(values)).unwrap())
    };
    let numbers = |values: Vec<Option<i64>>| -> ArrayRef { Arc::new(Int64Array::from(values)) };
    let indices = check_slots(
        vec![
            vec![
                dictionary(&first, vec![Some(0), Some(1), Some(2), None, Some(0)]),
                numbers(vec![Some(1), Some(1), Some(2), Some(2), Some(1)]),
            ],
            // Twice over: as many rows as the renumbered slots (a new value outgrows the
            // dictionary's room, and 3 its integer window).
            vec![
                dictionary(&second, [Some(2), Some(0), Some(1), None, Some(2)].repeat(2)),
                numbers([Some(1), Some(2), None, Some(2), Some(3)].repeat(2)),
            ],
        ],
        true,
    );
    // ("a",1) (NULL,1) ("b",2) (NULL,2) ("a",1) | ("a",1) ("b",2) ("c",NULL) (NULL,2) ("a",3)
    assert_eq!(indices, vec![0, 1, 2, 3, 0, 0, 2, 4, 3, 5, 0, 2, 4, 3, 5]);
}

/// A new dictionary of values already coded (the next row group's, in another order) keeps
/// every slot's group: nothing is renumbered, and its rows find their groups.
#[test]
fn next_dictionary_of_known_values_keeps_the_slots() {
    use arrow::array::{DictionaryArray, Int32Array};
    let dictionary = |values: Vec<&str>, keys: Vec<i32>| -> Vec<ArrayRef> {
        let values: ArrayRef = Arc::new(StringArray::from(values));
        vec![Arc::new(
            DictionaryArray::<Int32Type>::try_new(Int32Array::from(keys), values).unwrap(),
        )]
    };
    let mut table = GroupTable::try_new(&[DataType::Utf8]).unwrap();
    let first = intern_all(&mut table, &[dictionary(vec!["x", "y", "z"], vec![0, 1, 2, 0])]);
    assert_eq!(first, vec![0, 1, 2, 0]);
    let next = intern_all(&mut table, &[dictionary(vec!["z", "x", "y"], vec![0, 1, 2, 2])]);
    assert_eq!(next, vec![2, 0, 1, 1]);
    assert_eq!(
        table.slots.rows_since_reset, 8,
        "the second dictionary renumbered the slots"
    );
}

fn is_columns(table: &GroupTable) -> bool {
    matches!(table.layout, Layout::Columns(_))
}

/// Strings, integers, decimals, dates, floats and binaries with NULLs, over several batches
/// and sliced arrays: the column layout gives the row layout's indices and keys.
#[test]
fn wide_mixed_keys_use_columns_and_match_rows() {
    use arrow::array::{BinaryArray, Decimal128Array, Float64Array, LargeStringArray};
    let names: ArrayRef = Arc::new(StringArray::from(vec![
        Some("Customer#000000001 with a long name"),
        None,
        Some(""),
        Some("Customer#000000001 with a long name"),
        Some("b"),
        None,
    ]));
    let ids: ArrayRef = Arc::new(Int64Array::from(vec![
        Some(1),
        Some(2),
        None,
        Some(1),
        Some(2),
        Some(2),
    ]));
    let amounts: ArrayRef = Arc::new(
        Decimal128Array::from(vec![Some(125), Some(-3), Some(0), Some(125), None, Some(-3)])
            .with_precision_and_scale(15, 2)
            .unwrap(),
    );
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![
        Some(10),
        Some(11),
        Some(12),
        Some(10),
        Some(11),
        None,
    ]));
    let floats: ArrayRef = Arc::new(Float64Array::from(vec![0.0, -0.0, f64::NAN, 0.0, f64::NAN, 1.5]));
    let large: ArrayRef = Arc::new(LargeStringArray::from(vec!["x", "y", "x", "x", "y", "y"]));
    let bytes: ArrayRef = Arc::new(BinaryArray::from(vec![
        Some(&b"\x00\x01"[..]),
        None,
        Some(&b""[..]),
        Some(&b"\x00\x01"[..]),
        Some(&b"z"[..]),
        None,
    ]));
    let batch = vec![names, ids, amounts, dates, floats, large, bytes];
    let sliced: Vec<ArrayRef> = batch.iter().map(|a| a.slice(2, 4)).collect();
    let types = types(&batch);
    let mut table = GroupTable::try_new(&types).unwrap();
    assert!(is_columns(&table), "{types:?}");
    let emitted = check_same_as_rows(vec![batch.clone(), sliced, batch], false);
    assert_eq!(emitted[0].len(), 5);
    let mut out = Vec::new();
    table.intern(&emitted, &mut out).unwrap();
    assert_eq!(out, vec![0, 1, 2, 3, 4], "emitted keys are the distinct groups");
}

/// Dictionary-encoded strings group with plain strings of the same value and come out as
/// plain strings, after a long string moved the packed groups to a column table.
#[test]
fn dictionary_strings_in_a_column_table_group_with_plain_ones() {
    let plain: ArrayRef = Arc::new(StringArray::from(vec![
        Some("a long value that does not pack"),
        None,
        Some("b"),
    ]));
    let dictionary: ArrayRef = Arc::new(
        vec![Some("b"), Some("a long value that does not pack"), None, Some("c")]
            .into_iter()
            .collect::<arrow::array::DictionaryArray<Int32Type>>(),
    );
    let other: ArrayRef = Arc::new(Int64Array::from(vec![7, 7, 7]));
    let other4: ArrayRef = Arc::new(Int64Array::from(vec![7, 7, 7, 7]));
    let types = vec![DataType::Utf8, DataType::Int64];
    let mut table = GroupTable::try_new(&types).unwrap();
    let indices = intern_all(&mut table, &[vec![plain, other], vec![dictionary, other4]]);
    assert!(is_columns(&table), "a long string moves the packed groups to columns");
    assert_eq!(indices, vec![0, 1, 2, 2, 0, 1, 3]);
    let emitted = table.emit().unwrap();
    assert_eq!(emitted[0].data_type(), &DataType::Utf8);
    let strings = emitted[0].as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(strings.value(3), "c");
    assert!(strings.is_null(1));
    assert_eq!(table.len(), 0);
}

/// A boolean among keys too wide to pack: the row layout.
#[test]
fn wide_keys_with_a_boolean_use_rows() {
    let types = vec![DataType::Int64, DataType::Int64, DataType::Boolean];
    let table = GroupTable::try_new(&types).unwrap();
    assert!(!is_columns(&table) && !is_packed(&table));
}

//! Plan schemas: Arrow fields with an optional table qualifier each, and column resolution
//! by (qualifier, name) with DuckDB's rules: identifiers match case-insensitively, an
//! unqualified name must be unambiguous, and an unknown name suggests the closest one.

use std::sync::Arc;

use arrow::datatypes::{Field, FieldRef, Schema, SchemaRef};

use crate::error::{closest_name, Error, Result};

/// A column reference as written: `name` or `qualifier.name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ColumnRef {
    /// The table (or alias) it is qualified with.
    pub qualifier: Option<String>,
    /// The column name.
    pub name: String,
}

impl ColumnRef {
    /// An unqualified reference.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            qualifier: None,
            name: name.into(),
        }
    }
    /// A qualified reference.
    pub fn qualified(qualifier: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            qualifier: Some(qualifier.into()),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.qualifier {
            Some(q) => write!(f, "{q}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// The schema of a logical plan node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSchema {
    qualifiers: Vec<Option<String>>,
    arrow: SchemaRef,
}

/// Shared plan schema.
pub type PlanSchemaRef = Arc<PlanSchema>;

impl PlanSchema {
    /// Fields with their qualifiers.
    pub fn new(fields: Vec<(Option<String>, FieldRef)>) -> Self {
        let (qualifiers, fields): (Vec<_>, Vec<_>) = fields.into_iter().unzip();
        Self {
            qualifiers,
            arrow: Arc::new(Schema::new(fields)),
        }
    }

    /// Every field of `schema` qualified by `qualifier`.
    pub fn from_arrow(qualifier: Option<&str>, schema: &Schema) -> Self {
        Self {
            qualifiers: vec![qualifier.map(str::to_string); schema.fields().len()],
            arrow: Arc::new(Schema::new(schema.fields().clone())),
        }
    }

    /// The empty schema.
    pub fn empty() -> Self {
        Self::new(vec![])
    }

    /// The Arrow schema (without qualifiers).
    pub fn arrow(&self) -> &SchemaRef {
        &self.arrow
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.qualifiers.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.qualifiers.is_empty()
    }

    /// Field `i`.
    pub fn field(&self, i: usize) -> &FieldRef {
        &self.arrow.fields()[i]
    }

    /// Qualifier of field `i`.
    pub fn qualifier(&self, i: usize) -> Option<&str> {
        self.qualifiers[i].as_deref()
    }

    /// Iterates `(qualifier, field)`.
    pub fn iter(&self) -> impl Iterator<Item = (Option<&str>, &FieldRef)> {
        self.qualifiers
            .iter()
            .map(|q| q.as_deref())
            .zip(self.arrow.fields().iter())
    }

    /// A reference that resolves to field `i`.
    pub fn column_ref(&self, i: usize) -> ColumnRef {
        ColumnRef {
            qualifier: self.qualifiers[i].clone(),
            name: self.field(i).name().clone(),
        }
    }

    /// The fields of `self` followed by those of `other`.
    pub fn join(&self, other: &PlanSchema) -> PlanSchema {
        PlanSchema::new(
            self.iter()
                .chain(other.iter())
                .map(|(q, f)| (q.map(str::to_string), Arc::clone(f)))
                .collect(),
        )
    }

    /// The same fields, all qualified by `qualifier` (a subquery or table alias).
    pub fn with_qualifier(&self, qualifier: &str) -> PlanSchema {
        PlanSchema {
            qualifiers: vec![Some(qualifier.to_string()); self.len()],
            arrow: Arc::clone(&self.arrow),
        }
    }

    /// The same schema with every field nullable (the outer side of an outer join).
    pub fn as_nullable(&self) -> PlanSchema {
        PlanSchema::new(
            self.iter()
                .map(|(q, f)| (q.map(str::to_string), Arc::new(f.as_ref().clone().with_nullable(true))))
                .collect(),
        )
    }

    /// Whether `other` has the same column names, qualifiers and types, in the same order.
    pub fn same_columns(&self, other: &PlanSchema) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((qa, fa), (qb, fb))| qa == qb && fa.name() == fb.name() && fa.data_type() == fb.data_type())
    }

    /// Finds `column`, or `None` when no field matches. Ambiguous references are errors.
    pub fn find(&self, column: &ColumnRef) -> Result<Option<usize>> {
        let matches_qualifier = |i: usize| match (&column.qualifier, &self.qualifiers[i]) {
            (None, _) => true,
            (Some(q), Some(fq)) => q.eq_ignore_ascii_case(fq),
            (Some(_), None) => false,
        };
        // Exact-case matches win over case-insensitive ones.
        for exact in [true, false] {
            let found: Vec<usize> = (0..self.len())
                .filter(|&i| matches_qualifier(i))
                .filter(|&i| {
                    let n = self.field(i).name();
                    if exact {
                        n == &column.name
                    } else {
                        n.eq_ignore_ascii_case(&column.name)
                    }
                })
                .collect();
            match found.len() {
                0 => continue,
                1 => return Ok(Some(found[0])),
                _ => {
                    let candidates: Vec<String> = found.iter().map(|&i| self.column_ref(i).to_string()).collect();
                    // Identical qualifiers and names (e.g. `SELECT a, a`) are the same column.
                    if candidates.iter().all(|c| c == &candidates[0]) {
                        return Ok(Some(found[0]));
                    }
                    return Err(Error::plan(format!(
                        "Ambiguous reference to column name \"{column}\" (use: {})",
                        candidates.join(" or ")
                    )));
                }
            }
        }
        Ok(None)
    }

    /// Finds `column` or fails with an error that names the closest existing column.
    pub fn resolve(&self, column: &ColumnRef) -> Result<usize> {
        self.find(column)?.ok_or_else(|| self.not_found(column))
    }

    /// The "not found" error for `column`, with a suggestion.
    pub fn not_found(&self, column: &ColumnRef) -> Error {
        let names: Vec<String> = (0..self.len()).map(|i| self.column_ref(i).to_string()).collect();
        let unqualified: Vec<&str> = self.arrow.fields().iter().map(|f| f.name().as_str()).collect();
        let suggestion = closest_name(&column.name, unqualified.iter().copied())
            .map(|n| format!("\nCandidate bindings: \"{n}\""))
            .unwrap_or_default();
        let hint = if names.is_empty() {
            String::new()
        } else if suggestion.is_empty() {
            format!(" (columns: {})", names.join(", "))
        } else {
            String::new()
        };
        Error::plan(format!(
            "Referenced column \"{column}\" not found in FROM clause!{hint}{}",
            suggestion.replace('\n', " ")
        ))
    }

    /// A field built from a name and type (nullable).
    pub fn field_of(name: &str, data_type: arrow::datatypes::DataType) -> FieldRef {
        Arc::new(Field::new(name, data_type, true))
    }
}

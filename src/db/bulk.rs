//! Statements that write many rows at once, in the form each backend runs fastest: on PostgreSQL one statement
//! over `unnest` of one array per column (a handful of parameters, planned once and cached); on SQLite, where a
//! statement costs no network round trip, multi-row statements with a parameter per value.

use super::DbConnection;
use crate::db::schema::answers;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};

/// Rows per multi-row statement with a parameter per value, well inside both backends' limits on bound
/// parameters.
pub const ROWS_PER_STATEMENT: usize = 2_000;

/// One row's change to a table of counters: the text key columns that pick the row, then the amounts to add.
pub struct CounterDelta<'a> {
    pub keys: Vec<&'a str>,
    pub add: Vec<i64>,
}

/// Adds to counter columns of many rows in one statement, making the rows that do not exist yet: `INSERT …
/// ON CONFLICT (key) DO UPDATE SET c = c + excluded.c`. `scope` (columns and their values) is the same for every
/// row; with `key_columns` it is the table's primary key. Table and column names are the caller's constants,
/// never input. Rows are written in the order given, so callers that sort them never deadlock each other.
pub fn add_to_counters(
    conn: &mut DbConnection,
    table: &str,
    scope: &[(&str, i64)],
    key_columns: &[&str],
    counter_columns: &[&str],
    rows: &[CounterDelta],
) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let columns: Vec<&str> = scope
        .iter()
        .map(|(c, _)| *c)
        .chain(key_columns.iter().copied())
        .chain(counter_columns.iter().copied())
        .collect();
    let conflict: Vec<&str> = scope.iter().map(|(c, _)| *c).chain(key_columns.iter().copied()).collect();
    let sets: Vec<String> = counter_columns.iter().map(|c| format!("{c} = {table}.{c} + excluded.{c}")).collect();
    let upsert = |source: String| {
        format!(
            "INSERT INTO {table} ({}) {source} ON CONFLICT ({}) DO UPDATE SET {}",
            columns.join(", "),
            conflict.join(", "),
            sets.join(", ")
        )
    };
    match conn {
        DbConnection::Postgresql(c) => {
            let n = scope.len();
            let scoped: Vec<String> = (1..=n).map(|i| format!("${i}::bigint")).collect();
            let arrays: Vec<String> = (0..key_columns.len())
                .map(|i| format!("${}::text[]", n + 1 + i))
                .chain((0..counter_columns.len()).map(|i| format!("${}::bigint[]", n + 1 + key_columns.len() + i)))
                .collect();
            let names: Vec<&str> = key_columns.iter().chain(counter_columns).copied().collect();
            let source = format!(
                "SELECT {}, v.* FROM unnest({}) AS v({})",
                scoped.join(", "),
                arrays.join(", "),
                names.join(", ")
            );
            let mut query = diesel::sql_query(upsert(source)).into_boxed::<Pg>();
            for (_, value) in scope {
                query = query.bind::<BigInt, _>(*value);
            }
            for k in 0..key_columns.len() {
                query = query.bind::<Array<Text>, _>(rows.iter().map(|r| r.keys[k].to_string()).collect::<Vec<_>>());
            }
            for k in 0..counter_columns.len() {
                query = query.bind::<Array<BigInt>, _>(rows.iter().map(|r| r.add[k]).collect::<Vec<_>>());
            }
            query.execute(c).map(drop)
        }
        DbConnection::Sqlite(c) => {
            let per_row = columns.len();
            let row = format!("({})", vec!["?"; per_row].join(", "));
            for chunk in rows.chunks((SQLITE_PARAMETERS / per_row).max(1)) {
                let source = format!("VALUES {}", vec![row.as_str(); chunk.len()].join(", "));
                let mut query = diesel::sql_query(upsert(source)).into_boxed::<diesel::sqlite::Sqlite>();
                for r in chunk {
                    for (_, value) in scope {
                        query = query.bind::<BigInt, _>(*value);
                    }
                    for key in &r.keys {
                        query = query.bind::<Text, _>(key.to_string());
                    }
                    for add in &r.add {
                        query = query.bind::<BigInt, _>(*add);
                    }
                }
                query.execute(c)?;
            }
            Ok(())
        }
    }
}

/// Bound parameters per SQLite statement, well inside the bundled SQLite's limit (32,766).
const SQLITE_PARAMETERS: usize = 16_000;

/// One answer to store.
#[derive(Debug, Insertable)]
#[diesel(table_name = answers)]
pub struct AnswerRow<'a> {
    pub consultation_id: i64,
    pub response_id: i64,
    pub question_key: &'a str,
    pub value: String,
    pub other_text: Option<&'a str>,
}

/// Inserts answers in as few statements as the backend allows.
pub fn insert_answers(conn: &mut DbConnection, rows: &[AnswerRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        DbConnection::Postgresql(c) => diesel::sql_query(
            "INSERT INTO answers (consultation_id, response_id, question_key, value, other_text) \
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[])",
        )
        .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.consultation_id).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.response_id).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|r| r.question_key).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|r| r.value.as_str()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.other_text).collect::<Vec<_>>())
        .execute(c)
        .map(drop),
        DbConnection::Sqlite(c) => {
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                diesel::insert_into(answers::table).values(chunk).execute(c)?;
            }
            Ok(())
        }
    }
}

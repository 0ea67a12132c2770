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

/// Adds to counter columns of many rows in one statement, `UPDATE … FROM (rows) AS v`. Returns the rows
/// updated. `scope` (columns and their values) is matched on every row. Table and column names are the
/// caller's constants, never input.
pub fn add_to_counters(
    conn: &mut DbConnection,
    table: &str,
    scope: &[(&str, i64)],
    key_columns: &[&str],
    counter_columns: &[&str],
    rows: &[CounterDelta],
) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let sets: Vec<String> = counter_columns.iter().map(|c| format!("{c} = {table}.{c} + v.{c}")).collect();
    let matches: Vec<String> = key_columns.iter().map(|c| format!("{table}.{c} = v.{c}")).collect();
    // `from` names its rows `v`, with the key and counter columns' names; `placeholders` are the scope's.
    let update = |from: String, placeholders: Vec<String>| {
        let scoped: Vec<String> =
            scope.iter().zip(placeholders).map(|((c, _), p)| format!("{table}.{c} = {p}")).collect();
        format!(
            "UPDATE {table} SET {} FROM {from} WHERE {} AND {}",
            sets.join(", "),
            scoped.join(" AND "),
            matches.join(" AND ")
        )
    };
    match conn {
        DbConnection::Postgresql(c) => {
            let n = key_columns.len() + counter_columns.len();
            let arrays: Vec<String> = (1..=key_columns.len())
                .map(|i| format!("${i}::text[]"))
                .chain((key_columns.len() + 1..=n).map(|i| format!("${i}::bigint[]")))
                .collect();
            let columns: Vec<&str> = key_columns.iter().chain(counter_columns).copied().collect();
            let from = format!("unnest({}) AS v({})", arrays.join(", "), columns.join(", "));
            let placeholders = (n + 1..=n + scope.len()).map(|i| format!("${i}")).collect();
            let mut query = diesel::sql_query(update(from, placeholders)).into_boxed::<Pg>();
            for k in 0..key_columns.len() {
                let column: Vec<String> = rows.iter().map(|r| r.keys[k].to_string()).collect();
                query = query.bind::<Array<Text>, _>(column);
            }
            for k in 0..counter_columns.len() {
                let column: Vec<i64> = rows.iter().map(|r| r.add[k]).collect();
                query = query.bind::<Array<BigInt>, _>(column);
            }
            for (_, value) in scope {
                query = query.bind::<BigInt, _>(*value);
            }
            query.execute(c)
        }
        DbConnection::Sqlite(c) => {
            let mut updated = 0;
            for chunk in rows.chunks(ROWS_PER_STATEMENT / 4) {
                let select: Vec<String> = key_columns
                    .iter()
                    .map(|k| format!("CAST(? AS TEXT) AS {k}"))
                    .chain(counter_columns.iter().map(|k| format!("CAST(? AS BIGINT) AS {k}")))
                    .collect();
                let select = format!("SELECT {}", select.join(", "));
                let from = format!("({}) AS v", vec![select; chunk.len()].join(" UNION ALL "));
                let placeholders = scope.iter().map(|_| "?".to_string()).collect();
                let mut query = diesel::sql_query(update(from, placeholders)).into_boxed::<diesel::sqlite::Sqlite>();
                for row in chunk {
                    for key in &row.keys {
                        query = query.bind::<Text, _>(key.to_string());
                    }
                    for add in &row.add {
                        query = query.bind::<BigInt, _>(*add);
                    }
                }
                for (_, value) in scope {
                    query = query.bind::<BigInt, _>(*value);
                }
                updated += query.execute(c)?;
            }
            Ok(updated)
        }
    }
}

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

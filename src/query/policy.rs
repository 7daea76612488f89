//! The SQL policy: read-only statements only, no access to the server's files,
//! and JDBC-style `?` placeholders rewritten to DataFusion's `$1..$n`.
use std::ops::ControlFlow;

use datafusion::sql::parser::{CopyToStatement, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::{
    ObjectName, ObjectNamePart, SetExpr, Statement, TableFactor, Visit, Visitor,
};

use super::error::{Error, Result};

/// Table functions that only compute values; any other table function could
/// read the server's files (`read_parquet`-style) and is refused.
const PURE_TABLE_FUNCTIONS: &[&str] = &["generate_series", "range"];

/// Rewrites every `?` placeholder outside string literals, quoted identifiers
/// and comments to `$1`, `$2`, ... in order. `$n` placeholders pass through;
/// mixing both styles in one statement is refused.
pub fn rewrite_placeholders(sql: &str) -> Result<String> {
    #[derive(PartialEq)]
    enum State {
        Code,
        Single,
        Double,
        Line,
        Block,
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut state = State::Code;
    let mut questions = 0usize;
    let mut dollars = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match state {
            State::Code => match c {
                '\'' => state = State::Single,
                '"' => state = State::Double,
                '-' if chars.peek() == Some(&'-') => state = State::Line,
                '/' if chars.peek() == Some(&'*') => state = State::Block,
                '$' if chars.peek().is_some_and(char::is_ascii_digit) => dollars = true,
                '?' => {
                    questions += 1;
                    out.push('$');
                    out.push_str(&questions.to_string());
                    continue;
                }
                _ => {}
            },
            // A doubled quote inside a literal reads as leaving and re-entering
            // it, which lands in the same state: no special case needed.
            State::Single if c == '\'' => state = State::Code,
            State::Double if c == '"' => state = State::Code,
            State::Line if c == '\n' => state = State::Code,
            State::Block if c == '*' && chars.peek() == Some(&'/') => {
                out.push(c);
                if let Some(slash) = chars.next() {
                    out.push(slash);
                }
                state = State::Code;
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    if questions > 0 && dollars {
        return Err(Error::InvalidSql(
            "use either ? or $n placeholders in one statement, not both".into(),
        ));
    }
    Ok(out)
}

/// Refuses anything but a read-only query: DDL, DML, `COPY`, `CREATE
/// EXTERNAL TABLE`, `SET`, transactions, and table references that would read
/// files from the server's disk.
pub(crate) fn check_read_only(stmt: &DfStatement) -> Result<()> {
    match stmt {
        DfStatement::Statement(inner) => check_sql_statement(inner),
        DfStatement::Explain(explain) => check_read_only(&explain.statement),
        DfStatement::CreateExternalTable(_) => Err(Error::ReadOnly(
            "CREATE EXTERNAL TABLE is not allowed".into(),
        )),
        DfStatement::CopyTo(CopyToStatement { .. }) => Err(Error::ReadOnly(
            "COPY is not allowed: the server does not write files".into(),
        )),
        DfStatement::Reset(_) => Err(Error::ReadOnly("RESET is not allowed".into())),
    }
}

fn check_sql_statement(stmt: &Statement) -> Result<()> {
    match stmt {
        Statement::Query(query) => {
            if let SetExpr::Select(select) = query.body.as_ref()
                && select.into.is_some()
            {
                return Err(Error::ReadOnly(
                    "SELECT INTO creates a table: not allowed".into(),
                ));
            }
        }
        Statement::Explain { statement, .. } => check_sql_statement(statement)?,
        Statement::ExplainTable { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowFunctions { .. }
        | Statement::ShowCreate { .. } => {}
        other => {
            let verb = other.to_string();
            let verb: String = verb
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            return Err(Error::ReadOnly(format!(
                "only queries are allowed on this read-only server, not {verb}"
            )));
        }
    }
    let mut files = NoFileAccess;
    match stmt.visit(&mut files) {
        ControlFlow::Break(err) => Err(err),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Walks every table reference of a statement.
#[derive(Debug, Default)]
struct NoFileAccess;

impl Visitor for NoFileAccess {
    type Break = Error;

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Error> {
        match factor {
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            } => check_table_function(name),
            TableFactor::Table {
                name, args: None, ..
            } => check_table_name(name),
            TableFactor::Function { name, .. } => check_table_function(name),
            TableFactor::TableFunction { .. } => ControlFlow::Break(Error::ReadOnly(
                "TABLE(...) functions are not allowed".into(),
            )),
            _ => ControlFlow::Continue(()),
        }
    }
}

fn check_table_function(name: &ObjectName) -> ControlFlow<Error> {
    let last = name
        .0
        .last()
        .and_then(ObjectNamePart::as_ident)
        .map(|i| i.value.to_lowercase());
    match last {
        Some(f) if name.0.len() == 1 && PURE_TABLE_FUNCTIONS.contains(&f.as_str()) => {
            ControlFlow::Continue(())
        }
        _ => ControlFlow::Break(Error::ReadOnly(format!(
            "table function {name} is not allowed: only {} may be used",
            PURE_TABLE_FUNCTIONS.join(", ")
        ))),
    }
}

/// A table named by a string literal or a path/URL would be read from the
/// server's disk by engines that support it: refuse it outright rather than
/// relying on the feature being switched off.
fn check_table_name(name: &ObjectName) -> ControlFlow<Error> {
    for part in &name.0 {
        let Some(ident) = part.as_ident() else {
            continue;
        };
        let v = &ident.value;
        if ident.quote_style == Some('\'')
            || v.contains('/')
            || v.contains('\\')
            || v.contains("://")
        {
            return ControlFlow::Break(Error::ReadOnly(format!(
                "reading files from the server ({v}) is not allowed"
            )));
        }
    }
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::error::ErrorKind;
    use datafusion::sql::parser::DFParser;

    #[test]
    fn question_marks_become_numbered_outside_literals_and_comments() {
        let sql =
            "SELECT '?', \"a?\" FROM t -- what?\nWHERE a = ? /* ? */ AND b = 'it''s ?' AND c = ?";
        assert_eq!(
            rewrite_placeholders(sql).unwrap(),
            "SELECT '?', \"a?\" FROM t -- what?\nWHERE a = $1 /* ? */ AND b = 'it''s ?' AND c = $2"
        );
        assert_eq!(
            rewrite_placeholders("SELECT $1, $2").unwrap(),
            "SELECT $1, $2"
        );
        assert_eq!(
            rewrite_placeholders("SELECT '$1', ?").unwrap(),
            "SELECT '$1', $1"
        );
        assert_eq!(
            rewrite_placeholders("SELECT ?, $1").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    fn check(sql: &str) -> Result<()> {
        let mut stmts = DFParser::parse_sql(sql).unwrap();
        check_read_only(&stmts.pop_front().unwrap())
    }

    #[test]
    fn only_read_only_queries_pass() {
        for ok in [
            "SELECT 1",
            "SELECT * FROM twitch.gold.leaderboard_daily WHERE rank <= $1",
            "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
            "EXPLAIN SELECT 1",
            "SHOW TABLES",
            "SELECT * FROM generate_series(1, 3)",
            "SELECT * FROM information_schema.tables",
        ] {
            check(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for refused in [
            "CREATE TABLE t (a INT)",
            "CREATE TABLE t AS SELECT 1",
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET a = 1",
            "DELETE FROM t",
            "DROP TABLE t",
            "COPY (SELECT 1) TO '/tmp/x.csv'",
            "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'",
            "EXPLAIN ANALYZE COPY (SELECT 1) TO '/tmp/x.csv'",
            "SET datafusion.execution.batch_size = 1",
            "SELECT * FROM '/etc/passwd'",
            "SELECT * FROM read_parquet('/etc/passwd')",
            "SELECT * FROM read_csv('/etc/passwd')",
            "SELECT 1 INTO t2",
            "CREATE VIEW v AS SELECT 1",
            "BEGIN",
        ] {
            let err = check(refused).expect_err(refused);
            assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{refused}: {err}");
        }
    }
}

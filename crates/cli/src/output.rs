//! Rows to stdout as TSV, CSV or a JSON array, written as they come (a million rows never sit in
//! memory), flushed line by line when the output is a terminal. TSV and CSV carry the declared
//! columns; JSON carries every field of a row, with its type (numbers, booleans, `null`).

use serde_json::Value;
use std::io::Write;

use crate::args::Format;

/// Writes rows of named values.
pub struct RowWriter<W: Write> {
    out: W,
    format: Format,
    columns: Vec<String>,
    flush_each: bool,
    rows: u64,
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl<W: Write> RowWriter<W> {
    /// A writer for rows with these columns.
    pub fn new(mut out: W, format: Format, columns: &[&str]) -> std::io::Result<Self> {
        match format {
            Format::Tsv => writeln!(out, "{}", columns.join("\t"))?,
            Format::Csv => writeln!(out, "{}", columns.join(","))?,
            Format::Json => write!(out, "[")?,
        }
        Ok(RowWriter {
            out,
            format,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            flush_each: false,
            rows: 0,
        })
    }

    /// Flushes after every row: for a terminal, where a person watches the rows come.
    pub fn flushing_each_row(mut self, on: bool) -> Self {
        self.flush_each = on;
        self
    }

    fn cells(&self, row: &[(&str, Value)]) -> Vec<String> {
        self.columns
            .iter()
            .map(|c| {
                row.iter()
                    .find(|(k, _)| k == c)
                    .map(|(_, v)| text(v))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Writes one row; values in column order.
    pub fn row(&mut self, row: &[(&str, Value)]) -> std::io::Result<()> {
        match self.format {
            Format::Tsv => {
                let cells: Vec<String> = self
                    .cells(row)
                    .iter()
                    .map(|c| c.replace(['\t', '\n', '\r'], " "))
                    .collect();
                writeln!(self.out, "{}", cells.join("\t"))?;
            }
            Format::Csv => {
                let cells: Vec<String> = self.cells(row).iter().map(|c| csv_field(c)).collect();
                writeln!(self.out, "{}", cells.join(","))?;
            }
            Format::Json => {
                let obj: serde_json::Map<String, Value> = row
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                let sep = if self.rows == 0 { "\n" } else { ",\n" };
                write!(self.out, "{sep}{}", Value::Object(obj))?;
            }
        }
        self.rows += 1;
        if self.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Ends the output.
    pub fn finish(mut self) -> std::io::Result<u64> {
        if self.format == Format::Json {
            writeln!(self.out, "{}]", if self.rows == 0 { "" } else { "\n" })?;
        }
        self.out.flush()?;
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(format: Format) -> String {
        let mut buf = Vec::new();
        let mut w = RowWriter::new(&mut buf, format, &["id", "name"]).unwrap();
        w.row(&[("id", json!("0_a")), ("name", json!("x, \"y\"\tz"))])
            .unwrap();
        w.row(&[("id", json!("0_b")), ("name", Value::Null)])
            .unwrap();
        w.finish().unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn formats_quote_and_escape_their_own_way() {
        assert_eq!(render(Format::Tsv), "id\tname\n0_a\tx, \"y\" z\n0_b\t\n");
        assert_eq!(
            render(Format::Csv),
            "id,name\n0_a,\"x, \"\"y\"\"\tz\"\n0_b,\n"
        );
        let v: Value = serde_json::from_str(&render(Format::Json)).unwrap();
        assert_eq!(v[1], json!({"id": "0_b", "name": null}));
    }
}

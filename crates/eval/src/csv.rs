//! A small RFC 4180 CSV reader (quoted fields, doubled quotes, newlines inside quotes), enough
//! for the CrowS-Pairs file; rows come back as maps from header name to field.

use std::collections::HashMap;

/// Parses `text` into rows of fields. Errors name the line of an unterminated quote.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let (mut quoted, mut line, mut quote_line) = (false, 1usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => {
                    line += (c == '\n') as usize;
                    field.push(c);
                }
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                quoted = true;
                quote_line = line;
            }
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                line += 1;
                row.push(std::mem::take(&mut field));
                if !(row.len() == 1 && row[0].is_empty()) {
                    rows.push(std::mem::take(&mut row));
                }
                row.clear();
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {quote_line}: a quoted field never ends (missing closing \")"));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// (row number, header -> field) for each data row.
pub type Record = (usize, HashMap<String, String>);

/// Rows as header -> value maps, with the 1-based row number for error messages.
pub fn records(text: &str) -> Result<Vec<Record>, String> {
    let mut rows = parse(text)?.into_iter();
    let header = rows.next().ok_or("the file is empty; it needs a header row")?;
    let header: Vec<String> = header.into_iter().map(|h| h.trim().to_string()).collect();
    rows.enumerate()
        .map(|(i, r)| {
            if r.len() != header.len() {
                return Err(format!("row {}: {} fields, the header has {}", i + 2, r.len(), header.len()));
            }
            Ok((i + 2, header.iter().cloned().zip(r).collect()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_commas_and_newlines() {
        let rows = parse("a,b\n\"x, \"\"y\"\"\",2\n\"multi\nline\",3\n").unwrap();
        assert_eq!(rows, vec![vec!["a", "b"], vec!["x, \"y\"", "2"], vec!["multi\nline", "3"]]);
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        assert!(parse("a\n\"oops\n").unwrap_err().contains("line 2"));
    }

    #[test]
    fn ragged_row_is_an_error() {
        assert!(records("a,b\n1\n").unwrap_err().contains("row 2"));
    }
}

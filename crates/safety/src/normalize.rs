//! Text as matching rules see it: lower case, invisible characters removed, whitespace runs
//! collapsed. Defeats the cheap evasions (`IgNoRe`, zero-width joiners, line breaks between words)
//! without a Unicode normalisation dependency.

/// Characters that render as nothing and are used to split words past a filter.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{00ad}' | '\u{034f}')
}

pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars().filter(|&c| !invisible(c)) {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// Digits and symbols read as letters (`h4te`, `$pam`), for blocklist terms.
pub fn unleet(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | '!' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_invisibles_and_spaces() {
        assert_eq!(normalize("  IgNo\u{200b}re\n\n ALL\tprevious "), "ignore all previous");
        assert_eq!(unleet("h4te $p4m"), "hate spam");
    }
}

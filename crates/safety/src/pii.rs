//! Personal data in text: e-mail addresses, phone numbers, payment card numbers (Luhn-checked),
//! US social security numbers, IBANs (mod-97 checked), IPv4 addresses and API secrets.
//! Candidates come from regexes; a checksum or range check then drops look-alikes, so ordinary
//! numbers (years, prices, order ids) are not redacted.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PiiKind {
    Email,
    Phone,
    CreditCard,
    Ssn,
    Iban,
    IpAddress,
    Secret,
}

impl PiiKind {
    pub fn name(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::CreditCard => "credit_card",
            PiiKind::Ssn => "ssn",
            PiiKind::Iban => "iban",
            PiiKind::IpAddress => "ip_address",
            PiiKind::Secret => "secret",
        }
    }

    /// What replaces the value in redacted text.
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::CreditCard => "[CREDIT_CARD]",
            PiiKind::Ssn => "[SSN]",
            PiiKind::Iban => "[IBAN]",
            PiiKind::IpAddress => "[IP_ADDRESS]",
            PiiKind::Secret => "[SECRET]",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiMatch {
    pub kind: PiiKind,
    /// Byte range in the scanned text.
    pub range: Range<usize>,
}

struct Detector {
    kind: PiiKind,
    re: Regex,
    valid: fn(&str) -> bool,
}

/// Detectors in priority order: where candidates overlap, the earlier kind wins (a Luhn-valid
/// 16-digit number is a card, not a phone number).
fn detectors() -> &'static [Detector] {
    static D: OnceLock<Vec<Detector>> = OnceLock::new();
    D.get_or_init(|| {
        let d = |kind, pattern: &str, valid| Detector { kind, re: Regex::new(pattern).expect("PII pattern"), valid };
        vec![
            d(PiiKind::Secret, r"\b(?:sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|hf_[A-Za-z0-9]{30,})\b", |_| true),
            d(PiiKind::Email, r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b", |_| true),
            // Card layouts: contiguous, groups of four, or American Express 4-6-5.
            d(PiiKind::CreditCard, r"\b(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2}[ -]\d{1,7}|\d{4}[ -]\d{6}[ -]\d{5})\b", luhn_card),
            d(PiiKind::Ssn, r"\b\d{3}-\d{2}-\d{4}\b", ssn_valid),
            d(PiiKind::Iban, r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b", iban_valid),
            d(PiiKind::IpAddress, r"\b(?:\d{1,3}\.){3}\d{1,3}\b", ipv4_valid),
            d(PiiKind::Phone, r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\b\d{2,4}[ .-]\d{3,4}(?:[ .-]?\d{2,4}){0,2}\b", phone_valid),
        ]
    })
}

/// Every PII value in `text`, sorted by position, never overlapping.
pub fn find(text: &str) -> Vec<PiiMatch> {
    let mut found: Vec<PiiMatch> = Vec::new();
    for det in detectors() {
        for m in det.re.find_iter(text) {
            if !(det.valid)(m.as_str()) {
                continue;
            }
            let r = m.range();
            if found.iter().any(|f| f.range.start < r.end && r.start < f.range.end) {
                continue;
            }
            found.push(PiiMatch { kind: det.kind, range: r });
        }
    }
    found.sort_by_key(|f| f.range.start);
    found
}

/// `text` with each match replaced by its kind's placeholder.
pub fn redact(text: &str, found: &[PiiMatch]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        out.push_str(&text[at..f.range.start]);
        out.push_str(f.kind.placeholder());
        at = f.range.end;
    }
    out.push_str(&text[at..]);
    out
}

fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

fn luhn_card(s: &str) -> bool {
    let d = digits(s);
    if !(13..=19).contains(&d.len()) || d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| if i % 2 == 1 { if x * 2 > 9 { x * 2 - 9 } else { x * 2 } } else { x })
        .sum();
    sum % 10 == 0
}

/// Area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
fn ssn_valid(s: &str) -> bool {
    let d = digits(s);
    let area = d[0] * 100 + d[1] * 10 + d[2];
    let group = d[3] * 10 + d[4];
    let serial = d[5..].iter().fold(0, |a, &x| a * 10 + x);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// ISO 13616: move the first four characters to the end, letters to 10..35, the number mod 97 is 1.
fn iban_valid(s: &str) -> bool {
    let compact: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let mut rem: u32 = 0;
    for c in compact[4..].iter().chain(&compact[..4]) {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

/// 9 to 15 digits (E.164 allows 15); fewer is a date, a price or an order number.
fn phone_valid(s: &str) -> bool {
    (9..=15).contains(&digits(s).len())
}

fn ipv4_valid(s: &str) -> bool {
    s.split('.').all(|p| p.parse::<u32>().is_ok_and(|v| v <= 255) && !(p.len() > 1 && p.starts_with('0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(&'static str, String)> {
        find(text).into_iter().map(|m| (m.kind.name(), text[m.range].to_string())).collect()
    }

    #[test]
    fn finds_each_kind() {
        let cases = [
            ("write to jane.doe+news@mail.example.co.uk today", "email", "jane.doe+news@mail.example.co.uk"),
            ("call +1 415-555-0132 now", "phone", "+1 415-555-0132"),
            ("call (030) 1234 5678", "phone", "(030) 1234 5678"),
            ("card 4111 1111 1111 1111 exp", "credit_card", "4111 1111 1111 1111"),
            ("card 5500-0000-0000-0004.", "credit_card", "5500-0000-0000-0004"),
            ("ssn 123-45-6789", "ssn", "123-45-6789"),
            ("iban DE89 3704 0044 0532 0130 00 thanks", "iban", "DE89 3704 0044 0532 0130 00"),
            ("iban GB82WEST12345698765432", "iban", "GB82WEST12345698765432"),
            ("host 192.168.10.254 is down", "ip_address", "192.168.10.254"),
            ("key sk-abcdefghijklmnopqrstuvwx123 leaked", "secret", "sk-abcdefghijklmnopqrstuvwx123"),
        ];
        for (text, kind, value) in cases {
            assert_eq!(kinds(text), vec![(kind, value.to_string())], "{text}");
        }
    }

    #[test]
    fn look_alikes_are_not_pii() {
        for text in [
            "The meeting is on 2024-05-17 at 10:30.",
            "It costs 1,299.99 dollars, order 123456.",
            "Version 1.2.3 of the library; pi is 3.14159.",
            "Card 4111 1111 1111 1112 fails the Luhn check.",
            "Not an SSN: 000-12-3456 or 666-12-3456.",
            "IBAN DE89 3704 0044 0532 0130 01 has a wrong checksum.",
            "Address 999.1.1.1 is not an IP.",
            "The year 1989 and the number 12 345.",
            "Email me at the usual address.",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
    }

    #[test]
    fn redaction_replaces_every_value() {
        let text = "Mail a@b.io or call 415-555-0132; card 4111111111111111.";
        let got = redact(text, &find(text));
        assert_eq!(got, "Mail [EMAIL] or call [PHONE]; card [CREDIT_CARD].");
    }
}

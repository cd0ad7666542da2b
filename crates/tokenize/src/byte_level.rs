//! GPT-2's byte-level alphabet: every byte is shown as a printable character, so a byte-level
//! BPE vocabulary can be stored as text. Printable Latin-1 bytes stand for themselves; the other
//! 68 bytes map, in order, to U+0100 onwards.

use std::sync::OnceLock;

struct Tables {
    to_char: [char; 256],
    /// U+0000..U+0143 -> byte (the alphabet's characters all lie below U+0144).
    from_char: [Option<u8>; 0x144],
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut to_char = ['\0'; 256];
        let mut from_char = [None; 0x144];
        let mut next = 0x100u32;
        for b in 0..=255u8 {
            let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
            let cp = if printable {
                b as u32
            } else {
                next += 1;
                next - 1
            };
            // cp < 0x144 and not a surrogate, so this always succeeds.
            let c = char::from_u32(cp).unwrap_or('\0');
            to_char[b as usize] = c;
            from_char[cp as usize] = Some(b);
        }
        Tables { to_char, from_char }
    })
}

/// The character that stands for `b`.
pub fn byte_to_char(b: u8) -> char {
    tables().to_char[b as usize]
}

/// The byte a character stands for, if it is in the alphabet.
pub fn char_to_byte(c: char) -> Option<u8> {
    tables().from_char.get(c as usize).copied().flatten()
}

/// Raw bytes -> byte-level text.
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| byte_to_char(b)).collect()
}

/// Byte-level text -> raw bytes, appended to `out`. Characters outside the alphabet are kept as
/// their UTF-8.
pub fn decode_into(text: &str, out: &mut Vec<u8>) {
    for c in text.chars() {
        match char_to_byte(c) {
            Some(b) => out.push(b),
            None => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_points_of_the_alphabet() {
        assert_eq!(byte_to_char(b'A'), 'A');
        assert_eq!(byte_to_char(b' '), '\u{120}'); // 'Ġ'
        assert_eq!(byte_to_char(b'\n'), '\u{10A}'); // 'Ċ'
        assert_eq!(byte_to_char(0), '\u{100}');
        assert_eq!(byte_to_char(0xAD), '\u{143}');
    }

    #[test]
    fn round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let mut back = Vec::new();
        decode_into(&encode(&all), &mut back);
        assert_eq!(back, all);
    }
}

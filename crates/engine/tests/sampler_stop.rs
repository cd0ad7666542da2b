//! StopMatcher on streamed text: held-back prefixes, splits at every position.

use engine::stop::{StopMatcher, StopOutcome};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Feeds `pieces`; returns (everything emitted, stopped).
fn stream(stops: &[String], pieces: &[&str]) -> (String, bool) {
    let mut m = StopMatcher::new(stops);
    let mut out = String::new();
    for p in pieces {
        let StopOutcome { emit, stopped } = m.push(p);
        out.push_str(&emit);
        if stopped {
            assert!(m.is_stopped());
            return (out, true);
        }
    }
    out.push_str(&m.finish());
    (out, false)
}

/// Expected output: text cut before the earliest occurrence of any stop.
fn expected(stops: &[String], text: &str) -> (String, bool) {
    match stops.iter().filter_map(|s| text.find(s.as_str())).min() {
        Some(pos) => (text[..pos].to_string(), true),
        None => (text.to_string(), false),
    }
}

/// Every way to cut `text` into two or three pieces at char boundaries.
fn check_all_splits(stops: &[String], text: &str) {
    let want = expected(stops, text);
    let cuts: Vec<usize> = (0..=text.len())
        .filter(|&i| text.is_char_boundary(i))
        .collect();
    for &a in &cuts {
        for &b in cuts.iter().filter(|&&b| b >= a) {
            let pieces = [&text[..a], &text[a..b], &text[b..]];
            assert_eq!(
                stream(stops, &pieces),
                want,
                "stops {stops:?}, pieces {pieces:?}"
            );
        }
    }
    // One character at a time.
    let chars: Vec<String> = text.chars().map(String::from).collect();
    let pieces: Vec<&str> = chars.iter().map(String::as_str).collect();
    assert_eq!(stream(stops, &pieces), want, "char by char: {text:?}");
}

#[test]
fn stop_split_anywhere_is_never_emitted() {
    check_all_splits(&s(&["</s>"]), "Hello world</s>ignored");
    check_all_splits(&s(&["\n\nUser:"]), "Answer: 42.\n\nUser: more");
    check_all_splits(&s(&["abc"]), "ababcab");
    check_all_splits(&s(&["aab"]), "aaab");
    check_all_splits(&s(&["xyz", "yz!", "q"]), "wxy yz! xyz");
}

#[test]
fn no_stop_passes_everything_through() {
    check_all_splits(&s(&["STOP"]), "no stop here, only ST and STO");
    check_all_splits(&[], "plain text");
    let mut m = StopMatcher::new(&[]);
    assert_eq!(
        m.push("abc"),
        StopOutcome {
            emit: "abc".into(),
            stopped: false
        }
    );
}

#[test]
fn partial_prefix_is_held_then_released() {
    let mut m = StopMatcher::new(&s(&["</s>"]));
    assert_eq!(
        m.push("Hi <"),
        StopOutcome {
            emit: "Hi ".into(),
            stopped: false
        }
    );
    assert_eq!(
        m.push("/"),
        StopOutcome {
            emit: "".into(),
            stopped: false
        }
    );
    assert_eq!(
        m.push("b>"),
        StopOutcome {
            emit: "</b>".into(),
            stopped: false
        }
    );
    assert_eq!(
        m.push(" </"),
        StopOutcome {
            emit: " ".into(),
            stopped: false
        }
    );
    assert_eq!(m.finish(), "</");
}

#[test]
fn earliest_stop_wins_and_is_reported() {
    let stops = s(&["world", "lo"]);
    let mut m = StopMatcher::new(&stops);
    let out = m.push("hello world");
    assert_eq!(
        out,
        StopOutcome {
            emit: "hel".into(),
            stopped: true
        }
    );
    assert_eq!(m.matched(), Some("lo"));
    // After a stop, further text is swallowed.
    assert_eq!(
        m.push("more"),
        StopOutcome {
            emit: "".into(),
            stopped: true
        }
    );
    assert_eq!(m.finish(), "");
    m.reset();
    assert!(!m.is_stopped());
    assert_eq!(
        m.push("ok"),
        StopOutcome {
            emit: "ok".into(),
            stopped: false
        }
    );
}

#[test]
fn stop_at_start_emits_nothing() {
    assert_eq!(
        stream(&s(&["<eot>"]), &["<eot>", "x"]),
        (String::new(), true)
    );
}

#[test]
fn unicode_text_and_stops() {
    check_all_splits(&s(&["日本"]), "こんにちは日本語");
    check_all_splits(&s(&["é!"]), "café café!");
    check_all_splits(&s(&["🙂 end"]), "smile 🙂 🙂 end tail");
}

#[test]
fn empty_stop_strings_are_ignored() {
    assert_eq!(
        stream(&s(&["", "x"]), &["abc", "dxe"]),
        ("abcd".to_string(), true)
    );
}

#[test]
fn randomised_texts_all_splits() {
    // Small alphabet so prefixes of stops show up often.
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..200 {
        let len = (next() % 12) as usize;
        let text: String = (0..len)
            .map(|_| ['a', 'b', 'c'][(next() % 3) as usize])
            .collect();
        let n_stops = 1 + (next() % 2) as usize;
        let stops: Vec<String> = (0..n_stops)
            .map(|_| {
                let l = 1 + (next() % 3) as usize;
                (0..l)
                    .map(|_| ['a', 'b', 'c'][(next() % 3) as usize])
                    .collect()
            })
            .collect();
        check_all_splits(&stops, &text);
    }
}

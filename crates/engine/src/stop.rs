//! Stop strings on streamed text. Text that might be the start of a stop string is held back
//! until the next piece shows whether it is, so a stop split across tokens is never emitted.
//! The stop string itself is never emitted either.

/// What to show the user after one `push`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StopOutcome {
    /// Text now safe to stream out (may be empty while a possible stop is pending).
    pub emit: String,
    /// True once a stop string matched; generation should end.
    pub stopped: bool,
}

#[derive(Debug, Clone, Default)]
pub struct StopMatcher {
    stops: Vec<String>,
    held: String, // text not yet emitted: a suffix that could start a stop string
    matched: Option<usize>, // index into `stops` of the string that ended generation
}

impl StopMatcher {
    /// Empty strings are ignored (`SamplingParams::validate` rejects them earlier).
    pub fn new(stops: &[String]) -> Self {
        let stops = stops.iter().filter(|s| !s.is_empty()).cloned().collect();
        Self {
            stops,
            held: String::new(),
            matched: None,
        }
    }

    /// Feeds the next piece of decoded text.
    pub fn push(&mut self, text: &str) -> StopOutcome {
        if self.matched.is_some() {
            return StopOutcome {
                emit: String::new(),
                stopped: true,
            };
        }
        self.held.push_str(text);
        if self.stops.is_empty() {
            return StopOutcome {
                emit: std::mem::take(&mut self.held),
                stopped: false,
            };
        }

        // Earliest full match wins: everything before it is real output.
        let earliest = self
            .stops
            .iter()
            .enumerate()
            .filter_map(|(i, s)| self.held.find(s.as_str()).map(|pos| (pos, i)))
            .min();
        if let Some((pos, i)) = earliest {
            self.matched = Some(i);
            let mut emit = std::mem::take(&mut self.held);
            emit.truncate(pos);
            return StopOutcome {
                emit,
                stopped: true,
            };
        }

        let keep = self.pending_len();
        let cut = self.held.len() - keep;
        let emit = self.held[..cut].to_string();
        self.held.drain(..cut);
        StopOutcome {
            emit,
            stopped: false,
        }
    }

    /// End of generation without a stop: returns the text still held back.
    pub fn finish(&mut self) -> String {
        if self.matched.is_some() {
            self.held.clear();
        }
        std::mem::take(&mut self.held)
    }

    pub fn is_stopped(&self) -> bool {
        self.matched.is_some()
    }

    /// The stop string that ended generation, if any.
    pub fn matched(&self) -> Option<&str> {
        self.matched.map(|i| self.stops[i].as_str())
    }

    /// Ready for a new stream with the same stop strings.
    pub fn reset(&mut self) {
        self.held.clear();
        self.matched = None;
    }

    /// Length in bytes of the longest suffix of `held` that is a proper prefix of some stop.
    fn pending_len(&self) -> usize {
        let held = self.held.as_str();
        let mut best = 0;
        for stop in &self.stops {
            // Longest candidate first; a stop of length L can share at most L-1 bytes.
            let max = (stop.len() - 1).min(held.len());
            for n in (best + 1..=max).rev() {
                let start = held.len() - n;
                if held.is_char_boundary(start)
                    && stop.as_bytes().starts_with(&held.as_bytes()[start..])
                {
                    best = n;
                    break;
                }
            }
        }
        best
    }
}

//! Turning generated token ids into the text a client sees, piece by piece: a piece is sent only
//! once it is valid UTF-8 and cannot be the start of a stop string.

use tokenizers::Tokenizer;

/// What a new token did to the text.
#[derive(Debug, PartialEq, Eq)]
pub enum Delta {
    /// More text to send (possibly empty while a piece is held back).
    Text(String),
    /// A stop string appeared: the text before it, still unsent, ends the answer.
    Stopped(String),
}

/// The answer's text so far.
pub struct TextStream {
    tokens: Vec<u32>,
    text: String,
    /// Bytes of `text` already sent.
    sent: usize,
    stop: Vec<String>,
}

impl TextStream {
    pub fn new(stop: Vec<String>) -> Self {
        Self {
            tokens: Vec::new(),
            text: String::new(),
            sent: 0,
            stop: stop.into_iter().filter(|s| !s.is_empty()).collect(),
        }
    }

    /// Adds a token and says what to send.
    pub fn push(&mut self, tokenizer: &Tokenizer, token: u32) -> Delta {
        self.tokens.push(token);
        // Decoding the whole answer each time keeps byte-level BPE pieces and merges right.
        let text = tokenizer.decode(&self.tokens, true).unwrap_or_default();
        self.text = text;
        let search_from = floor_char_boundary(
            &self.text,
            self.sent
                .saturating_sub(self.stop.iter().map(String::len).max().unwrap_or(0)),
        );
        if let Some(at) = self
            .stop
            .iter()
            .filter_map(|s| {
                self.text[search_from..]
                    .find(s.as_str())
                    .map(|i| search_from + i)
            })
            .min()
        {
            let rest = self.text[self.sent.min(at)..at].to_string();
            self.text.truncate(at);
            self.sent = at;
            return Delta::Stopped(rest);
        }
        // An incomplete UTF-8 sequence decodes to U+FFFD at the end: wait for its other bytes.
        let mut ready = self.text.len();
        if self.text.ends_with('\u{FFFD}') {
            ready -= '\u{FFFD}'.len_utf8();
        }
        // Hold back a suffix that could still grow into a stop string.
        let held = self
            .stop
            .iter()
            .map(|s| longest_suffix_prefix(&self.text[..ready], s))
            .max()
            .unwrap_or(0);
        let ready = floor_char_boundary(&self.text, ready - held);
        if ready <= self.sent {
            return Delta::Text(String::new());
        }
        let piece = self.text[self.sent..ready].to_string();
        self.sent = ready;
        Delta::Text(piece)
    }

    /// What is left to send when the answer ends without a stop string.
    pub fn finish(&mut self) -> String {
        let rest = self.text[self.sent.min(self.text.len())..].to_string();
        self.sent = self.text.len();
        rest
    }

    /// The whole answer so far (without a stop string that ended it).
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }
}

/// The length of the longest proper prefix of `stop` that `text` ends with.
fn longest_suffix_prefix(text: &str, stop: &str) -> usize {
    (1..stop.len())
        .rev()
        .find(|&n| stop.is_char_boundary(n) && text.ends_with(&stop[..n]))
        .unwrap_or(0)
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suffix_that_may_start_a_stop_string_is_held_back() {
        assert_eq!(longest_suffix_prefix("hello wor", "world"), 3);
        assert_eq!(longest_suffix_prefix("hello", "world"), 0);
        assert_eq!(longest_suffix_prefix("abc", "c"), 0);
    }
}

//! The one redaction layer every output goes through, and the terminal's safety net.
//!
//! A [`Redactor`] knows every secret of the run: the `-a` OAuth client's secret (and
//! `id:secret`, as Basic auth sends it), the model providers' keys, and every access token
//! obtained at run time (registered as it arrives: the registry is shared and thread-safe).
//! For each secret it looks for:
//!
//! - the literal text;
//! - its base64 (standard and URL-safe, with and without padding), and the part of it that
//!   does not depend on the neighbouring bytes at each of the three byte alignments, so it is
//!   found inside a longer base64 blob (such as a `Basic` header's `id:secret`);
//! - its percent-encodings (`%20` and `+` styles, upper and lower case hex,
//!   `encodeURIComponent`'s set);
//! - its JSON-escaped forms (serde's, and with every non-ASCII character as `\uXXXX`) and its
//!   HTML-escaped form.
//!
//! Every match becomes `***`. A secret of at least [`PARTIAL_SECRET_CHARS`] characters is also
//! masked when only a part of one of its forms shows: a piece of at least [`HEAD_CHARS`]
//! characters from either end of a form anywhere in the text (a server that cut the key),
//! and a piece of at least [`PARTIAL_MIN_CHARS`] characters at the very end of a text (where
//! it was cut) or at its very start.
//!
//! The short-secret rule: a value under [`MIN_SECRET_CHARS`] characters is not a secret this
//! layer can mask (masking `ab` would turn every output into asterisks): it is ignored. From
//! [`MIN_SECRET_CHARS`] to [`PARTIAL_SECRET_CHARS`] − 1 characters only whole forms are masked
//! (no alignment pieces, no partial matches).
//!
//! Redaction always runs before truncation: [`Redactor::redact_truncated`] redacts what it
//! keeps (with enough text after the cut to see a secret across it), cuts, masks a partial
//! form left at the cut, and adds a note with the full length.

use aho_corasick::AhoCorasick;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use std::borrow::Cow;
use std::sync::{Arc, LazyLock, RwLock};

/// What replaces a secret.
pub const MASK: &str = "***";
/// Secrets shorter than this (in characters) are ignored.
pub const MIN_SECRET_CHARS: usize = 4;
/// From this length (in characters), a secret's alignment pieces and partial matches are
/// masked too.
pub const PARTIAL_SECRET_CHARS: usize = 8;
/// A piece of a form this long, from its start or its end, is masked wherever it is.
pub const HEAD_CHARS: usize = 12;
/// A piece of a form this long is masked at the very end (or start) of a text.
pub const PARTIAL_MIN_CHARS: usize = 8;
/// The most characters of a bot message (or another received text) any output copies.
pub const TEXT_LIMIT: usize = 2000;

/// The environment variables whose values are secrets whenever they are set.
pub const SECRET_VARIABLES: &[&str] = &[
    "GENESYSCLOUD_OAUTHCLIENT_SECRET",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
];

/// A registry of secrets, and the redaction of texts with it.
#[derive(Default)]
pub struct Redactor {
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    secrets: Vec<String>,
    compiled: Arc<Compiled>,
}

/// One form of one secret.
#[derive(Debug, Clone)]
struct Form {
    text: String,
    /// Whether partial matches of it are masked.
    partial: bool,
}

#[derive(Clone, Copy)]
enum Pattern {
    /// The whole form.
    Full,
    /// The first [`HEAD_CHARS`] characters of the form: extended forwards.
    Head(usize),
    /// The last [`HEAD_CHARS`] characters of the form: extended backwards.
    Tail(usize),
}

#[derive(Default)]
struct Compiled {
    forms: Vec<Form>,
    patterns: Vec<Pattern>,
    matcher: Option<AhoCorasick>,
    /// The longest form, in bytes.
    longest: usize,
}

impl Redactor {
    /// An empty registry.
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Adds a secret (surrounding whitespace ignored); one under [`MIN_SECRET_CHARS`]
    /// characters is ignored. Returns whether it is masked.
    pub fn register(&self, secret: &str) -> bool {
        let secret = secret.trim();
        if secret.chars().count() < MIN_SECRET_CHARS {
            return false;
        }
        let mut state = self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.secrets.iter().any(|s| s == secret) {
            return true;
        }
        state.secrets.push(secret.to_string());
        state.compiled = Arc::new(Compiled::new(&state.secrets));
        true
    }

    /// Adds an OAuth client's secret and `id:secret`, as HTTP Basic auth sends it.
    pub fn register_basic_auth(&self, client_id: &str, secret: &str) {
        if self.register(secret) {
            self.register(&format!("{client_id}:{}", secret.trim()));
        }
    }

    /// Whether no secret is known.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.compiled().forms.is_empty()
    }

    fn compiled(&self) -> Arc<Compiled> {
        let state = self
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(&state.compiled)
    }

    /// `text` with every form of every secret (and partial ones, see the module) masked.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.compiled().redact(text)
    }

    /// `text` redacted, then cut to `max_chars` characters, with a partial secret at the cut
    /// masked and a note giving the full length (`… [truncated, N characters in all]`).
    pub fn redact_truncated<'a>(&self, text: &'a str, max_chars: usize) -> Cow<'a, str> {
        let Some((cut, _)) = text.char_indices().nth(max_chars) else {
            return self.redact(text);
        };
        let compiled = self.compiled();
        let total = text.chars().count();
        // Enough after the cut to see whole any secret that starts before it.
        let window = &text[..floor_boundary(text, cut + compiled.longest + 4)];
        let redacted = compiled.redact(window);
        if window.len() == text.len() && redacted.chars().nth(max_chars).is_none() {
            return Cow::Owned(redacted.into_owned());
        }
        let kept_end = redacted
            .char_indices()
            .nth(max_chars)
            .map_or(redacted.len(), |(i, _)| i);
        let kept = &redacted[..kept_end];
        let mut out = match compiled.partial_at_end(kept) {
            Some(at) => format!("{}{MASK}", &kept[..at]),
            None => kept.to_string(),
        };
        out.push_str(&format!("… [truncated, {total} characters in all]"));
        Cow::Owned(out)
    }
}

impl Compiled {
    fn new(secrets: &[String]) -> Compiled {
        let mut forms: Vec<Form> = Vec::new();
        for secret in secrets {
            let partial = secret.chars().count() >= PARTIAL_SECRET_CHARS;
            for text in forms_of(secret, partial) {
                if text.chars().count() < MIN_SECRET_CHARS {
                    continue;
                }
                match forms.iter_mut().find(|f| f.text == text) {
                    Some(existing) => existing.partial |= partial,
                    None => forms.push(Form { text, partial }),
                }
            }
        }
        let mut patterns = Vec::new();
        let mut needles: Vec<&str> = Vec::new();
        for (index, form) in forms.iter().enumerate() {
            let chars = form.text.chars().count();
            if form.partial && chars > HEAD_CHARS {
                let head_end = form
                    .text
                    .char_indices()
                    .nth(HEAD_CHARS)
                    .map_or(form.text.len(), |(i, _)| i);
                let tail_start = form
                    .text
                    .char_indices()
                    .nth(chars - HEAD_CHARS)
                    .map_or(0, |(i, _)| i);
                needles.push(&form.text[..head_end]);
                patterns.push(Pattern::Head(index));
                needles.push(&form.text[tail_start..]);
                patterns.push(Pattern::Tail(index));
            } else {
                needles.push(&form.text);
                patterns.push(Pattern::Full);
            }
        }
        let matcher = if needles.is_empty() {
            None
        } else {
            AhoCorasick::new(&needles).ok()
        };
        let longest = forms.iter().map(|f| f.text.len()).max().unwrap_or(0);
        Compiled {
            forms,
            patterns,
            matcher,
            longest,
        }
    }

    fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(matcher) = &self.matcher else {
            return Cow::Borrowed(text);
        };
        let bytes = text.as_bytes();
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for found in matcher.find_overlapping_iter(text) {
            let Some(pattern) = self.patterns.get(found.pattern().as_usize()) else {
                continue;
            };
            match *pattern {
                Pattern::Full => ranges.push((found.start(), found.end())),
                Pattern::Head(index) => {
                    let form = self.forms[index].text.as_bytes();
                    let matched = bytes[found.start()..]
                        .iter()
                        .zip(form)
                        .take_while(|(a, b)| a == b)
                        .count();
                    ranges.push((found.start(), found.start() + matched));
                }
                Pattern::Tail(index) => {
                    let form = self.forms[index].text.as_bytes();
                    let matched = bytes[..found.end()]
                        .iter()
                        .rev()
                        .zip(form.iter().rev())
                        .take_while(|(a, b)| a == b)
                        .count();
                    ranges.push((found.end() - matched, found.end()));
                }
            }
        }
        if let Some(at) = self.partial_at_end(text) {
            ranges.push((at, text.len()));
        }
        if let Some(at) = self.partial_at_start(text) {
            ranges.push((0, at));
        }
        if ranges.is_empty() {
            return Cow::Borrowed(text);
        }
        ranges.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut done = 0;
        let mut masked = false;
        for (start, end) in ranges {
            let start = floor_boundary(text, start);
            let end = ceil_boundary(text, end);
            if masked && end <= done {
                continue;
            }
            if !masked || start > done {
                out.push_str(&text[done..start.max(done)]);
                out.push_str(MASK);
                masked = true;
            }
            done = done.max(end);
        }
        out.push_str(&text[done..]);
        Cow::Owned(out)
    }

    /// Where a piece (at least [`PARTIAL_MIN_CHARS`] characters) of the start of a partial
    /// form ends `text`: the byte where the longest such piece starts.
    fn partial_at_end(&self, text: &str) -> Option<usize> {
        let mut best: Option<usize> = None;
        for form in self.forms.iter().filter(|f| f.partial) {
            let f = form.text.as_bytes();
            let from = text.len().saturating_sub(f.len().saturating_sub(1));
            for at in from..text.len() {
                if best.is_some_and(|b| b <= at) {
                    break;
                }
                if text.as_bytes()[at] != f[0] || !text.is_char_boundary(at) {
                    continue;
                }
                let piece = &text[at..];
                if piece.chars().count() >= PARTIAL_MIN_CHARS && f.starts_with(piece.as_bytes()) {
                    best = Some(at);
                    break;
                }
            }
        }
        best
    }

    /// Where a piece (at least [`PARTIAL_MIN_CHARS`] characters) of the end of a partial form
    /// starts `text`: the byte where the longest such piece ends.
    fn partial_at_start(&self, text: &str) -> Option<usize> {
        let mut best: Option<usize> = None;
        for form in self.forms.iter().filter(|f| f.partial) {
            let f = form.text.as_bytes();
            let to = f.len().saturating_sub(1).min(text.len());
            for end in (1..=to).rev() {
                if best.is_some_and(|b| b >= end) {
                    break;
                }
                if text.as_bytes()[end - 1] != f[f.len() - 1] || !text.is_char_boundary(end) {
                    continue;
                }
                let piece = &text[..end];
                if piece.chars().count() >= PARTIAL_MIN_CHARS && f.ends_with(piece.as_bytes()) {
                    best = Some(end);
                    break;
                }
            }
        }
        best
    }
}

/// Every form of `secret` that can show up in an output.
fn forms_of(secret: &str, partial: bool) -> Vec<String> {
    let bytes = secret.as_bytes();
    let mut forms = vec![secret.to_string()];
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        forms.push(engine.encode(bytes));
    }
    if partial {
        forms.extend(base64_pieces(bytes));
    }
    forms.push(percent(bytes, unreserved, false, true));
    forms.push(percent(bytes, unreserved, false, false));
    forms.push(percent(bytes, unreserved, true, true));
    forms.push(percent(
        bytes,
        |b| unreserved(b) || b"!'()*".contains(&b),
        false,
        true,
    ));
    if let Ok(json) = serde_json::to_string(secret) {
        let inner = json[1..json.len() - 1].to_string();
        forms.push(inner.replace('/', "\\/"));
        forms.push(inner);
    }
    forms.push(json_ascii(secret));
    forms.push(
        secret
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;"),
    );
    // Longest first, so the whole of a form wins over a shorter one inside it.
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    forms
}

/// The base64 characters that only depend on `bytes`, when they start at each of the three
/// byte alignments of a longer blob (standard and URL-safe alphabets).
fn base64_pieces(bytes: &[u8]) -> Vec<String> {
    let mut pieces = Vec::new();
    for offset in 0..3usize {
        let mut padded = vec![0u8; offset];
        padded.extend_from_slice(bytes);
        let first_bit = 8 * offset;
        let end_bit = 8 * (offset + bytes.len());
        // Character i covers bits [6i, 6i + 6).
        let first = first_bit.div_ceil(6);
        let last = end_bit / 6;
        if last <= first {
            continue;
        }
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&padded);
            if let Some(piece) = encoded.get(first..last)
                && piece.len() >= PARTIAL_MIN_CHARS
            {
                pieces.push(piece.to_string());
            }
        }
    }
    pieces
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

fn percent(bytes: &[u8], keep: impl Fn(u8) -> bool, plus: bool, upper: bool) -> String {
    let mut out = String::new();
    for &b in bytes {
        if keep(b) {
            out.push(b as char);
        } else if plus && b == b' ' {
            out.push('+');
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// JSON escaping with every non-ASCII character as `\uXXXX`.
fn json_ascii(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(text: &str, mut at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// The run's registry.
static GLOBAL: LazyLock<Redactor> = LazyLock::new(Redactor::new);

/// The run's registry, shared by every output.
pub fn global() -> &'static Redactor {
    &GLOBAL
}

/// Registers a secret in the run's registry.
pub fn register(secret: &str) -> bool {
    GLOBAL.register(secret)
}

/// Registers the values of [`SECRET_VARIABLES`] and of `extra` variables, when set (and the
/// OAuth client's `id:secret`, as Basic auth sends it).
pub fn register_from_env<'a>(extra: impl IntoIterator<Item = &'a str>) {
    for name in SECRET_VARIABLES.iter().copied().chain(extra) {
        if let Ok(value) = std::env::var(name) {
            register(&value);
        }
    }
    if let (Ok(id), Ok(secret)) = (
        std::env::var("GENESYSCLOUD_OAUTHCLIENT_ID"),
        std::env::var("GENESYSCLOUD_OAUTHCLIENT_SECRET"),
    ) {
        GLOBAL.register_basic_auth(id.trim(), &secret);
    }
}

/// `text` redacted with the run's registry.
pub fn redact(text: &str) -> String {
    GLOBAL.redact(text).into_owned()
}

/// A received text (a bot message, a model's answer, a server's words) as any output may
/// copy it: redacted, then cut to [`TEXT_LIMIT`] characters with a note.
pub fn bound(text: &str) -> String {
    GLOBAL.redact_truncated(text, TEXT_LIMIT).into_owned()
}

/// `text` redacted and made safe for a terminal, keeping its line breaks and tabs.
pub fn terminal(text: &str) -> String {
    escape_controls(&GLOBAL.redact(text), true)
}

/// `text` redacted and made safe for one terminal line (line breaks escaped too).
pub fn terminal_line(text: &str) -> String {
    escape_controls(&GLOBAL.redact(text), false)
}

/// Whether a character must not reach a terminal as it is: C0 controls (but line feed and
/// tab when `keep_breaks`), DEL, C1 controls, and the bidirectional overrides, embeddings,
/// isolates and marks.
fn unsafe_char(c: char, keep_breaks: bool) -> bool {
    match c {
        '\n' | '\t' => !keep_breaks,
        c if c.is_ascii_control() => true,
        '\u{80}'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        '\u{200e}' | '\u{200f}' | '\u{061c}' => true,
        _ => false,
    }
}

/// Writes every unsafe character (see `unsafe_char`) visibly, as `\u{1b}`. With
/// `keep_breaks`, a carriage return just before a line feed (CRLF) is kept: it cannot
/// overwrite anything.
pub fn escape_controls(text: &str, keep_breaks: bool) -> String {
    let unsafe_at = |c: char, next: Option<char>| {
        !(keep_breaks && c == '\r' && next == Some('\n')) && unsafe_char(c, keep_breaks)
    };
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if unsafe_at(c, chars.peek().copied()) {
            any = true;
            break;
        }
    }
    if !any {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if unsafe_at(c, chars.peek().copied()) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// [`escape_controls`] that lets through the colour sequences (`ESC [ … m`) a log formatter
/// writes itself, for logs written with colour.
pub fn escape_controls_keeping_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\u{1b}') {
        out.push_str(&escape_controls(&rest[..at], true));
        let sequence = &rest[at..];
        let body = sequence
            .strip_prefix("\u{1b}[")
            .map(|s| s.find(|c: char| !(c.is_ascii_digit() || c == ';')));
        match body {
            Some(Some(end)) if sequence[2 + end..].starts_with('m') => {
                out.push_str(&sequence[..3 + end]);
                rest = &sequence[3 + end..];
            }
            _ => {
                out.push_str("\\u{1b}");
                rest = &sequence[1..];
            }
        }
    }
    out.push_str(&escape_controls(rest, true));
    out
}

/// `text` with the characters XML 1.0 forbids (most C0 controls, U+FFFE, U+FFFF) written
/// visibly, as `\u{1b}`.
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    let forbidden = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');
    if !text.chars().any(forbidden) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if forbidden(c) {
                    format!("\\u{{{:x}}}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// A `tracing` writer that redacts and escapes every log line before it reaches stderr.
#[derive(Clone, Copy)]
pub struct LogWriter {
    /// Whether the formatter writes colours (kept).
    pub colours: bool,
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine {
            colours: self.colours,
            buffer: Vec::new(),
        }
    }
}

/// One log event, written to stderr when dropped.
pub struct LogLine {
    colours: bool,
    buffer: Vec<u8>,
}

impl std::io::Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buffer);
        let redacted = GLOBAL.redact(&text);
        let safe = if self.colours {
            escape_controls_keeping_colours(&redacted)
        } else {
            escape_controls(&redacted, true)
        };
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), safe.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &str = "sk-test-0123456789abcdefghijklmnopqrstuvwxyz";

    fn redactor(secrets: &[&str]) -> Redactor {
        let r = Redactor::new();
        for s in secrets {
            r.register(s);
        }
        r
    }

    #[test]
    fn masks_the_literal_and_every_encoding() {
        let secret = "p@ss wörd/+=&<\"x\"";
        let r = redactor(&[secret]);
        let encodings = [
            secret.to_string(),
            STANDARD.encode(secret),
            STANDARD_NO_PAD.encode(secret),
            URL_SAFE.encode(secret),
            URL_SAFE_NO_PAD.encode(secret),
            percent(secret.as_bytes(), unreserved, false, true),
            percent(secret.as_bytes(), unreserved, false, false),
            percent(secret.as_bytes(), unreserved, true, true),
            serde_json::to_string(secret).unwrap(),
            json_ascii(secret),
            "p@ss wörd/+=&amp;&lt;&quot;x&quot;".to_string(),
        ];
        for encoded in encodings {
            let text = format!("before {encoded} after");
            let out = r.redact(&text);
            assert!(!out.contains(&encoded), "{encoded} in {out}");
            assert!(out.contains(MASK), "{out}");
            assert!(
                out.starts_with("before ") && out.ends_with(" after"),
                "{out}"
            );
        }
    }

    #[test]
    fn finds_the_base64_of_a_secret_inside_a_longer_blob_at_every_alignment() {
        let r = redactor(&[KEY]);
        for prefix in ["", "a", "ab", "abc", "user-id:"] {
            for suffix in ["", "x", "xy", "xyz"] {
                let blob = STANDARD.encode(format!("{prefix}{KEY}{suffix}"));
                let out = r
                    .redact(&format!("Authorization: Basic {blob}"))
                    .into_owned();
                assert!(out.contains(MASK), "{prefix}/{suffix}: {out}");
                // What is left can be decoded back to nothing of the key.
                let left: String = out.replace(MASK, " ");
                assert!(!left.contains(&STANDARD_NO_PAD.encode(&KEY[..9])), "{out}");
                let url = URL_SAFE_NO_PAD.encode(format!("{prefix}{KEY}{suffix}"));
                assert!(r.redact(&url).contains(MASK), "{url}");
            }
        }
    }

    #[test]
    fn basic_auth_is_masked_whole() {
        let r = Redactor::new();
        r.register_basic_auth("my-client", "s3cr3t-value");
        let header = format!(
            "Basic {}",
            STANDARD.encode("my-client:s3cr3t-value".as_bytes())
        );
        assert_eq!(r.redact(&header), "Basic ***");
    }

    #[test]
    fn short_values_are_ignored_and_mid_length_ones_are_masked_whole_only() {
        let r = Redactor::new();
        assert!(!r.register("abc"));
        assert!(r.is_empty());
        assert_eq!(r.redact("abc abcabc"), "abc abcabc");
        assert!(r.register("wxyz1"));
        assert_eq!(r.redact("a wxyz1 b"), "a *** b");
        // No partial matches for a short secret.
        assert_eq!(r.redact("cut wxyz"), "cut wxyz");
    }

    #[test]
    fn a_piece_of_a_key_is_masked_at_a_cut_and_anywhere_when_long() {
        let r = redactor(&[KEY]);
        // The start of the key at the end (a cut), and its end at the start.
        assert_eq!(r.redact("error: key sk-test-012"), "error: key ***");
        assert_eq!(r.redact("wxyz is the end"), "wxyz is the end");
        assert_eq!(r.redact("tuvwxyz') is what"), "tuvwxyz') is what");
        assert_eq!(r.redact("qrstuvwxyz' is the end"), "***' is the end");
        // A server that cut the key itself: a long piece anywhere.
        assert_eq!(r.redact("key sk-test-0123456...(cut)"), "key ***...(cut)");
        assert_eq!(r.redact("key ...mnopqrstuvwxyz!"), "key ...***!");
    }

    #[test]
    fn truncation_redacts_first_and_masks_the_cut() {
        let r = redactor(&[KEY]);
        let text = format!("{}{KEY} and more{}", "a".repeat(180), "b".repeat(100));
        let out = r.redact_truncated(&text, 200);
        assert!(!out.contains("sk-test-0123456789a"), "{out}");
        assert!(out.starts_with(&"a".repeat(180)), "{out}");
        assert!(out.contains(MASK), "{out}");
        assert!(
            out.ends_with(&format!(
                "… [truncated, {} characters in all]",
                text.chars().count()
            )),
            "{out}"
        );
        // Redacted before the cut: the masked key shortens the text, nothing is cut.
        let text = format!("{KEY} short");
        assert_eq!(r.redact_truncated(&text, 20), "*** short");
        let text = "é".repeat(3000);
        let out = r.redact_truncated(&text, TEXT_LIMIT);
        assert!(out.starts_with(&"é".repeat(TEXT_LIMIT)));
        assert!(
            out.ends_with("[truncated, 3000 characters in all]"),
            "{out}"
        );
    }

    #[test]
    fn tokens_registered_later_are_masked_from_then_on() {
        let r = Redactor::new();
        assert_eq!(
            r.redact("Bearer tok-abcdefgh-1234"),
            "Bearer tok-abcdefgh-1234"
        );
        r.register("tok-abcdefgh-1234");
        assert_eq!(r.redact("Bearer tok-abcdefgh-1234"), "Bearer ***");
    }

    #[test]
    fn terminal_escapes_controls_and_bidi_but_keeps_lines() {
        assert_eq!(
            escape_controls(
                "a\u{1b}]0;title\u{7}b\u{1b}[2Jc\u{202e}d\u{9b}e\nf\tg\r",
                true
            ),
            "a\\u{1b}]0;title\\u{7}b\\u{1b}[2Jc\\u{202e}d\\u{9b}e\nf\tg\\u{d}"
        );
        assert_eq!(escape_controls("a\nb\tc", false), "a\\u{a}b\\u{9}c");
        assert_eq!(escape_controls("a\r\nb\rc", true), "a\r\nb\\u{d}c");
        assert_eq!(
            escape_controls_keeping_colours("\u{1b}[2mlog\u{1b}[0m \u{1b}]8;;x\u{7} \u{1b}[2J"),
            "\u{1b}[2mlog\u{1b}[0m \\u{1b}]8;;x\\u{7} \\u{1b}[2J"
        );
        assert_eq!(xml_safe("a\u{1b}b\tc\u{ffff}"), "a\\u{1b}b\tc\\u{ffff}");
    }

    fn every_encoding(secret: &str) -> Vec<String> {
        forms_of(secret, true)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn nothing_of_a_secret_survives_redaction_and_truncation(
            secret in "[A-Za-z0-9_./+=:% éß€-]{8,40}",
            before in "[A-Za-z0-9+/= é]{0,300}",
            after in "[A-Za-z0-9+/= é]{0,300}",
            encoding in 0usize..6,
            limit in 1usize..700,
        ) {
            prop_assume!(secret.trim() == secret);
            let r = redactor(&[&secret]);
            let shown = match encoding {
                0 => secret.clone(),
                1 => STANDARD.encode(&secret),
                2 => URL_SAFE_NO_PAD.encode(format!("x{secret}")),
                3 => STANDARD.encode(format!("id:{secret}yz")),
                4 => percent(secret.as_bytes(), unreserved, true, true),
                _ => serde_json::to_string(&secret).unwrap(),
            };
            let text = format!("{before}{shown}{after}");
            let out = r.redact_truncated(&text, limit).into_owned();
            let body = out.split("… [truncated").next().unwrap_or_default();
            for form in every_encoding(&secret) {
                prop_assert!(!body.contains(&form), "{} survives in {}", form, body);
                // No piece of 8 characters or more of a form at the cut (the end).
                let chars: Vec<char> = form.chars().collect();
                for n in PARTIAL_MIN_CHARS..chars.len() {
                    let head: String = chars[..n].iter().collect();
                    prop_assert!(!body.ends_with(&head), "{} ends {}", head, body);
                }
                if out.len() == body.len() {
                    // Not cut: the start of the text is no suffix of a form either.
                    for n in PARTIAL_MIN_CHARS..chars.len() {
                        let tail: String = chars[chars.len() - n..].iter().collect();
                        prop_assert!(!body.starts_with(&tail), "{} starts {}", tail, body);
                    }
                }
            }
        }
    }
}

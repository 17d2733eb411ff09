//! Linear-time matching for the JavaScript patterns that have an exact equivalent in the
//! `regex` crate.
//!
//! regress is a backtracking engine: `(a+)+$` against 40 characters takes longer than anyone
//! waits, and nothing can interrupt it. Most patterns written for `waitForReplyMatching` are
//! regular, though, and for those only one thing matters: *whether* the text matches. This
//! module translates such a pattern to the `regex` crate's syntax with the same meaning as
//! regress gives it (flags `i`, `m`, `s`), so it runs in time linear in the text. Whatever it is
//! not sure of (lookaround, backreferences, `\B`, `\c`, Annex B oddities, the `u` and `v`
//! flags) is not translated, and the caller falls back to regress under a deadline.
//!
//! The exact points:
//! - every character set is spelled out (`\d` `\w` `\s` are ASCII or JavaScript's white space,
//!   `.` excludes the four JavaScript line terminators), so no Unicode class of the `regex`
//!   crate is ever used;
//! - with `i`, a class is closed under simple case folding and then inverted (as regress does),
//!   and a literal character matches what regress's own `/c/i` matches (asked of regress);
//! - `^` and `$` are `\A` and `\z`; with `m` they are allowed only at the start and end of a
//!   top-level alternative, where "at a line start" is exactly "at the start, or right after a
//!   line terminator that the match may consume" (and likewise for `$`), which is all that
//!   matters to whether the text matches.

use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::OnceLock;

/// The largest `{n,m}` bound translated; beyond it regress is used (under its deadline).
const MAX_REPEAT: u32 = 1000;

/// The linear-time equivalent of a pattern regress compiled with `flags`, when there is one,
/// and whether its named groups capture exactly what regress's do.
pub(crate) fn compile(pattern: &str, flags: &str) -> Option<(regex::Regex, bool)> {
    let translated = translate_with_captures(pattern, flags)?;
    let regex = regex::RegexBuilder::new(&translated.0)
        .size_limit(8 << 20)
        .dfa_size_limit(4 << 20)
        .build()
        .ok()?;
    Some((regex, translated.1))
}

#[derive(Clone, Copy, Default)]
struct Flags {
    icase: bool,
    multiline: bool,
    dot_all: bool,
}

/// The `regex` crate spelling of a JavaScript pattern, or `None` when it has no exact one.
#[cfg(test)]
pub(crate) fn translate(pattern: &str, flags: &str) -> Option<String> {
    translate_with_captures(pattern, flags).map(|(translated, _)| translated)
}

/// The translation, and whether its named groups capture what regress's do: the leftmost-first
/// match of the `regex` crate is the one a backtracking engine finds, except that JavaScript
/// resets the groups of a repeated group at each iteration, and that a multiline `^` here
/// consumes the line terminator before it (which can change where the match starts).
fn translate_with_captures(pattern: &str, flags: &str) -> Option<(String, bool)> {
    let mut f = Flags::default();
    for c in flags.chars() {
        match c {
            'i' => f.icase = true,
            'm' => f.multiline = true,
            's' => f.dot_all = true,
            'g' => {}
            _ => return None,
        }
    }
    let mut t = Translator {
        chars: pattern.chars().collect(),
        pos: 0,
        flags: f,
        out: String::with_capacity(pattern.len() * 2),
        named: 0,
        captures_exact: true,
    };
    t.disjunction(0)?;
    (t.pos == t.chars.len()).then_some((t.out, t.captures_exact))
}

const LINE_TERMINATORS: &str = r"[\n\r\x{2028}\x{2029}]";

struct Translator {
    chars: Vec<char>,
    pos: usize,
    flags: Flags,
    out: String,
    /// Named groups emitted so far.
    named: usize,
    captures_exact: bool,
}

enum ClassAtom {
    Char(char),
    Set(ClassUnicode),
}

impl Translator {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn disjunction(&mut self, depth: usize) -> Option<()> {
        loop {
            self.alternative(depth)?;
            if self.peek() == Some('|') {
                self.pos += 1;
                self.out.push('|');
            } else {
                return Some(());
            }
        }
    }

    fn alternative(&mut self, depth: usize) -> Option<()> {
        let mut first = true;
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            self.term(depth, first)?;
            first = false;
        }
        Some(())
    }

    fn at_alternative_end(&self) -> bool {
        matches!(self.peek(), None | Some('|'))
    }

    #[allow(
        clippy::too_many_lines,
        reason = "one arm per JavaScript pattern token: the translation reads best as one table"
    )]
    fn term(&mut self, depth: usize, first: bool) -> Option<()> {
        let c = self.next()?;
        match c {
            '^' => {
                if self.flags.multiline {
                    if depth != 0 || !first {
                        return None;
                    }
                    self.captures_exact = false;
                    write!(self.out, r"(?:\A|{LINE_TERMINATORS})").ok()?;
                } else {
                    self.out.push_str(r"\A");
                }
                return self.no_quantifier();
            }
            '$' => {
                if self.flags.multiline {
                    if depth != 0 || !self.at_alternative_end() {
                        return None;
                    }
                    write!(self.out, r"(?:\z|{LINE_TERMINATORS})").ok()?;
                } else {
                    self.out.push_str(r"\z");
                }
                return self.no_quantifier();
            }
            '\\' => {
                let e = self.next()?;
                if e == 'b' {
                    self.out.push_str(r"(?-u:\b)");
                    return self.no_quantifier();
                }
                if let Some((set, positive)) = class_escape(e) {
                    let set = if self.flags.icase { fold(set) } else { set };
                    self.emit_set(&if positive { set } else { negate(set) });
                } else {
                    let c = self.char_escape(e, false)?;
                    self.emit_literal(c)?;
                }
            }
            '.' => {
                let set = if self.flags.dot_all {
                    negate(ClassUnicode::empty())
                } else {
                    negate(line_terminators())
                };
                self.emit_set(&set);
            }
            '(' => {
                let named_before = self.named;
                let mut name = None;
                if self.peek() == Some('?') {
                    match (self.peek_at(1), self.peek_at(2)) {
                        (Some(':'), _) => self.pos += 2,
                        (Some('<'), Some(c)) if c != '=' && c != '!' => {
                            self.pos += 2;
                            let mut n = String::new();
                            loop {
                                match self.next()? {
                                    '>' => break,
                                    c if c.is_ascii_alphanumeric() || c == '_' || c == '$' => {
                                        n.push(c);
                                    }
                                    _ => return None,
                                }
                            }
                            name = Some(n);
                        }
                        _ => return None,
                    }
                }
                match name {
                    Some(name)
                        if !name.contains('$')
                            && !name.starts_with(|c: char| c.is_ascii_digit()) =>
                    {
                        self.named += 1;
                        write!(self.out, "(?P<{name}>").ok()?;
                    }
                    Some(_) => {
                        self.captures_exact = false;
                        self.out.push_str("(?:");
                    }
                    None => self.out.push_str("(?:"),
                }
                self.disjunction(depth + 1)?;
                if self.next()? != ')' {
                    return None;
                }
                self.out.push(')');
                let repeated = self.quantifier()?;
                if repeated && self.named > named_before {
                    self.captures_exact = false;
                }
                return Some(());
            }
            '[' => {
                let set = self.class()?;
                self.emit_set(&set);
            }
            '*' | '+' | '?' | '{' | ')' | '|' => return None,
            c => self.emit_literal(c)?,
        }
        self.quantifier().map(|_| ())
    }

    fn no_quantifier(&self) -> Option<()> {
        match self.peek() {
            Some('*' | '+' | '?' | '{') => None,
            _ => Some(()),
        }
    }

    /// Translates the quantifier after an atom, if any; says whether there was one.
    fn quantifier(&mut self) -> Option<bool> {
        match self.peek() {
            Some(c @ ('*' | '+' | '?')) => {
                self.pos += 1;
                self.out.push(c);
            }
            Some('{') => {
                self.pos += 1;
                let min = self.number()?;
                let max = match self.next()? {
                    '}' => Some(min),
                    ',' if self.peek() == Some('}') => {
                        self.pos += 1;
                        None
                    }
                    ',' => {
                        let max = self.number()?;
                        if self.next()? != '}' || max < min {
                            return None;
                        }
                        Some(max)
                    }
                    _ => return None,
                };
                match max {
                    Some(max) => write!(self.out, "{{{min},{max}}}").ok()?,
                    None => write!(self.out, "{{{min},}}").ok()?,
                }
            }
            _ => return Some(false),
        }
        // Laziness changes which match is found (so what groups capture), never whether there
        // is one.
        if self.peek() == Some('?') {
            self.pos += 1;
            self.out.push('?');
        }
        Some(true)
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits: String = self.chars[start..self.pos].iter().collect();
        let n: u32 = digits.parse().ok()?;
        (n <= MAX_REPEAT).then_some(n)
    }

    /// A character escape (after the backslash), inside or outside a class.
    fn char_escape(&mut self, e: char, in_class: bool) -> Option<char> {
        Some(match e {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'f' => '\x0c',
            'v' => '\x0b',
            'b' if in_class => '\x08',
            '-' if in_class => '-',
            '0' if !self.peek().is_some_and(|c| c.is_ascii_digit()) => '\0',
            'x' => self.hex(2)?,
            'u' => self.hex(4)?,
            '^' | '$' | '\\' | '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|'
            | '/' => e,
            _ => return None,
        })
    }

    fn hex(&mut self, digits: usize) -> Option<char> {
        let mut value = 0u32;
        for _ in 0..digits {
            value = value * 16 + self.next()?.to_digit(16)?;
        }
        // A lone surrogate (half of a `\uD83D\uDE00` pair) is left to regress.
        char::from_u32(value)
    }

    fn class(&mut self) -> Option<ClassUnicode> {
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        let mut set = ClassUnicode::empty();
        loop {
            let c = self.next()?;
            if c == ']' {
                break;
            }
            let low = self.class_atom(c)?;
            if self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| c != ']') {
                self.pos += 1;
                let c = self.next()?;
                let high = self.class_atom(c)?;
                match (low, high) {
                    (ClassAtom::Char(low), ClassAtom::Char(high)) if low <= high => {
                        set.push(ClassUnicodeRange::new(low, high));
                    }
                    _ => return None,
                }
            } else {
                match low {
                    ClassAtom::Char(c) => set.push(ClassUnicodeRange::new(c, c)),
                    ClassAtom::Set(s) => set.union(&s),
                }
            }
        }
        if self.flags.icase {
            set = fold(set);
        }
        Some(if negated { negate(set) } else { set })
    }

    fn class_atom(&mut self, c: char) -> Option<ClassAtom> {
        if c != '\\' {
            return Some(ClassAtom::Char(c));
        }
        let e = self.next()?;
        if let Some((set, positive)) = class_escape(e) {
            return Some(ClassAtom::Set(if positive { set } else { negate(set) }));
        }
        self.char_escape(e, true).map(ClassAtom::Char)
    }

    fn emit_literal(&mut self, c: char) -> Option<()> {
        if self.flags.icase {
            let set = literal_icase(c)?;
            self.emit_set(&set);
        } else {
            let mut buf = [0u8; 4];
            self.out
                .push_str(&regex_syntax::escape(c.encode_utf8(&mut buf)));
        }
        Some(())
    }

    fn emit_set(&mut self, set: &ClassUnicode) {
        if set.ranges().is_empty() {
            // Never matches (JavaScript's `[]`).
            self.out.push_str("[a&&b]");
            return;
        }
        self.out.push('[');
        for r in set.ranges() {
            let _ = write!(
                self.out,
                r"\x{{{:X}}}-\x{{{:X}}}",
                r.start() as u32,
                r.end() as u32
            );
        }
        self.out.push(']');
    }
}

fn set_of(ranges: &[(char, char)]) -> ClassUnicode {
    ClassUnicode::new(ranges.iter().map(|&(a, b)| ClassUnicodeRange::new(a, b)))
}

fn negate(mut set: ClassUnicode) -> ClassUnicode {
    set.negate();
    set
}

fn fold(mut set: ClassUnicode) -> ClassUnicode {
    set.case_fold_simple();
    set
}

fn line_terminators() -> ClassUnicode {
    set_of(&[('\n', '\n'), ('\r', '\r'), ('\u{2028}', '\u{2029}')])
}

/// `\d \D \w \W \s \S`: the positive set, and whether the escape is the positive one.
fn class_escape(e: char) -> Option<(ClassUnicode, bool)> {
    let set = match e.to_ascii_lowercase() {
        'd' => set_of(&[('0', '9')]),
        'w' => set_of(&[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')]),
        's' => set_of(&[
            ('\t', '\r'),
            (' ', ' '),
            ('\u{a0}', '\u{a0}'),
            ('\u{1680}', '\u{1680}'),
            ('\u{2000}', '\u{200a}'),
            ('\u{2028}', '\u{2029}'),
            ('\u{202f}', '\u{202f}'),
            ('\u{205f}', '\u{205f}'),
            ('\u{3000}', '\u{3000}'),
            ('\u{feff}', '\u{feff}'),
        ]),
        _ => return None,
    };
    Some((set, e.is_ascii_lowercase()))
}

/// The characters that share a single-character uppercase, by that uppercase.
fn uppercase_groups() -> &'static HashMap<char, Vec<char>> {
    static GROUPS: OnceLock<HashMap<char, Vec<char>>> = OnceLock::new();
    GROUPS.get_or_init(|| {
        let mut groups: HashMap<char, Vec<char>> = HashMap::new();
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            if let Some(upper) = single_uppercase(c)
                && upper != c
            {
                groups.entry(upper).or_default().push(c);
            }
        }
        groups
    })
}

fn single_uppercase(c: char) -> Option<char> {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => Some(u),
        _ => None,
    }
}

/// What a literal `c` matches with the `i` flag (and without `u`): every candidate related to
/// `c` by case, kept when regress's own `/c/i` matches it. Cached per character.
fn literal_icase(c: char) -> Option<ClassUnicode> {
    static CACHE: OnceLock<std::sync::Mutex<HashMap<char, ClassUnicode>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(set) = cache.lock().ok()?.get(&c) {
        return Some(set.clone());
    }
    let mut candidates = set_of(&[(c, c)]);
    if let Some(upper) = single_uppercase(c) {
        candidates.push(ClassUnicodeRange::new(upper, upper));
        for &d in uppercase_groups().get(&upper).into_iter().flatten() {
            candidates.push(ClassUnicodeRange::new(d, d));
        }
    }
    let candidates = fold(candidates);
    let probe = if (c as u32) < 0x10000 {
        format!("\\u{:04X}", c as u32)
    } else {
        c.to_string()
    };
    let regex = regress::Regex::with_flags(&probe, "i").ok()?;
    let mut set = ClassUnicode::empty();
    let mut buf = [0u8; 4];
    for r in candidates.ranges() {
        for d in r.start()..=r.end() {
            if regex.find(d.encode_utf8(&mut buf)).is_some() {
                set.push(ClassUnicodeRange::new(d, d));
            }
        }
    }
    if let Ok(mut cache) = cache.lock() {
        cache.insert(c, set.clone());
    }
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(pattern: &str, flags: &str, text: &str) -> (bool, bool) {
        let js = regress::Regex::with_flags(pattern, flags).unwrap();
        let (linear, _) = compile(pattern, flags)
            .unwrap_or_else(|| panic!("/{pattern}/{flags} should translate"));
        (js.find(text).is_some(), linear.is_match(text))
    }

    #[test]
    fn translates_common_patterns_with_the_same_meaning() {
        let cases = [
            (r"^second line$", "im", "first\r\nsecond line\r\nthird"),
            (r"^second line$", "im", "first\u{2028}second line"),
            (r"^ond line$", "im", "first\r\nsecond line\r\nthird"),
            (r"\d+", "im", "٣"),
            (r"\w", "i", "\u{212a}"),
            (r"k", "i", "\u{212a}"),
            (r"s", "i", "\u{17f}"),
            (r"[a-z]", "i", "\u{17f}"),
            (r"\W", "i", "\u{17f}"),
            (r"[\W]", "i", "k"),
            (r"[^a]", "i", "A"),
            (
                r"question[\.]+",
                "im",
                "Thank you! Now for the next question...",
            ),
            (r"caf\u00e9", "i", "CAFÉ"),
            (r"a\/b", "i", "A/B"),
            (r"[^]", "i", "\n"),
            (r"[]", "i", "a"),
            (r".", "i", "\u{2028}"),
            (r"(a+)+$", "im", "aaaaaaaaaaaa!"),
            (r"\bword\b", "i", "a word."),
            (r"\bword\b", "i", "swordé"),
            (r"a{2,3}?b|^x", "im", "yy\nx"),
            (r"(?<name>\w+)@(?:x|y)", "i", "me@Y"),
        ];
        for (pattern, flags, text) in cases {
            let (js, linear) = both(pattern, flags, text);
            assert_eq!(js, linear, "/{pattern}/{flags} on {text:?}");
        }
    }

    #[test]
    fn leaves_what_it_cannot_translate_to_regress() {
        for pattern in [
            r"(?<=order )\d+",
            r"(\w)\1",
            r"a(?=b)",
            r"\Ba",
            r"a^b",
            r"(^a)",
            r"a{",
            r"\cA",
            r"a{2000}",
            r"\k<x>(?<x>a)",
        ] {
            assert!(translate(pattern, "im").is_none(), "{pattern}");
        }
        assert!(translate("a", "u").is_none());
        assert!(translate("a^b", "i").is_some());
    }
}

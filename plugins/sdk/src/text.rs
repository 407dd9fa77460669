//! Text helpers every rule needs: normalisation, tokenising, similarity.
//!
//! All functions are allocation-light and deterministic, so that a rule gives
//! the same findings natively and in the sandbox.

use std::sync::OnceLock;

/// Lowercase, map curly quotes to straight ones, collapse whitespace, and drop
/// punctuation other than apostrophes. `"No,  that’s WRONG!"` → `"no that's wrong"`.
pub fn normalise(text: &str) -> String {
    if text.is_ascii() {
        normalise_ascii(text)
    } else {
        normalise_chars(text)
    }
}

/// [`normalise`] of any text, a character at a time.
fn normalise_chars(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        let c = match c {
            '\u{2018}' | '\u{2019}' | '`' => '\'',
            c => c,
        };
        if c.is_alphanumeric() || c == '\'' {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            for l in c.to_lowercase() {
                out.push(l);
            }
        } else {
            pending_space = true;
        }
    }
    out
}

/// [`normalise`] of ASCII text (most messages), a byte at a time: the same
/// result without decoding characters or lowercasing through Unicode tables,
/// which rules pay for on every message they read.
fn normalise_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for byte in text.bytes() {
        let byte = if byte == b'`' { b'\'' } else { byte };
        if byte.is_ascii_alphanumeric() || byte == b'\'' {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(char::from(byte.to_ascii_lowercase()));
        } else {
            pending_space = true;
        }
    }
    out
}

/// Words of normalised text (apostrophes kept inside words).
pub fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|t| t.trim_matches('\''))
        .filter(|t| !t.is_empty())
}

/// Common English words that carry no topic.
pub const STOPWORDS: &[&str] = &[
    "a", "about", "after", "again", "agent", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "bot", "but", "by", "can", "could", "did", "do",
    "does", "don't", "for", "from", "get", "got", "had", "has", "have", "he", "her", "here", "him",
    "his", "how", "i", "i'm", "if", "in", "into", "is", "it", "it's", "its", "just", "me", "my",
    "no", "not", "now", "of", "ok", "okay", "on", "one", "or", "our", "out", "please", "she", "so",
    "some", "than", "that", "that's", "the", "their", "them", "then", "there", "these", "they",
    "this", "to", "too", "up", "us", "very", "was", "we", "were", "what", "when", "which", "who",
    "why", "will", "with", "would", "yes", "you", "your",
];

/// Is `word` (already lowercase) a stopword?
pub fn is_stopword(word: &str) -> bool {
    // Rules ask this for nearly every word they read: one integer lookup
    // rather than a binary search comparing strings.
    static SET: OnceLock<WordMap<()>> = OnceLock::new();
    word.len() < 2
        || SET
            .get_or_init(|| WordMap::new(STOPWORDS.iter().map(|w| (*w, ()))))
            .contains(word)
}

/// Content words of `text`: normalised, without stopwords, crudely stemmed
/// (plural `s`, `ing`, `ed`) so that "recommended"/"recommendation" stay close.
pub fn content_words(text: &str) -> Vec<String> {
    let norm = normalise(text);
    content_words_of(&norm).map(str::to_string).collect()
}

/// [`content_words`] of text already [`normalise`]d, as slices of it: for a
/// rule that reads the same normalised message for other purposes too, and
/// should not copy each word.
pub fn content_words_of(normalised: &str) -> impl Iterator<Item = &str> {
    tokens(normalised).filter(|w| !is_stopword(w)).map(stem_of)
}

/// A crude suffix-stripping stemmer: enough for grouping comments, not linguistics.
pub fn stem(word: &str) -> String {
    stem_of(word).to_string()
}

/// [`stem`] as a slice of the word, without copying it.
pub fn stem_of(word: &str) -> &str {
    // Every suffix ends in one of these letters: most words end otherwise.
    if !word.ends_with(['s', 'n', 'g', 'y', 'd']) {
        return word;
    }
    for suffix in ["ations", "ation", "ings", "ing", "edly", "ed", "es", "s"] {
        if let Some(base) = word.strip_suffix(suffix)
            && base.chars().count() >= 4
        {
            return base;
        }
    }
    word
}

/// A table of words looked up by value, for the small fixed word lists rules
/// check every word of every message against (stopwords, marker words,
/// number words). A word of up to [`WordMap::PACKED_BYTES`] bytes is looked
/// up as one integer key holding its bytes and length, in a hash table of
/// such keys: no string comparison, and a hash of two machine words rather
/// than of the bytes, which in a sandbox cost far more than they do natively.
/// Longer words are kept apart and compared as strings.
#[derive(Debug, Clone)]
pub struct WordMap<T> {
    /// Open addressing, a power of two at least twice the entries: the
    /// index in `values` of the key at each slot.
    slots: Vec<Option<(Key, usize)>>,
    values: Vec<T>,
    long: Vec<(String, T)>,
}

/// A packed word: its bytes, zero-padded, and its length in the last byte.
type Key = (u64, u64);

impl<T> WordMap<T> {
    /// Bytes a word may have to be packed into one key (the last byte of the
    /// 16 holds its length, so "ab" and "ab\0" stay apart).
    pub const PACKED_BYTES: usize = 15;

    /// The table of `entries`; of two entries for the same word, the first is kept.
    pub fn new<'w>(entries: impl IntoIterator<Item = (&'w str, T)>) -> Self {
        let mut packed: Vec<(Key, T)> = Vec::new();
        let mut long: Vec<(String, usize, T)> = Vec::new();
        for (order, (word, value)) in entries.into_iter().enumerate() {
            match pack(word) {
                Some(key) if !packed.iter().any(|(k, _)| *k == key) => packed.push((key, value)),
                Some(_) => {}
                None => long.push((word.to_string(), order, value)),
            }
        }
        long.sort_by(|(a, x, _), (b, y, _)| a.cmp(b).then(x.cmp(y)));
        long.dedup_by(|(a, _, _), (b, _, _)| a == b);
        let size = (packed.len() * 2).next_power_of_two().max(2);
        let mut slots = vec![None; size];
        let mut values = Vec::with_capacity(packed.len());
        for (key, value) in packed {
            let mut at = slot_of(key, size);
            while slots[at].is_some() {
                at = (at + 1) & (size - 1);
            }
            slots[at] = Some((key, values.len()));
            values.push(value);
        }
        WordMap {
            slots,
            values,
            long: long.into_iter().map(|(w, _, v)| (w, v)).collect(),
        }
    }

    /// The value of `word`, compared byte for byte (no case folding).
    pub fn get(&self, word: &str) -> Option<&T> {
        let Some(key) = pack(word) else {
            return self
                .long
                .binary_search_by(|(w, _)| w.as_str().cmp(word))
                .ok()
                .map(|at| &self.long[at].1);
        };
        let mask = self.slots.len() - 1;
        let mut at = slot_of(key, self.slots.len());
        // At most half the slots are taken: an empty one ends every search.
        while let Some((k, value)) = self.slots[at] {
            if k == key {
                return self.values.get(value);
            }
            at = (at + 1) & mask;
        }
        None
    }

    pub fn contains(&self, word: &str) -> bool {
        self.get(word).is_some()
    }

    pub fn len(&self) -> usize {
        self.values.len() + self.long.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A word of at most [`WordMap::PACKED_BYTES`] bytes as one key.
fn pack(word: &str) -> Option<Key> {
    let bytes = word.as_bytes();
    if bytes.len() > WordMap::<()>::PACKED_BYTES {
        return None;
    }
    let mut buffer = [0u8; 16];
    buffer[..bytes.len()].copy_from_slice(bytes);
    buffer[15] = bytes.len() as u8;
    let (low, high) = buffer.split_at(8);
    Some((
        u64::from_le_bytes(low.try_into().ok()?),
        u64::from_le_bytes(high.try_into().ok()?),
    ))
}

/// The first slot to look for `key` at, in a table of `size` slots (a power of two).
fn slot_of((low, high): Key, size: usize) -> usize {
    let mixed = (low ^ high.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 32) as usize & (size - 1)
}

/// Jaccard similarity of two word sets, 0.0 to 1.0 (1.0 for two empty sets).
pub fn jaccard<S: AsRef<str> + Ord>(a: &[S], b: &[S]) -> f64 {
    let mut a: Vec<&str> = a.iter().map(AsRef::as_ref).collect();
    let mut b: Vec<&str> = b.iter().map(AsRef::as_ref).collect();
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    jaccard_sorted(&a, &b)
}

/// [`jaccard`] of two word sets already sorted, each word once: for a caller
/// that keeps its sets that way and compares them often.
pub fn jaccard_sorted(a: &[&str], b: &[&str]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f64 / (a.len() + b.len() - both) as f64
}

/// Cut `text` to at most `max` characters on a char boundary, adding `…` if cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((i, _)) => format!("{}…", &text[..i]),
    }
}

/// Fold the accents of lowercase Latin letters so that a phrase written with or
/// without them matches: `"funcionó"` → `"funciono"`, `"ça marche"` → `"ca marche"`,
/// `"groß"` → `"gross"`. Meant for [`normalise`]d text: uppercase letters and other
/// scripts pass through unchanged.
pub fn fold_diacritics(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let folded = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
            'æ' => "ae",
            'ç' | 'ć' | 'č' => "c",
            'ď' | 'đ' => "d",
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
            'ğ' => "g",
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
            'ł' => "l",
            'ñ' | 'ń' | 'ň' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
            'œ' => "oe",
            'ř' => "r",
            'ś' | 'š' | 'ş' => "s",
            'ß' => "ss",
            'ť' | 'ţ' => "t",
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
            'ý' | 'ÿ' => "y",
            'ź' | 'ż' | 'ž' => "z",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(folded);
    }
    out
}

/// The sentences of a text such as a system prompt, each an exact slice of it
/// (so it can be quoted and found again in the text), without list markers
/// (`-`, `*`, `•`, `1.`, `##`) or surrounding whitespace, with its closing
/// punctuation. A sentence ends at a line break, or at `.`, `!` or `?` followed
/// by whitespace, or at `。`, `！` or `？`. A full stop inside a number (`5.7`)
/// or an abbreviation followed by no space does not end a sentence; one followed
/// by a space (`e.g. this`) does: good enough for quoting a prompt, not linguistics.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut rest = strip_list_marker(line);
        while !rest.is_empty() {
            let end = sentence_end(rest);
            let sentence = rest[..end].trim();
            if sentence.chars().any(char::is_alphanumeric) {
                out.push(sentence);
            }
            rest = rest[end..].trim_start();
        }
    }
    out
}

/// Where the first sentence of `rest` ends: after `.`, `!` or `?` followed by
/// whitespace or the end, or after `。`, `！` or `？`; else at the end. Read a
/// byte at a time, decoding a character only after a closing mark: prompts
/// and agents' messages are split on every cycle.
fn sentence_end(rest: &str) -> usize {
    const WIDE_CLOSINGS: [&[u8]; 3] = ["。".as_bytes(), "！".as_bytes(), "？".as_bytes()];
    let bytes = rest.as_bytes();
    for (i, &byte) in bytes.iter().enumerate() {
        match byte {
            b'.' | b'!' | b'?' if rest[i + 1..].chars().next().is_none_or(char::is_whitespace) => {
                return i + 1;
            }
            // The first byte of each wide closing mark (never a continuation byte).
            0xE3 | 0xEF => {
                if let Some(mark) = WIDE_CLOSINGS.iter().find(|m| bytes[i..].starts_with(m)) {
                    return i + mark.len();
                }
            }
            _ => {}
        }
    }
    rest.len()
}

/// A line without its leading list or heading marker and whitespace.
fn strip_list_marker(line: &str) -> &str {
    let line = line.trim();
    let unbulleted = line
        .strip_prefix(['-', '*', '•', '–'])
        .map(str::trim_start)
        .unwrap_or(line);
    let unheaded = unbulleted.trim_start_matches('#').trim_start();
    // "1. " or "1) ": a numbered item, but not "1.5 kg".
    let digits = unheaded.len()
        - unheaded
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    if digits > 0 {
        let after = &unheaded[digits..];
        if let Some(item) = after
            .strip_prefix(". ")
            .or_else(|| after.strip_prefix(") "))
        {
            return item.trim_start();
        }
    }
    unheaded
}

/// Number words from zero to twenty in English, German, Spanish, French,
/// Italian, Portuguese and Dutch, lowercase and without accents (see
/// [`fold_diacritics`]). The words for *one* are left out: in every one of these
/// languages they double as an article or a pronoun ("that one", "ein Tag",
/// "un día"), so reading them as figures would find numbers in most sentences.
/// Spanish *once* (eleven) is left out too: it is also a common English word.
const NUMBER_WORDS: &[(&str, u32)] = &[
    // English
    ("zero", 0),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    // German
    ("null", 0),
    ("zwei", 2),
    ("drei", 3),
    ("vier", 4),
    ("funf", 5),
    ("sechs", 6),
    ("sieben", 7),
    ("acht", 8),
    ("neun", 9),
    ("zehn", 10),
    ("elf", 11),
    ("zwolf", 12),
    ("dreizehn", 13),
    ("vierzehn", 14),
    ("funfzehn", 15),
    ("sechzehn", 16),
    ("siebzehn", 17),
    ("achtzehn", 18),
    ("neunzehn", 19),
    ("zwanzig", 20),
    // Spanish
    ("cero", 0),
    ("dos", 2),
    ("tres", 3),
    ("cuatro", 4),
    ("cinco", 5),
    ("seis", 6),
    ("siete", 7),
    ("ocho", 8),
    ("nueve", 9),
    ("diez", 10),
    ("doce", 12),
    ("trece", 13),
    ("catorce", 14),
    ("quince", 15),
    ("dieciseis", 16),
    ("diecisiete", 17),
    ("dieciocho", 18),
    ("diecinueve", 19),
    ("veinte", 20),
    // French
    ("zero", 0),
    ("deux", 2),
    ("trois", 3),
    ("quatre", 4),
    ("cinq", 5),
    ("six", 6),
    ("sept", 7),
    ("huit", 8),
    ("neuf", 9),
    ("dix", 10),
    ("onze", 11),
    ("douze", 12),
    ("treize", 13),
    ("quatorze", 14),
    ("quinze", 15),
    ("seize", 16),
    ("dix-sept", 17),
    ("dix-huit", 18),
    ("dix-neuf", 19),
    ("vingt", 20),
    // Italian
    ("zero", 0),
    ("due", 2),
    ("tre", 3),
    ("quattro", 4),
    ("cinque", 5),
    ("sei", 6),
    ("sette", 7),
    ("otto", 8),
    ("nove", 9),
    ("dieci", 10),
    ("undici", 11),
    ("dodici", 12),
    ("tredici", 13),
    ("quattordici", 14),
    ("quindici", 15),
    ("sedici", 16),
    ("diciassette", 17),
    ("diciotto", 18),
    ("diciannove", 19),
    ("venti", 20),
    // Portuguese
    ("zero", 0),
    ("dois", 2),
    ("duas", 2),
    ("tres", 3),
    ("quatro", 4),
    ("cinco", 5),
    ("seis", 6),
    ("sete", 7),
    ("oito", 8),
    ("nove", 9),
    ("dez", 10),
    ("onze", 11),
    ("doze", 12),
    ("treze", 13),
    ("catorze", 14),
    ("quatorze", 14),
    ("quinze", 15),
    ("dezesseis", 16),
    ("dezasseis", 16),
    ("dezessete", 17),
    ("dezassete", 17),
    ("dezoito", 18),
    ("dezenove", 19),
    ("dezanove", 19),
    ("vinte", 20),
    // Dutch
    ("nul", 0),
    ("twee", 2),
    ("drie", 3),
    ("vier", 4),
    ("vijf", 5),
    ("zes", 6),
    ("zeven", 7),
    ("acht", 8),
    ("negen", 9),
    ("tien", 10),
    ("elf", 11),
    ("twaalf", 12),
    ("dertien", 13),
    ("veertien", 14),
    ("vijftien", 15),
    ("zestien", 16),
    ("zeventien", 17),
    ("achttien", 18),
    ("negentien", 19),
    ("twintig", 20),
];

/// The value of a number word from zero to twenty in one of seven European
/// languages (see [`NUMBER_WORDS`] for which are left out and why), in any case
/// and with or without accents: `"Five"`, `"fünf"`, `"três"`, `"vingt"`.
pub fn number_word(word: &str) -> Option<u32> {
    // Rules call this for every word of every message they read: most words
    // are rejected here by length, and ASCII ones compared without allocating.
    if word.is_empty() || word.len() > MAX_NUMBER_WORD_BYTES {
        return None;
    }
    let find = |w: &str| {
        NUMBER_WORDS
            .iter()
            .find(|(entry, _)| entry.eq_ignore_ascii_case(w))
            .map(|(_, n)| *n)
    };
    if word.is_ascii() {
        find(word)
    } else {
        find(&fold_diacritics(&word.to_lowercase()))
    }
}

/// The longest entry of [`NUMBER_WORDS`] in bytes, with room for accents a
/// word may carry before it is folded.
const MAX_NUMBER_WORD_BYTES: usize = 24;

/// Every word [`number_word`] reads, lowercase and without accents, with its
/// value; a word shared by two languages ("six", "vier") is listed once per
/// language, always with the same value. For a rule that looks up many words
/// and keeps its own index of them rather than scanning the list per word.
pub fn number_words() -> &'static [(&'static str, u32)] {
    NUMBER_WORDS
}

/// A number as written in a text, with the unit it is given in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure<'a> {
    /// The number with its digits as ASCII (`"٣٠"` → `"30"`) and its separators
    /// as written (`"5,000"`, `"1.5"`), so figures compare across scripts.
    pub number: String,
    /// The unit, lowercase: the word right after the number (`"days"` in
    /// `"14 days"`, `"kg"` in `"14kg"`), `%`, or a currency sign written before
    /// it (`"$"` in `"$75"`). `None` when nothing of the sort is there. In scripts
    /// written without spaces, only the first letter after the number (`"天"`).
    pub unit: Option<String>,
    /// The figure exactly as written, sign and unit included (`"$75"`, `"30 days"`).
    pub text: &'a str,
}

/// The figures of a text: each number (in any script's decimal digits) with its
/// unit. A number glued to letters before it (`TH-5501`, `v2`, `int_000014`) is a
/// name, not a figure, and is skipped; one after a number and a dash (`5-7`) is not (except in scripts written without spaces,
/// where every number is glued to a word).
pub fn figures(text: &str) -> Vec<Figure<'_>> {
    let mut out = Vec::new();
    // Most texts hold no digit: say so before indexing their characters.
    if !text.chars().any(is_digit) {
        return out;
    }
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|(_, c)| *c);
    let offset = |i: usize| chars.get(i).map_or(text.len(), |(o, _)| *o);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        if !is_digit(c) {
            i += 1;
            continue;
        }
        // Glued to a name: skip the whole run of digits.
        let glued = i > 0
            && at(i - 1).is_some_and(|p| {
                (p.is_alphabetic() && !is_unspaced_script(p))
                    || p == '_'
                    || (matches!(p, '-' | '/')
                        && i > 1
                        && at(i - 2).is_some_and(|q| q.is_alphabetic() && !is_digit(q)))
            });
        let start = i;
        let mut number = String::new();
        while let Some(c) = at(i) {
            if let Some(d) = ascii_digit(c) {
                number.push(d);
                i += 1;
            } else if matches!(c, '.' | ',') && at(i + 1).is_some_and(is_digit) {
                number.push(c);
                i += 1;
            } else {
                break;
            }
        }
        let end_of_number = i;
        if glued {
            continue;
        }
        let sign = start
            .checked_sub(1)
            .and_then(&at)
            .filter(|p| is_currency_sign(*p));
        let first = if sign.is_some() { start - 1 } else { start };
        // The unit: a sign before wins; else `%`, or the letters after at most one space.
        let mut unit = sign.map(|s| s.to_string());
        let mut last = end_of_number;
        if unit.is_none() {
            let mut j = end_of_number;
            if at(j) == Some(' ') || at(j) == Some('\u{a0}') {
                j += 1;
            }
            match at(j) {
                Some('%') | Some('‰') => {
                    unit = at(j).map(|u| u.to_string());
                    last = j + 1;
                }
                Some(l) if l.is_alphabetic() && !is_digit(l) => {
                    let mut k = j;
                    if is_unspaced_script(l) {
                        k += 1;
                    } else {
                        while at(k).is_some_and(|l| l.is_alphabetic() && !is_unspaced_script(l)) {
                            k += 1;
                        }
                    }
                    let word: String = chars[j..k].iter().map(|(_, c)| *c).collect();
                    unit = Some(word.to_lowercase());
                    last = k;
                }
                _ => {}
            }
        }
        out.push(Figure {
            number,
            unit,
            text: &text[offset(first)..offset(last)],
        });
    }
    out
}

/// The first code point of each run of ten decimal digits that [`figures`]
/// reads besides ASCII: Arabic-Indic, Extended Arabic-Indic, Devanagari,
/// Bengali, Gurmukhi, Gujarati, Tamil, Telugu, Kannada, Malayalam, Thai, Lao,
/// Tibetan, Myanmar, Khmer, Mongolian, and fullwidth digits.
const DIGIT_ZEROS: &[u32] = &[
    0x0660, 0x06F0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0E50, 0x0ED0,
    0x0F20, 0x1040, 0x17E0, 0x1810, 0xFF10,
];

/// The ASCII digit a decimal digit of any of the scripts above stands for.
fn ascii_digit(c: char) -> Option<char> {
    if c.is_ascii_digit() {
        return Some(c);
    }
    let code = c as u32;
    // Every other character of most texts comes before the first run.
    if code < DIGIT_ZEROS[0] {
        return None;
    }
    DIGIT_ZEROS
        .iter()
        .find(|zero| (**zero..**zero + 10).contains(&code))
        .and_then(|zero| char::from_digit(code - zero, 10))
}

fn is_digit(c: char) -> bool {
    ascii_digit(c).is_some()
}

/// `$`, `€`, `£`, `¥` and the rest of the Unicode currency block.
fn is_currency_sign(c: char) -> bool {
    matches!(c, '$' | '¢' | '£' | '¤' | '¥') || ('\u{20A0}'..='\u{20CF}').contains(&c)
}

/// Scripts written without spaces between words (CJK, kana, Thai), where the
/// unit after a number is one character: `14天内` has the unit `天`.
fn is_unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}' | '\u{0E00}'..='\u{0E7F}' | '\u{AC00}'..='\u{D7AF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_folds_case_quotes_and_punctuation() {
        assert_eq!(normalise("No,  that’s WRONG!"), "no that's wrong");
        assert_eq!(
            normalise("  Actually... I said 'blue'  "),
            "actually i said 'blue'"
        );
    }

    #[test]
    fn ascii_text_normalises_as_any_text_does() {
        for text in [
            "No,  that's WRONG!",
            "`quoted` ... 'apostrophes' -- and_underscores, 5.5 kg; 10%",
            "  \t\nTabs\tand\r\nnewlines!?  ",
            "",
            "'",
            "~!@#$%^&*()",
        ] {
            assert_eq!(normalise_ascii(text), normalise_chars(text), "{text:?}");
        }
    }

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        let mut sorted = STOPWORDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted, STOPWORDS,
            "sorted and unique, or binary_search misses words"
        );
    }

    #[test]
    fn a_word_map_finds_exactly_the_words_it_was_given() {
        let map = WordMap::new([
            ("days", 1),
            ("ab", 2),
            ("internationalisation", 3),
            ("days", 9),
        ]);
        assert_eq!(
            map.get("days"),
            Some(&1),
            "the first entry of a word is kept"
        );
        assert_eq!(map.get("internationalisation"), Some(&3));
        for absent in ["day", "Days", "ab\0", "a", "", "internationalisations"] {
            assert_eq!(map.get(absent), None, "{absent:?}");
        }
        assert_eq!(map.len(), 3);
        for word in STOPWORDS {
            assert!(is_stopword(word), "{word}");
        }
        assert!(is_stopword("x"), "a single letter says nothing");
        assert!(!is_stopword("boots") && !is_stopword("The"));
    }

    #[test]
    fn content_words_drop_stopwords_and_stem() {
        assert_eq!(
            content_words_of("you recommended the wrong products to me").collect::<Vec<_>>(),
            ["recommend", "wrong", "product"]
        );
        assert_eq!(
            content_words("You recommended the wrong products to me"),
            vec!["recommend", "wrong", "product"]
        );
    }

    #[test]
    fn jaccard_of_overlapping_sets() {
        assert_eq!(jaccard(&["a", "b"], &["b", "c"]), 1.0 / 3.0);
        assert_eq!(jaccard::<&str>(&[], &[]), 1.0);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("hi", 5), "hi");
    }
    #[test]
    fn accents_fold_so_phrases_match_with_or_without_them() {
        assert_eq!(fold_diacritics("funcionó"), "funciono");
        assert_eq!(fold_diacritics("merci, ça marche"), "merci, ca marche");
        assert_eq!(fold_diacritics("dankeschön groß"), "dankeschon gross");
        assert_eq!(fold_diacritics("não, obrigado"), "nao, obrigado");
        assert_eq!(fold_diacritics("14天 ok"), "14天 ok");
    }

    #[test]
    fn a_prompt_splits_into_sentences_that_are_exact_slices_of_it() {
        let prompt = "You are Trail.\n\n## Store policies\n- Returns are accepted within 14 days. The label is free.\n\
                      - Refunds take 5-7 days, e.g. 5.5 on average!\n1. Be brief\n退货期为14天。请核对。";
        let found = sentences(prompt);
        assert_eq!(
            found,
            [
                "You are Trail.",
                "Store policies",
                "Returns are accepted within 14 days.",
                "The label is free.",
                "Refunds take 5-7 days, e.g.",
                "5.5 on average!",
                "Be brief",
                "退货期为14天。",
                "请核对。",
            ]
        );
        for sentence in found {
            assert!(prompt.contains(sentence), "{sentence:?}");
        }
    }

    #[test]
    fn figures_keep_their_unit_in_any_script() {
        let found = figures("It's 14 days, not 30days; 20% off over $75, version v2, sku TH-5501.");
        let seen: Vec<(&str, Option<&str>, &str)> = found
            .iter()
            .map(|f| (f.number.as_str(), f.unit.as_deref(), f.text))
            .collect();
        assert_eq!(
            seen,
            [
                ("14", Some("days"), "14 days"),
                ("30", Some("days"), "30days"),
                ("20", Some("%"), "20%"),
                ("75", Some("$"), "$75"),
            ]
        );
        let german = figures("Es sind 14 Tage, nicht 30 Tage.");
        assert_eq!(german[0].unit.as_deref(), Some("tage"));
        assert_eq!(german[1].text, "30 Tage");
        // Arabic-Indic digits read as the same number as ASCII ones.
        let arabic = figures("المدة ١٤ يوما");
        assert_eq!(arabic[0].number, "14");
        assert_eq!(arabic[0].unit.as_deref(), Some("يوما"));
        let chinese = figures("退货期为14天内");
        assert_eq!(chinese[0].unit.as_deref(), Some("天"));
        assert_eq!(chinese[0].text, "14天");
        // Separators stay inside the number; a number at the end has no unit.
        let plain = figures("It costs 1,299.50. Call 5");
        assert_eq!(plain[0].number, "1,299.50");
        assert_eq!(plain[1].unit, None);
        // A range is two figures; the unit belongs to the second.
        let range: Vec<&str> = figures("5-7 business days")
            .iter()
            .map(|f| f.text)
            .collect();
        assert_eq!(range, ["5", "7 business"]);
    }
    #[test]
    fn number_words_read_in_seven_languages_but_not_articles() {
        for (word, value) in [
            ("Five", 5),
            ("fünf", 5),
            ("cinco", 5),
            ("cinq", 5),
            ("cinque", 5),
            ("três", 3),
            ("vijf", 5),
            ("zero", 0),
            ("twenty", 20),
            ("Zwölf", 12),
            ("dix-sept", 17),
        ] {
            assert_eq!(number_word(word), Some(value), "{word}");
        }
        for article in ["one", "ein", "un", "uno", "um", "een", "once", "days"] {
            assert_eq!(number_word(article), None, "{article}");
        }
    }
}

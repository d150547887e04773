// SPDX-License-Identifier: MIT OR Apache-2.0
//! Shell patterns (POSIX XCU 2.13): `*`, `?`, `[…]` and `[!…]`, for
//! `case`, `${NAME%PATTERN}` and its kin, and pathname expansion.
//!
//! A pattern is a sequence of [`PatternChar`]s: bytes that remember
//! whether they were quoted, since a quoted `*` matches only `*`. A `[`
//! without its `]` is an ordinary byte. Inside brackets: ranges (`a-z`),
//! negation (`!` or `^` first), `]` first is a member, and the classes
//! `[:alpha:]`, `[:digit:]`, `[:alnum:]`, `[:upper:]`, `[:lower:]`,
//! `[:space:]`, `[:blank:]`, `[:punct:]`, `[:xdigit:]`. Bytes compare
//! as bytes (the C locale, as in dash).

use alloc::vec::Vec;

/// One byte of a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatternChar {
    /// The byte.
    pub byte: u8,
    /// Quoted: it matches only itself.
    pub quoted: bool,
}

/// `text` as a pattern of quoted bytes (matches only itself).
pub fn literal(text: &[u8]) -> Vec<PatternChar> {
    text.iter()
        .map(|&byte| PatternChar { byte, quoted: true })
        .collect()
}

/// Whether `pattern` has an unquoted `*`, `?` or `[`.
pub fn has_wildcards(pattern: &[PatternChar]) -> bool {
    pattern
        .iter()
        .any(|c| !c.quoted && matches!(c.byte, b'*' | b'?' | b'['))
}

/// Whether `pattern` matches all of `text`.
pub fn matches(pattern: &[PatternChar], text: &[u8]) -> bool {
    // Greedy matching with one backtrack point: the last `*` seen, and
    // where in the text it was tried (the classic linear-space method).
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && !pattern[p].quoted && pattern[p].byte == b'*' {
            star = Some((p + 1, t));
            p += 1;
            continue;
        }
        if p < pattern.len() {
            if let Some(next) = match_one(pattern, p, text[t]) {
                p = next;
                t += 1;
                continue;
            }
        }
        match star {
            Some((star_p, star_t)) => {
                p = star_p;
                t = star_t + 1;
                star = Some((star_p, star_t + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|c| !c.quoted && c.byte == b'*')
}

/// If the pattern element at `index` (not `*`) matches `byte`, the
/// index after it.
fn match_one(pattern: &[PatternChar], index: usize, byte: u8) -> Option<usize> {
    let element = pattern[index];
    if element.quoted {
        return (element.byte == byte).then_some(index + 1);
    }
    match element.byte {
        b'?' => Some(index + 1),
        b'[' => match bracket(pattern, index + 1, byte) {
            Some((matched, next)) => matched.then_some(next),
            None => (byte == b'[').then_some(index + 1),
        },
        other => (other == byte).then_some(index + 1),
    }
}

/// A bracket expression starting after its `[`: whether `byte` is in
/// it, and the index after its `]`; `None` if there is no `]`.
fn bracket(pattern: &[PatternChar], start: usize, byte: u8) -> Option<(bool, usize)> {
    let mut index = start;
    let negated = pattern
        .get(index)
        .is_some_and(|c| !c.quoted && (c.byte == b'!' || c.byte == b'^'));
    if negated {
        index += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let current = *pattern.get(index)?;
        if !current.quoted && current.byte == b']' && !first {
            return Some((found != negated, index + 1));
        }
        first = false;
        if !current.quoted && current.byte == b'[' {
            if let Some(colon) = pattern.get(index + 1).filter(|c| c.byte == b':') {
                let _ = colon;
                let rest = &pattern[index + 2..];
                if let Some(end) = rest
                    .windows(2)
                    .position(|pair| pair[0].byte == b':' && pair[1].byte == b']')
                {
                    let name: Vec<u8> = rest[..end].iter().map(|c| c.byte).collect();
                    found |= in_class(&name, byte);
                    index += 2 + end + 2;
                    continue;
                }
            }
        }
        let range_end = pattern
            .get(index + 1)
            .filter(|c| !c.quoted && c.byte == b'-')
            .and(pattern.get(index + 2))
            .filter(|c| c.quoted || c.byte != b']');
        match range_end {
            Some(end) => {
                found |= current.byte <= byte && byte <= end.byte;
                index += 3;
            }
            None => {
                found |= current.byte == byte;
                index += 1;
            }
        }
    }
}

fn in_class(name: &[u8], byte: u8) -> bool {
    match name {
        b"alpha" => byte.is_ascii_alphabetic(),
        b"digit" => byte.is_ascii_digit(),
        b"alnum" => byte.is_ascii_alphanumeric(),
        b"upper" => byte.is_ascii_uppercase(),
        b"lower" => byte.is_ascii_lowercase(),
        b"space" => matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c),
        b"blank" => byte == b' ' || byte == b'\t',
        b"punct" => byte.is_ascii_punctuation(),
        b"xdigit" => byte.is_ascii_hexdigit(),
        b"cntrl" => byte.is_ascii_control(),
        b"print" => (0x20..0x7f).contains(&byte),
        b"graph" => byte.is_ascii_graphic(),
        _ => false,
    }
}

/// `${NAME%PATTERN}` (`longest`: `%%`): `text` without the shortest (or
/// longest) suffix the pattern matches; `text` itself if none does.
pub fn remove_suffix<'a>(text: &'a [u8], pattern: &[PatternChar], longest: bool) -> &'a [u8] {
    let mut cuts: Vec<usize> = (0..=text.len()).collect();
    if !longest {
        cuts.reverse();
    }
    for cut in cuts {
        if matches(pattern, &text[cut..]) {
            return &text[..cut];
        }
    }
    text
}

/// `${NAME#PATTERN}` (`longest`: `##`): `text` without the shortest (or
/// longest) prefix the pattern matches; `text` itself if none does.
pub fn remove_prefix<'a>(text: &'a [u8], pattern: &[PatternChar], longest: bool) -> &'a [u8] {
    let mut cuts: Vec<usize> = (0..=text.len()).collect();
    if longest {
        cuts.reverse();
    }
    for cut in cuts {
        if matches(pattern, &text[..cut]) {
            return &text[cut..];
        }
    }
    text
}

/// What pathname expansion reads directories with: the names in a
/// directory, `None` if it cannot be read.
pub type ListDirectory<'a> = dyn FnMut(&[u8]) -> Option<Vec<Vec<u8>>> + 'a;

/// Pathname expansion: the paths `pattern` matches, sorted bytewise;
/// empty if none (the caller then keeps the word as written).
/// `list_fn(directory)` gives the names in a directory (`.` for the
/// current one), `None` if it cannot be read. A name starting with `.`
/// matches only a component that starts with a literal `.`.
pub fn glob(pattern: &[PatternChar], list_fn: &mut ListDirectory<'_>) -> Vec<Vec<u8>> {
    let absolute = pattern.first().is_some_and(|c| c.byte == b'/');
    let components: Vec<&[PatternChar]> = pattern
        .split(|c| c.byte == b'/')
        .filter(|component| !component.is_empty())
        .collect();
    let mut paths: Vec<Vec<u8>> = alloc::vec![if absolute { b"/".to_vec() } else { Vec::new() }];
    for component in components {
        let mut next = Vec::new();
        for path in &paths {
            let directory: &[u8] = if path.is_empty() { b"." } else { path };
            let join = |name: &[u8]| {
                let mut joined = path.clone();
                if !joined.is_empty() && joined.last() != Some(&b'/') {
                    joined.push(b'/');
                }
                joined.extend_from_slice(name);
                joined
            };
            if !has_wildcards(component) {
                let name: Vec<u8> = component.iter().map(|c| c.byte).collect();
                if list_fn(directory).is_some_and(|names| names.contains(&name))
                    || name == b"."
                    || name == b".."
                {
                    next.push(join(&name));
                }
                continue;
            }
            let Some(mut names) = list_fn(directory) else {
                continue;
            };
            names.sort();
            for name in names {
                if name.first() == Some(&b'.') && component.first().is_none_or(|c| c.byte != b'.') {
                    continue;
                }
                if name == b"." || name == b".." {
                    if component.iter().all(|c| c.quoted || c.byte == b'.') {
                        next.push(join(&name));
                    }
                    continue;
                }
                if matches(component, &name) {
                    next.push(join(&name));
                }
            }
        }
        paths = next;
        if paths.is_empty() {
            break;
        }
    }
    if pattern.last().is_some_and(|c| c.byte == b'/') {
        paths.retain(|path| list_fn(path).is_some());
        for path in &mut paths {
            path.push(b'/');
        }
    }
    paths.sort();
    paths
}

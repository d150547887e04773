// SPDX-License-Identifier: MIT OR Apache-2.0
//! The parser: bytes to a [`Script`], in two passes.
//!
//! [`Lexer`] cuts the input into tokens — words (with their quoting kept
//! as [`WordPart`]s), redirection operators with an optional descriptor
//! number written right before them (`2>`), `|`, `&&`, `||`, `;` and
//! newlines — following the POSIX shell's token rules (XCU 2.3): blanks
//! separate words, `#` at the start of a word begins a comment, a
//! backslash quotes the next byte (and removes a newline), single quotes
//! quote everything up to the next one, double quotes everything but
//! `$`, `` ` `` and `\`. The parser proper then builds the tree with one
//! function per grammar rule:
//!
//! ```text
//! script   := (and_or ((';' | newline) and_or)*)?
//! and_or   := pipeline (('&&' | '||') newline* pipeline)*
//! pipeline := command ('|' newline* command)*
//! command  := (assignment | word | redirection)+   assignments first
//! ```
//!
//! Errors come in two kinds: [`ParseError::Incomplete`] when the input
//! stops inside something (a quote, `${`, after `|`, `&&`, `||` or a
//! final `\`) — an interactive shell reads another line then — and
//! [`ParseError::Syntax`] for input that no more text can fix.

use crate::ast::{
    AndOr, Assignment, Command, Connector, Pipeline, Redirection, RedirectionKind, Script, Word,
    WordPart,
};
use alloc::vec::Vec;
use core::fmt;

/// Why [`parse`] refused its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The input ended inside a construct: more text may complete it.
    Incomplete(Incomplete),
    /// The input is wrong whatever follows.
    Syntax(SyntaxError),
}

/// What the input ended inside of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incomplete {
    /// `'…` without its closing quote.
    SingleQuote,
    /// `"…` without its closing quote.
    DoubleQuote,
    /// `${…` without `}`.
    Brace,
    /// A `\` as the very last byte.
    Backslash,
    /// `|`, `&&` or `||` with no command after it yet.
    Operator(&'static str),
}

/// A syntax error, worded for `sh: syntax error: …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyntaxError {
    /// A token where a command should start: `` unexpected `|` ``.
    Unexpected(&'static str),
    /// A construct this shell does not have.
    Unsupported(&'static str),
    /// `${…}` holding something other than a name.
    BadSubstitution(Vec<u8>),
    /// A redirection operator without its file name.
    MissingTarget(&'static str),
    /// `>&` or `<&` not followed by a descriptor number or `-`.
    BadDuplicate(&'static str),
    /// A descriptor number of 64 or more (`limits::FDS`).
    DescriptorTooLarge,
}

impl fmt::Display for Incomplete {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Incomplete::SingleQuote => formatter.write_str("unterminated single quote"),
            Incomplete::DoubleQuote => formatter.write_str("unterminated double quote"),
            Incomplete::Brace => formatter.write_str("unterminated `${`"),
            Incomplete::Backslash => formatter.write_str("`\\` at the end of the input"),
            Incomplete::Operator(operator) => {
                write!(formatter, "`{operator}` without a command after it")
            }
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxError::Unexpected(token) => write!(formatter, "unexpected `{token}`"),
            SyntaxError::Unsupported(what) => write!(formatter, "{what} not supported"),
            SyntaxError::BadSubstitution(text) => {
                formatter.write_str("bad substitution `${")?;
                for chunk in text.utf8_chunks() {
                    formatter.write_str(chunk.valid())?;
                    if !chunk.invalid().is_empty() {
                        formatter.write_str("\u{fffd}")?;
                    }
                }
                formatter.write_str("}`")
            }
            SyntaxError::MissingTarget(operator) => {
                write!(formatter, "`{operator}` needs a file name after it")
            }
            SyntaxError::BadDuplicate(operator) => {
                write!(
                    formatter,
                    "`{operator}` needs a descriptor number or `-` after it"
                )
            }
            SyntaxError::DescriptorTooLarge => {
                formatter.write_str("descriptor numbers go from 0 to 63")
            }
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Incomplete(incomplete) => incomplete.fmt(formatter),
            ParseError::Syntax(error) => error.fmt(formatter),
        }
    }
}

/// Whether `text` is a variable name: a letter or `_`, then letters,
/// digits and `_`.
pub fn is_name(text: &[u8]) -> bool {
    match text.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && rest
                    .iter()
                    .all(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
        }
        None => false,
    }
}

/// Special parameters written as one byte after `$`.
fn is_special(byte: u8) -> bool {
    matches!(byte, b'?' | b'$' | b'#' | b'@' | b'*') || byte.is_ascii_digit()
}

fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Bytes that end an unquoted word (besides blanks and newlines).
fn is_operator_byte(byte: u8) -> bool {
    matches!(byte, b'|' | b'&' | b';' | b'<' | b'>' | b'(' | b')')
}

/// The redirection operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RedirectOperator {
    /// `<`
    Input,
    /// `>`
    Output,
    /// `>>`
    Append,
    /// `>&`
    DuplicateOutput,
    /// `<&`
    DuplicateInput,
}

impl RedirectOperator {
    fn text(self) -> &'static str {
        match self {
            RedirectOperator::Input => "<",
            RedirectOperator::Output => ">",
            RedirectOperator::Append => ">>",
            RedirectOperator::DuplicateOutput => ">&",
            RedirectOperator::DuplicateInput => "<&",
        }
    }

    /// The descriptor redirected when no number is written.
    fn default_fd(self) -> u8 {
        match self {
            RedirectOperator::Input | RedirectOperator::DuplicateInput => 0,
            _ => 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(Word),
    Redirect {
        fd: Option<u8>,
        operator: RedirectOperator,
    },
    Pipe,
    And,
    Or,
    Semicolon,
    Newline,
}

impl Token {
    /// How an error names the token.
    fn text(&self) -> &'static str {
        match self {
            Token::Word(_) => "word",
            Token::Redirect { operator, .. } => operator.text(),
            Token::Pipe => "|",
            Token::And => "&&",
            Token::Or => "||",
            Token::Semicolon => ";",
            Token::Newline => "newline",
        }
    }
}

/// Cuts the input into [`Token`]s.
struct Lexer<'a> {
    input: &'a [u8],
    position: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.position).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.input.get(self.position + offset).copied()
    }

    fn tokens(mut self) -> Result<Vec<Token>, ParseError> {
        let mut tokens = Vec::new();
        while let Some(byte) = self.peek() {
            match byte {
                b' ' | b'\t' => self.position += 1,
                b'\n' => {
                    self.position += 1;
                    tokens.push(Token::Newline);
                }
                b'#' => {
                    while self.peek().is_some_and(|byte| byte != b'\n') {
                        self.position += 1;
                    }
                }
                b'|' if self.peek_at(1) == Some(b'|') => {
                    self.position += 2;
                    tokens.push(Token::Or);
                }
                b'|' => {
                    self.position += 1;
                    tokens.push(Token::Pipe);
                }
                b'&' if self.peek_at(1) == Some(b'&') => {
                    self.position += 2;
                    tokens.push(Token::And);
                }
                b'&' => return Err(unsupported("background jobs (`&`) are")),
                b';' => {
                    self.position += 1;
                    tokens.push(Token::Semicolon);
                }
                b'<' | b'>' => tokens.push(self.redirect(None)?),
                b'(' | b')' => return Err(unsupported("subshells and groups (`( … )`) are")),
                _ => {
                    let Some(word) = self.word()? else { continue };
                    match (self.peek(), descriptor_number(&word)) {
                        (Some(b'<' | b'>'), Some(number)) => {
                            let fd = u8::try_from(number)
                                .ok()
                                .filter(|fd| *fd < 64)
                                .ok_or(ParseError::Syntax(SyntaxError::DescriptorTooLarge))?;
                            tokens.push(self.redirect(Some(fd))?);
                        }
                        _ => tokens.push(Token::Word(word)),
                    }
                }
            }
        }
        Ok(tokens)
    }

    /// A redirection operator at the current `<` or `>`.
    fn redirect(&mut self, fd: Option<u8>) -> Result<Token, ParseError> {
        let first = self.peek();
        let second = self.peek_at(1);
        let (operator, length) = match (first, second) {
            (Some(b'<'), Some(b'<')) => return Err(unsupported("here-documents (`<<`) are")),
            (Some(b'<'), Some(b'&')) => (RedirectOperator::DuplicateInput, 2),
            (Some(b'<'), _) => (RedirectOperator::Input, 1),
            (_, Some(b'>')) => (RedirectOperator::Append, 2),
            (_, Some(b'&')) => (RedirectOperator::DuplicateOutput, 2),
            _ => (RedirectOperator::Output, 1),
        };
        self.position += length;
        Ok(Token::Redirect { fd, operator })
    }

    /// One word, or `None` if only line continuations were there.
    fn word(&mut self) -> Result<Option<Word>, ParseError> {
        let mut word = WordBuilder::default();
        if self.peek() == Some(b'~')
            && self.peek_at(1).is_none_or(|next| {
                next == b'/' || is_blank(next) || next == b'\n' || is_operator_byte(next)
            })
        {
            word.parts.push(WordPart::Home);
            word.started = true;
            self.position += 1;
        }
        while let Some(byte) = self.peek() {
            if is_blank(byte) || byte == b'\n' || is_operator_byte(byte) {
                break;
            }
            match byte {
                b'\\' => match self.peek_at(1) {
                    None => return Err(ParseError::Incomplete(Incomplete::Backslash)),
                    Some(b'\n') => self.position += 2,
                    Some(escaped) => {
                        word.literal(&[escaped], true);
                        self.position += 2;
                    }
                },
                b'\'' => {
                    let start = self.position + 1;
                    let Some(length) = self.input[start..].iter().position(|&b| b == b'\'') else {
                        return Err(ParseError::Incomplete(Incomplete::SingleQuote));
                    };
                    word.literal(&self.input[start..start + length], true);
                    self.position = start + length + 1;
                }
                b'"' => self.double_quoted(&mut word)?,
                b'$' => self.dollar(&mut word, false)?,
                b'`' => return Err(unsupported("command substitution (backquotes) is")),
                _ => {
                    word.literal(&[byte], false);
                    self.position += 1;
                }
            }
        }
        Ok(word.started.then_some(Word { parts: word.parts }))
    }

    /// The rest of a word from an opening `"`.
    fn double_quoted(&mut self, word: &mut WordBuilder) -> Result<(), ParseError> {
        self.position += 1;
        let parts_before = word.parts.len();
        loop {
            let Some(byte) = self.peek() else {
                return Err(ParseError::Incomplete(Incomplete::DoubleQuote));
            };
            match byte {
                b'"' => {
                    self.position += 1;
                    // `""` is a field of its own, even empty (but `"$@"`
                    // with no arguments is none: it added a part).
                    if word.parts.len() == parts_before {
                        word.literal(b"", true);
                    }
                    return Ok(());
                }
                b'\\' => match self.peek_at(1) {
                    None => return Err(ParseError::Incomplete(Incomplete::DoubleQuote)),
                    Some(b'\n') => self.position += 2,
                    Some(escaped @ (b'$' | b'`' | b'"' | b'\\')) => {
                        word.literal(&[escaped], true);
                        self.position += 2;
                    }
                    Some(_) => {
                        word.literal(b"\\", true);
                        self.position += 1;
                    }
                },
                b'$' => self.dollar(word, true)?,
                b'`' => return Err(unsupported("command substitution (backquotes) is")),
                _ => {
                    word.literal(&[byte], true);
                    self.position += 1;
                }
            }
        }
    }

    /// An expansion, or a plain `$`, at the current `$`.
    fn dollar(&mut self, word: &mut WordBuilder, quoted: bool) -> Result<(), ParseError> {
        let start = self.position + 1;
        match self.peek_at(1) {
            Some(b'{') => {
                let Some(length) = self.input[start + 1..].iter().position(|&b| b == b'}') else {
                    return Err(ParseError::Incomplete(Incomplete::Brace));
                };
                let name = &self.input[start + 1..start + 1 + length];
                let valid = is_name(name)
                    || (name.len() == 1 && is_special(name[0]))
                    || (!name.is_empty() && name.iter().all(u8::is_ascii_digit));
                if !valid {
                    return Err(ParseError::Syntax(SyntaxError::BadSubstitution(
                        name.to_vec(),
                    )));
                }
                word.variable(name, quoted);
                self.position = start + length + 2;
            }
            Some(b'(') => return Err(unsupported("command substitution (`$( … )`) is")),
            Some(special) if is_special(special) => {
                word.variable(&[special], quoted);
                self.position += 2;
            }
            Some(first) if first.is_ascii_alphabetic() || first == b'_' => {
                let length = self.input[start..]
                    .iter()
                    .position(|byte| !(byte.is_ascii_alphanumeric() || *byte == b'_'))
                    .unwrap_or(self.input.len() - start);
                word.variable(&self.input[start..start + length], quoted);
                self.position = start + length;
            }
            _ => {
                word.literal(b"$", quoted);
                self.position += 1;
            }
        }
        Ok(())
    }
}

fn unsupported(what: &'static str) -> ParseError {
    ParseError::Syntax(SyntaxError::Unsupported(what))
}

/// The number a word stands for if it is unquoted digits only.
fn descriptor_number(word: &Word) -> Option<u32> {
    let text = word.as_plain_literal()?;
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Saturate: `99999999999>f` is "too large", not a wrapped number.
    Some(text.iter().fold(0u32, |value, digit| {
        value
            .saturating_mul(10)
            .saturating_add(u32::from(digit - b'0'))
    }))
}

/// Accumulates a word's parts, merging adjacent literals of one kind.
#[derive(Default)]
struct WordBuilder {
    parts: Vec<WordPart>,
    started: bool,
}

impl WordBuilder {
    fn literal(&mut self, bytes: &[u8], quoted: bool) {
        self.started = true;
        if let Some(WordPart::Literal {
            text,
            quoted: last_quoted,
        }) = self.parts.last_mut()
        {
            if *last_quoted == quoted {
                text.extend_from_slice(bytes);
                return;
            }
        }
        self.parts.push(WordPart::Literal {
            text: bytes.to_vec(),
            quoted,
        });
    }

    fn variable(&mut self, name: &[u8], quoted: bool) {
        self.started = true;
        self.parts.push(WordPart::Variable {
            name: name.to_vec(),
            quoted,
        });
    }
}

/// Parses `input` (one line or many) into a [`Script`].
///
/// Return values: [`ParseError::Incomplete`] if the input stops inside a
/// construct; [`ParseError::Syntax`] if it is wrong.
pub fn parse(input: &[u8]) -> Result<Script, ParseError> {
    let tokens = Lexer { input, position: 0 }.tokens()?;
    Parser {
        tokens,
        position: 0,
    }
    .script()
}

/// Builds the tree from the tokens.
struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Token::Newline) {
            self.position += 1;
        }
    }

    fn script(mut self) -> Result<Script, ParseError> {
        let mut lists = Vec::new();
        loop {
            self.skip_newlines();
            match self.peek() {
                None => break,
                Some(Token::Semicolon) => {
                    return Err(ParseError::Syntax(SyntaxError::Unexpected(";")))
                }
                Some(_) => {}
            }
            lists.push(self.and_or()?);
            match self.peek() {
                None => break,
                Some(Token::Semicolon | Token::Newline) => self.position += 1,
                Some(other) => {
                    return Err(ParseError::Syntax(SyntaxError::Unexpected(other.text())))
                }
            }
        }
        Ok(Script { lists })
    }

    fn and_or(&mut self) -> Result<AndOr, ParseError> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let (connector, text) = match self.peek() {
                Some(Token::And) => (Connector::And, "&&"),
                Some(Token::Or) => (Connector::Or, "||"),
                _ => break,
            };
            self.position += 1;
            self.skip_newlines();
            if self.peek().is_none() {
                return Err(ParseError::Incomplete(Incomplete::Operator(text)));
            }
            rest.push((connector, self.pipeline()?));
        }
        Ok(AndOr { first, rest })
    }

    fn pipeline(&mut self) -> Result<Pipeline, ParseError> {
        let mut commands = alloc::vec![self.command()?];
        while self.peek() == Some(&Token::Pipe) {
            self.position += 1;
            self.skip_newlines();
            if self.peek().is_none() {
                return Err(ParseError::Incomplete(Incomplete::Operator("|")));
            }
            commands.push(self.command()?);
        }
        Ok(Pipeline { commands })
    }

    fn command(&mut self) -> Result<Command, ParseError> {
        let mut command = Command::default();
        loop {
            match self.peek() {
                Some(Token::Word(word)) => {
                    let word = word.clone();
                    self.position += 1;
                    match command
                        .words
                        .is_empty()
                        .then(|| assignment(&word))
                        .flatten()
                    {
                        Some(assignment) => command.assignments.push(assignment),
                        None => command.words.push(word),
                    }
                }
                Some(&Token::Redirect { fd, operator }) => {
                    self.position += 1;
                    let target = match self.peek() {
                        Some(Token::Word(word)) => word.clone(),
                        _ => {
                            return Err(ParseError::Syntax(match operator {
                                RedirectOperator::DuplicateInput
                                | RedirectOperator::DuplicateOutput => {
                                    SyntaxError::BadDuplicate(operator.text())
                                }
                                _ => SyntaxError::MissingTarget(operator.text()),
                            }))
                        }
                    };
                    self.position += 1;
                    let kind = match operator {
                        RedirectOperator::Input => RedirectionKind::Input(target),
                        RedirectOperator::Output => RedirectionKind::Output(target),
                        RedirectOperator::Append => RedirectionKind::Append(target),
                        RedirectOperator::DuplicateInput | RedirectOperator::DuplicateOutput => {
                            duplicate(&target).ok_or(ParseError::Syntax(
                                SyntaxError::BadDuplicate(operator.text()),
                            ))??
                        }
                    };
                    command.redirections.push(Redirection {
                        fd: fd.unwrap_or(operator.default_fd()),
                        kind,
                    });
                }
                other => {
                    let empty = command.assignments.is_empty()
                        && command.words.is_empty()
                        && command.redirections.is_empty();
                    if empty {
                        let text = other.map_or("end of input", Token::text);
                        return Err(ParseError::Syntax(SyntaxError::Unexpected(text)));
                    }
                    return Ok(command);
                }
            }
        }
    }
}

/// The target of `>&`/`<&`: a descriptor number or `-`; `None` if it is
/// neither, `Some(Err)` if the number is too large.
fn duplicate(target: &Word) -> Option<Result<RedirectionKind, ParseError>> {
    if target.as_plain_literal() == Some(b"-") {
        return Some(Ok(RedirectionKind::Close));
    }
    let number = descriptor_number(target)?;
    Some(
        u8::try_from(number)
            .ok()
            .filter(|fd| *fd < 64)
            .map(RedirectionKind::Duplicate)
            .ok_or(ParseError::Syntax(SyntaxError::DescriptorTooLarge)),
    )
}

/// `NAME=VALUE` if the word starts with an unquoted name and `=`.
fn assignment(word: &Word) -> Option<Assignment> {
    let Some(WordPart::Literal {
        text,
        quoted: false,
    }) = word.parts.first()
    else {
        return None;
    };
    let equals = text.iter().position(|&byte| byte == b'=')?;
    if !is_name(&text[..equals]) {
        return None;
    }
    let mut parts = Vec::new();
    if equals + 1 < text.len() {
        parts.push(WordPart::Literal {
            text: text[equals + 1..].to_vec(),
            quoted: false,
        });
    }
    parts.extend(word.parts[1..].iter().cloned());
    Some(Assignment {
        name: text[..equals].to_vec(),
        value: Word { parts },
    })
}

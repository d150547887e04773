// SPDX-License-Identifier: MIT OR Apache-2.0
//! The parser: bytes to a [`Script`].
//!
//! One [`Parser`] both cuts the input into tokens, on demand, and builds
//! the tree with one function per grammar rule (POSIX XCU 2.10), because
//! a word can hold a whole list (`$( … )`) that is parsed where it is
//! met:
//!
//! ```text
//! script    := list END
//! list      := newline* (and_or (';' | '&' | newline) newline*)* [and_or [';' | '&']]
//! and_or    := pipeline (('&&' | '||') newline* pipeline)*
//! pipeline  := ['!'] command ('|' newline* command)*
//! command   := simple | compound redirection* | NAME '(' ')' newline* command
//! compound  := '{' list '}' | '(' list ')' | if | while | until | for | case
//! ```
//!
//! Tokens follow XCU 2.3: blanks separate words, `#` at the start of a
//! word begins a comment, a backslash quotes the next byte (and removes a
//! newline), single quotes quote everything up to the next one, double
//! quotes everything but `$`, `` ` `` and `\`. Reserved words (`if`,
//! `then`, `{`, …) are recognised only unquoted and where a command
//! starts. A here-document's body is read when its `<<` is met, from the
//! line after the current one; the lexer jumps over it at that newline.
//!
//! Errors come in two kinds: [`ParseError::Incomplete`] when the input
//! stops inside something (a quote, `${`, `$(`, an `if` without `fi`, a
//! here-document without its delimiter, after `|`, `&&`, `||` or a final
//! `\`) — an interactive shell reads another line then — and
//! [`ParseError::Syntax`] for input that no more text can fix.

use crate::ast::{
    AndOr, Assignment, CaseItem, Command, CompoundCommand, Connector, FunctionDefinition,
    ParameterOperation, Pipeline, Redirection, RedirectionKind, Script, SimpleCommand, Word,
    WordPart,
};
use alloc::boxed::Box;
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
    /// `` `… `` without its closing backquote.
    Backquote,
    /// `${…` without `}`.
    Brace,
    /// `$(…` or `(…` without `)`.
    Parenthesis,
    /// `$((…` without `))`.
    Arithmetic,
    /// A `\` as the very last byte.
    Backslash,
    /// `|`, `&&` or `||` with no command after it yet.
    Operator(&'static str),
    /// A compound command without its closing word (`fi`, `done`, …).
    Keyword(&'static str),
    /// A here-document without its delimiter line.
    HereDocument,
}

/// A syntax error, worded for `sh: syntax error: …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyntaxError {
    /// A token where it cannot be: `` unexpected `|` ``.
    Unexpected(&'static str),
    /// `${…}` holding something other than a name and an operator.
    BadSubstitution(Vec<u8>),
    /// A redirection operator without its file name.
    MissingTarget(&'static str),
    /// `>&` or `<&` not followed by a descriptor number or `-`.
    BadDuplicate(&'static str),
    /// A descriptor number of 64 or more (`limits::FDS`).
    DescriptorTooLarge,
    /// `for` not followed by a variable name.
    BadForName,
    /// Constructs nested deeper than the parser goes.
    TooDeep,
}

impl fmt::Display for Incomplete {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Incomplete::SingleQuote => formatter.write_str("unterminated single quote"),
            Incomplete::DoubleQuote => formatter.write_str("unterminated double quote"),
            Incomplete::Backquote => formatter.write_str("unterminated backquote"),
            Incomplete::Brace => formatter.write_str("unterminated `${`"),
            Incomplete::Parenthesis => formatter.write_str("`(` without `)`"),
            Incomplete::Arithmetic => formatter.write_str("`$((` without `))`"),
            Incomplete::Backslash => formatter.write_str("`\\` at the end of the input"),
            Incomplete::Operator(operator) => {
                write!(formatter, "`{operator}` without a command after it")
            }
            Incomplete::Keyword(keyword) => write!(formatter, "`{keyword}` expected"),
            Incomplete::HereDocument => formatter.write_str("here-document without its end"),
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxError::Unexpected(token) => write!(formatter, "unexpected `{token}`"),
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
            SyntaxError::BadForName => formatter.write_str("bad variable name after `for`"),
            SyntaxError::TooDeep => formatter.write_str("nested too deeply"),
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

/// The reserved words.
pub const KEYWORDS: [&str; 16] = [
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for",
    "in", "{", "}", "!",
];

/// Words that end a list (the next thing is its enclosing construct's).
const CLOSERS: [&str; 8] = ["then", "else", "elif", "fi", "do", "done", "esac", "}"];

/// Special parameters written as one byte after `$`.
fn is_special(byte: u8) -> bool {
    matches!(byte, b'?' | b'$' | b'#' | b'@' | b'*' | b'!' | b'-') || byte.is_ascii_digit()
}

fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Bytes that end an unquoted word (besides blanks and newlines).
fn is_operator_byte(byte: u8) -> bool {
    matches!(byte, b'|' | b'&' | b';' | b'<' | b'>' | b'(' | b')')
}

/// How deep constructs may nest before the parser refuses (keeps the
/// recursion, and the stack, bounded whatever the input).
const MAX_DEPTH: usize = 100;

/// The redirection operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RedirectOperator {
    /// `<`
    Input,
    /// `>` (or `>|`)
    Output,
    /// `>>`
    Append,
    /// `>&`
    DuplicateOutput,
    /// `<&`
    DuplicateInput,
    /// `<<`, or `<<-` (`strip_tabs`)
    HereDocument { strip_tabs: bool },
}

impl RedirectOperator {
    fn text(self) -> &'static str {
        match self {
            RedirectOperator::Input => "<",
            RedirectOperator::Output => ">",
            RedirectOperator::Append => ">>",
            RedirectOperator::DuplicateOutput => ">&",
            RedirectOperator::DuplicateInput => "<&",
            RedirectOperator::HereDocument { strip_tabs: false } => "<<",
            RedirectOperator::HereDocument { strip_tabs: true } => "<<-",
        }
    }

    /// The descriptor redirected when no number is written.
    fn default_fd(self) -> u8 {
        match self {
            RedirectOperator::Input
            | RedirectOperator::DuplicateInput
            | RedirectOperator::HereDocument { .. } => 0,
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
    DoubleSemicolon,
    Ampersand,
    Newline,
    LeftParenthesis,
    RightParenthesis,
    End,
}

impl Token {
    /// How an error names the token.
    fn text(&self) -> &'static str {
        match self {
            Token::Word(word) => match word.as_plain_literal() {
                Some(text) => KEYWORDS
                    .iter()
                    .find(|keyword| keyword.as_bytes() == text)
                    .copied()
                    .unwrap_or("word"),
                None => "word",
            },
            Token::Redirect { operator, .. } => operator.text(),
            Token::Pipe => "|",
            Token::And => "&&",
            Token::Or => "||",
            Token::Semicolon => ";",
            Token::DoubleSemicolon => ";;",
            Token::Ampersand => "&",
            Token::Newline => "newline",
            Token::LeftParenthesis => "(",
            Token::RightParenthesis => ")",
            Token::End => "end of input",
        }
    }

    /// Whether this is the unquoted word `keyword`.
    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(word) if word.as_plain_literal() == Some(keyword.as_bytes()))
    }
}

/// Where a word's text stops, and how bytes in it are taken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// A word: ends at a blank, a newline or an operator.
    Unquoted,
    /// Inside `"…"`: ends at `"`.
    DoubleQuoted,
    /// The word of `${NAME OP WORD}`: ends at `}`; `quoted` inside `"…"`.
    Brace { quoted: bool },
    /// A here-document body or an arithmetic expression: to the end of
    /// the input, everything quoted, only `$`, `` ` `` and `\` special.
    Body,
}

/// Parses `input` (one line or many) into a [`Script`].
///
/// Return values: [`ParseError::Incomplete`] if the input stops inside a
/// construct; [`ParseError::Syntax`] if it is wrong.
pub fn parse(input: &[u8]) -> Result<Script, ParseError> {
    let mut parser = Parser::new(input, 0);
    let script = parser.list()?;
    match parser.peek()? {
        Token::End => Ok(script),
        other => Err(unexpected(other)),
    }
}

fn unexpected(token: &Token) -> ParseError {
    ParseError::Syntax(SyntaxError::Unexpected(token.text()))
}

/// The lexer and the parser in one (see the module doc).
struct Parser<'a> {
    input: &'a [u8],
    position: usize,
    /// The next token, already cut, with where it starts and ends.
    peeked: Option<(Token, usize, usize)>,
    /// Where the last token taken ended.
    last_end: usize,
    /// Here-document bodies were read after the current line: at its
    /// newline the lexer continues here.
    resume_after_bodies: Option<usize>,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a [u8], depth: usize) -> Parser<'a> {
        Parser {
            input,
            position: 0,
            peeked: None,
            last_end: 0,
            resume_after_bodies: None,
            depth,
        }
    }

    fn byte(&self) -> Option<u8> {
        self.input.get(self.position).copied()
    }

    fn byte_at(&self, offset: usize) -> Option<u8> {
        self.input.get(self.position + offset).copied()
    }

    fn deeper(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::Syntax(SyntaxError::TooDeep));
        }
        Ok(())
    }

    // ---- tokens ----

    fn peek(&mut self) -> Result<&Token, ParseError> {
        if self.peeked.is_none() {
            let (token, start) = self.cut_token()?;
            self.peeked = Some((token, start, self.position));
        }
        Ok(&self.peeked.as_ref().expect("just filled").0)
    }

    /// Where the next token starts.
    fn peek_start(&mut self) -> Result<usize, ParseError> {
        self.peek()?;
        Ok(self
            .peeked
            .as_ref()
            .map_or(self.position, |peeked| peeked.1))
    }

    fn take(&mut self) -> Result<Token, ParseError> {
        self.peek()?;
        let (token, _, end) = self.peeked.take().expect("just peeked");
        self.last_end = end;
        Ok(token)
    }

    fn skip_newlines(&mut self) -> Result<(), ParseError> {
        while *self.peek()? == Token::Newline {
            self.take()?;
        }
        Ok(())
    }

    /// Cuts the next token; returns it with where it starts.
    fn cut_token(&mut self) -> Result<(Token, usize), ParseError> {
        loop {
            let start = self.position;
            let Some(byte) = self.byte() else {
                return Ok((Token::End, start));
            };
            let (token, length) = match (byte, self.byte_at(1)) {
                (b' ' | b'\t', _) => {
                    self.position += 1;
                    continue;
                }
                (b'#', _) => {
                    while self.byte().is_some_and(|byte| byte != b'\n') {
                        self.position += 1;
                    }
                    continue;
                }
                (b'\n', _) => {
                    self.position += 1;
                    if let Some(resume) = self.resume_after_bodies.take() {
                        self.position = resume;
                    }
                    return Ok((Token::Newline, start));
                }
                (b'|', Some(b'|')) => (Token::Or, 2),
                (b'|', _) => (Token::Pipe, 1),
                (b'&', Some(b'&')) => (Token::And, 2),
                (b'&', _) => (Token::Ampersand, 1),
                (b';', Some(b';')) => (Token::DoubleSemicolon, 2),
                (b';', _) => (Token::Semicolon, 1),
                (b'(', _) => (Token::LeftParenthesis, 1),
                (b')', _) => (Token::RightParenthesis, 1),
                (b'<' | b'>', _) => return Ok((self.redirect(None), start)),
                _ => {
                    let Some(word) = self.word()? else { continue };
                    return match (self.byte(), descriptor_number(&word)) {
                        (Some(b'<' | b'>'), Some(number)) => {
                            let fd = u8::try_from(number)
                                .ok()
                                .filter(|fd| *fd < 64)
                                .ok_or(ParseError::Syntax(SyntaxError::DescriptorTooLarge))?;
                            Ok((self.redirect(Some(fd)), start))
                        }
                        _ => Ok((Token::Word(word), start)),
                    };
                }
            };
            self.position += length;
            return Ok((token, start));
        }
    }

    /// A redirection operator at the current `<` or `>`.
    fn redirect(&mut self, fd: Option<u8>) -> Token {
        let (operator, length) = match (self.byte(), self.byte_at(1), self.byte_at(2)) {
            (Some(b'<'), Some(b'<'), Some(b'-')) => {
                (RedirectOperator::HereDocument { strip_tabs: true }, 3)
            }
            (Some(b'<'), Some(b'<'), _) => {
                (RedirectOperator::HereDocument { strip_tabs: false }, 2)
            }
            (Some(b'<'), Some(b'&'), _) => (RedirectOperator::DuplicateInput, 2),
            (Some(b'<'), _, _) => (RedirectOperator::Input, 1),
            (_, Some(b'>'), _) => (RedirectOperator::Append, 2),
            (_, Some(b'&'), _) => (RedirectOperator::DuplicateOutput, 2),
            (_, Some(b'|'), _) => (RedirectOperator::Output, 2),
            _ => (RedirectOperator::Output, 1),
        };
        self.position += length;
        Token::Redirect { fd, operator }
    }

    /// One unquoted word, or `None` if only line continuations were there.
    fn word(&mut self) -> Result<Option<Word>, ParseError> {
        let mut word = WordBuilder::default();
        if self.byte() == Some(b'~')
            && self.byte_at(1).is_none_or(|next| {
                next == b'/' || is_blank(next) || next == b'\n' || is_operator_byte(next)
            })
        {
            word.parts.push(WordPart::Home);
            word.started = true;
            self.position += 1;
        }
        self.word_parts(&mut word, Context::Unquoted)?;
        Ok(word.started.then_some(Word { parts: word.parts }))
    }

    /// Reads word text in `context` until its end (not consumed).
    fn word_parts(&mut self, word: &mut WordBuilder, context: Context) -> Result<(), ParseError> {
        let quoted = match context {
            Context::Unquoted => false,
            Context::Brace { quoted } => quoted,
            Context::DoubleQuoted | Context::Body => true,
        };
        loop {
            let Some(byte) = self.byte() else {
                return match context {
                    Context::Unquoted | Context::Body => Ok(()),
                    Context::DoubleQuoted => Err(ParseError::Incomplete(Incomplete::DoubleQuote)),
                    Context::Brace { .. } => Err(ParseError::Incomplete(Incomplete::Brace)),
                };
            };
            match context {
                Context::Unquoted if is_blank(byte) || byte == b'\n' || is_operator_byte(byte) => {
                    return Ok(())
                }
                Context::DoubleQuoted if byte == b'"' => return Ok(()),
                Context::Brace { .. } if byte == b'}' => return Ok(()),
                _ => {}
            }
            match byte {
                b'\\' => {
                    let escapable = |next: u8| match context {
                        Context::Unquoted => true,
                        Context::Brace { quoted: false } => true,
                        Context::DoubleQuoted | Context::Brace { quoted: true } => {
                            matches!(next, b'$' | b'`' | b'"' | b'\\' | b'}')
                        }
                        Context::Body => matches!(next, b'$' | b'`' | b'\\'),
                    };
                    match self.byte_at(1) {
                        None if context == Context::Body => {
                            word.literal(b"\\", true);
                            self.position += 1;
                        }
                        None => return Err(ParseError::Incomplete(Incomplete::Backslash)),
                        Some(b'\n') => self.position += 2,
                        Some(next) if escapable(next) => {
                            word.literal(&[next], true);
                            self.position += 2;
                        }
                        Some(_) => {
                            word.literal(b"\\", true);
                            self.position += 1;
                        }
                    }
                }
                b'\''
                    if matches!(
                        context,
                        Context::Unquoted | Context::Brace { quoted: false }
                    ) =>
                {
                    let start = self.position + 1;
                    let Some(length) = self.input[start..].iter().position(|&b| b == b'\'') else {
                        return Err(ParseError::Incomplete(Incomplete::SingleQuote));
                    };
                    word.literal(&self.input[start..start + length], true);
                    self.position = start + length + 1;
                }
                b'"' if matches!(context, Context::Unquoted | Context::Brace { .. }) => {
                    self.position += 1;
                    let parts_before = word.parts.len();
                    self.word_parts(word, Context::DoubleQuoted)?;
                    self.position += 1;
                    // `""` is a field of its own, even empty (but `"$@"`
                    // with no arguments is none: it added a part).
                    if word.parts.len() == parts_before {
                        word.literal(b"", true);
                    }
                }
                b'$' => self.dollar(word, quoted)?,
                b'`' => self.backquote(word, quoted, context)?,
                _ => {
                    word.literal(&[byte], quoted);
                    self.position += 1;
                }
            }
        }
    }

    /// An expansion, or a plain `$`, at the current `$`.
    fn dollar(&mut self, word: &mut WordBuilder, quoted: bool) -> Result<(), ParseError> {
        let start = self.position + 1;
        match (self.byte_at(1), self.byte_at(2)) {
            (Some(b'{'), _) => {
                self.position += 2;
                self.deeper()?;
                let part = self.braced_parameter(quoted)?;
                self.depth -= 1;
                word.push(part);
            }
            (Some(b'('), Some(b'(')) => {
                let content_start = self.position + 3;
                let Some(length) = arithmetic_length(&self.input[content_start..]) else {
                    return Err(ParseError::Incomplete(Incomplete::Arithmetic));
                };
                let content = &self.input[content_start..content_start + length];
                let mut inner = Parser::new(content, self.depth + 1);
                let mut expression = WordBuilder::default();
                inner.word_parts(&mut expression, Context::Body)?;
                word.push(WordPart::Arithmetic {
                    expression: Word {
                        parts: expression.parts,
                    },
                    quoted,
                });
                self.position = content_start + length + 2;
            }
            (Some(b'('), _) => {
                self.position += 2;
                self.deeper()?;
                let content_start = self.position;
                let script = self.list()?;
                let content_end = self.peek_start()?;
                match self.take()? {
                    Token::RightParenthesis => {}
                    Token::End => return Err(ParseError::Incomplete(Incomplete::Parenthesis)),
                    other => return Err(unexpected(&other)),
                }
                self.depth -= 1;
                word.push(WordPart::CommandSubstitution {
                    script,
                    source: self.input[content_start..content_end].to_vec(),
                    quoted,
                });
            }
            (Some(special), _) if is_special(special) => {
                word.push(parameter(&[special], quoted));
                self.position += 2;
            }
            (Some(first), _) if first.is_ascii_alphabetic() || first == b'_' => {
                let length = name_length(&self.input[start..]);
                word.push(parameter(&self.input[start..start + length], quoted));
                self.position = start + length;
            }
            _ => {
                word.literal(b"$", quoted);
                self.position += 1;
            }
        }
        Ok(())
    }

    /// `${…}` after its `${`, through its `}`.
    fn braced_parameter(&mut self, quoted: bool) -> Result<WordPart, ParseError> {
        let rest = &self.input[self.position..];
        let bad = |rest: &[u8]| {
            let end = rest.iter().position(|&b| b == b'}').unwrap_or(rest.len());
            ParseError::Syntax(SyntaxError::BadSubstitution(rest[..end].to_vec()))
        };
        // `${#NAME}`: a length; `${#}` and `${#…}` otherwise are `$#`'s.
        if rest.first() == Some(&b'#') && rest.get(1).is_some_and(|&b| b != b'}') {
            let length = parameter_name_length(&rest[1..]);
            if length == 0 || rest.get(1 + length) != Some(&b'}') {
                return Err(if rest.len() <= 1 + length {
                    ParseError::Incomplete(Incomplete::Brace)
                } else {
                    bad(rest)
                });
            }
            let name = rest[1..1 + length].to_vec();
            self.position += length + 2;
            return Ok(WordPart::Parameter {
                name,
                operation: ParameterOperation::Length,
                quoted,
            });
        }
        let length = parameter_name_length(rest);
        if length == 0 {
            return Err(if rest.is_empty() {
                ParseError::Incomplete(Incomplete::Brace)
            } else {
                bad(rest)
            });
        }
        let name = rest[..length].to_vec();
        self.position += length;
        let colon = self.byte() == Some(b':');
        if colon {
            self.position += 1;
        }
        let Some(operator) = self.byte() else {
            return Err(ParseError::Incomplete(Incomplete::Brace));
        };
        let operator_text = if !colon
            && matches!(
                (operator, self.byte_at(1)),
                (b'%', Some(b'%')) | (b'#', Some(b'#'))
            ) {
            2
        } else {
            1
        };
        let valid = match operator {
            b'}' => !colon,
            b'-' | b'=' | b'?' | b'+' => true,
            b'%' | b'#' => !colon,
            _ => false,
        };
        if !valid {
            return Err(bad(
                &self.input[self.position - length - usize::from(colon)..]
            ));
        }
        self.position += 1;
        if operator == b'}' {
            return Ok(parameter(&name, quoted));
        }
        self.position += operator_text - 1;
        let mut argument = WordBuilder::default();
        // A pattern (`%`, `#`) is a pattern even inside double quotes:
        // only its own quoting makes characters literal.
        let pattern = matches!(operator, b'%' | b'#');
        self.word_parts(
            &mut argument,
            Context::Brace {
                quoted: quoted && !pattern,
            },
        )?;
        self.position += 1;
        let argument = Word {
            parts: argument.parts,
        };
        let operation = match operator {
            b'-' => ParameterOperation::Default {
                colon,
                word: argument,
            },
            b'=' => ParameterOperation::Assign {
                colon,
                word: argument,
            },
            b'?' => ParameterOperation::Error {
                colon,
                word: argument,
            },
            b'+' => ParameterOperation::Alternative {
                colon,
                word: argument,
            },
            b'%' => ParameterOperation::RemoveSuffix {
                longest: operator_text == 2,
                pattern: argument,
            },
            _ => ParameterOperation::RemovePrefix {
                longest: operator_text == 2,
                pattern: argument,
            },
        };
        Ok(WordPart::Parameter {
            name,
            operation,
            quoted,
        })
    }

    /// `` `…` ``: the text up to the next unescaped backquote, with `\$`,
    /// `` \` `` and `\\` (and `\"` inside double quotes) unescaped, parsed
    /// as a list.
    fn backquote(
        &mut self,
        word: &mut WordBuilder,
        quoted: bool,
        context: Context,
    ) -> Result<(), ParseError> {
        let mut source = Vec::new();
        let mut position = self.position + 1;
        loop {
            match (self.input.get(position), self.input.get(position + 1)) {
                (None, _) => return Err(ParseError::Incomplete(Incomplete::Backquote)),
                (Some(b'`'), _) => break,
                (Some(b'\\'), Some(&next))
                    if matches!(next, b'$' | b'`' | b'\\')
                        || (next == b'"' && context == Context::DoubleQuoted) =>
                {
                    source.push(next);
                    position += 2;
                }
                (Some(&byte), _) => {
                    source.push(byte);
                    position += 1;
                }
            }
        }
        self.position = position + 1;
        let mut inner = Parser::new(&source, self.depth + 1);
        if inner.depth > MAX_DEPTH {
            return Err(ParseError::Syntax(SyntaxError::TooDeep));
        }
        let script = inner.list()?;
        match inner.peek()? {
            Token::End => {}
            other => return Err(unexpected(other)),
        }
        word.push(WordPart::CommandSubstitution {
            script,
            source,
            quoted,
        });
        Ok(())
    }

    // ---- grammar ----

    /// Whether the next token ends the current list.
    fn at_list_end(&mut self) -> Result<bool, ParseError> {
        Ok(match self.peek()? {
            Token::End | Token::RightParenthesis | Token::DoubleSemicolon => true,
            token => CLOSERS.iter().any(|closer| token.is_keyword(closer)),
        })
    }

    /// `list`: and-or lists up to something that ends it.
    fn list(&mut self) -> Result<Script, ParseError> {
        let mut lists = Vec::new();
        loop {
            self.skip_newlines()?;
            if self.at_list_end()? {
                break;
            }
            let start = self.peek_start()?;
            let mut list = self.and_or()?;
            list.source = self.input[start..self.last_end].to_vec();
            match self.peek()? {
                Token::Semicolon | Token::Newline => {
                    self.take()?;
                }
                Token::Ampersand => {
                    self.take()?;
                    list.background = true;
                }
                _ => {
                    lists.push(list);
                    break;
                }
            }
            lists.push(list);
        }
        Ok(Script { lists })
    }

    fn and_or(&mut self) -> Result<AndOr, ParseError> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let (connector, text) = match self.peek()? {
                Token::And => (Connector::And, "&&"),
                Token::Or => (Connector::Or, "||"),
                _ => break,
            };
            self.take()?;
            self.skip_newlines()?;
            if *self.peek()? == Token::End {
                return Err(ParseError::Incomplete(Incomplete::Operator(text)));
            }
            rest.push((connector, self.pipeline()?));
        }
        Ok(AndOr {
            first,
            rest,
            background: false,
            source: Vec::new(),
        })
    }

    fn pipeline(&mut self) -> Result<Pipeline, ParseError> {
        let mut negated = false;
        while self.peek()?.is_keyword("!") {
            self.take()?;
            negated = !negated;
        }
        let mut commands = Vec::new();
        let mut sources = Vec::new();
        loop {
            let start = self.peek_start()?;
            commands.push(self.command()?);
            sources.push(self.input[start..self.last_end].to_vec());
            if *self.peek()? != Token::Pipe {
                break;
            }
            self.take()?;
            self.skip_newlines()?;
            if *self.peek()? == Token::End {
                return Err(ParseError::Incomplete(Incomplete::Operator("|")));
            }
        }
        Ok(Pipeline {
            negated,
            commands,
            sources,
        })
    }

    fn command(&mut self) -> Result<Command, ParseError> {
        self.deeper()?;
        let command = self.command_inner();
        self.depth -= 1;
        command
    }

    fn command_inner(&mut self) -> Result<Command, ParseError> {
        let compound = match self.peek()? {
            Token::LeftParenthesis => {
                self.take()?;
                let content_start = self.last_end;
                let body = self.list()?;
                let content_end = self.peek_start()?;
                self.expect(Token::RightParenthesis, Incomplete::Parenthesis)?;
                CompoundCommand::Subshell {
                    body,
                    source: self.input[content_start..content_end].to_vec(),
                }
            }
            token if token.is_keyword("{") => {
                self.take()?;
                let body = self.list()?;
                self.expect_keyword("}")?;
                CompoundCommand::Group(body)
            }
            token if token.is_keyword("if") => self.if_command()?,
            token if token.is_keyword("while") || token.is_keyword("until") => {
                let until = token.is_keyword("until");
                self.take()?;
                let condition = self.list()?;
                self.expect_keyword("do")?;
                let body = self.list()?;
                self.expect_keyword("done")?;
                CompoundCommand::Loop {
                    until,
                    condition,
                    body,
                }
            }
            token if token.is_keyword("for") => self.for_command()?,
            token if token.is_keyword("case") => self.case_command()?,
            token if CLOSERS.iter().any(|closer| token.is_keyword(closer)) => {
                return Err(unexpected(token))
            }
            _ => return self.simple_command(),
        };
        let mut redirections = Vec::new();
        while let Token::Redirect { .. } = self.peek()? {
            let Token::Redirect { fd, operator } = self.take()? else {
                unreachable!("just peeked a redirection")
            };
            redirections.push(self.redirection(fd, operator)?);
        }
        Ok(Command::Compound(compound, redirections))
    }

    /// Takes `token`, or fails: [`Incomplete`] at the end of the input.
    fn expect(&mut self, token: Token, missing: Incomplete) -> Result<(), ParseError> {
        let next = self.take()?;
        if next == token {
            Ok(())
        } else if next == Token::End {
            Err(ParseError::Incomplete(missing))
        } else {
            Err(unexpected(&next))
        }
    }

    fn expect_keyword(&mut self, keyword: &'static str) -> Result<(), ParseError> {
        let next = self.take()?;
        if next.is_keyword(keyword) {
            Ok(())
        } else if next == Token::End {
            Err(ParseError::Incomplete(Incomplete::Keyword(keyword)))
        } else {
            Err(unexpected(&next))
        }
    }

    fn if_command(&mut self) -> Result<CompoundCommand, ParseError> {
        self.take()?;
        let mut branches = Vec::new();
        let mut otherwise = None;
        loop {
            let condition = self.list()?;
            self.expect_keyword("then")?;
            let body = self.list()?;
            branches.push((condition, body));
            let next = self.take()?;
            if next.is_keyword("elif") {
                continue;
            }
            if next.is_keyword("else") {
                otherwise = Some(self.list()?);
                self.expect_keyword("fi")?;
                break;
            }
            if next.is_keyword("fi") {
                break;
            }
            if next == Token::End {
                return Err(ParseError::Incomplete(Incomplete::Keyword("fi")));
            }
            return Err(unexpected(&next));
        }
        Ok(CompoundCommand::If {
            branches,
            otherwise,
        })
    }

    fn for_command(&mut self) -> Result<CompoundCommand, ParseError> {
        self.take()?;
        let name = match self.take()? {
            Token::Word(word) => match word.as_plain_literal() {
                Some(name) if is_name(name) => name.to_vec(),
                _ => return Err(ParseError::Syntax(SyntaxError::BadForName)),
            },
            Token::End => return Err(ParseError::Incomplete(Incomplete::Keyword("do"))),
            _ => return Err(ParseError::Syntax(SyntaxError::BadForName)),
        };
        self.skip_newlines()?;
        let mut words = None;
        if self.peek()?.is_keyword("in") {
            self.take()?;
            let mut list = Vec::new();
            while let Token::Word(_) = self.peek()? {
                let Token::Word(word) = self.take()? else {
                    unreachable!("just peeked a word")
                };
                list.push(word);
            }
            words = Some(list);
            match self.take()? {
                Token::Semicolon | Token::Newline => {}
                Token::End => return Err(ParseError::Incomplete(Incomplete::Keyword("do"))),
                other => return Err(unexpected(&other)),
            }
        } else if *self.peek()? == Token::Semicolon {
            self.take()?;
        }
        self.skip_newlines()?;
        self.expect_keyword("do")?;
        let body = self.list()?;
        self.expect_keyword("done")?;
        Ok(CompoundCommand::For { name, words, body })
    }

    fn case_command(&mut self) -> Result<CompoundCommand, ParseError> {
        self.take()?;
        let word = match self.take()? {
            Token::Word(word) => word,
            Token::End => return Err(ParseError::Incomplete(Incomplete::Keyword("esac"))),
            other => return Err(unexpected(&other)),
        };
        self.skip_newlines()?;
        self.expect_keyword("in")?;
        let mut items = Vec::new();
        loop {
            self.skip_newlines()?;
            if self.peek()?.is_keyword("esac") {
                self.take()?;
                break;
            }
            if *self.peek()? == Token::LeftParenthesis {
                self.take()?;
            }
            let mut patterns = Vec::new();
            loop {
                match self.take()? {
                    Token::Word(pattern) => patterns.push(pattern),
                    Token::End => return Err(ParseError::Incomplete(Incomplete::Keyword("esac"))),
                    other => return Err(unexpected(&other)),
                }
                match self.take()? {
                    Token::Pipe => continue,
                    Token::RightParenthesis => break,
                    Token::End => return Err(ParseError::Incomplete(Incomplete::Keyword("esac"))),
                    other => return Err(unexpected(&other)),
                }
            }
            let body = self.list()?;
            items.push(CaseItem { patterns, body });
            match self.take()? {
                Token::DoubleSemicolon => {}
                token if token.is_keyword("esac") => break,
                Token::End => return Err(ParseError::Incomplete(Incomplete::Keyword("esac"))),
                other => return Err(unexpected(&other)),
            }
        }
        Ok(CompoundCommand::Case { word, items })
    }

    fn simple_command(&mut self) -> Result<Command, ParseError> {
        let start = self.peek_start()?;
        let mut command = SimpleCommand::default();
        loop {
            match self.peek()? {
                Token::Word(_) => {
                    let Token::Word(word) = self.take()? else {
                        unreachable!("just peeked a word")
                    };
                    if command.words.is_empty() && command.assignments.is_empty() {
                        if let Some(name) = word.as_plain_literal().filter(|name| is_name(name)) {
                            if *self.peek()? == Token::LeftParenthesis {
                                let name = name.to_vec();
                                return self.function_definition(name, start);
                            }
                        }
                    }
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
                Token::Redirect { .. } => {
                    let Token::Redirect { fd, operator } = self.take()? else {
                        unreachable!("just peeked a redirection")
                    };
                    command.redirections.push(self.redirection(fd, operator)?);
                }
                other => {
                    let empty = command.assignments.is_empty()
                        && command.words.is_empty()
                        && command.redirections.is_empty();
                    if empty {
                        if *other == Token::End {
                            return Err(ParseError::Syntax(SyntaxError::Unexpected(
                                "end of input",
                            )));
                        }
                        return Err(unexpected(other));
                    }
                    return Ok(Command::Simple(command));
                }
            }
        }
    }

    fn function_definition(&mut self, name: Vec<u8>, start: usize) -> Result<Command, ParseError> {
        self.take()?;
        self.expect(Token::RightParenthesis, Incomplete::Parenthesis)?;
        self.skip_newlines()?;
        if *self.peek()? == Token::End {
            return Err(ParseError::Incomplete(Incomplete::Keyword("}")));
        }
        let body = self.command()?;
        Ok(Command::Function(FunctionDefinition {
            name,
            body: Box::new(body),
            source: self.input[start..self.last_end].to_vec(),
        }))
    }

    /// The target of a redirection operator just taken.
    fn redirection(
        &mut self,
        fd: Option<u8>,
        operator: RedirectOperator,
    ) -> Result<Redirection, ParseError> {
        let target = match self.take()? {
            Token::Word(word) => word,
            _ => {
                return Err(ParseError::Syntax(match operator {
                    RedirectOperator::DuplicateInput | RedirectOperator::DuplicateOutput => {
                        SyntaxError::BadDuplicate(operator.text())
                    }
                    _ => SyntaxError::MissingTarget(operator.text()),
                }))
            }
        };
        let kind = match operator {
            RedirectOperator::Input => RedirectionKind::Input(target),
            RedirectOperator::Output => RedirectionKind::Output(target),
            RedirectOperator::Append => RedirectionKind::Append(target),
            RedirectOperator::DuplicateInput | RedirectOperator::DuplicateOutput => {
                duplicate(&target).ok_or(ParseError::Syntax(SyntaxError::BadDuplicate(
                    operator.text(),
                )))??
            }
            RedirectOperator::HereDocument { strip_tabs } => {
                RedirectionKind::HereDocument(self.here_document(&target, strip_tabs)?)
            }
        };
        Ok(Redirection {
            fd: fd.unwrap_or(operator.default_fd()),
            kind,
        })
    }

    /// Reads the body of a here-document whose delimiter is `delimiter`:
    /// the lines after the current one (or after the bodies already read
    /// for it), up to a line that is the delimiter.
    fn here_document(&mut self, delimiter: &Word, strip_tabs: bool) -> Result<Word, ParseError> {
        let mut end_text = Vec::new();
        let mut quoted = false;
        for part in &delimiter.parts {
            match part {
                WordPart::Literal { text, quoted: q } => {
                    end_text.extend_from_slice(text);
                    quoted |= *q;
                }
                // `<<$X` is unusual; the delimiter is then the text as
                // written would be, which this shell does not keep.
                _ => quoted = true,
            }
        }
        let body_start = match self.resume_after_bodies {
            Some(resume) => resume,
            None => match self.input[self.position..].iter().position(|&b| b == b'\n') {
                Some(offset) => self.position + offset + 1,
                None => return Err(ParseError::Incomplete(Incomplete::HereDocument)),
            },
        };
        let mut body = Vec::new();
        let mut line_start = body_start;
        let after = loop {
            if line_start >= self.input.len() {
                return Err(ParseError::Incomplete(Incomplete::HereDocument));
            }
            let line_end = self.input[line_start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(self.input.len(), |offset| line_start + offset);
            let mut line = &self.input[line_start..line_end];
            if strip_tabs {
                while let Some((b'\t', rest)) = line.split_first() {
                    line = rest;
                }
            }
            let next = (line_end + 1).min(self.input.len());
            if line == end_text.as_slice() {
                break next;
            }
            if line_end == self.input.len() {
                return Err(ParseError::Incomplete(Incomplete::HereDocument));
            }
            body.extend_from_slice(line);
            body.push(b'\n');
            line_start = next;
        };
        self.resume_after_bodies = Some(after);
        if quoted {
            return Ok(Word {
                parts: alloc::vec![WordPart::Literal {
                    text: body,
                    quoted: true
                }],
            });
        }
        let mut inner = Parser::new(&body, self.depth + 1);
        let mut word = WordBuilder {
            parts: Vec::new(),
            started: true,
        };
        inner.word_parts(&mut word, Context::Body)?;
        Ok(Word { parts: word.parts })
    }
}

/// `$NAME` as a part.
fn parameter(name: &[u8], quoted: bool) -> WordPart {
    WordPart::Parameter {
        name: name.to_vec(),
        operation: ParameterOperation::Value,
        quoted,
    }
}

/// Length of the name at the start of `text` (letters, digits, `_`).
fn name_length(text: &[u8]) -> usize {
    text.iter()
        .position(|byte| !(byte.is_ascii_alphanumeric() || *byte == b'_'))
        .unwrap_or(text.len())
}

/// Length of a parameter inside `${…}`: a name, digits, or one special.
fn parameter_name_length(text: &[u8]) -> usize {
    match text.first() {
        Some(first) if first.is_ascii_alphabetic() || *first == b'_' => name_length(text),
        Some(first) if first.is_ascii_digit() => text
            .iter()
            .position(|byte| !byte.is_ascii_digit())
            .unwrap_or(text.len()),
        Some(&first) if is_special(first) => 1,
        _ => 0,
    }
}

/// The length of an arithmetic expression after `$((`, up to the `))`
/// that closes it (parentheses inside nest); `None` if there is none.
fn arithmetic_length(text: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut index = 0;
    while index < text.len() {
        match text[index] {
            b'(' => depth += 1,
            b')' if depth == 0 => return (text.get(index + 1) == Some(&b')')).then_some(index),
            b')' => depth -= 1,
            _ => {}
        }
        index += 1;
    }
    None
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

    fn push(&mut self, part: WordPart) {
        self.started = true;
        self.parts.push(part);
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

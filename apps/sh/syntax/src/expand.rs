// SPDX-License-Identifier: MIT OR Apache-2.0
//! Expansion: a parsed [`Word`] becomes the fields (arguments) it stands
//! for (POSIX XCU 2.6).
//!
//! In order: `~` becomes `HOME`; parameters (`$X`, `${X:-w}` and the other
//! `${…}` forms), command substitutions (run by the caller through
//! [`Variables::substitute`], trailing newlines removed) and arithmetic
//! (`$((…))`, [`crate::arithmetic`]) are replaced by their values; the
//! values of *unquoted* expansions are split into fields at the bytes of
//! `IFS` (space, tab, newline when unset); then each field with an
//! unquoted `*`, `?` or `[` is a pattern replaced by the sorted paths it
//! matches ([`crate::pattern::glob`], reading directories through
//! [`Variables::list_directory`]), kept as written if none. Anything
//! quoted is never split nor taken as a pattern, and a word that was
//! quoted, even `""`, always makes a field. `"$@"` is one field per
//! positional argument.

use crate::arithmetic::{self, ArithmeticError, ArithmeticVariables};
use crate::ast::{ParameterOperation, Script, Word, WordPart};
use crate::pattern::{self, PatternChar};
use alloc::format;
use alloc::vec::Vec;
use core::fmt;

/// What the shell knows and does that expansion needs.
pub trait Variables {
    /// The value of variable or special parameter `name` (`?`, `$`, `!`,
    /// `#`, `-`, `0`–`9`…, `*`, `@`, or a name), `None` if unset.
    fn get(&self, name: &[u8]) -> Option<Vec<u8>>;

    /// The positional arguments `$1`, `$2`, … for `"$@"`.
    fn arguments(&self) -> Vec<Vec<u8>>;

    /// Sets a variable (`${X:=w}`, assignments in `$((…))`).
    fn set(&mut self, name: &[u8], value: Vec<u8>) {
        let _ = (name, value);
    }

    /// Runs `script` (written `source`) and returns what it printed.
    fn substitute(&mut self, script: &Script, source: &[u8]) -> Vec<u8> {
        let _ = (script, source);
        Vec::new()
    }

    /// The names in `directory`, `None` if it cannot be read.
    fn list_directory(&mut self, directory: &[u8]) -> Option<Vec<Vec<u8>>> {
        let _ = directory;
        None
    }

    /// `set -u`: expanding an unset variable is an error.
    fn unset_is_error(&self) -> bool {
        false
    }
}

/// Why a word could not be expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpansionError {
    /// `set -u` and this variable is unset.
    Unset(Vec<u8>),
    /// `${NAME?MESSAGE}` with NAME unset (or `:?` and empty).
    Message {
        /// The variable.
        name: Vec<u8>,
        /// The expanded message, or the default one.
        message: Vec<u8>,
    },
    /// `$((…))` failed.
    Arithmetic {
        /// The expression after expansion.
        expression: Vec<u8>,
        /// Why.
        error: ArithmeticError,
    },
}

impl fmt::Display for ExpansionError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpansionError::Unset(name) => {
                write!(formatter, "{}: parameter not set", crate::Text(name))
            }
            ExpansionError::Message { name, message } => {
                write!(formatter, "{}: {}", crate::Text(name), crate::Text(message))
            }
            ExpansionError::Arithmetic { expression, error } => write!(
                formatter,
                "arithmetic expression: {error}: \"{}\"",
                crate::Text(expression)
            ),
        }
    }
}

/// The bytes of `IFS` (default: space, tab, newline).
fn field_separators(variables: &dyn Variables) -> Vec<u8> {
    variables.get(b"IFS").unwrap_or_else(|| b" \t\n".to_vec())
}

/// Builds fields: `current` is the field being built, `None` before any
/// byte or quoted piece started one.
struct Fields {
    done: Vec<Vec<PatternChar>>,
    current: Option<Vec<PatternChar>>,
    /// Split unquoted expansion results (false: one field, for values).
    split: bool,
    separators: Vec<u8>,
    /// The last field was ended by IFS white space in this value.
    separated: bool,
}

impl Fields {
    fn new(split: bool, separators: Vec<u8>) -> Fields {
        Fields {
            done: Vec::new(),
            current: None,
            split,
            separators,
            separated: false,
        }
    }

    fn append(&mut self, bytes: &[u8], quoted: bool) {
        let current = self.current.get_or_insert_with(Vec::new);
        current.extend(bytes.iter().map(|&byte| PatternChar { byte, quoted }));
        self.separated = false;
    }

    fn end_field(&mut self) {
        if let Some(field) = self.current.take() {
            self.done.push(field);
        }
    }

    /// An unquoted expansion's value: IFS bytes end fields.
    fn append_split(&mut self, value: &[u8]) {
        if !self.split {
            self.append(value, false);
            return;
        }
        self.separated = false;
        for &byte in value {
            if !self.separators.contains(&byte) {
                self.current.get_or_insert_with(Vec::new).push(PatternChar {
                    byte,
                    quoted: false,
                });
                self.separated = false;
            } else if matches!(byte, b' ' | b'\t' | b'\n') {
                if self.current.is_some() {
                    self.end_field();
                    self.separated = true;
                }
            } else {
                match self.current.take() {
                    Some(field) => self.done.push(field),
                    None if !self.separated => self.done.push(Vec::new()),
                    None => {}
                }
                self.separated = false;
            }
        }
    }

    fn finish(mut self) -> Vec<Vec<PatternChar>> {
        self.end_field();
        self.done
    }
}

/// The fields `word` expands to (possibly none, e.g. an unset `$X`).
///
/// Return values: [`ExpansionError`] for `set -u`, `${X?}` and a failed
/// `$((…))`.
pub fn expand(word: &Word, variables: &mut dyn Variables) -> Result<Vec<Vec<u8>>, ExpansionError> {
    let mut fields = Fields::new(true, field_separators(variables));
    expand_parts(&word.parts, variables, &mut fields, false)?;
    let mut result = Vec::new();
    for field in fields.finish() {
        if pattern::has_wildcards(&field) {
            let matches =
                pattern::glob(&field, &mut |directory| variables.list_directory(directory));
            if !matches.is_empty() {
                result.extend(matches);
                continue;
            }
        }
        result.push(field.iter().map(|c| c.byte).collect());
    }
    Ok(result)
}

/// `word` expanded to exactly one string, nothing split or matched:
/// assignment values (`X=$Y` keeps `Y`'s blanks), `case` words,
/// here-document bodies.
///
/// Return values: as [`expand`].
pub fn expand_joined(
    word: &Word,
    variables: &mut dyn Variables,
) -> Result<Vec<u8>, ExpansionError> {
    Ok(expand_pattern(word, variables)?
        .iter()
        .map(|c| c.byte)
        .collect())
}

/// `word` expanded to one pattern: quoted bytes stay literal.
///
/// Return values: as [`expand`].
pub fn expand_pattern(
    word: &Word,
    variables: &mut dyn Variables,
) -> Result<Vec<PatternChar>, ExpansionError> {
    let mut fields = Fields::new(false, Vec::new());
    expand_parts(&word.parts, variables, &mut fields, false)?;
    let mut joined = Vec::new();
    for (index, field) in fields.finish().into_iter().enumerate() {
        if index > 0 {
            joined.push(PatternChar {
                byte: b' ',
                quoted: true,
            });
        }
        joined.extend(field);
    }
    Ok(joined)
}

/// Expands `parts` into `fields`. `split_literals`: unquoted literal
/// text is itself an expansion result (the word of an unquoted
/// `${X:-a b}`), so it is split too.
fn expand_parts(
    parts: &[WordPart],
    variables: &mut dyn Variables,
    fields: &mut Fields,
    split_literals: bool,
) -> Result<(), ExpansionError> {
    for part in parts {
        match part {
            WordPart::Literal { text, quoted } => {
                if split_literals && !quoted {
                    fields.append_split(text);
                } else {
                    fields.append(text, *quoted);
                }
            }
            WordPart::Home => {
                let home = variables.get(b"HOME").unwrap_or_default();
                fields.append(&home, true);
            }
            WordPart::Parameter {
                name,
                operation,
                quoted,
            } => parameter(name, operation, *quoted, variables, fields)?,
            WordPart::CommandSubstitution {
                script,
                source,
                quoted,
            } => {
                let mut output = variables.substitute(script, source);
                while output.last() == Some(&b'\n') {
                    output.pop();
                }
                put(fields, &output, *quoted);
            }
            WordPart::Arithmetic { expression, quoted } => {
                let text = expand_joined(expression, variables)?;
                let value =
                    arithmetic::evaluate(&text, &mut Arithmetic(variables)).map_err(|error| {
                        ExpansionError::Arithmetic {
                            expression: text.clone(),
                            error,
                        }
                    })?;
                put(fields, format!("{value}").as_bytes(), *quoted);
            }
        }
    }
    Ok(())
}

/// A value: as is when quoted, split otherwise.
fn put(fields: &mut Fields, value: &[u8], quoted: bool) {
    if quoted {
        fields.append(value, true);
    } else {
        fields.append_split(value);
    }
}

/// One `$NAME` / `${…}`.
fn parameter(
    name: &[u8],
    operation: &ParameterOperation,
    quoted: bool,
    variables: &mut dyn Variables,
    fields: &mut Fields,
) -> Result<(), ExpansionError> {
    let is_positional_list = name == b"@" || name == b"*";
    if is_positional_list && *operation == ParameterOperation::Value {
        let arguments = variables.arguments();
        if quoted && name == b"*" {
            let separators = field_separators(variables);
            let joiner: &[u8] = separators.get(..1).unwrap_or(&[]);
            fields.append(&arguments.join(joiner), true);
        } else if quoted && fields.split {
            for (index, argument) in arguments.iter().enumerate() {
                if index > 0 {
                    fields.end_field();
                }
                fields.append(argument, true);
            }
        } else {
            for (index, argument) in arguments.iter().enumerate() {
                if index > 0 {
                    if fields.split {
                        fields.end_field();
                    } else {
                        fields.append(b" ", quoted);
                    }
                }
                put(fields, argument, quoted);
            }
        }
        return Ok(());
    }
    let value = variables.get(name);
    let special = is_positional_list || !crate::is_name(name);
    let missing = |colon: bool, value: &Option<Vec<u8>>| match value {
        None => true,
        Some(text) => colon && text.is_empty(),
    };
    // `set -u`: a named variable that is unset cannot be expanded (a
    // special parameter such as `$@` can).
    let unset = value.is_none() && variables.unset_is_error();
    let unset_error = || ExpansionError::Unset(name.to_vec());
    match operation {
        ParameterOperation::Value => {
            if unset && (!special || name.iter().all(u8::is_ascii_digit)) {
                return Err(unset_error());
            }
            put(fields, &value.unwrap_or_default(), quoted);
        }
        ParameterOperation::Length => {
            if unset && !special {
                return Err(unset_error());
            }
            let length = value.map_or(0, |text| text.len());
            put(fields, format!("{length}").as_bytes(), quoted);
        }
        ParameterOperation::Default { colon, word } => {
            if missing(*colon, &value) {
                expand_parts(&word.parts, variables, fields, !quoted)?;
            } else {
                put(fields, &value.unwrap_or_default(), quoted);
            }
        }
        ParameterOperation::Assign { colon, word } => {
            if missing(*colon, &value) {
                let assigned = expand_joined(word, variables)?;
                variables.set(name, assigned.clone());
                put(fields, &assigned, quoted);
            } else {
                put(fields, &value.unwrap_or_default(), quoted);
            }
        }
        ParameterOperation::Error { colon, word } => {
            if missing(*colon, &value) {
                let mut message = expand_joined(word, variables)?;
                if message.is_empty() {
                    message = if *colon {
                        b"parameter null or not set".to_vec()
                    } else {
                        b"parameter not set".to_vec()
                    };
                }
                return Err(ExpansionError::Message {
                    name: name.to_vec(),
                    message,
                });
            }
            put(fields, &value.unwrap_or_default(), quoted);
        }
        ParameterOperation::Alternative { colon, word } => {
            if !missing(*colon, &value) {
                expand_parts(&word.parts, variables, fields, !quoted)?;
            }
        }
        ParameterOperation::RemoveSuffix { longest, pattern }
        | ParameterOperation::RemovePrefix { longest, pattern } => {
            if unset && !special {
                return Err(unset_error());
            }
            let text = value.unwrap_or_default();
            let pattern = expand_pattern(pattern, variables)?;
            let kept = if matches!(operation, ParameterOperation::RemoveSuffix { .. }) {
                pattern::remove_suffix(&text, &pattern, *longest)
            } else {
                pattern::remove_prefix(&text, &pattern, *longest)
            };
            put(fields, kept, quoted);
        }
    }
    Ok(())
}

/// The shell's variables as the arithmetic evaluator sees them.
struct Arithmetic<'a>(&'a mut dyn Variables);

impl ArithmeticVariables for Arithmetic<'_> {
    fn value(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.0.get(name)
    }

    fn assign(&mut self, name: &[u8], value: i64) {
        self.0.set(name, format!("{value}").into_bytes());
    }
}

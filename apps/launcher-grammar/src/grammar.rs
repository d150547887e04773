// SPDX-License-Identifier: MIT OR Apache-2.0
//! The argument grammar of a launched program, and its rules.
//!
//! A [`Grammar`] is built from [`GrammarParts`] (plain data) by
//! [`Grammar::new`], which checks every rule below; a `Grammar` therefore
//! always is valid, whichever way it was made (by hand, from the binary
//! form, from the manifest's TOML form). The rules keep the launcher's
//! work bounded and its decisions unambiguous:
//!
//! - an option has a short name (one ASCII letter or digit), a long name
//!   (1 to [`MAX_LONG_OPTION_BYTES`] of `[A-Za-z0-9_-]`, not starting
//!   with `-`), or both; no name is declared twice;
//! - at most [`MAX_OPTIONS`] options, [`MAX_POSITIONAL`] leading
//!   positional kinds, [`MAX_DEFAULTS`] default arguments and
//!   [`MAX_INHERIT`] inherited names;
//! - positional counts: `min <= max`, `max <= MAX_COUNT`; without a
//!   `rest` kind, `max` is at most the number of leading kinds (there is
//!   no kind for more); the default arguments, when there are any, are a
//!   count between `min` and `max`;
//! - a default argument is 1 to [`MAX_DEFAULT_BYTES`] bytes without NUL;
//! - an inherited name is a valid `/...` name (the `dotdotdot` rules) and
//!   no inherited name lies inside or equals another;
//! - a `single_dash` option (`find -name`) has a long name of at least
//!   two bytes; a `command` option (`find -exec`) is a `single_dash` one
//!   taking a `word`, and changes no operands;
//! - at most [`MAX_SWITCHES`] options change the operands ([`Operands`]:
//!   `ln -s` makes the first operand a word, `sed -e` takes away the
//!   script operand, `tar c` makes `f`'s value an output); each changes
//!   something, a value change names an option with a value (not a
//!   `command`), in increasing order, and the counts and defaults fit
//!   every combination of kinds the switches can make;
//! - at most [`MAX_OPERAND_ENDS`] `operand_ends` words, 1 to
//!   [`MAX_OPERAND_END_BYTES`] bytes without NUL, not starting with `-`,
//!   and only with `operands_first`;
//! - the binary form fits [`MAX_GRAMMAR_BYTES`].
//!
//! The inherited names are kept sorted by name, so equal grammars have
//! equal forms.

use crate::binary;
use crate::kind::{Access, Kind};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Most options in one grammar.
pub const MAX_OPTIONS: usize = 64;
/// Longest long option name (without the `--`).
pub const MAX_LONG_OPTION_BYTES: usize = 64;
/// Most leading positional kinds.
pub const MAX_POSITIONAL: usize = 32;
/// Most default arguments.
pub const MAX_DEFAULTS: usize = 16;
/// Longest default argument.
pub const MAX_DEFAULT_BYTES: usize = 1024;
/// Most inherited `/...` names.
pub const MAX_INHERIT: usize = 16;
/// Largest `min` or `max` positional count.
pub const MAX_COUNT: u16 = 1024;
/// Largest binary form of a grammar.
pub const MAX_GRAMMAR_BYTES: usize = 6144;
/// Most options that change the operands (`tar`'s modes, `-C`, `sed`'s
/// `-e`, `-f` and `-i` are five).
pub const MAX_SWITCHES: usize = 8;
/// Most words that end the operands (`find`'s `!` and `(`).
pub const MAX_OPERAND_ENDS: usize = 8;
/// Longest word that ends the operands.
pub const MAX_OPERAND_END_BYTES: usize = 16;

/// One option: `-n`, `--lines`, or both spellings of the same option.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OptionSpec {
    /// The short name (`b'n'` for `-n`): an ASCII letter or digit.
    pub short: Option<u8>,
    /// The long name (`"lines"` for `--lines`).
    pub long: Option<String>,
    /// `None` for a flag; otherwise the kind of the option's value.
    pub value: Option<Kind>,
    /// What the option changes in the operands (and in other options'
    /// values, and the current directory's access) while it is given, if
    /// anything.
    pub operands: Option<Operands>,
    /// The long name is spelled with one dash (`-name`, as `find`'s), not
    /// two.
    pub single_dash: bool,
    /// The value is a command line (`find -exec CMD ARG... ;`): every
    /// following argument up to and including `;`, or a `+` right after
    /// `{}`, each a word. Only for a `single_dash` option of kind `word`.
    pub command: bool,
}

impl OptionSpec {
    /// A flag (an option without a value).
    pub fn flag(short: Option<u8>, long: Option<&str>) -> Self {
        OptionSpec {
            short,
            long: long.map(String::from),
            value: None,
            operands: None,
            single_dash: false,
            command: false,
        }
    }

    /// An option taking a value of kind `value`.
    pub fn with_value(short: Option<u8>, long: Option<&str>, value: Kind) -> Self {
        OptionSpec {
            short,
            long: long.map(String::from),
            value: Some(value),
            operands: None,
            single_dash: false,
            command: false,
        }
    }

    /// A flag that changes the operands' kinds while it is given.
    pub fn switch(short: Option<u8>, long: Option<&str>, operands: Operands) -> Self {
        OptionSpec {
            operands: Some(operands),
            ..OptionSpec::flag(short, long)
        }
    }

    /// An option spelled `-long` (one dash), with a value of kind `value`
    /// or none.
    pub fn single_dash(long: &str, value: Option<Kind>) -> Self {
        OptionSpec {
            single_dash: true,
            value,
            ..OptionSpec::flag(None, Some(long))
        }
    }

    /// A `single_dash` option whose value is a command line up to `;` or
    /// `{} +` (`find -exec`).
    pub fn command(long: &str) -> Self {
        OptionSpec {
            command: true,
            ..OptionSpec::single_dash(long, Some(Kind::Word))
        }
    }

    /// How the option is written on a command line, for messages and the
    /// TOML form's `values` keys: `-n`, `--number`, `-name`.
    pub fn spelling(&self) -> String {
        let mut spelling = String::new();
        match (&self.long, self.short) {
            (Some(long), _) if self.single_dash => {
                spelling.push('-');
                spelling.push_str(long);
            }
            (_, Some(short)) => {
                spelling.push('-');
                spelling.push(char::from(short));
            }
            (Some(long), None) => {
                spelling.push_str("--");
                spelling.push_str(long);
            }
            (None, None) => {}
        }
        spelling
    }
}

/// What an option changes while it is given, wherever it stands on the
/// command line: `ln -s TARGET NAME` makes `TARGET` a word (a symbolic
/// link's text, never opened), `mkdir -p a/b/c` makes every operand an
/// `entry-parents`, `sed -e SCRIPT` takes away the script operand, `tar c`
/// makes `f`'s value an output, `tar x` asks for the current directory
/// read-write. What it leaves `None` (or empty) stays as the grammar says.
/// When several such options are given, they apply in the grammar's
/// order: a later one's change wins over an earlier one's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Operands {
    /// Replaces the grammar's `positional` kinds.
    pub positional: Option<Vec<Kind>>,
    /// Replaces the grammar's `rest` kind.
    pub rest: Option<Kind>,
    /// Replaces the kinds of other options' values, in increasing option
    /// order.
    pub values: Vec<ValueChange>,
    /// Hands the caller's current directory over with this access, and
    /// starts the program in it (`tar x` extracts there).
    pub directory: Option<Access>,
}

impl Operands {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.positional.is_none()
            && self.rest.is_none()
            && self.values.is_empty()
            && self.directory.is_none()
    }
}

/// A change of another option's value kind (`tar c` makes `-f`'s value an
/// `output`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValueChange {
    /// The option's index in the grammar's options.
    pub option: usize,
    /// Its value's kind while the switching option is given.
    pub kind: Kind,
}

/// The kinds of the positional arguments of one command line: the
/// grammar's, or those of the switching flag it gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout<'g> {
    /// The kinds of the first positional arguments.
    pub positional: &'g [Kind],
    /// The kind of every further one.
    pub rest: Option<Kind>,
    /// The most positional arguments (`None`: unlimited).
    pub max: Option<u16>,
}

impl Layout<'_> {
    /// The kind of positional argument number `index` (from 0), if any.
    pub fn kind(&self, index: usize) -> Option<Kind> {
        self.positional.get(index).copied().or(self.rest)
    }
}

/// An inherited `/...` name: the program always receives the caller's
/// `/.../NAME`, if the caller has it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Inherit {
    /// The name, relative to `/...` (`home`).
    pub name: Vec<u8>,
    /// How it is handed over.
    pub access: Access,
}

/// The plain data of a grammar; [`Grammar::new`] checks it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GrammarParts {
    /// The options.
    pub options: Vec<OptionSpec>,
    /// The kinds of the first positional arguments, in order.
    pub positional: Vec<Kind>,
    /// The kind of every positional argument after those; `None`: no more
    /// are allowed.
    pub rest: Option<Kind>,
    /// Fewest positional arguments (after defaults are applied).
    pub min: u16,
    /// Most positional arguments; `None`: unlimited with a `rest` kind,
    /// the number of leading kinds without.
    pub max: Option<u16>,
    /// The positional arguments used when none is given (`ls` → `.`).
    pub defaults: Vec<Vec<u8>>,
    /// The caller's `/...` names the program always receives.
    pub inherit: Vec<Inherit>,
    /// Whether options may follow positional arguments (`ls dir -l`);
    /// when `false`, the first positional argument ends the options (as
    /// POSIX `getopt` does, for programs such as a shell running a script
    /// with its own options).
    pub intermixed: bool,
    /// Whether a first argument that does not start with `-` is read as a
    /// cluster of short options, as if it did (`tar cf out.tar a`).
    pub bundled_first: bool,
    /// Whether the operands come before the options (`find PATH...
    /// EXPRESSION`): a positional argument after the first option, or
    /// from the first of `operand_ends` on, is a word of the expression,
    /// and no operand.
    pub operands_first: bool,
    /// With `operands_first`: words that end the operands as an option
    /// does (`find`'s `!` and `(`).
    pub operand_ends: Vec<Vec<u8>>,
}

impl Default for GrammarParts {
    /// No options, no positional arguments, options intermixed.
    fn default() -> Self {
        GrammarParts {
            options: Vec::new(),
            positional: Vec::new(),
            rest: None,
            min: 0,
            max: None,
            defaults: Vec::new(),
            inherit: Vec::new(),
            intermixed: true,
            bundled_first: false,
            operands_first: false,
            operand_ends: Vec::new(),
        }
    }
}

/// A checked argument grammar (see the module documentation for the
/// rules).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(try_from = "crate::description::GrammarDescription")
)]
pub struct Grammar {
    parts: GrammarParts,
}

impl Grammar {
    /// Checks `parts` against every rule.
    ///
    /// Return values:
    /// - `Ok(grammar)`;
    /// - `Err(GrammarError)` naming the first rule broken and the field.
    pub fn new(mut parts: GrammarParts) -> Result<Grammar, GrammarError> {
        validate(&parts)?;
        // Their order means nothing (they never overlap); sorted, a grammar
        // has one form, whichever list of the TOML form a name came from.
        parts.inherit.sort_by(|a, b| a.name.cmp(&b.name));
        let grammar = Grammar { parts };
        if binary::encoded_length(&grammar) > MAX_GRAMMAR_BYTES {
            return Err(GrammarError::TooLarge);
        }
        Ok(grammar)
    }

    /// The grammar of a program that takes no options and no arguments.
    pub fn empty() -> Grammar {
        Grammar {
            parts: GrammarParts::default(),
        }
    }

    /// The grammar's data.
    pub fn parts(&self) -> &GrammarParts {
        &self.parts
    }

    /// The grammar's data, by value.
    pub fn into_parts(self) -> GrammarParts {
        self.parts
    }

    /// The most positional arguments, `None` for unlimited.
    pub fn max_positional(&self) -> Option<u16> {
        self.layout(None).max
    }

    /// The kind of positional argument number `index` (from 0), if the
    /// grammar has one (without a switching flag).
    pub fn positional_kind(&self, index: usize) -> Option<Kind> {
        self.layout(None).kind(index)
    }

    /// The index of the first option that changes the operands, if any.
    pub fn switching_option(&self) -> Option<usize> {
        self.parts
            .options
            .iter()
            .position(|option| option.operands.is_some())
    }

    /// The positional kinds with `operands` applied (`None`: the
    /// grammar's own).
    pub fn layout<'g>(&'g self, operands: Option<&'g Operands>) -> Layout<'g> {
        layout(
            &self.parts,
            operands.and_then(|operands| operands.positional.as_ref()),
            operands.and_then(|operands| operands.rest),
        )
    }

    /// The positional kinds while the options whose indices `given`
    /// yields are given (each applied in the grammar's order; a later
    /// change wins).
    pub fn layout_given(&self, given: impl Fn(usize) -> bool) -> Layout<'_> {
        let mut positional = None;
        let mut rest = None;
        for (index, option) in self.parts.options.iter().enumerate() {
            if let (Some(operands), true) = (&option.operands, given(index)) {
                positional = operands.positional.as_ref().or(positional);
                rest = operands.rest.or(rest);
            }
        }
        layout(&self.parts, positional, rest)
    }

    /// The option spelled `-short`.
    pub fn short_option(&self, short: u8) -> Option<&OptionSpec> {
        self.short_option_index(short)
            .and_then(|index| self.parts.options.get(index))
    }

    /// The index of the option spelled `-short`.
    pub fn short_option_index(&self, short: u8) -> Option<usize> {
        self.parts
            .options
            .iter()
            .position(|option| option.short == Some(short))
    }

    /// The option spelled `--long` (not one spelled with one dash).
    pub fn long_option(&self, long: &[u8]) -> Option<&OptionSpec> {
        self.long_option_index(long, false)
            .and_then(|index| self.parts.options.get(index))
    }

    /// The index of the option spelled `--long` (`single_dash` false) or
    /// `-long` (`single_dash` true).
    pub fn long_option_index(&self, long: &[u8], single_dash: bool) -> Option<usize> {
        self.parts.options.iter().position(|option| {
            option.single_dash == single_dash
                && option.long.as_deref().map(str::as_bytes) == Some(long)
        })
    }
}

fn layout<'g>(
    parts: &'g GrammarParts,
    positional: Option<&'g Vec<Kind>>,
    rest: Option<Kind>,
) -> Layout<'g> {
    let positional = positional.map_or(&parts.positional[..], |kinds| &kinds[..]);
    let rest = rest.or(parts.rest);
    let max = match (parts.max, rest) {
        (Some(max), _) => Some(max),
        (None, Some(_)) => None,
        // Bounded by MAX_POSITIONAL once validated; saturate before that.
        (None, None) => Some(u16::try_from(positional.len()).unwrap_or(u16::MAX)),
    };
    Layout {
        positional,
        rest,
        max,
    }
}

/// Checks the counts and defaults of `parts` against one layout.
fn validate_layout(parts: &GrammarParts, layout: &Layout<'_>) -> Result<(), LayoutProblem> {
    if layout.positional.len() > MAX_POSITIONAL {
        return Err(LayoutProblem::TooManyKinds);
    }
    if let Some(max) = parts.max {
        if layout.rest.is_none() && usize::from(max) > layout.positional.len() {
            return Err(LayoutProblem::MaxWithoutRest);
        }
    }
    if layout.max.is_some_and(|max| parts.min > max) {
        return Err(LayoutProblem::MinAboveMax);
    }
    if !parts.defaults.is_empty() {
        let count = parts.defaults.len();
        if count < usize::from(parts.min) || layout.max.is_some_and(|max| count > usize::from(max))
        {
            return Err(LayoutProblem::DefaultCount);
        }
    }
    Ok(())
}

/// What is wrong with the positional kinds of one layout.
enum LayoutProblem {
    TooManyKinds,
    MaxWithoutRest,
    MinAboveMax,
    DefaultCount,
}

/// Whether `short` may name an option.
pub fn valid_short(short: u8) -> bool {
    short.is_ascii_alphanumeric()
}

/// Whether `long` may name an option (without its `--`).
pub fn valid_long(long: &[u8]) -> bool {
    !long.is_empty()
        && long.len() <= MAX_LONG_OPTION_BYTES
        && long[0] != b'-'
        && long
            .iter()
            .all(|&byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// Whether `inner` equals `outer` or lies below it, component-wise
/// (`home/alice` is inside `home`; `homeward` is not).
pub(crate) fn is_inside(inner: &[u8], outer: &[u8]) -> bool {
    match inner.strip_prefix(outer) {
        Some(rest) => rest.is_empty() || rest[0] == b'/',
        None => false,
    }
}

fn validate(parts: &GrammarParts) -> Result<(), GrammarError> {
    if parts.options.len() > MAX_OPTIONS {
        return Err(GrammarError::TooMany(Field::Options));
    }
    for (index, option) in parts.options.iter().enumerate() {
        if option.short.is_none() && option.long.is_none() {
            return Err(GrammarError::OptionWithoutName { index });
        }
        if let Some(short) = option.short {
            if !valid_short(short) {
                return Err(GrammarError::InvalidShortOption { index });
            }
            if parts.options[..index]
                .iter()
                .any(|other| other.short == Some(short))
            {
                return Err(GrammarError::DuplicateOption { index });
            }
        }
        if let Some(long) = &option.long {
            if !valid_long(long.as_bytes()) {
                return Err(GrammarError::InvalidLongOption { index });
            }
            if parts.options[..index]
                .iter()
                .any(|other| other.long.as_ref() == Some(long))
            {
                return Err(GrammarError::DuplicateOption { index });
            }
        }
        if option.single_dash && option.long.as_ref().is_none_or(|long| long.len() < 2) {
            return Err(GrammarError::InvalidSingleDash { index });
        }
        if option.command
            && (!option.single_dash
                || option.value != Some(Kind::Word)
                || option.operands.is_some())
        {
            return Err(GrammarError::InvalidCommand { index });
        }
    }
    if parts.max.is_some_and(|max| max > MAX_COUNT) || parts.min > MAX_COUNT {
        return Err(GrammarError::CountTooLarge);
    }
    if parts.defaults.len() > MAX_DEFAULTS {
        return Err(GrammarError::TooMany(Field::Default));
    }
    for (index, default) in parts.defaults.iter().enumerate() {
        if default.is_empty() || default.len() > MAX_DEFAULT_BYTES || default.contains(&0) {
            return Err(GrammarError::InvalidDefault { index });
        }
    }
    validate_layout(parts, &layout(parts, None, None)).map_err(|problem| match problem {
        LayoutProblem::TooManyKinds => GrammarError::TooMany(Field::Positional),
        LayoutProblem::MaxWithoutRest => GrammarError::MaxWithoutRest,
        LayoutProblem::MinAboveMax => GrammarError::MinAboveMax,
        LayoutProblem::DefaultCount => GrammarError::DefaultCount,
    })?;
    let mut switches = 0;
    for (index, option) in parts.options.iter().enumerate() {
        let Some(operands) = &option.operands else {
            continue;
        };
        switches += 1;
        let problem = if switches > MAX_SWITCHES {
            Some(OperandsProblem::TooManySwitches)
        } else if operands.is_empty() {
            Some(OperandsProblem::Empty)
        } else if !values_valid(parts, &operands.values) {
            Some(OperandsProblem::BadValue)
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(GrammarError::InvalidOperands { index, problem });
        }
    }
    // Every combination of the switches' positional kinds and rest kinds
    // (at most 9 × 9) must fit the counts and defaults: whichever options
    // are given, the line's layout is one of them.
    let sources = |pick: fn(&Operands) -> bool| {
        core::iter::once(None).chain(
            parts
                .options
                .iter()
                .enumerate()
                .filter(move |(_, option)| option.operands.as_ref().is_some_and(pick))
                .map(|(index, _)| Some(index)),
        )
    };
    for positional_source in sources(|operands| operands.positional.is_some()) {
        for rest_source in sources(|operands| operands.rest.is_some()) {
            let operands_of = |source: Option<usize>| {
                source
                    .and_then(|index| parts.options.get(index))
                    .and_then(|option| option.operands.as_ref())
            };
            let positional =
                operands_of(positional_source).and_then(|operands| operands.positional.as_ref());
            let rest = operands_of(rest_source).and_then(|operands| operands.rest);
            let Some(index) = positional_source.max(rest_source) else {
                continue;
            };
            if let Err(problem) = validate_layout(parts, &layout(parts, positional, rest)) {
                let problem = match problem {
                    LayoutProblem::TooManyKinds => OperandsProblem::TooManyKinds,
                    LayoutProblem::MaxWithoutRest => OperandsProblem::MaxWithoutRest,
                    LayoutProblem::MinAboveMax => OperandsProblem::MinAboveMax,
                    LayoutProblem::DefaultCount => OperandsProblem::DefaultCount,
                };
                return Err(GrammarError::InvalidOperands { index, problem });
            }
        }
    }
    if parts.operand_ends.len() > MAX_OPERAND_ENDS {
        return Err(GrammarError::TooMany(Field::OperandEnds));
    }
    for (index, word) in parts.operand_ends.iter().enumerate() {
        if !parts.operands_first
            || word.is_empty()
            || word.len() > MAX_OPERAND_END_BYTES
            || word.contains(&0)
            || word[0] == b'-'
        {
            return Err(GrammarError::InvalidOperandEnd { index });
        }
    }
    if parts.inherit.len() > MAX_INHERIT {
        return Err(GrammarError::TooMany(Field::Inherit));
    }
    for (index, inherit) in parts.inherit.iter().enumerate() {
        if dotdotdot::validate_name(&inherit.name).is_err() {
            return Err(GrammarError::InvalidInherit { index });
        }
        if parts.inherit[..index].iter().any(|other| {
            is_inside(&inherit.name, &other.name) || is_inside(&other.name, &inherit.name)
        }) {
            return Err(GrammarError::OverlappingInherit { index });
        }
    }
    Ok(())
}

/// Whether `values` name options with a value (not `command` ones), in
/// increasing order.
fn values_valid(parts: &GrammarParts, values: &[ValueChange]) -> bool {
    values.iter().enumerate().all(|(position, change)| {
        parts
            .options
            .get(change.option)
            .is_some_and(|option| option.value.is_some() && !option.command)
            && (position == 0 || values[position - 1].option < change.option)
    })
}

/// A list of the grammar, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `options`.
    Options,
    /// `positional`.
    Positional,
    /// `default`.
    Default,
    /// `inherit` (and `inherit-rw`).
    Inherit,
    /// `operand-ends`.
    OperandEnds,
}

impl fmt::Display for Field {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Field::Options => "options",
            Field::Positional => "positional",
            Field::Default => "default",
            Field::Inherit => "inherit",
            Field::OperandEnds => "operand-ends",
        })
    }
}

/// What is wrong with an option's `operands`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperandsProblem {
    /// More than [`MAX_SWITCHES`] options change the operands.
    TooManySwitches,
    /// Nothing is changed.
    Empty,
    /// A value change names no option, a flag, a `command` option, or is
    /// out of order.
    BadValue,
    /// More than [`MAX_POSITIONAL`] kinds.
    TooManyKinds,
    /// `max` allows more arguments than the kinds cover, without `rest`.
    MaxWithoutRest,
    /// `min` is above the most arguments the kinds allow.
    MinAboveMax,
    /// The number of defaults does not fit the kinds.
    DefaultCount,
}

impl fmt::Display for OperandsProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OperandsProblem::TooManySwitches => write!(
                formatter,
                "more than {MAX_SWITCHES} options change the operands"
            ),
            OperandsProblem::Empty => write!(
                formatter,
                "neither `positional`, `rest`, `values` nor `directory`"
            ),
            OperandsProblem::BadValue => write!(
                formatter,
                "values: names no option with a value (or a `command` one), or twice"
            ),
            OperandsProblem::TooManyKinds => {
                write!(formatter, "positional: more than {MAX_POSITIONAL} entries")
            }
            OperandsProblem::MaxWithoutRest => write!(
                formatter,
                "`max` allows more positional arguments than these kinds, and no `rest`"
            ),
            OperandsProblem::MinAboveMax => {
                write!(
                    formatter,
                    "`min` is above the most arguments these kinds allow"
                )
            }
            OperandsProblem::DefaultCount => {
                write!(formatter, "the number of defaults does not fit these kinds")
            }
        }
    }
}

/// Why a grammar, or its binary form, is refused. Each message names the
/// field of the TOML form at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrammarError {
    /// A list is longer than its limit.
    TooMany(Field),
    /// `options[index]` has neither `short` nor `long`.
    OptionWithoutName {
        /// Which option.
        index: usize,
    },
    /// `options[index].short` is not one ASCII letter or digit.
    InvalidShortOption {
        /// Which option.
        index: usize,
    },
    /// `options[index].long` is not 1–64 bytes of `[A-Za-z0-9_-]` not
    /// starting with `-`.
    InvalidLongOption {
        /// Which option.
        index: usize,
    },
    /// `options[index]` repeats a name an earlier option has.
    DuplicateOption {
        /// Which option.
        index: usize,
    },
    /// `options[index].single-dash` without a long name of two bytes or
    /// more.
    InvalidSingleDash {
        /// Which option.
        index: usize,
    },
    /// `options[index].command` on an option that is not `single-dash`,
    /// takes no `word` or changes the operands.
    InvalidCommand {
        /// Which option.
        index: usize,
    },
    /// `operand-ends[index]` is empty, too long, holds NUL, starts with
    /// `-`, or the grammar is not `operands-first`.
    InvalidOperandEnd {
        /// Which word.
        index: usize,
    },
    /// `options[index].operands` is refused.
    InvalidOperands {
        /// Which option.
        index: usize,
        /// What is wrong.
        problem: OperandsProblem,
    },
    /// `min` or `max` is above [`MAX_COUNT`].
    CountTooLarge,
    /// `max` allows more positional arguments than `positional` has kinds,
    /// and there is no `rest` kind.
    MaxWithoutRest,
    /// `min` is above the most positional arguments allowed.
    MinAboveMax,
    /// `default[index]` is empty, too long or holds a NUL byte.
    InvalidDefault {
        /// Which default.
        index: usize,
    },
    /// The number of defaults is outside `min..=max`.
    DefaultCount,
    /// `inherit[index]` is not a valid `/...` name.
    InvalidInherit {
        /// Which name (counting `inherit` then `inherit-rw`).
        index: usize,
    },
    /// `inherit[index]` equals, contains or lies inside an earlier name.
    OverlappingInherit {
        /// Which name (counting `inherit` then `inherit-rw`).
        index: usize,
    },
    /// The binary form would exceed [`MAX_GRAMMAR_BYTES`].
    TooLarge,
    /// Binary form: it ends early.
    Truncated,
    /// Binary form: bytes are left after the grammar.
    TrailingBytes,
    /// Binary form: a version this crate does not read.
    UnsupportedVersion(u8),
    /// Binary form: a byte that is no kind, access or flag.
    BadCode(u8),
    /// Binary form: the inherited names are not sorted (a grammar has
    /// exactly one binary form).
    NotCanonical,
    /// TOML form: a short option that is not one character, or a name or
    /// default that is not UTF-8 when written out.
    NotText,
}

impl fmt::Display for GrammarError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrammarError::TooMany(field) => {
                let limit = match field {
                    Field::Options => MAX_OPTIONS,
                    Field::Positional => MAX_POSITIONAL,
                    Field::Default => MAX_DEFAULTS,
                    Field::Inherit => MAX_INHERIT,
                    Field::OperandEnds => MAX_OPERAND_ENDS,
                };
                write!(formatter, "{field}: more than {limit} entries")
            }
            GrammarError::OptionWithoutName { index } => {
                write!(formatter, "options[{index}]: neither `short` nor `long`")
            }
            GrammarError::InvalidShortOption { index } => write!(
                formatter,
                "options[{index}].short: not one ASCII letter or digit"
            ),
            GrammarError::InvalidLongOption { index } => write!(
                formatter,
                "options[{index}].long: not 1 to {MAX_LONG_OPTION_BYTES} of [A-Za-z0-9_-] without a leading `-`"
            ),
            GrammarError::DuplicateOption { index } => write!(
                formatter,
                "options[{index}]: a name an earlier option already has"
            ),
            GrammarError::InvalidSingleDash { index } => write!(
                formatter,
                "options[{index}].single-dash: needs a `long` name of two bytes or more"
            ),
            GrammarError::InvalidCommand { index } => write!(
                formatter,
                "options[{index}].command: only for a `single-dash` option with `value = \"word\"` and no `operands`"
            ),
            GrammarError::InvalidOperandEnd { index } => write!(
                formatter,
                "operand-ends[{index}]: not 1 to {MAX_OPERAND_END_BYTES} bytes without NUL and a leading `-`, or not `operands-first`"
            ),
            GrammarError::InvalidOperands { index, problem } => {
                write!(formatter, "options[{index}].operands: {problem}")
            }
            GrammarError::CountTooLarge => {
                write!(formatter, "min/max: above {MAX_COUNT}")
            }
            GrammarError::MaxWithoutRest => write!(
                formatter,
                "max: more positional arguments than `positional` has kinds, and no `rest`"
            ),
            GrammarError::MinAboveMax => {
                write!(formatter, "min: above the most positional arguments allowed")
            }
            GrammarError::InvalidDefault { index } => write!(
                formatter,
                "default[{index}]: empty, longer than {MAX_DEFAULT_BYTES} bytes or holding NUL"
            ),
            GrammarError::DefaultCount => {
                write!(formatter, "default: the number of defaults is outside min..max")
            }
            GrammarError::InvalidInherit { index } => {
                write!(formatter, "inherit[{index}]: not a valid `/...` name")
            }
            GrammarError::OverlappingInherit { index } => write!(
                formatter,
                "inherit[{index}]: equals, contains or lies inside an earlier inherited name"
            ),
            GrammarError::TooLarge => write!(
                formatter,
                "the grammar's binary form is larger than {MAX_GRAMMAR_BYTES} bytes"
            ),
            GrammarError::Truncated => write!(formatter, "binary grammar: truncated"),
            GrammarError::TrailingBytes => {
                write!(formatter, "binary grammar: bytes after the end")
            }
            GrammarError::UnsupportedVersion(version) => {
                write!(formatter, "binary grammar: unsupported version {version}")
            }
            GrammarError::BadCode(code) => {
                write!(formatter, "binary grammar: bad code {code}")
            }
            GrammarError::NotCanonical => {
                write!(formatter, "binary grammar: inherited names out of order")
            }
            GrammarError::NotText => write!(
                formatter,
                "a short option is not one character, or a name is not UTF-8"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for GrammarError {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn inherit(name: &str) -> Inherit {
        Inherit {
            name: name.as_bytes().to_vec(),
            access: Access::ReadOnly,
        }
    }

    #[test]
    fn a_usual_grammar_is_accepted() {
        let grammar = Grammar::new(GrammarParts {
            options: vec![
                OptionSpec::flag(Some(b'n'), Some("number")),
                OptionSpec::with_value(Some(b'o'), None, Kind::Output),
            ],
            rest: Some(Kind::Input),
            defaults: vec![b"-".to_vec()],
            inherit: vec![inherit("home")],
            ..GrammarParts::default()
        })
        .unwrap();
        assert_eq!(grammar.max_positional(), None);
        assert_eq!(grammar.positional_kind(7), Some(Kind::Input));
        assert_eq!(
            grammar.short_option(b'o').unwrap().value,
            Some(Kind::Output)
        );
        assert_eq!(grammar.long_option(b"number").unwrap().short, Some(b'n'));
        assert!(grammar.long_option(b"numbe").is_none());
    }

    #[test]
    fn each_rule_is_enforced() {
        let bad = |parts: GrammarParts| Grammar::new(parts).unwrap_err();
        let options = |options: Vec<OptionSpec>| GrammarParts {
            options,
            ..GrammarParts::default()
        };
        assert_eq!(
            bad(options(vec![OptionSpec::flag(None, None)])),
            GrammarError::OptionWithoutName { index: 0 }
        );
        for short in [b'-', b' ', 0, 0xff] {
            assert_eq!(
                bad(options(vec![OptionSpec::flag(Some(short), None)])),
                GrammarError::InvalidShortOption { index: 0 }
            );
        }
        for long in ["", "-x", "a=b", "a b", &"x".repeat(65)] {
            assert_eq!(
                bad(options(vec![OptionSpec::flag(None, Some(long))])),
                GrammarError::InvalidLongOption { index: 0 }
            );
        }
        assert_eq!(
            bad(options(vec![
                OptionSpec::flag(Some(b'a'), Some("all")),
                OptionSpec::flag(None, Some("all")),
            ])),
            GrammarError::DuplicateOption { index: 1 }
        );
        assert_eq!(
            bad(options(vec![
                OptionSpec::flag(Some(b'a'), None),
                OptionSpec::flag(Some(b'a'), Some("again")),
            ])),
            GrammarError::DuplicateOption { index: 1 }
        );
        assert_eq!(
            bad(GrammarParts {
                positional: vec![Kind::Input],
                max: Some(2),
                ..GrammarParts::default()
            }),
            GrammarError::MaxWithoutRest
        );
        assert_eq!(
            bad(GrammarParts {
                positional: vec![Kind::Input],
                min: 2,
                ..GrammarParts::default()
            }),
            GrammarError::MinAboveMax
        );
        assert_eq!(
            bad(GrammarParts {
                rest: Some(Kind::Word),
                max: Some(MAX_COUNT + 1),
                ..GrammarParts::default()
            }),
            GrammarError::CountTooLarge
        );
        assert_eq!(
            bad(GrammarParts {
                rest: Some(Kind::Dir),
                defaults: vec![b"a\0".to_vec()],
                ..GrammarParts::default()
            }),
            GrammarError::InvalidDefault { index: 0 }
        );
        assert_eq!(
            bad(GrammarParts {
                positional: vec![Kind::Dir],
                defaults: vec![b"a".to_vec(), b"b".to_vec()],
                ..GrammarParts::default()
            }),
            GrammarError::DefaultCount
        );
        assert_eq!(
            bad(GrammarParts {
                inherit: vec![inherit("home/../etc")],
                ..GrammarParts::default()
            }),
            GrammarError::InvalidInherit { index: 0 }
        );
        assert_eq!(
            bad(GrammarParts {
                inherit: vec![inherit("home"), inherit("home/alice")],
                ..GrammarParts::default()
            }),
            GrammarError::OverlappingInherit { index: 1 }
        );
        // `homeward` is not inside `home`.
        Grammar::new(GrammarParts {
            inherit: vec![inherit("home"), inherit("homeward")],
            ..GrammarParts::default()
        })
        .unwrap();
    }

    #[test]
    fn the_rules_of_the_extensions_are_enforced() {
        let bad = |options: Vec<OptionSpec>, parts: GrammarParts| {
            Grammar::new(GrammarParts { options, ..parts }).unwrap_err()
        };
        let plain = GrammarParts::default;
        // `-n` is a short option, not a one-letter single-dash one.
        assert_eq!(
            bad(vec![OptionSpec::single_dash("n", None)], plain()),
            GrammarError::InvalidSingleDash { index: 0 }
        );
        assert_eq!(
            bad(
                vec![OptionSpec {
                    single_dash: true,
                    ..OptionSpec::flag(Some(b'n'), None)
                }],
                plain()
            ),
            GrammarError::InvalidSingleDash { index: 0 }
        );
        // A command is a single-dash word that changes nothing.
        for option in [
            OptionSpec {
                command: true,
                ..OptionSpec::with_value(None, Some("exec"), Kind::Word)
            },
            OptionSpec {
                command: true,
                ..OptionSpec::single_dash("exec", Some(Kind::Input))
            },
            OptionSpec {
                operands: Some(Operands {
                    rest: Some(Kind::Word),
                    ..Operands::default()
                }),
                ..OptionSpec::command("exec")
            },
        ] {
            assert_eq!(
                bad(vec![option], plain()),
                GrammarError::InvalidCommand { index: 0 }
            );
        }
        // A value change names an option with a value, once, in order.
        let change = |option, kind| ValueChange { option, kind };
        let switch = |values: Vec<ValueChange>| {
            OptionSpec::switch(
                Some(b'c'),
                None,
                Operands {
                    values,
                    ..Operands::default()
                },
            )
        };
        let targets = || {
            vec![
                OptionSpec::with_value(Some(b'f'), None, Kind::Word),
                OptionSpec::flag(Some(b'v'), None),
                OptionSpec::command("exec"),
            ]
        };
        for values in [
            vec![change(9, Kind::Input)],
            vec![change(2, Kind::Input)],
            vec![change(3, Kind::Input)],
            vec![change(1, Kind::Input), change(1, Kind::Output)],
        ] {
            let mut options = vec![switch(values)];
            options.extend(targets());
            assert_eq!(
                bad(options, plain()),
                GrammarError::InvalidOperands {
                    index: 0,
                    problem: OperandsProblem::BadValue
                }
            );
        }
        let mut options = vec![switch(vec![change(1, Kind::Output)])];
        options.extend(targets());
        Grammar::new(GrammarParts { options, ..plain() }).unwrap();
        // An empty change, and too many switches.
        assert_eq!(
            bad(vec![switch(vec![])], plain()),
            GrammarError::InvalidOperands {
                index: 0,
                problem: OperandsProblem::Empty
            }
        );
        let many: Vec<OptionSpec> = (0..=MAX_SWITCHES)
            .map(|index| OptionSpec {
                short: Some(b'a' + index as u8),
                ..switch(vec![])
            })
            .map(|option| OptionSpec {
                operands: Some(Operands {
                    directory: Some(Access::ReadOnly),
                    ..Operands::default()
                }),
                ..option
            })
            .collect();
        assert_eq!(
            bad(many, plain()),
            GrammarError::InvalidOperands {
                index: MAX_SWITCHES,
                problem: OperandsProblem::TooManySwitches
            }
        );
        // Every combination of the switches' kinds fits the counts: one
        // switch takes the leading kinds away, another bounds the rest.
        let take = OptionSpec::switch(
            Some(b'e'),
            None,
            Operands {
                positional: Some(vec![]),
                ..Operands::default()
            },
        );
        assert_eq!(
            bad(
                vec![take],
                GrammarParts {
                    positional: vec![Kind::Word],
                    min: 1,
                    ..plain()
                }
            ),
            GrammarError::InvalidOperands {
                index: 0,
                problem: OperandsProblem::MinAboveMax
            }
        );
        // Operand ends: only with operands-first, plain words.
        for (first, word) in [
            (false, &b"!"[..]),
            (true, b""),
            (true, b"-x"),
            (true, b"a\0"),
            (true, &[b'x'; MAX_OPERAND_END_BYTES + 1]),
        ] {
            assert_eq!(
                bad(
                    vec![],
                    GrammarParts {
                        operands_first: first,
                        operand_ends: vec![word.to_vec()],
                        ..plain()
                    }
                ),
                GrammarError::InvalidOperandEnd { index: 0 }
            );
        }
        assert_eq!(
            bad(
                vec![],
                GrammarParts {
                    operands_first: true,
                    operand_ends: vec![b"!".to_vec(); MAX_OPERAND_ENDS + 1],
                    ..plain()
                }
            ),
            GrammarError::TooMany(Field::OperandEnds)
        );
    }

    #[test]
    fn limits_are_enforced() {
        let many: Vec<OptionSpec> = (0..=MAX_OPTIONS)
            .map(|index| OptionSpec::flag(None, Some(&alloc::format!("o{index}"))))
            .collect();
        assert_eq!(
            Grammar::new(GrammarParts {
                options: many,
                ..GrammarParts::default()
            }),
            Err(GrammarError::TooMany(Field::Options))
        );
        // Within every per-field limit, but too large as a whole.
        let defaults = vec![vec![b'x'; MAX_DEFAULT_BYTES]; MAX_DEFAULTS];
        assert_eq!(
            Grammar::new(GrammarParts {
                rest: Some(Kind::Word),
                defaults,
                ..GrammarParts::default()
            }),
            Err(GrammarError::TooLarge)
        );
    }

    #[test]
    fn messages_name_the_field() {
        let text = alloc::format!("{}", GrammarError::InvalidLongOption { index: 3 });
        assert!(text.starts_with("options[3].long"), "{text}");
        let text = alloc::format!("{}", GrammarError::TooMany(Field::Inherit));
        assert!(text.starts_with("inherit:"), "{text}");
    }
}

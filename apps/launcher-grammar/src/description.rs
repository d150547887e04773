// SPDX-License-Identifier: MIT OR Apache-2.0
//! The TOML-friendly form of a grammar, for the manifest (feature `serde`).
//!
//! [`GrammarDescription`] mirrors the `[package.grammar]` table field by
//! field (see the crate README); [`Grammar`] deserializes through it and
//! is checked by [`Grammar::new`], so a manifest can only ever produce a
//! valid grammar, and unknown fields are refused.

use crate::grammar::{
    Grammar, GrammarError, GrammarParts, Inherit, Operands, OperandsProblem, OptionSpec,
    ValueChange,
};
use crate::kind::{Access, Kind};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// An option's `value` field: `none` for a flag, else the value's kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueDescription {
    /// A flag (the default).
    #[default]
    None,
    /// A file read.
    Input,
    /// A file created or truncated.
    Output,
    /// A directory, read-only.
    Dir,
    /// A directory, read-write.
    DirRw,
    /// A name whose parent directory is exposed read-write.
    Entry,
    /// Not a file.
    Word,
    /// A name whose deepest existing directory is exposed read-write.
    EntryParents,
    /// An existing file rewritten in place: its directory is exposed
    /// read-write.
    Update,
}

impl ValueDescription {
    fn kind(self) -> Option<Kind> {
        match self {
            ValueDescription::None => None,
            ValueDescription::Input => Some(Kind::Input),
            ValueDescription::Output => Some(Kind::Output),
            ValueDescription::Dir => Some(Kind::Dir),
            ValueDescription::DirRw => Some(Kind::DirRw),
            ValueDescription::Entry => Some(Kind::Entry),
            ValueDescription::Word => Some(Kind::Word),
            ValueDescription::EntryParents => Some(Kind::EntryParents),
            ValueDescription::Update => Some(Kind::Update),
        }
    }

    fn from_kind(kind: Option<Kind>) -> Self {
        match kind {
            None => ValueDescription::None,
            Some(Kind::Input) => ValueDescription::Input,
            Some(Kind::Output) => ValueDescription::Output,
            Some(Kind::Dir) => ValueDescription::Dir,
            Some(Kind::DirRw) => ValueDescription::DirRw,
            Some(Kind::Entry) => ValueDescription::Entry,
            Some(Kind::Word) => ValueDescription::Word,
            Some(Kind::EntryParents) => ValueDescription::EntryParents,
            Some(Kind::Update) => ValueDescription::Update,
        }
    }
}

/// One entry of `options`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OptionDescription {
    /// `short = "n"`: one ASCII letter or digit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
    /// `long = "number"`, without the `--`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long: Option<String>,
    /// `value = "none"` (a flag, the default) or a kind.
    #[serde(default)]
    pub value: ValueDescription,
    /// `operands = { positional = [...], rest = "...", values = {...},
    /// directory = "..." }`: what changes while the option is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operands: Option<OperandsDescription>,
    /// `single-dash = true`: the long name is spelled `-name`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub single_dash: bool,
    /// `command = true`: the value is a command line up to `;` or `{} +`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub command: bool,
}

/// An option's `operands` table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperandsDescription {
    /// Replaces the grammar's `positional`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positional: Option<Vec<Kind>>,
    /// Replaces the grammar's `rest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest: Option<Kind>,
    /// Replaces other options' value kinds: keyed by the option as it is
    /// written (`"-f"`, `"--file"`, `"-newer"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, Kind>,
    /// Hands the current directory over: `"read-only"` or `"read-write"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectoryDescription>,
}

/// An `operands.directory` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DirectoryDescription {
    /// Read-only.
    ReadOnly,
    /// Read-write.
    ReadWrite,
}

impl DirectoryDescription {
    fn access(self) -> Access {
        match self {
            DirectoryDescription::ReadOnly => Access::ReadOnly,
            DirectoryDescription::ReadWrite => Access::ReadWrite,
        }
    }

    fn from_access(access: Access) -> Self {
        match access {
            Access::ReadOnly => DirectoryDescription::ReadOnly,
            Access::ReadWrite => DirectoryDescription::ReadWrite,
        }
    }
}

/// The index of the option written `spelling` (`-f`: short; `--file`:
/// long; `-name`: single-dash long).
fn option_by_spelling(options: &[OptionSpec], spelling: &str) -> Option<usize> {
    let bytes = spelling.as_bytes();
    if let Some(long) = spelling.strip_prefix("--") {
        return options
            .iter()
            .position(|o| !o.single_dash && o.long.as_deref() == Some(long));
    }
    match bytes {
        [b'-', short] => options.iter().position(|o| o.short == Some(*short)),
        [b'-', ..] => options
            .iter()
            .position(|o| o.single_dash && o.long.as_deref() == Some(&spelling[1..])),
        _ => None,
    }
}

fn default_intermixed() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The `[package.grammar]` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GrammarDescription {
    /// The options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionDescription>,
    /// Kinds of the first positional arguments, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positional: Vec<Kind>,
    /// Kind of every further positional argument (none: no more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest: Option<Kind>,
    /// Fewest positional arguments (default 0).
    #[serde(default)]
    pub min: u16,
    /// Most positional arguments (default: unlimited with `rest`, the
    /// length of `positional` without).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u16>,
    /// Positional arguments used when none is given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default: Vec<String>,
    /// `/...` names the program always receives, read-only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherit: Vec<String>,
    /// `/...` names the program always receives, read-write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherit_rw: Vec<String>,
    /// Whether options may follow positional arguments (default `true`).
    #[serde(default = "default_intermixed", skip_serializing_if = "is_true")]
    pub intermixed: bool,
    /// Whether a first argument without `-` is a cluster of short options
    /// (`tar cf`; default `false`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub bundled_first: bool,
    /// Whether the operands come before the options (`find`; default
    /// `false`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub operands_first: bool,
    /// With `operands-first`: words that end the operands (`find`'s `!`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operand_ends: Vec<String>,
}

impl TryFrom<GrammarDescription> for Grammar {
    type Error = GrammarError;

    fn try_from(description: GrammarDescription) -> Result<Grammar, GrammarError> {
        let mut options = Vec::with_capacity(description.options.len());
        let mut value_changes = Vec::new();
        for (index, option) in description.options.into_iter().enumerate() {
            let short = match option.short.as_deref().map(str::as_bytes) {
                None => None,
                Some([short]) => Some(*short),
                Some(_) => return Err(GrammarError::InvalidShortOption { index }),
            };
            let operands = option.operands.map(|operands| {
                value_changes.push((index, operands.values));
                Operands {
                    positional: operands.positional,
                    rest: operands.rest,
                    values: Vec::new(),
                    directory: operands.directory.map(DirectoryDescription::access),
                }
            });
            options.push(OptionSpec {
                short,
                long: option.long,
                value: option.value.kind(),
                operands,
                single_dash: option.single_dash,
                command: option.command,
            });
        }
        // The value changes name options by spelling: resolved once every
        // option is known, and put in option order.
        for (index, changes) in value_changes {
            let mut values = Vec::with_capacity(changes.len());
            for (spelling, kind) in changes {
                let Some(option) = option_by_spelling(&options, &spelling) else {
                    return Err(GrammarError::InvalidOperands {
                        index,
                        problem: OperandsProblem::BadValue,
                    });
                };
                values.push(ValueChange { option, kind });
            }
            values.sort_by_key(|change| change.option);
            if let Some(operands) = options.get_mut(index).and_then(|o| o.operands.as_mut()) {
                operands.values = values;
            }
        }
        let read_only = description
            .inherit
            .into_iter()
            .map(|name| (name, Access::ReadOnly));
        let read_write = description
            .inherit_rw
            .into_iter()
            .map(|name| (name, Access::ReadWrite));
        Grammar::new(GrammarParts {
            options,
            positional: description.positional,
            rest: description.rest,
            min: description.min,
            max: description.max,
            defaults: description
                .default
                .into_iter()
                .map(String::into_bytes)
                .collect(),
            inherit: read_only
                .chain(read_write)
                .map(|(name, access)| Inherit {
                    name: name.into_bytes(),
                    access,
                })
                .collect(),
            intermixed: description.intermixed,
            bundled_first: description.bundled_first,
            operands_first: description.operands_first,
            operand_ends: description
                .operand_ends
                .into_iter()
                .map(String::into_bytes)
                .collect(),
        })
    }
}

impl TryFrom<&Grammar> for GrammarDescription {
    type Error = GrammarError;

    /// The description of `grammar`; fails only if a default argument or
    /// inherited name is not UTF-8 (TOML strings are text).
    fn try_from(grammar: &Grammar) -> Result<GrammarDescription, GrammarError> {
        let parts = grammar.parts();
        let text =
            |bytes: &Vec<u8>| String::from_utf8(bytes.clone()).map_err(|_| GrammarError::NotText);
        let names = |access: Access| -> Result<Vec<String>, GrammarError> {
            parts
                .inherit
                .iter()
                .filter(|inherit| inherit.access == access)
                .map(|inherit| text(&inherit.name))
                .collect()
        };
        Ok(GrammarDescription {
            options: parts
                .options
                .iter()
                .map(|option| OptionDescription {
                    short: option.short.map(|short| String::from(char::from(short))),
                    long: option.long.clone(),
                    value: ValueDescription::from_kind(option.value),
                    operands: option
                        .operands
                        .as_ref()
                        .map(|operands| OperandsDescription {
                            positional: operands.positional.clone(),
                            rest: operands.rest,
                            values: operands
                                .values
                                .iter()
                                .filter_map(|change| {
                                    let target = parts.options.get(change.option)?;
                                    Some((target.spelling(), change.kind))
                                })
                                .collect(),
                            directory: operands.directory.map(DirectoryDescription::from_access),
                        }),
                    single_dash: option.single_dash,
                    command: option.command,
                })
                .collect(),
            positional: parts.positional.clone(),
            rest: parts.rest,
            min: parts.min,
            max: parts.max,
            default: parts.defaults.iter().map(text).collect::<Result<_, _>>()?,
            inherit: names(Access::ReadOnly)?,
            inherit_rw: names(Access::ReadWrite)?,
            intermixed: parts.intermixed,
            bundled_first: parts.bundled_first,
            operands_first: parts.operands_first,
            operand_ends: parts
                .operand_ends
                .iter()
                .map(text)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Written as its [`GrammarDescription`]; a default argument or inherited
/// name that is not UTF-8 is an error (TOML strings are text).
impl Serialize for Grammar {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        GrammarDescription::try_from(self)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const CAT: &str = r#"
        options = [
            { short = "n", long = "number" },
            { short = "o", long = "output", value = "output" },
            { long = "lines", value = "word" },
        ]
        rest = "input"
        default = ["-"]
        inherit = ["home"]
    "#;

    #[test]
    fn reads_the_documented_form() {
        let grammar: Grammar = toml::from_str(CAT).unwrap();
        let parts = grammar.parts();
        assert_eq!(parts.options.len(), 3);
        assert_eq!(parts.options[0].short, Some(b'n'));
        assert_eq!(parts.options[0].value, None);
        assert_eq!(parts.options[1].value, Some(Kind::Output));
        assert_eq!(parts.options[2].short, None);
        assert_eq!(parts.rest, Some(Kind::Input));
        assert_eq!(parts.defaults, vec![b"-".to_vec()]);
        assert_eq!(parts.inherit[0].access, Access::ReadOnly);
        assert!(parts.intermixed);
    }

    #[test]
    fn round_trips_through_toml() {
        let grammar: Grammar = toml::from_str(CAT).unwrap();
        let text = toml::to_string(&grammar).unwrap();
        let again: Grammar = toml::from_str(&text).unwrap();
        assert_eq!(again, grammar);
        let shell = r#"
            positional = ["input"]
            rest = "word"
            inherit-rw = ["home"]
            intermixed = false
        "#;
        let grammar: Grammar = toml::from_str(shell).unwrap();
        assert_eq!(grammar.parts().inherit[0].access, Access::ReadWrite);
        assert!(!grammar.parts().intermixed);
        let again: Grammar = toml::from_str(&toml::to_string(&grammar).unwrap()).unwrap();
        assert_eq!(again, grammar);
    }

    #[test]
    fn bad_tables_are_refused_with_the_field() {
        let error = |text: &str| toml::from_str::<Grammar>(text).unwrap_err().to_string();
        assert!(error("optons = []").contains("unknown field"));
        assert!(error("rest = \"file\"").contains("unknown variant"));
        assert!(error("options = [{ short = \"nn\" }]").contains("options[0].short"));
        assert!(error("options = [{ long = \"-x\" }]").contains("options[0].long"));
        assert!(error("inherit = [\"../etc\"]").contains("inherit[0]"));
        assert!(error("positional = [\"input\"]\nmax = 3").contains("max"));
        assert!(error("options = [{ short = \"s\", operands = {} }]")
            .contains("options[0].operands: neither"));
        assert!(error(
            "options = [{ short = \"s\", operands = { values = { \"-x\" = \"input\" } } }]"
        )
        .contains("options[0].operands: values"));
        assert!(error(
            "options = [{ short = \"s\", operands = { values = { \"-s\" = \"input\" } } }]"
        )
        .contains("options[0].operands: values"));
        assert!(error("options = [{ long = \"n\", single-dash = true }]")
            .contains("options[0].single-dash"));
        assert!(
            error("options = [{ long = \"exec\", command = true }]").contains("options[0].command")
        );
        assert!(error("operand-ends = [\"!\"]").contains("operand-ends[0]"));
        assert!(
            error("options = [{ short = \"x\", operands = { directory = \"rw\" } }]")
                .contains("unknown variant")
        );
        assert!(
            error("options = [{ short = \"s\", operands = { rst = \"word\" } }]")
                .contains("unknown field")
        );
    }

    #[test]
    fn a_flag_may_change_the_operands() {
        let ln = r#"
            options = [{ short = "s", operands = { positional = ["word"] } }, { short = "f" }]
            rest = "entry"
            min = 1
        "#;
        let grammar: Grammar = toml::from_str(ln).unwrap();
        let operands = grammar.parts().options[0].operands.clone().unwrap();
        assert_eq!(operands.positional, Some(vec![Kind::Word]));
        assert_eq!(operands.rest, None);
        assert_eq!(grammar.switching_option(), Some(0));
        let again: Grammar = toml::from_str(&toml::to_string(&grammar).unwrap()).unwrap();
        assert_eq!(again, grammar);
        let mkdir = r#"
            options = [{ short = "p", operands = { rest = "entry-parents" } }]
            rest = "entry"
        "#;
        let grammar: Grammar = toml::from_str(mkdir).unwrap();
        assert_eq!(
            grammar
                .layout(grammar.parts().options[0].operands.as_ref())
                .kind(3),
            Some(Kind::EntryParents)
        );
    }
}

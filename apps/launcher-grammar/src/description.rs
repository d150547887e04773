// SPDX-License-Identifier: MIT OR Apache-2.0
//! The TOML-friendly form of a grammar, for the manifest (feature `serde`).
//!
//! [`GrammarDescription`] mirrors the `[package.grammar]` table field by
//! field (see the crate README); [`Grammar`] deserializes through it and
//! is checked by [`Grammar::new`], so a manifest can only ever produce a
//! valid grammar, and unknown fields are refused.

use crate::grammar::{Grammar, GrammarError, GrammarParts, Inherit, Operands, OptionSpec};
use crate::kind::{Access, Kind};
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
        }
    }
}

/// One entry of `options`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// `operands = { positional = [...], rest = "..." }`: for a flag, the
    /// operands' kinds while it is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operands: Option<OperandsDescription>,
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
}

fn default_intermixed() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
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
}

impl TryFrom<GrammarDescription> for Grammar {
    type Error = GrammarError;

    fn try_from(description: GrammarDescription) -> Result<Grammar, GrammarError> {
        let mut options = Vec::with_capacity(description.options.len());
        for (index, option) in description.options.into_iter().enumerate() {
            let short = match option.short.as_deref().map(str::as_bytes) {
                None => None,
                Some([short]) => Some(*short),
                Some(_) => return Err(GrammarError::InvalidShortOption { index }),
            };
            options.push(OptionSpec {
                short,
                long: option.long,
                value: option.value.kind(),
                operands: option.operands.map(|operands| Operands {
                    positional: operands.positional,
                    rest: operands.rest,
                }),
            });
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
                        }),
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
            "options = [{ short = \"s\", value = \"word\", operands = { rest = \"word\" } }]"
        )
        .contains("options[0].operands: only a flag"));
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

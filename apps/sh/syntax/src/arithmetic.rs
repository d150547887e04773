// SPDX-License-Identifier: MIT OR Apache-2.0
//! Arithmetic expansion: `$(( EXPRESSION ))` evaluated (POSIX XCU 2.6.4).
//!
//! Signed 64-bit integers (dash's `intmax_t`); decimal, octal (`010`)
//! and hexadecimal (`0x1f`) constants; variables by name (unset or empty
//! is 0); the C operators POSIX lists, by C precedence: unary `+ - ! ~`,
//! `* / %`, `+ -`, `<< >>`, `< <= > >=`, `== !=`, `&`, `^`, `|`, `&&`,
//! `||`, `?:`, and assignment `= *= /= %= += -= <<= >>= &= ^= |=`, with
//! parentheses. `&&`, `||` and `?:` evaluate only the side they need:
//! an assignment on the other side does not happen. Overflow wraps, as
//! in dash. Every failure is an [`ArithmeticError`], never a panic.

use alloc::vec::Vec;
use core::fmt;

/// What the evaluator reads and assigns.
pub trait ArithmeticVariables {
    /// The value of variable `name`, `None` if unset.
    fn value(&self, name: &[u8]) -> Option<Vec<u8>>;
    /// Sets variable `name` to `value` (written in decimal).
    fn assign(&mut self, name: &[u8], value: i64);
}

/// Why an expression has no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArithmeticError {
    /// `/` or `%` by zero.
    DivisionByZero,
    /// Something other than what the grammar allows, at this text.
    Syntax,
    /// A variable whose value is not a number.
    NotANumber(Vec<u8>),
    /// Assignment to something that is not a variable.
    NotAssignable,
    /// Parentheses nested deeper than the evaluator goes.
    TooDeep,
}

impl fmt::Display for ArithmeticError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArithmeticError::DivisionByZero => formatter.write_str("division by zero"),
            ArithmeticError::Syntax => formatter.write_str("syntax error"),
            ArithmeticError::NotANumber(value) => {
                write!(formatter, "Illegal number: {}", crate::Text(value))
            }
            ArithmeticError::NotAssignable => formatter.write_str("assignment to non-variable"),
            ArithmeticError::TooDeep => formatter.write_str("nested too deeply"),
        }
    }
}

const MAX_DEPTH: usize = 200;

/// Evaluates `text`.
///
/// Return values: [`ArithmeticError`] for a malformed expression, a
/// division by zero, or a variable that is not a number.
pub fn evaluate(
    text: &[u8],
    variables: &mut dyn ArithmeticVariables,
) -> Result<i64, ArithmeticError> {
    let tokens = tokens(text)?;
    let mut evaluator = Evaluator {
        tokens,
        position: 0,
        variables,
        depth: 0,
    };
    if evaluator.tokens.is_empty() {
        return Ok(0);
    }
    let value = evaluator.assignment(true)?;
    if evaluator.position != evaluator.tokens.len() {
        return Err(ArithmeticError::Syntax);
    }
    Ok(value.number)
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Number(i64),
    Name(Vec<u8>),
    Operator(&'static str),
}

/// Operators, longest first so that `<<=` is not read as `<` `<=`.
const OPERATORS: [&str; 34] = [
    "<<=", ">>=", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "*=", "/=", "%=", "+=", "-=",
    "&=", "^=", "|=", "+", "-", "*", "/", "%", "<", ">", "&", "^", "|", "!", "~", "?", ":", "=",
    "(",
];

fn tokens(text: &[u8]) -> Result<Vec<Token>, ArithmeticError> {
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < text.len() {
        let byte = text[index];
        if byte.is_ascii_whitespace() {
            index += 1;
        } else if byte.is_ascii_digit() {
            let length = text[index..]
                .iter()
                .position(|b| !b.is_ascii_alphanumeric())
                .unwrap_or(text.len() - index);
            let number =
                parse_number(&text[index..index + length]).ok_or(ArithmeticError::Syntax)?;
            tokens.push(Token::Number(number));
            index += length;
        } else if byte.is_ascii_alphabetic() || byte == b'_' {
            let length = text[index..]
                .iter()
                .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                .unwrap_or(text.len() - index);
            tokens.push(Token::Name(text[index..index + length].to_vec()));
            index += length;
        } else if byte == b')' {
            tokens.push(Token::Operator(")"));
            index += 1;
        } else {
            let operator = OPERATORS
                .iter()
                .find(|operator| text[index..].starts_with(operator.as_bytes()))
                .ok_or(ArithmeticError::Syntax)?;
            tokens.push(Token::Operator(operator));
            index += operator.len();
        }
    }
    Ok(tokens)
}

/// A constant: decimal, `0` octal or `0x` hexadecimal; `None` if bad.
pub fn parse_number(text: &[u8]) -> Option<i64> {
    let text = core::str::from_utf8(text).ok()?;
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let value = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse::<u64>().ok()?
    };
    let value = value as i64;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// A value, and the variable it was read from (for assignment).
struct Value {
    number: i64,
    name: Option<Vec<u8>>,
}

impl Value {
    fn number(number: i64) -> Value {
        Value { number, name: None }
    }
}

struct Evaluator<'a> {
    tokens: Vec<Token>,
    position: usize,
    variables: &'a mut dyn ArithmeticVariables,
    depth: usize,
}

/// Binary operators by precedence level, loosest first (after `||`,
/// `&&`, which short-circuit and are handled apart).
const LEVELS: [&[&str]; 8] = [
    &["|"],
    &["^"],
    &["&"],
    &["==", "!="],
    &["<", "<=", ">", ">="],
    &["<<", ">>"],
    &["+", "-"],
    &["*", "/", "%"],
];

impl Evaluator<'_> {
    fn peek_operator(&self) -> Option<&'static str> {
        match self.tokens.get(self.position) {
            Some(Token::Operator(operator)) => Some(operator),
            _ => None,
        }
    }

    /// `assignment := conditional | NAME op= assignment`. `live`: effects
    /// happen (false on the side `&&`, `||`, `?:` skip).
    fn assignment(&mut self, live: bool) -> Result<Value, ArithmeticError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ArithmeticError::TooDeep);
        }
        let left = self.conditional(live)?;
        let result = match self.peek_operator() {
            Some(operator)
                if operator.ends_with('=') && !matches!(operator, "==" | "!=" | "<=" | ">=") =>
            {
                self.position += 1;
                let Some(name) = left.name else {
                    return Err(ArithmeticError::NotAssignable);
                };
                let right = self.assignment(live)?.number;
                let number = if operator == "=" {
                    right
                } else {
                    apply(&operator[..operator.len() - 1], left.number, right, live)?
                };
                if live {
                    self.variables.assign(&name, number);
                }
                Value::number(number)
            }
            _ => left,
        };
        self.depth -= 1;
        Ok(result)
    }

    fn conditional(&mut self, live: bool) -> Result<Value, ArithmeticError> {
        let condition = self.logical_or(live)?;
        if self.peek_operator() != Some("?") {
            return Ok(condition);
        }
        self.position += 1;
        let chosen = condition.number != 0;
        let yes = self.assignment(live && chosen)?;
        if self.peek_operator() != Some(":") {
            return Err(ArithmeticError::Syntax);
        }
        self.position += 1;
        let no = self.conditional(live && !chosen)?;
        Ok(Value::number(if chosen { yes.number } else { no.number }))
    }

    fn logical_or(&mut self, live: bool) -> Result<Value, ArithmeticError> {
        let mut left = self.logical_and(live)?;
        while self.peek_operator() == Some("||") {
            self.position += 1;
            let decided = left.number != 0;
            let right = self.logical_and(live && !decided)?;
            left = Value::number(i64::from(decided || right.number != 0));
        }
        Ok(left)
    }

    fn logical_and(&mut self, live: bool) -> Result<Value, ArithmeticError> {
        let mut left = self.binary(0, live)?;
        while self.peek_operator() == Some("&&") {
            self.position += 1;
            let decided = left.number == 0;
            let right = self.binary(0, live && !decided)?;
            left = Value::number(i64::from(!decided && right.number != 0));
        }
        Ok(left)
    }

    fn binary(&mut self, level: usize, live: bool) -> Result<Value, ArithmeticError> {
        if level == LEVELS.len() {
            return self.unary(live);
        }
        let mut left = self.binary(level + 1, live)?;
        while let Some(operator) = self.peek_operator().filter(|op| LEVELS[level].contains(op)) {
            self.position += 1;
            let right = self.binary(level + 1, live)?;
            left = Value::number(apply(operator, left.number, right.number, live)?);
        }
        Ok(left)
    }

    fn unary(&mut self, live: bool) -> Result<Value, ArithmeticError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ArithmeticError::TooDeep);
        }
        let value = match self.peek_operator() {
            Some(operator @ ("+" | "-" | "!" | "~")) => {
                self.position += 1;
                let operand = self.unary(live)?.number;
                Value::number(match operator {
                    "+" => operand,
                    "-" => operand.wrapping_neg(),
                    "!" => i64::from(operand == 0),
                    _ => !operand,
                })
            }
            _ => self.primary(live)?,
        };
        self.depth -= 1;
        Ok(value)
    }

    fn primary(&mut self, live: bool) -> Result<Value, ArithmeticError> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        match token {
            Some(Token::Number(number)) => Ok(Value::number(number)),
            Some(Token::Name(name)) => {
                let number = match self.variables.value(&name) {
                    None => 0,
                    Some(text) => {
                        let trimmed = text.trim_ascii();
                        if trimmed.is_empty() {
                            0
                        } else {
                            match parse_number(trimmed) {
                                Some(number) => number,
                                None if live => {
                                    return Err(ArithmeticError::NotANumber(text.clone()))
                                }
                                None => 0,
                            }
                        }
                    }
                };
                Ok(Value {
                    number,
                    name: Some(name),
                })
            }
            Some(Token::Operator("(")) => {
                let value = self.assignment(live)?;
                if self.peek_operator() != Some(")") {
                    return Err(ArithmeticError::Syntax);
                }
                self.position += 1;
                Ok(Value::number(value.number))
            }
            _ => Err(ArithmeticError::Syntax),
        }
    }
}

/// `left OPERATOR right`. Division by zero is an error only where the
/// expression is evaluated (`live`).
fn apply(operator: &str, left: i64, right: i64, live: bool) -> Result<i64, ArithmeticError> {
    Ok(match operator {
        "*" => left.wrapping_mul(right),
        "/" | "%" if right == 0 => {
            if live {
                return Err(ArithmeticError::DivisionByZero);
            }
            0
        }
        "/" => left.wrapping_div(right),
        "%" => left.wrapping_rem(right),
        "+" => left.wrapping_add(right),
        "-" => left.wrapping_sub(right),
        "<<" => left.wrapping_shl(right as u32),
        ">>" => left.wrapping_shr(right as u32),
        "<" => i64::from(left < right),
        "<=" => i64::from(left <= right),
        ">" => i64::from(left > right),
        ">=" => i64::from(left >= right),
        "==" => i64::from(left == right),
        "!=" => i64::from(left != right),
        "&" => left & right,
        "^" => left ^ right,
        "|" => left | right,
        _ => return Err(ArithmeticError::Syntax),
    })
}

//! Lexer and recursive-descent parser for the kubectl `-l` selector syntax, after Kubernetes' labels parser.

use super::{Operator, Requirement, SelectorError};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `!` before a key: "does not exist".
    Bang,
    NotEquals,
    Equals,
    DoubleEquals,
    Comma,
    OpenPar,
    ClosePar,
    /// `<` or `>`: Kubernetes accepts them only for node selectors, so they are recognised to
    /// give a clear message instead of being glued into an identifier.
    Compare(char),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// 1-based character position of the token's first character.
    pos: usize,
}

impl Token {
    /// The literal as Kubernetes quotes it in messages (`''` at the end of the string).
    fn literal(&self) -> String {
        match &self.tok {
            Tok::Ident(s) => s.clone(),
            Tok::Bang => "!".into(),
            Tok::NotEquals => "!=".into(),
            Tok::Equals => "=".into(),
            Tok::DoubleEquals => "==".into(),
            Tok::Comma => ",".into(),
            Tok::OpenPar => "(".into(),
            Tok::ClosePar => ")".into(),
            Tok::Compare(c) => c.to_string(),
            Tok::End => String::new(),
        }
    }

    fn is_ident(&self) -> bool {
        matches!(self.tok, Tok::Ident(_))
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '!' | '=' | ',' | '(' | ')' | '<' | '>')
}

fn lex(input: &str) -> Vec<Token> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let (tok, len) = match (c, next) {
            ('!', Some('=')) => (Tok::NotEquals, 2),
            ('!', _) => (Tok::Bang, 1),
            ('=', Some('=')) => (Tok::DoubleEquals, 2),
            ('=', _) => (Tok::Equals, 1),
            (',', _) => (Tok::Comma, 1),
            ('(', _) => (Tok::OpenPar, 1),
            (')', _) => (Tok::ClosePar, 1),
            ('<' | '>', _) => (Tok::Compare(c), 1),
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !is_special(chars[i]) {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Ident(chars[start..i].iter().collect()),
                    pos,
                });
                continue;
            }
        };
        out.push(Token { tok, pos });
        i += len;
    }
    out.push(Token {
        tok: Tok::End,
        pos: chars.len() + 1,
    });
    out
}

struct Parser<'a> {
    input: &'a str,
    toks: Vec<Token>,
    at: usize,
}

/// Every error from inside one requirement carries Kubernetes' prefix.
const REQ: &str = "unable to parse requirement: ";

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // `lex` always ends with `End`, and `next` never moves past it.
        &self.toks[self.at.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at < self.toks.len() - 1 {
            self.at += 1;
        }
        t
    }

    fn err(&self, message: String, pos: usize) -> SelectorError {
        SelectorError {
            message,
            position: pos,
            input: self.input.to_string(),
        }
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut reqs = Vec::new();
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Ident(_) | Tok::Bang => {
                    reqs.push(self.requirement()?);
                    let after = self.next();
                    match after.tok {
                        Tok::End => return Ok(reqs),
                        Tok::Comma => {
                            let t2 = self.peek();
                            if !(t2.is_ident() || t2.tok == Tok::Bang) {
                                return Err(self.err(
                                    format!(
                                        "found '{}', expected: identifier after ','",
                                        t2.literal()
                                    ),
                                    t2.pos,
                                ));
                            }
                        }
                        _ => {
                            return Err(self.err(
                                format!(
                                    "found '{}', expected: ',' or 'end of string'",
                                    after.literal()
                                ),
                                after.pos,
                            ))
                        }
                    }
                }
                Tok::End => return Ok(reqs),
                _ => {
                    return Err(self.err(
                        format!(
                            "found '{}', expected: !, identifier, or 'end of string'",
                            t.literal()
                        ),
                        t.pos,
                    ))
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let mut t = self.next();
        let negated = t.tok == Tok::Bang;
        if negated {
            t = self.next();
        }
        let Tok::Ident(key) = &t.tok else {
            return Err(self.err(
                format!("{REQ}found '{}', expected: identifier", t.literal()),
                t.pos,
            ));
        };
        let key = key.clone();
        let key_pos = t.pos;
        // The key is checked before the operator, so its error points at the key.
        if let Err(e) = crate::labels::validate_label_key(&key) {
            return Err(self.err(format!("{REQ}invalid label key {key:?}: {e}"), key_pos));
        }
        let build = |p: &Self, op: Operator, values: Vec<String>, pos: usize| {
            Requirement::new(&key, op, values).map_err(|e| p.err(format!("{REQ}{e}"), pos))
        };
        // `!key` is unary; whatever follows it is checked by the caller (',' or the end).
        if negated {
            return build(self, Operator::DoesNotExist, Vec::new(), key_pos);
        }
        if matches!(self.peek().tok, Tok::End | Tok::Comma) {
            return build(self, Operator::Exists, Vec::new(), key_pos);
        }
        let op_tok = self.next();
        let op = match &op_tok.tok {
            Tok::Equals => Operator::Equals,
            Tok::DoubleEquals => Operator::DoubleEquals,
            Tok::NotEquals => Operator::NotEquals,
            Tok::Ident(w) if w == "in" => Operator::In,
            Tok::Ident(w) if w == "notin" => Operator::NotIn,
            Tok::Compare(c) => {
                return Err(self.err(
                    format!("{REQ}operator '{c}' is only supported in node selectors; expected: in, notin, =, ==, !="),
                    op_tok.pos,
                ))
            }
            _ => {
                let lit = op_tok.literal();
                let hint = if lit.eq_ignore_ascii_case("in") || lit.eq_ignore_ascii_case("notin") {
                    " (operators are lowercase)"
                } else {
                    ""
                };
                return Err(self.err(
                    format!("{REQ}found '{lit}', expected: in, notin, =, ==, !={hint}"),
                    op_tok.pos,
                ));
            }
        };
        let value_pos = self.peek().pos;
        let values = match op {
            Operator::In | Operator::NotIn => self.set_values()?,
            _ => self.exact_value()?,
        };
        build(self, op, values, value_pos)
    }

    /// `(a,b,c)`; empty entries are the empty value, as in Kubernetes (`(a,)` = {"", "a"}).
    fn set_values(&mut self) -> Result<Vec<String>, SelectorError> {
        let open = self.next();
        if open.tok != Tok::OpenPar {
            return Err(self.err(
                format!("{REQ}found '{}', expected: '('", open.literal()),
                open.pos,
            ));
        }
        let mut values = Vec::new();
        let mut expect_value = true;
        loop {
            let t = self.next();
            match t.tok {
                Tok::Ident(v) if expect_value => {
                    values.push(v);
                    expect_value = false;
                }
                Tok::Comma => {
                    if expect_value {
                        values.push(String::new());
                    }
                    expect_value = true;
                }
                Tok::ClosePar => {
                    if expect_value {
                        values.push(String::new());
                    }
                    return Ok(values);
                }
                Tok::End => {
                    return Err(self.err(
                        format!("{REQ}found '', expected: ',', ')' or identifier"),
                        t.pos,
                    ));
                }
                _ if expect_value => {
                    return Err(self.err(
                        format!(
                            "{REQ}found '{}', expected: ',', ')' or identifier",
                            t.literal()
                        ),
                        t.pos,
                    ));
                }
                _ => {
                    return Err(self.err(
                        format!("{REQ}found '{}', expected: ',' or ')'", t.literal()),
                        t.pos,
                    ));
                }
            }
        }
    }

    /// The value after `=`, `==` or `!=`; nothing at all means the empty value (`app=`).
    fn exact_value(&mut self) -> Result<Vec<String>, SelectorError> {
        if matches!(self.peek().tok, Tok::End | Tok::Comma) {
            return Ok(vec![String::new()]);
        }
        let t = self.next();
        match t.tok {
            Tok::Ident(v) => Ok(vec![v]),
            _ => Err(self.err(
                format!("{REQ}found '{}', expected: identifier", t.literal()),
                t.pos,
            )),
        }
    }
}

/// Parses a selector string into requirements (unsorted).
pub(super) fn parse(input: &str) -> Result<Vec<Requirement>, SelectorError> {
    let mut p = Parser {
        input,
        toks: lex(input),
        at: 0,
    };
    p.parse()
}

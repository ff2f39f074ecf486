//! The DSL's parser: statements (`name = chain` or a bare chain, ended by a line end or `;`),
//! chains (`source.verb(…).verb(…)`, continued on the next line when it starts with `.`) and
//! arguments, read by each call's signature in [`super::verbs`]. SQL arguments are handed to
//! sqlparser with their position in the script kept, so its errors and the binder's point
//! into the script.

use sqlparser::dialect::DuckDbDialect;
use sqlparser::tokenizer::Token as SqlToken;

use super::ast::{Arg, Call, Chain, Name, Source, Statement, Value};
use super::lexer::{tokenize, Tok, Token};
use super::verbs::{self, Kind, Role, Spec};
use crate::error::{closest_name, Error, Location, Result};
use crate::frontend::sql::depth::check_expression_depth;

/// Parses a whole script. Nothing runs until all of it parses.
pub fn parse(text: &str) -> Result<Vec<Statement>> {
    let lexed = tokenize(text)?;
    let mut parser = Parser {
        text,
        tokens: lexed.tokens,
        comments: lexed.comments,
        pos: 0,
    };
    parser.statements()
}

/// True when `text` is a complete statement (or several): brackets closed, no string left
/// open, and not ending in `.`, `,`, `=` or an operator. The REPL reads more lines until it is.
pub fn is_complete(text: &str) -> bool {
    let Ok(lexed) = tokenize(text) else {
        return false; // an open string
    };
    let mut depth: i64 = 0;
    let mut last = None;
    for t in &lexed.tokens {
        match t.tok {
            Tok::Open(_) => depth += 1,
            Tok::Close(_) => depth -= 1,
            Tok::Newline | Tok::Eof => continue,
            _ => {}
        }
        last = Some(&t.tok);
    }
    depth <= 0 && !matches!(last, Some(Tok::Dot | Tok::Comma | Tok::Assign | Tok::Op(_)))
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    comments: Vec<(usize, usize)>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.pos + ahead).min(last)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn skip_newlines(&mut self) {
        while self.peek().tok == Tok::Newline {
            self.next();
        }
    }

    fn statements(&mut self) -> Result<Vec<Statement>> {
        let mut out = Vec::new();
        loop {
            while matches!(self.peek().tok, Tok::Newline | Tok::Semicolon) {
                self.next();
            }
            if self.peek().tok == Tok::Eof {
                return Ok(out);
            }
            let start = self.peek().start;
            let target = match (&self.peek().tok, &self.peek_at(1).tok) {
                (Tok::Ident(name), Tok::Assign) => {
                    let name = Name {
                        name: name.clone(),
                        location: self.peek().location,
                    };
                    self.next();
                    self.next();
                    self.skip_newlines();
                    Some(name)
                }
                _ => None,
            };
            let chain = self.chain()?;
            let end = self.tokens[self.pos.saturating_sub(1)].end;
            let after = self.peek();
            if !matches!(after.tok, Tok::Newline | Tok::Semicolon | Tok::Eof) {
                return Err(at(
                    after.location,
                    format!(
                        "expected the end of the statement, found {}; a chain continues with .verb(…)",
                        describe(&after.tok)
                    ),
                ));
            }
            out.push(Statement {
                target,
                chain,
                text: self.text[start..end].to_string(),
            });
        }
    }

    fn chain(&mut self) -> Result<Chain> {
        let first = self.next();
        let Tok::Ident(name) = &first.tok else {
            return Err(at(
                first.location,
                format!(
                    "expected a frame name or a source such as read_parquet(\"…\"), found {}",
                    describe(&first.tok)
                ),
            ));
        };
        let source = if self.peek().tok == Tok::Open('(') {
            Source::Call(self.call(name, first.location, true)?)
        } else {
            Source::Name(Name {
                name: name.clone(),
                location: first.location,
            })
        };
        let mut calls = Vec::new();
        loop {
            if self.peek().tok == Tok::Newline && self.peek_at(1).tok == Tok::Dot {
                self.next();
            }
            if self.peek().tok != Tok::Dot {
                return Ok(Chain { source, calls });
            }
            self.next();
            // A line may end with the '.' and the verb follow on the next.
            self.skip_newlines();
            let verb = self.next();
            let Tok::Ident(name) = &verb.tok else {
                return Err(at(
                    verb.location,
                    format!("expected a verb after '.', found {}", describe(&verb.tok)),
                ));
            };
            if self.peek().tok != Tok::Open('(') {
                let spec = find_spec(name, verb.location, false)?;
                return Err(at(
                    self.peek().location,
                    format!("expected '(' after {name}: {}", spec.usage),
                ));
            }
            calls.push(self.call(name, verb.location, false)?);
        }
    }

    /// A call whose name was just read; the next token is its `(`.
    fn call(&mut self, name: &str, location: Location, at_start: bool) -> Result<Call> {
        let spec = find_spec(name, location, at_start)?;
        let open = self.next();
        let mut args: Vec<Arg> = Vec::new();
        self.skip_newlines();
        while self.peek().tok != Tok::Close(')') {
            let keyword = match (&self.peek().tok, &self.peek_at(1).tok) {
                (Tok::Ident(k), Tok::Assign) if spec.takes_keywords() => {
                    let k = Name {
                        name: k.clone(),
                        location: self.peek().location,
                    };
                    self.next();
                    self.next();
                    self.skip_newlines();
                    Some(k)
                }
                _ => None,
            };
            let kind = match &keyword {
                Some(k) => keyword_kind(spec, k)?,
                None => spec.positional,
            };
            if let Some(k) = &keyword {
                if args
                    .iter()
                    .any(|a| a.keyword.as_ref().is_some_and(|o| o.name.eq_ignore_ascii_case(&k.name)))
                {
                    return Err(at(k.location, format!("{} is given twice in {}(…)", k.name, spec.name)));
                }
            }
            let location = self.peek().location;
            let value = self.value(kind, spec, open.location)?;
            args.push(Arg {
                keyword,
                value,
                location,
            });
            self.skip_newlines();
            let sep = self.peek().clone();
            match sep.tok {
                Tok::Comma => {
                    self.next();
                    self.skip_newlines();
                }
                Tok::Close(')') => {}
                Tok::Eof => {
                    return Err(at(
                        open.location,
                        format!("this '(' of {}(…) is never closed", spec.name),
                    ))
                }
                other => {
                    return Err(at(
                        sep.location,
                        format!("expected ',' or ')' in {}(…), found {}", spec.name, describe(&other)),
                    ))
                }
            }
        }
        self.next();
        let call = Call {
            verb: spec.name.to_string(),
            location,
            args,
        };
        check_arity(spec, &call)?;
        Ok(call)
    }

    fn value(&mut self, kind: Kind, spec: &Spec, open: Location) -> Result<Value> {
        match kind {
            Kind::Frame => Ok(Value::Frame(Box::new(self.chain()?))),
            Kind::Str => {
                let t = self.next();
                match t.tok {
                    Tok::Str { value, .. } => Ok(Value::Str(value)),
                    Tok::Ident(word) => Ok(Value::Str(word)),
                    Tok::Param(name) => Ok(Value::Param(name)),
                    other => Err(at(
                        t.location,
                        format!("expected a string in {}, found {}", spec.usage, describe(&other)),
                    )),
                }
            }
            Kind::Int => {
                let t = self.next();
                match &t.tok {
                    Tok::Number(n) => n.parse().map(Value::Int).map_err(|_| {
                        at(
                            t.location,
                            format!("expected a whole number in {}, found {n}", spec.usage),
                        )
                    }),
                    other => Err(at(
                        t.location,
                        format!("expected a whole number in {}, found {}", spec.usage, describe(other)),
                    )),
                }
            }
            Kind::Expr | Kind::Item | Kind::Order => {
                let (start, location) = (self.peek().start, self.peek().location);
                let end = self.argument_end(spec, open)?;
                let sql = self.sql_text(start, end, location);
                // An argument that ends too early ("a >") is missing something where it ends.
                let end_location = self.peek().location;
                parse_sql_argument(&sql, kind).map_err(|e| match e {
                    Error::Parse {
                        message,
                        location: None,
                    } => at(end_location, message),
                    other => other,
                })
            }
        }
    }

    /// Moves past one SQL argument (to the `,` or `)` that ends it) and returns its end.
    fn argument_end(&mut self, spec: &Spec, open: Location) -> Result<usize> {
        let mut depth = 0usize;
        let mut end = self.peek().start;
        loop {
            let t = self.peek();
            match t.tok {
                Tok::Eof => return Err(at(open, format!("this '(' of {}(…) is never closed", spec.name))),
                Tok::Comma | Tok::Close(')') if depth == 0 => return Ok(end),
                Tok::Open(_) => depth += 1,
                Tok::Close(_) => depth = depth.saturating_sub(1),
                _ => {}
            }
            end = t.end;
            self.next();
        }
    }

    /// The text from `start` to `end` with comments blanked, placed at its line and column
    /// (preceded by line ends and spaces) so sqlparser's positions are the script's.
    fn sql_text(&self, start: usize, end: usize, location: Location) -> String {
        let mut text: String = "\n".repeat(location.line.saturating_sub(1) as usize);
        text.push_str(&" ".repeat(location.column.saturating_sub(1) as usize));
        let mut piece = self.text[start..end].to_string();
        for &(cs, ce) in &self.comments {
            if cs >= start && ce <= end {
                // As many spaces as bytes, so later comments' offsets still hold.
                let blank = " ".repeat(ce - cs);
                piece.replace_range(cs - start..ce - start, &blank);
            }
        }
        text.push_str(&piece);
        text
    }
}

/// Parses one SQL argument of `kind`; all of `sql` must be used.
fn parse_sql_argument(sql: &str, kind: Kind) -> Result<Value> {
    let dialect = DuckDbDialect {};
    let mut parser = sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(sql)
        .map_err(|e| crate::frontend::sql::parse_error(&e.to_string()))?;
    let value = match kind {
        Kind::Item => parser.parse_select_item().map(|i| Value::Item(Box::new(i))),
        Kind::Order => parser.parse_order_by_expr().map(|o| Value::Order(Box::new(o))),
        _ => parser.parse_expr().map(|e| Value::Expr(Box::new(e))),
    }
    .map_err(|e| crate::frontend::sql::parse_error(&e.to_string()))?;
    match &value {
        Value::Item(item) => check_expression_depth(item)?,
        Value::Order(order) => check_expression_depth(order)?,
        Value::Expr(expr) => check_expression_depth(expr)?,
        _ => {}
    }
    let rest = parser.peek_token();
    if rest.token != SqlToken::EOF {
        return Err(at(
            Location {
                line: rest.span.start.line,
                column: rest.span.start.column,
            },
            format!(
                "unexpected '{}' in this argument (arguments are separated by ',')",
                rest.token
            ),
        ));
    }
    Ok(value)
}

fn find_spec(name: &str, location: Location, at_start: bool) -> Result<&'static Spec> {
    let lower = name.to_lowercase();
    match verbs::lookup(&lower) {
        Some(spec) if at_start && spec.role != Role::Source => Err(at(
            location,
            format!(
                "{lower} is a verb, not a source: apply it to a frame, as in frame.{}",
                spec.usage
            ),
        )),
        Some(spec) if !at_start && spec.role == Role::Source => Err(at(
            location,
            format!("{lower} starts a chain; it cannot follow '.': {}", spec.usage),
        )),
        Some(spec) => Ok(spec),
        None => {
            let roles: &[Role] = if at_start { &[Role::Source] } else { verbs::FRAME_ROLES };
            let what = if at_start { "source" } else { "verb" };
            let hint = closest_name(&lower, verbs::names(roles))
                .map(|n| format!("; did you mean {n}?"))
                .unwrap_or_else(|| {
                    format!(
                        " (the {what}s are: {})",
                        verbs::names(roles).collect::<Vec<_>>().join(", ")
                    )
                });
            Err(at(location, format!("unknown {what} {name}{hint}")))
        }
    }
}

fn keyword_kind(spec: &Spec, keyword: &Name) -> Result<Kind> {
    spec.keyword_kind(&keyword.name).ok_or_else(|| {
        let names: Vec<&str> = match spec.keywords {
            verbs::Keywords::Named(names) => names.iter().map(|(n, _)| *n).collect(),
            _ => Vec::new(),
        };
        let hint = closest_name(&keyword.name, names.iter().copied())
            .map(|n| format!("; did you mean {n}?"))
            .unwrap_or_default();
        at(
            keyword.location,
            format!(
                "{} has no argument named {}{hint}: {}",
                spec.name, keyword.name, spec.usage
            ),
        )
    })
}

fn check_arity(spec: &Spec, call: &Call) -> Result<()> {
    let positional = call.positional().count();
    let too_few = positional < spec.min;
    let too_many = spec.max.is_some_and(|max| positional > max);
    if too_few || too_many {
        let location = if too_many {
            call.positional()
                .nth(spec.max.unwrap_or(0))
                .map(|a| a.location)
                .unwrap_or(call.location)
        } else {
            call.location
        };
        return Err(at(
            location,
            format!("{} {}, got {positional}: {}", spec.name, spec.arity(), spec.usage),
        ));
    }
    if spec.needs_some && call.args.is_empty() {
        return Err(at(
            call.location,
            format!("{} needs at least one argument: {}", spec.name, spec.usage),
        ));
    }
    Ok(())
}

fn at(location: Location, message: String) -> Error {
    Error::Parse {
        message,
        location: Some(location),
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(n) => format!("'{n}'"),
        Tok::Str { quote, value } => format!("the string {quote}{value}{quote}"),
        Tok::Number(n) => format!("'{n}'"),
        Tok::Dot => "'.'".into(),
        Tok::Open(c) | Tok::Close(c) | Tok::Op(c) => format!("'{c}'"),
        Tok::Comma => "','".into(),
        Tok::Assign => "'='".into(),
        Tok::Semicolon => "';'".into(),
        Tok::Param(n) => format!("'${n}'"),
        Tok::Newline => "the end of the line".into(),
        Tok::Eof => "the end of the script".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Statement {
        let mut s = parse(text).unwrap();
        assert_eq!(s.len(), 1, "{s:?}");
        s.remove(0)
    }

    fn error(text: &str) -> (String, Location) {
        let err = parse(text).unwrap_err();
        (err.to_string(), err.location().expect("a location"))
    }

    /// Found by the `dsl_frontend` fuzz target: blanking a comment with multi-byte
    /// characters shortened the text, and a later comment's range fell outside it.
    #[test]
    fn comments_with_multibyte_characters_are_blanked_in_place() {
        let text = "t = read_csv('x.csv')  # ….join(a) …\n  .filter(a > 1  # … “quoted” …\n  )";
        assert!(parse(text).is_ok());
    }

    #[test]
    fn binds_and_chains() {
        let s = one("big = orders.filter(o_totalprice > 100)\n   .head(3)  # top\n");
        assert_eq!(s.target.as_ref().map(|n| n.name.as_str()), Some("big"));
        assert!(matches!(&s.chain.source, Source::Name(n) if n.name == "orders"));
        let verbs: Vec<&str> = s.chain.calls.iter().map(|c| c.verb.as_str()).collect();
        assert_eq!(verbs, ["filter", "head"]);
        assert!(matches!(s.chain.calls[1].args[0].value, Value::Int(3)));
        assert_eq!(s.text, "big = orders.filter(o_totalprice > 100)\n   .head(3)");
    }

    #[test]
    fn a_line_may_end_with_the_dot() {
        let s = one("t.filter(a > 1).\n  head(2)");
        assert_eq!(s.chain.calls.len(), 2);
    }

    #[test]
    fn statements_end_at_line_ends_and_semicolons() {
        let s = parse("a = table(\"t\")\n\n# c\nb = a.head(1); a.count()\n").unwrap();
        assert_eq!(s.len(), 3);
        assert!(s[2].target.is_none());
    }

    #[test]
    fn keyword_arguments_and_sql_expressions() {
        let s = one("t.assign(y = x = 1, z = 'a''b')");
        let call = &s.chain.calls[0];
        assert_eq!(call.args.len(), 2);
        assert_eq!(call.args[0].keyword.as_ref().unwrap().name, "y");
        assert!(matches!(&call.args[0].value, Value::Expr(e) if e.to_string() == "x = 1"));
        // filter takes no keywords: `x = 1` is a comparison.
        let s = one("t.filter(x = 1)");
        assert!(s.chain.calls[0].args[0].keyword.is_none());
    }

    #[test]
    fn join_takes_a_chain() {
        let s = one("a.join(b.filter(k > 1), on = k, how = left)");
        let call = &s.chain.calls[0];
        assert!(matches!(&call.args[0].value, Value::Frame(c) if c.calls.len() == 1));
        assert!(matches!(&call.keyword("how").unwrap().value, Value::Str(s) if s == "left"));
    }

    #[test]
    fn comments_inside_arguments_are_blanked() {
        let s = one("t.filter(a > 1 # big ones\n and b < 2)");
        assert!(matches!(&s.chain.calls[0].args[0].value, Value::Expr(e) if e.to_string() == "a > 1 AND b < 2"));
    }

    #[test]
    fn unknown_verb_suggests() {
        let (msg, loc) = error("x = t\n  .fliter(a > 1)");
        assert!(msg.contains("unknown verb fliter; did you mean filter?"), "{msg}");
        assert_eq!(loc, Location { line: 2, column: 4 });
    }

    #[test]
    fn wrong_argument_count_says_what_the_verb_takes() {
        let (msg, loc) = error("t.head(1, 2)");
        assert!(
            msg.contains("head takes at most 1 positional argument, got 2: head(n = 5)"),
            "{msg}"
        );
        assert_eq!(loc.column, 11);
        let (msg, _) = error("t.join()");
        assert!(msg.contains("join takes 1 positional argument, got 0"), "{msg}");
    }

    #[test]
    fn sql_errors_point_into_the_script() {
        let (msg, loc) = error("x = t\n\nt.filter(a > )");
        assert!(msg.contains("Parser Error"), "{msg}");
        assert_eq!(loc.line, 3);
        let (msg, loc) = error("t.filter(a > 1 b)");
        assert!(msg.contains("unexpected 'b'"), "{msg}");
        assert_eq!(loc, Location { line: 1, column: 16 });
    }

    #[test]
    fn unclosed_parenthesis() {
        let (msg, loc) = error("t.filter(a > (1)\n");
        assert!(msg.contains("never closed"), "{msg}");
        assert_eq!(loc.column, 9);
    }

    #[test]
    fn completeness_for_the_repl() {
        assert!(is_complete("t.head(1)"));
        assert!(!is_complete("t.filter(a > 1"));
        assert!(!is_complete("t.filter(a > 1)."));
        assert!(!is_complete("x = "));
        assert!(!is_complete("t.filter(a = 'x"));
    }
}

use std::collections::HashMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Token<'a> {
    Number(f64),
    Ident(&'a str),
    Op(char),
    LParen,
    RParen,
}

impl fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Number(n) => write!(f, "{n}"),
            Token::Ident(s) => write!(f, "{s}"),
            Token::Op(c) => write!(f, "{c}"),
            Token::LParen => f.write_str("("),
            Token::RParen => f.write_str(")"),
        }
    }
}

pub fn lex(input: &str) -> Result<Vec<Token<'_>>, String> {
    let mut tokens = Vec::new();
    let bytes = input.as_bytes();
    let mut i = 0usize;
    while i < bytes.len() {
        let c = bytes[i] as char;
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '0'..='9' | '.' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                let n: f64 = input[start..i].parse().map_err(|e| format!("{e:?} at {start}"))?;
                tokens.push(Token::Number(n));
            }
            'a'..='z' | 'A'..='Z' | '_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                tokens.push(Token::Ident(&input[start..i]));
            }
            '+' | '-' | '*' | '/' | '^' => { tokens.push(Token::Op(c)); i += 1; }
            '(' => { tokens.push(Token::LParen); i += 1; }
            ')' => { tokens.push(Token::RParen); i += 1; }
            other => return Err(format!("unexpected {other:?} at byte {i}")),
        }
    }
    Ok(tokens)
}

fn main() {
    let mut vars: HashMap<&str, f64> = HashMap::new();
    vars.insert("pi", std::f64::consts::PI);
    match lex("2 * (pi + 1.5e0) ^ x_1") {
        Ok(ts) => println!("{}", ts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ")),
        Err(e) => eprintln!("error: {e}"),
    }
}

//! The part of Structured Field Values (RFC 8941) that HTTP Message Signatures (RFC 9421) and
//! `Content-Digest` (RFC 9530) use: dictionaries whose members are items or inner lists, with
//! parameters; strict parsing and the canonical serialization of an inner list.
//!
//! Decimals are not accepted (no field read here uses them). A dictionary that repeats a key
//! is refused instead of keeping the last value, so that two `sig1` members can never be read
//! one way by the verifier and another way by someone else.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A bare item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bare {
    Integer(i64),
    String(String),
    Token(String),
    Bytes(Vec<u8>),
    Boolean(bool),
}

/// Parameters, in their order.
pub(crate) type Params = Vec<(String, Bare)>;

/// An item with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) bare: Bare,
    pub(crate) params: Params,
}

/// A dictionary member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Member {
    Item(Item),
    InnerList(Vec<Item>, Params),
}

/// Why a field value is not a valid structured field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SfError(pub(crate) &'static str);

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn key(&mut self) -> Result<String, SfError> {
        let start = self.i;
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => self.i += 1,
            _ => return Err(SfError("a key must start with a lower-case letter or '*'")),
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c) {
                self.i += 1;
            } else {
                break;
            }
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn bare(&mut self) -> Result<Bare, SfError> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b'?') => self.boolean(),
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => Ok(self.token()),
            _ => Err(SfError("not a bare item")),
        }
    }

    fn integer(&mut self) -> Result<Bare, SfError> {
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        let digits = &self.s[start..self.i];
        if digits.is_empty() {
            return Err(SfError("an integer needs digits"));
        }
        if digits.len() > 15 {
            return Err(SfError("an integer has at most 15 digits"));
        }
        if self.peek() == Some(b'.') {
            return Err(SfError("decimals are not accepted"));
        }
        let v = digits
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
        Ok(Bare::Integer(if neg { -v } else { v }))
    }

    fn string(&mut self) -> Result<Bare, SfError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(SfError("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(Bare::String(out));
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(char::from(c));
                            self.i += 1;
                        }
                        _ => return Err(SfError("bad escape in a string")),
                    }
                }
                Some(c @ 0x20..=0x7e) => {
                    out.push(char::from(c));
                    self.i += 1;
                }
                Some(_) => return Err(SfError("a string holds only visible ASCII")),
            }
        }
    }

    fn token(&mut self) -> Bare {
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c) {
                self.i += 1;
            } else {
                break;
            }
        }
        Bare::Token(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn bytes(&mut self) -> Result<Bare, SfError> {
        self.i += 1;
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || b"+/=".contains(&c) {
                self.i += 1;
            } else {
                break;
            }
        }
        let b64 = &self.s[start..self.i];
        if self.peek() != Some(b':') {
            return Err(SfError("unterminated byte sequence"));
        }
        self.i += 1;
        STANDARD
            .decode(b64)
            .map(Bare::Bytes)
            .map_err(|_| SfError("a byte sequence is not base64"))
    }

    fn boolean(&mut self) -> Result<Bare, SfError> {
        self.i += 1;
        let v = match self.peek() {
            Some(b'1') => true,
            Some(b'0') => false,
            _ => return Err(SfError("a boolean is ?0 or ?1")),
        };
        self.i += 1;
        Ok(Bare::Boolean(v))
    }

    fn params(&mut self) -> Result<Params, SfError> {
        let mut out: Params = Vec::new();
        while self.peek() == Some(b';') {
            self.i += 1;
            self.skip_sp();
            let k = self.key()?;
            let v = if self.peek() == Some(b'=') {
                self.i += 1;
                self.bare()?
            } else {
                Bare::Boolean(true)
            };
            if out.iter().any(|(name, _)| *name == k) {
                return Err(SfError("a parameter is repeated"));
            }
            out.push((k, v));
        }
        Ok(out)
    }

    fn item(&mut self) -> Result<Item, SfError> {
        let bare = self.bare()?;
        let params = self.params()?;
        Ok(Item { bare, params })
    }

    fn member(&mut self) -> Result<Member, SfError> {
        if self.peek() != Some(b'(') {
            return self.item().map(Member::Item);
        }
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.peek() == Some(b')') {
                self.i += 1;
                let params = self.params()?;
                return Ok(Member::InnerList(items, params));
            }
            items.push(self.item()?);
            match self.peek() {
                Some(b' ' | b')') => {}
                _ => return Err(SfError("inner-list items are separated by spaces")),
            }
        }
    }
}

/// Parses a dictionary (RFC 8941 §4.2.2), refusing repeated keys.
pub(crate) fn parse_dictionary(value: &str) -> Result<Vec<(String, Member)>, SfError> {
    let mut p = Parser {
        s: value.as_bytes(),
        i: 0,
    };
    p.skip_sp();
    let mut out: Vec<(String, Member)> = Vec::new();
    if p.peek().is_none() {
        return Ok(out);
    }
    loop {
        let k = p.key()?;
        let m = if p.peek() == Some(b'=') {
            p.i += 1;
            p.member()?
        } else {
            let params = p.params()?;
            Member::Item(Item {
                bare: Bare::Boolean(true),
                params,
            })
        };
        if out.iter().any(|(name, _)| *name == k) {
            return Err(SfError("a dictionary key is repeated"));
        }
        out.push((k, m));
        p.skip_ows();
        match p.peek() {
            None => return Ok(out),
            Some(b',') => {
                p.i += 1;
                p.skip_ows();
                if p.peek().is_none() {
                    return Err(SfError("trailing comma"));
                }
            }
            Some(_) => return Err(SfError("dictionary members are separated by commas")),
        }
    }
}

fn write_bare(out: &mut String, b: &Bare) {
    match b {
        Bare::Integer(i) => out.push_str(&i.to_string()),
        Bare::String(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        Bare::Token(t) => out.push_str(t),
        Bare::Bytes(v) => {
            out.push(':');
            out.push_str(&STANDARD.encode(v));
            out.push(':');
        }
        Bare::Boolean(v) => out.push_str(if *v { "?1" } else { "?0" }),
    }
}

fn write_params(out: &mut String, params: &Params) {
    for (k, v) in params {
        out.push(';');
        out.push_str(k);
        if *v != Bare::Boolean(true) {
            out.push('=');
            write_bare(out, v);
        }
    }
}

/// The canonical serialization of an inner list (RFC 8941 §4.1.1.1).
pub(crate) fn serialize_inner_list(items: &[Item], params: &Params) -> String {
    let mut out = String::from("(");
    for (n, it) in items.iter().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        write_bare(&mut out, &it.bare);
        write_params(&mut out, &it.params);
    }
    out.push(')');
    write_params(&mut out, params);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signature_fields_and_serializes_them_back() {
        let v = r#"sig1=("x-a" "x-b");created=1618884473;keyid="k\"1";alg="ecdsa-p256-sha256", sig2=()"#;
        let d = parse_dictionary(v).unwrap();
        assert_eq!(d.len(), 2);
        let Member::InnerList(items, params) = &d[0].1 else {
            panic!("not an inner list")
        };
        assert_eq!(items[0].bare, Bare::String("x-a".into()));
        assert_eq!(params[0], ("created".into(), Bare::Integer(1_618_884_473)));
        assert_eq!(
            serialize_inner_list(items, params),
            r#"("x-a" "x-b");created=1618884473;keyid="k\"1";alg="ecdsa-p256-sha256""#
        );
        let s = parse_dictionary("sig1=:AAEC:, b=?0;x").unwrap();
        assert_eq!(
            s[0].1,
            Member::Item(Item {
                bare: Bare::Bytes(vec![0, 1, 2]),
                params: vec![]
            })
        );
    }

    #[test]
    fn refuses_malformed_fields() {
        for bad in [
            "sig1=(\"a\"",
            "sig1=:AA",
            "sig1=(\"a\")x",
            "Sig1=()",
            "a=1,",
            "a=1, a=2",
            "a=1.5",
            "a=1234567890123456",
            "a=\"\\x\"",
            "a=();p=1;p=2",
            "a=(\"x\"\"y\")",
            "a=:!!:",
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad}");
        }
    }
}

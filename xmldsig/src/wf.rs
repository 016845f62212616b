//! Well-formedness rules the tokenizer leaves to us: the XML declaration (XML 1.0 §2.8 `XMLDecl`)
//! and namespace names (Namespaces in XML 1.0 §2.2: a namespace name is a URI reference, RFC
//! 3986; a prefix cannot be bound to the empty name).

/// Checks the content of an XML declaration, the text between `<?xml` and `?>`:
/// `version` first ("1." and digits), then optionally `encoding`, then optionally `standalone`
/// (`yes` or `no`), each with white space before it, quoted with `"` or `'`, and nothing else.
/// Returns the declared encoding, if any.
pub(crate) fn xml_decl(content: &[u8]) -> Result<Option<&[u8]>, String> {
    let mut rest = content;
    let mut encoding = None;
    let mut seen = 0;
    const ORDER: [&[u8]; 3] = [b"version", b"encoding", b"standalone"];
    loop {
        let trimmed = trim_start(rest);
        if trimmed.is_empty() {
            break;
        }
        if trimmed.len() == rest.len() {
            return Err(
                "white space expected between the XML declaration's pseudo-attributes".into(),
            );
        }
        rest = trimmed;
        let name_end = rest
            .iter()
            .position(|&b| b == b'=' || is_space(b))
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        let Some(index) = ORDER.iter().position(|n| *n == name) else {
            return Err(format!(
                "unknown pseudo-attribute {:?} in the XML declaration",
                String::from_utf8_lossy(name)
            ));
        };
        if index < seen || (seen == 0 && index != 0) {
            return Err(
                "the XML declaration must name version, then encoding, then standalone".into(),
            );
        }
        seen = index + 1;
        rest = trim_start(&rest[name_end..]);
        let Some(after_eq) = rest.strip_prefix(b"=") else {
            return Err("'=' expected in the XML declaration".into());
        };
        rest = trim_start(after_eq);
        let quote = match rest.first() {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return Err("quoted value expected in the XML declaration".into()),
        };
        let Some(len) = rest[1..].iter().position(|&b| b == quote) else {
            return Err("unterminated value in the XML declaration".into());
        };
        let value = &rest[1..1 + len];
        rest = &rest[len + 2..];
        match index {
            0 => {
                let ok = value.len() > 2
                    && value.starts_with(b"1.")
                    && value[2..].iter().all(u8::is_ascii_digit);
                if !ok {
                    return Err(format!(
                        "unsupported XML version {:?}",
                        String::from_utf8_lossy(value)
                    ));
                }
            }
            1 => {
                let ok = value.first().is_some_and(u8::is_ascii_alphabetic)
                    && value
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
                if !ok {
                    return Err(format!(
                        "malformed encoding name {:?}",
                        String::from_utf8_lossy(value)
                    ));
                }
                encoding = Some(value);
            }
            _ => {
                if value != b"yes" && value != b"no" {
                    return Err(format!(
                        "standalone must be yes or no, not {:?}",
                        String::from_utf8_lossy(value)
                    ));
                }
            }
        }
    }
    if seen == 0 {
        return Err("the XML declaration must name the version".into());
    }
    Ok(encoding)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_space(b)).count();
    &s[n..]
}

/// Checks that a namespace name is a URI reference (RFC 3986): ASCII without spaces, controls or
/// the characters URIs exclude, `%` only before two hex digits, at most one `#`, and `[` `]` only
/// around an IP literal right after `//`.
pub(crate) fn namespace_name(uri: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "namespace name {uri:?} is not a URI reference: {why}"
        ))
    };
    // A ':' in the first segment ends a scheme (a relative reference cannot have one there).
    let first_segment = &uri[..uri.find(['/', '?', '#']).unwrap_or(uri.len())];
    if let Some(colon) = first_segment.find(':') {
        let scheme = &uri[..colon];
        let valid = scheme
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !valid {
            return bad("a ':' in the first segment must end a scheme");
        }
        if let Some(rest) = uri[colon + 1..].strip_prefix("//") {
            let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
            let mut at = authority.split('@');
            let host_port = match (at.next(), at.next(), at.next()) {
                (Some(h), None, _) | (Some(_), Some(h), None) => h,
                _ => return bad("more than one '@' in the authority"),
            };
            let port = match host_port.strip_prefix('[') {
                Some(literal) => match literal.split_once(']') {
                    Some((_, "")) => None,
                    Some((_, after)) => match after.strip_prefix(':') {
                        Some(port) => Some(port),
                        None => return bad("text after the IP literal"),
                    },
                    None => return bad("unterminated IP literal"),
                },
                None => host_port.rsplit_once(':').map(|(_, port)| port),
            };
            // libxml2 wants digits after the ':' as well (RFC 3986 would allow none).
            if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
                return bad("the port is not a number");
            }
        }
    }
    let bytes = uri.as_bytes();
    let mut fragment = false;
    // The IP-literal brackets, if any: "//[" ... "]" inside the authority.
    let literal = uri
        .find("//[")
        .and_then(|open| uri[open..].find(']').map(|close| (open + 2, open + close)));
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'%' => {
                let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return bad("'%' not followed by two hexadecimal digits");
                }
                i += 3;
                continue;
            }
            b'#' => {
                if fragment {
                    return bad("more than one '#'");
                }
                fragment = true;
            }
            b'[' | b']' => {
                if !literal.is_some_and(|(open, close)| i == open || i == close) || fragment {
                    return bad("'[' or ']' outside an IP literal");
                }
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => {}
            b'-' | b'.' | b'_' | b'~' | b':' | b'/' | b'?' | b'@' | b'!' | b'$' | b'&' | b'\''
            | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => {}
            _ if b.is_ascii() => return bad("character not allowed in a URI"),
            _ => return bad("non-ASCII character"),
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_declarations() {
        for ok in [
            " version=\"1.0\"",
            " version='1.0' encoding='UTF-8' standalone='yes'",
            " version=\"1.1\" standalone=\"no\" ",
            "\n\tversion = \"1.0\"\nencoding = \"utf-8\"",
        ] {
            assert!(xml_decl(ok.as_bytes()).is_ok(), "{ok}");
        }
        assert_eq!(
            xml_decl(b" version=\"1.0\" encoding=\"ISO-8859-1\""),
            Ok(Some(&b"ISO-8859-1"[..]))
        );
        for bad in [
            "",
            " vresion=\"1.0\"",
            " encoding=\"UTF-8\"",
            " version=\"1.0\"encoding=\"UTF-8\"",
            " version=\"1.0\" standalone=\"yes\" encoding=\"UTF-8\"",
            " version=\"1.0\" standalone=\"maybe\"",
            " version=\"1.0\" foo=\"bar\"",
            " version=\"1.0'",
            " version=\"2.0\"",
            " version=\"1.\"",
            " version=\"1.0\" version=\"1.0\"",
            " version=\"1.0\" encoding=\"\"",
            " version=\"1.0\" encoding=\"8bit\"",
            " version 1.0",
        ] {
            assert!(xml_decl(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespace_names() {
        for ok in [
            "urn:oasis:names:tc:SAML:2.0:assertion",
            "http://www.w3.org/2000/09/xmldsig#",
            "https://example.it/a%2Fb?q=1&r=2#frag",
            "http://[::1]:8080/ns",
            "http://user@host:8080/p:q",
            "a/b:c",
            "relative/path",
            "",
        ] {
            assert!(namespace_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "urn:a b",
            "urn:a]b",
            "a[b",
            "r\u{e9}",
            "a%zz",
            "a%2",
            "a|b",
            "a{b",
            "a}b",
            "a\\b",
            "a^b",
            "a`b",
            "a\"b",
            "a<b",
            "a>b",
            "a#b#c",
            "a\tb",
            "a\nb",
            "u=rn:a",
            "1urn:x",
            "http://w:ww.example/",
            "http://host:/",
            "http://a@b@c/",
            "http://[::1/",
            "http://[::1]x/",
        ] {
            assert!(namespace_name(bad).is_err(), "{bad:?}");
        }
    }
}

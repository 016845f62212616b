//! BER to DER normalization for CMS input: indefinite lengths become definite, constructed
//! OCTET STRINGs and character strings become primitive. Signing tools that stream (`openssl cms
//! -stream`, many desktop signers for large files) produce such `.p7m` files; DER parts are
//! copied unchanged.

const MAX_DEPTH: usize = 64;

/// Converts a BER encoding into DER.
pub(crate) fn to_der(input: &[u8]) -> Result<Vec<u8>, String> {
    let mut pos = 0;
    let mut out = Vec::with_capacity(input.len());
    element(input, &mut pos, &mut out, 0)?;
    if pos != input.len() {
        return Err(format!("trailing data at byte {pos}"));
    }
    Ok(out)
}

/// The length of the BER element at the start of `input` (what follows it is not read).
pub(crate) fn element_len(input: &[u8]) -> Result<usize, String> {
    let mut pos = 0;
    let mut out = Vec::new();
    element(input, &mut pos, &mut out, 0)?;
    Ok(pos)
}

struct Header {
    tag: Vec<u8>,
    constructed: bool,
    universal_number: Option<u8>,
    len: Option<usize>,
}

fn byte(input: &[u8], pos: &mut usize) -> Result<u8, String> {
    let b = *input
        .get(*pos)
        .ok_or_else(|| format!("truncated at byte {pos}"))?;
    *pos += 1;
    Ok(b)
}

fn header(input: &[u8], pos: &mut usize) -> Result<Header, String> {
    let start = *pos;
    let first = byte(input, pos)?;
    if first & 0x1f == 0x1f {
        for i in 0.. {
            let b = byte(input, pos)?;
            if b & 0x80 == 0 {
                break;
            }
            if i >= 4 {
                return Err(format!("tag too long at byte {start}"));
            }
        }
    }
    let tag = input[start..*pos].to_vec();
    let universal_number = (first & 0xc0 == 0 && first & 0x1f != 0x1f).then_some(first & 0x1f);
    let l = byte(input, pos)?;
    let len = if l < 0x80 {
        Some(usize::from(l))
    } else if l == 0x80 {
        None
    } else {
        let n = usize::from(l & 0x7f);
        if n > 8 {
            return Err(format!("length too long at byte {start}"));
        }
        let mut v: usize = 0;
        for _ in 0..n {
            let b = byte(input, pos)?;
            v = v
                .checked_mul(256)
                .and_then(|v| v.checked_add(usize::from(b)))
                .ok_or_else(|| format!("length overflow at byte {start}"))?;
        }
        Some(v)
    };
    let constructed = first & 0x20 != 0;
    if len.is_none() && !constructed {
        return Err(format!("indefinite length on a primitive at byte {start}"));
    }
    Ok(Header {
        tag,
        constructed,
        universal_number,
        len,
    })
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Universal string types whose constructed form DER forbids (BIT STRING is not handled).
fn is_string(n: u8) -> bool {
    matches!(n, 4 | 12 | 18 | 19 | 20 | 21 | 22 | 25 | 26 | 27 | 28 | 30)
}

fn element(input: &[u8], pos: &mut usize, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("nesting too deep".into());
    }
    let h = header(input, pos)?;
    if !h.constructed {
        let len = h.len.unwrap_or(0);
        let end = pos
            .checked_add(len)
            .filter(|e| *e <= input.len())
            .ok_or_else(|| format!("truncated content at byte {pos}"))?;
        out.extend_from_slice(&h.tag);
        push_len(out, len);
        out.extend_from_slice(&input[*pos..end]);
        *pos = end;
        return Ok(());
    }
    // Children, converted.
    let mut children = Vec::new();
    match h.len {
        Some(len) => {
            let end = pos
                .checked_add(len)
                .filter(|e| *e <= input.len())
                .ok_or_else(|| format!("truncated content at byte {pos}"))?;
            while *pos < end {
                element(input, pos, &mut children, depth + 1)?;
            }
            if *pos != end {
                return Err(format!("child overruns its parent at byte {pos}"));
            }
        }
        None => loop {
            if input.get(*pos..*pos + 2) == Some(&[0, 0]) {
                *pos += 2;
                break;
            }
            if *pos >= input.len() {
                return Err("missing end-of-contents".into());
            }
            element(input, pos, &mut children, depth + 1)?;
        },
    }
    match h.universal_number {
        Some(3) => Err("constructed BIT STRING is not supported".into()),
        Some(n) if is_string(n) => {
            // Concatenate the (now primitive) segments into one primitive string.
            let mut content = Vec::with_capacity(children.len());
            let mut p = 0;
            while p < children.len() {
                let seg = header(&children, &mut p)?;
                if seg.constructed || seg.universal_number != Some(n) {
                    return Err("mixed segments in a constructed string".into());
                }
                let len = seg.len.unwrap_or(0);
                let end = p + len;
                content.extend_from_slice(children.get(p..end).ok_or("bad segment")?);
                p = end;
            }
            out.push(n);
            push_len(out, content.len());
            out.extend_from_slice(&content);
            Ok(())
        }
        _ => {
            out.extend_from_slice(&h.tag);
            push_len(out, children.len());
            out.extend_from_slice(&children);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_is_unchanged() {
        let der = [0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa];
        assert_eq!(to_der(&der).unwrap(), der);
    }

    #[test]
    fn indefinite_and_constructed_octets() {
        // SEQUENCE (indef) { OCTET STRING (constructed, indef) { 04 01 aa, 04 02 bb cc } }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x01, 0xaa, 0x04, 0x02, 0xbb, 0xcc, 0, 0, 0, 0,
        ];
        assert_eq!(
            to_der(&ber).unwrap(),
            [0x30, 0x05, 0x04, 0x03, 0xaa, 0xbb, 0xcc]
        );
    }

    #[test]
    fn malformed_is_an_error() {
        for bad in [
            &[0x30, 0x80][..],
            &[0x30, 0x05, 0x02],
            &[0x04, 0x80, 0x00, 0x00],
            &[0x30, 0x89, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            &[0x30, 0x02, 0x02, 0x05],
        ] {
            assert!(to_der(bad).is_err(), "{bad:?}");
        }
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 100).flatten().collect();
        assert!(to_der(&deep).is_err());
    }
}

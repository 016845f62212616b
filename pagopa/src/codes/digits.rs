//! Small digit helpers shared by the code types.

use super::error::{CodeError, CodeKind};

/// Checks that `s` has exactly `len` bytes, all ASCII digits, and returns them.
#[inline]
pub(crate) fn ascii_digits<const N: usize>(
    s: &str,
    what: CodeKind,
    expected: &'static str,
) -> Result<[u8; N], CodeError> {
    let bytes = s.as_bytes();
    let Ok(arr) = <[u8; N]>::try_from(bytes) else {
        return Err(CodeError::WrongLength {
            what,
            expected,
            found: s.chars().count(),
        });
    };
    check_all_digits(s, &arr, what)?;
    Ok(arr)
}

/// Fails with [`CodeError::NonDigit`] on the first non-digit (or non-ASCII) character.
#[inline]
pub(crate) fn check_all_digits(s: &str, bytes: &[u8], what: CodeKind) -> Result<(), CodeError> {
    // Fast path: branch-free fold over the bytes.
    let bad = bytes
        .iter()
        .fold(0u8, |acc, b| acc | u8::from(!b.is_ascii_digit()));
    if bad == 0 {
        return Ok(());
    }
    Err(first_non_digit(s, what))
}

#[cold]
fn first_non_digit(s: &str, what: CodeKind) -> CodeError {
    for (i, c) in s.chars().enumerate() {
        if !c.is_ascii_digit() {
            return CodeError::NonDigit {
                what,
                position: i + 1,
                found: c,
            };
        }
    }
    // Unreachable when called after a failed digit check; report something sensible anyway.
    CodeError::NonDigit {
        what,
        position: 0,
        found: '\0',
    }
}

/// The value of a run of ASCII digits (at most 19 digits so it fits a `u64`).
#[inline]
pub(crate) fn value(digits: &[u8]) -> u64 {
    digits
        .iter()
        .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'))
}

/// Writes `value` as exactly `out.len()` zero-padded ASCII digits.
#[inline]
pub(crate) fn write_padded(mut value: u64, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// `10^n` for `n <= 19`.
#[inline]
pub(crate) const fn pow10(n: u32) -> u64 {
    10u64.pow(n)
}

/// pagoPA check digits: `n mod 93`, as a number 0..=92 printed as two digits.
#[inline]
pub(crate) fn mod93(n: u64) -> u8 {
    (n % 93) as u8
}

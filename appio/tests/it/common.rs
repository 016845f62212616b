//! Helpers shared by the integration tests.

use appio::{
    CodiceFiscale, IoClient, NoticeNumber, OrganizationFiscalCode, RetryPolicy, SubscriptionKey,
};
use std::time::Duration;

/// Check letter of a codice fiscale (odd/even tables of the DM 23/12/1976).
fn check_letter(chars: &[u8]) -> u8 {
    const ODD: [u32; 36] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3,
        6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
    ];
    let mut sum = 0u32;
    for (i, &c) in chars.iter().enumerate() {
        let idx = if c.is_ascii_digit() {
            c - b'0'
        } else {
            c - b'A' + 10
        } as usize;
        sum += if i % 2 == 0 {
            ODD[idx]
        } else if idx < 10 {
            idx as u32
        } else {
            idx as u32 - 10
        };
    }
    b'A' + (sum % 26) as u8
}

/// The n-th distinct valid codice fiscale (n < 26^6).
pub(crate) fn cf(n: usize) -> CodiceFiscale {
    let mut letters = [b'A'; 6];
    let mut v = n;
    for l in letters.iter_mut().rev() {
        *l = b'A' + (v % 26) as u8;
        v /= 26;
    }
    let mut s = String::from_utf8(letters.to_vec()).unwrap();
    s.push_str("85T10A562");
    let c = check_letter(s.as_bytes());
    s.push(c as char);
    s.parse().unwrap()
}

/// A valid organization fiscal code.
pub(crate) fn payee() -> OrganizationFiscalCode {
    "00488410010".parse().unwrap()
}

/// The n-th aux-3 notice number of segregation code 01.
pub(crate) fn notice(n: u64) -> NoticeNumber {
    NoticeNumber::new_aux3(pagopa::SegregationCode::new(1).unwrap(), n).unwrap()
}

/// A markdown body of the given length (ASCII).
pub(crate) fn text(len: usize) -> String {
    "abcdefghij".repeat(len / 10 + 1)[..len].to_owned()
}

/// Fast retries for tests.
pub(crate) fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 8,
        initial_backoff: Duration::from_millis(2),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(5),
    }
}

/// A client for `base` with fast retries.
pub(crate) fn client(base: &str) -> IoClient {
    IoClient::builder(SubscriptionKey::new("test-key-123"))
        .base_url(base)
        .retry(fast_retry())
        .build()
        .unwrap()
}

/// The API base URL of a wiremock server.
pub(crate) fn base(server: &wiremock::MockServer) -> String {
    format!("{}/api/v1", server.uri())
}

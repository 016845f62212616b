//! Property tests: the length rules match UTF-16 counting for any text, and no input makes
//! parsing panic.

use appio::{Markdown, NewMessage, Subject, api_len};
use proptest::prelude::*;

proptest! {
    #[test]
    fn subject_accepts_exactly_the_utf16_range(s in "\\PC{0,130}") {
        let n = s.encode_utf16().count();
        prop_assert_eq!(api_len(&s), n);
        prop_assert_eq!(Subject::new(s.clone()).is_ok(), (10..=120).contains(&n));
    }

    #[test]
    fn markdown_accepts_exactly_the_utf16_range(s in "\\PC{60,100}") {
        let n = s.encode_utf16().count();
        prop_assert_eq!(Markdown::new(s).is_ok(), (80..=10_000).contains(&n));
    }

    #[test]
    fn parsing_arbitrary_json_never_panics(s in "\\PC{0,300}") {
        let _ = serde_json::from_str::<NewMessage>(&s);
        let _ = appio::api::parse_problem(s.as_bytes());
    }

    #[test]
    fn parsing_mutated_messages_never_panics(
        subject in "\\PC{0,20}",
        amount in any::<i64>(),
        nn in "[0-9]{0,20}",
        ttl in any::<i64>(),
    ) {
        let json = serde_json::json!({
            "fiscal_code": "RSSMRA85T10A562S",
            "time_to_live": ttl,
            "content": {
                "subject": subject,
                "markdown": "x".repeat(90),
                "payment_data": {"amount": amount, "notice_number": nn, "payee": {"fiscal_code": "00488410010"}}
            }
        });
        if let Ok(m) = serde_json::from_value::<NewMessage>(json) {
            // Whatever parsed satisfies every rule.
            let p = m.content().payment_data().unwrap();
            prop_assert!((1..=9_999_999_999).contains(&p.amount().cents()));
            prop_assert!((3600..=604_800).contains(&m.time_to_live().unwrap().secs()));
        }
    }
}

//! Every limit of the message rules, and the JSON the API receives.

use appio::{
    Amount, EmailAddress, FeatureLevel, Markdown, NewMessage, PaymentData, PrescriptionData,
    Subject, ThirdPartyData, TimeToLive, ValidationError,
};
use chrono::{DateTime, TimeZone, Utc};

use crate::common::{cf, notice, payee, text};

fn length_err(field: &'static str, min: usize, max: usize, found: usize) -> ValidationError {
    ValidationError::Length {
        field,
        min,
        max,
        found,
    }
}

#[test]
fn subject_limits() {
    assert_eq!(
        Subject::new(text(9)).unwrap_err(),
        length_err("content.subject", 10, 120, 9)
    );
    assert!(Subject::new(text(10)).is_ok());
    assert!(Subject::new(text(120)).is_ok());
    assert_eq!(
        Subject::new(text(121)).unwrap_err(),
        length_err("content.subject", 10, 120, 121)
    );
    assert_eq!(
        Subject::new("").unwrap_err(),
        length_err("content.subject", 10, 120, 0)
    );
}

#[test]
fn lengths_are_counted_in_utf16_units_like_the_api() {
    // "è" is one UTF-16 unit (two UTF-8 bytes): 10 of them make a valid subject.
    assert!(Subject::new("è".repeat(10)).is_ok());
    // An emoji outside the BMP is two UTF-16 units: 60 fit in 120, 61 do not, though 61 chars.
    assert!(Subject::new("😀".repeat(60)).is_ok());
    assert_eq!(
        Subject::new("😀".repeat(61)).unwrap_err(),
        length_err("content.subject", 10, 120, 122)
    );
    // 5 emoji are 10 units: long enough although only 5 characters.
    assert!(Subject::new("😀".repeat(5)).is_ok());
    assert_eq!(appio::api_len("a😀è"), 4);
}

#[test]
fn markdown_limits() {
    assert_eq!(
        Markdown::new(text(79)).unwrap_err(),
        length_err("content.markdown", 80, 10_000, 79)
    );
    assert!(Markdown::new(text(80)).is_ok());
    assert!(Markdown::new(text(10_000)).is_ok());
    assert_eq!(
        Markdown::new(text(10_001)).unwrap_err(),
        length_err("content.markdown", 80, 10_000, 10_001)
    );
    let err = Markdown::new("too short").unwrap_err().to_string();
    assert!(
        err.contains("content.markdown") && err.contains("80..=10000"),
        "{err}"
    );
}

#[test]
fn time_to_live_limits() {
    let range = |found| ValidationError::Range {
        field: "time_to_live",
        min: 3600,
        max: 604_800,
        found,
    };
    assert_eq!(TimeToLive::from_secs(3599).unwrap_err(), range(3599));
    assert_eq!(TimeToLive::from_secs(3600).unwrap().secs(), 3600);
    assert_eq!(TimeToLive::from_secs(604_800).unwrap().secs(), 604_800);
    assert_eq!(TimeToLive::from_secs(604_801).unwrap_err(), range(604_801));
    assert_eq!(
        TimeToLive::from_secs(u64::MAX).unwrap_err(),
        range(u64::MAX)
    );
}

#[test]
fn amount_limits() {
    let range = |found| ValidationError::Range {
        field: "content.payment_data.amount",
        min: 1,
        max: 9_999_999_999,
        found,
    };
    let pd = |c| PaymentData::new(notice(1), Amount::from_cents(c), payee());
    assert_eq!(pd(0).unwrap_err(), range(0));
    assert_eq!(pd(1).unwrap().amount().cents(), 1);
    assert!(pd(9_999_999_999).is_ok());
    assert_eq!(pd(10_000_000_000).unwrap_err(), range(10_000_000_000));
}

fn minimal_json(extra_content: &str) -> String {
    format!(
        r#"{{"fiscal_code":"{}","content":{{"subject":"{}","markdown":"{}"{extra_content}}}}}"#,
        cf(1),
        text(20),
        text(100)
    )
}

#[test]
fn deserializing_checks_the_notice_number_pattern_and_amount() {
    let good = format!(
        r#","payment_data":{{"amount":100,"notice_number":"{}","payee":{{"fiscal_code":"00488410010"}}}}"#,
        notice(7)
    );
    let m: NewMessage = serde_json::from_str(&minimal_json(&good)).unwrap();
    assert_eq!(
        m.content().payment_data().unwrap().notice_number(),
        &notice(7)
    );
    for bad_nn in [
        "401000000000000144",
        "30100000000000014",
        "3010000000000001445",
        "30100000000000014X",
    ] {
        let bad = format!(
            r#","payment_data":{{"amount":100,"notice_number":"{bad_nn}","payee":{{"fiscal_code":"00488410010"}}}}"#
        );
        let err = serde_json::from_str::<NewMessage>(&minimal_json(&bad))
            .unwrap_err()
            .to_string();
        assert!(err.contains("notice_number"), "{bad_nn}: {err}");
    }
    let zero = format!(
        r#","payment_data":{{"amount":0,"notice_number":"{}","payee":{{"fiscal_code":"00488410010"}}}}"#,
        notice(7)
    );
    let err = serde_json::from_str::<NewMessage>(&minimal_json(&zero))
        .unwrap_err()
        .to_string();
    assert!(err.contains("content.payment_data.amount"), "{err}");
    let no_payee = format!(
        r#","payment_data":{{"amount":5,"notice_number":"{}"}}"#,
        notice(7)
    );
    let err = serde_json::from_str::<NewMessage>(&minimal_json(&no_payee))
        .unwrap_err()
        .to_string();
    assert!(err.contains("payee"), "{err}");
}

#[test]
fn deserializing_checks_lengths_and_required_fields() {
    let short = format!(
        r#"{{"fiscal_code":"{}","content":{{"subject":"short","markdown":"{}"}}}}"#,
        cf(1),
        text(100)
    );
    let err = serde_json::from_str::<NewMessage>(&short)
        .unwrap_err()
        .to_string();
    assert!(err.contains("content.subject"), "{err}");
    let no_cf = format!(
        r#"{{"content":{{"subject":"{}","markdown":"{}"}}}}"#,
        text(20),
        text(100)
    );
    let err = serde_json::from_str::<NewMessage>(&no_cf)
        .unwrap_err()
        .to_string();
    assert!(err.contains("fiscal_code is required"), "{err}");
    let bad_cf = minimal_json("").replace(cf(1).as_str(), "RSSMRA85T10A562X");
    assert!(serde_json::from_str::<NewMessage>(&bad_cf).is_err());
    let ttl = minimal_json("").replacen('{', r#"{"time_to_live":60,"#, 1);
    let err = serde_json::from_str::<NewMessage>(&ttl)
        .unwrap_err()
        .to_string();
    assert!(err.contains("time_to_live"), "{err}");
}

fn base_builder() -> appio::NewMessageBuilder {
    NewMessage::builder(
        cf(3),
        Subject::new(text(30)).unwrap(),
        Markdown::new(text(90)).unwrap(),
    )
}

#[test]
fn attachments_need_the_advanced_feature_level() {
    let tp = ThirdPartyData::new("remote-1")
        .unwrap()
        .has_attachments(true);
    let err = base_builder()
        .third_party_data(tp.clone())
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        ValidationError::Incompatible {
            field: "content.third_party_data.has_attachments",
            reason: "attachments require feature_level_type ADVANCED",
        }
    );
    let m = base_builder()
        .third_party_data(tp)
        .feature_level(FeatureLevel::Advanced)
        .build()
        .unwrap();
    assert_eq!(m.feature_level(), FeatureLevel::Advanced);
    // Same rule when the message arrives as JSON.
    let json = minimal_json(r#","third_party_data":{"id":"x","has_attachments":true}"#);
    let err = serde_json::from_str::<NewMessage>(&json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("ADVANCED"), "{err}");
}

#[test]
fn unknown_feature_level_is_refused() {
    let err = base_builder()
        .feature_level(FeatureLevel::from_api("PREMIUM"))
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        ValidationError::Format {
            field: "feature_level_type",
            ..
        }
    ));
}

#[test]
fn third_party_and_prescription_limits() {
    assert!(matches!(
        ThirdPartyData::new("").unwrap_err(),
        ValidationError::Length {
            field: "content.third_party_data.id",
            min: 1,
            ..
        }
    ));
    let tp = ThirdPartyData::new("id").unwrap();
    assert!(
        tp.clone()
            .configuration_id("01ARZ3NDEKTSV4RRFFQ69G5FAV")
            .is_ok()
    );
    for bad in [
        "01ARZ3NDEKTSV4RRFFQ69G5FA",
        "81ARZ3NDEKTSV4RRFFQ69G5FAV",
        "01ARZ3NDEKTSV4RRFFQ69G5FAU",
    ] {
        assert!(
            matches!(
                tp.clone().configuration_id(bad).unwrap_err(),
                ValidationError::Format {
                    field: "content.third_party_data.configuration_id",
                    ..
                }
            ),
            "{bad}"
        );
    }
    assert!(tp.clone().summary("").is_err());
    assert!(tp.original_sender("").is_err());
    let nre = |n: usize| PrescriptionData::new(text(n), None, None);
    assert!(matches!(
        nre(14).unwrap_err(),
        ValidationError::Length {
            field: "content.prescription_data.nre",
            found: 14,
            ..
        }
    ));
    assert!(nre(15).is_ok());
    assert!(nre(16).is_err());
    let iup = |n: usize| PrescriptionData::new(text(15), Some(text(n)), Some(cf(2)));
    assert!(iup(0).is_err());
    assert!(iup(16).is_ok());
    assert!(matches!(
        iup(17).unwrap_err(),
        ValidationError::Length {
            field: "content.prescription_data.iup",
            max: 16,
            ..
        }
    ));
}

#[test]
fn email_check() {
    assert!(EmailAddress::new("a@b.it").is_ok());
    for bad in ["", "ab", "a@@b.it", "a b@c.it", "@b.it", "a@", "a@b\n.it"] {
        assert!(EmailAddress::new(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn json_has_the_api_shape_with_due_date_in_utc() {
    let due: DateTime<Utc> = DateTime::parse_from_rfc3339("2025-02-01T00:30:00+01:00")
        .unwrap()
        .into();
    let m = base_builder()
        .payment_data(
            PaymentData::new(
                notice(42),
                Amount::parse_decimal("123.45").unwrap(),
                payee(),
            )
            .unwrap()
            .invalid_after_due_date(true),
        )
        .due_date(due)
        .time_to_live(TimeToLive::from_secs(7200).unwrap())
        .feature_level(FeatureLevel::Standard)
        .require_secure_channels(true)
        .default_email(EmailAddress::new("x@example.org").unwrap())
        .build()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&m.to_json().unwrap()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "fiscal_code": cf(3).as_str(),
            "time_to_live": 7200,
            "feature_level_type": "STANDARD",
            "default_addresses": {"email": "x@example.org"},
            "content": {
                "subject": text(30),
                "markdown": text(90),
                "due_date": "2025-01-31T23:30:00.000Z",
                "require_secure_channels": true,
                "payment_data": {
                    "amount": 12345,
                    "notice_number": notice(42).as_str(),
                    "invalid_after_due_date": true,
                    "payee": {"fiscal_code": "00488410010"}
                }
            }
        })
    );
    // Round trip.
    let back: NewMessage = serde_json::from_value(v).unwrap();
    assert_eq!(back, m);
    assert_eq!(
        back.content().due_date(),
        Some(Utc.with_ymd_and_hms(2025, 1, 31, 23, 30, 0).unwrap())
    );
}

#[test]
fn statuses_are_open_enums() {
    use appio::{MessageStatus, NotificationStatus};
    let s: MessageStatus = serde_json::from_str(r#""PROCESSED""#).unwrap();
    assert_eq!(s, MessageStatus::Processed);
    assert!(s.is_final());
    let q: NotificationStatus = serde_json::from_str(r#""QUEUED""#).unwrap();
    assert_eq!(q, NotificationStatus::Other("QUEUED".into()));
    assert_eq!(serde_json::to_string(&q).unwrap(), r#""QUEUED""#);
}

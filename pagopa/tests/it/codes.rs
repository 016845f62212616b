use pagopa::{
    ApplicationCode, AuxDigit, CodeError, CodeKind, Iuv, IuvKind, NoticeNumber, RfReference,
    SegregationCode,
};
use proptest::prelude::*;

fn seg(n: u8) -> SegregationCode {
    SegregationCode::new(n).unwrap()
}

// Worked values from the spec notes (computed from the mod-93 rule).
#[test]
fn spec_vectors_aux3() {
    let n = NoticeNumber::new_aux3(seg(1), 1).unwrap();
    assert_eq!(n.as_str(), "301000000000000144");
    assert_eq!(n.check_digits(), Some(44));
    assert_eq!(n.iuv().as_str(), "01000000000000144");
    let n = NoticeNumber::new_aux3(seg(2), 1_234_567_890_123).unwrap();
    assert_eq!(n.as_str(), "302123456789012356");
    assert_eq!(n.base(), 1_234_567_890_123);
    assert_eq!(n.segregation_code(), Some(seg(2)));
    assert_eq!(n.aux_digit(), AuxDigit::Three);
    assert_eq!(n.application_code(), None);
    assert_eq!(n.iuv().kind(), IuvKind::Digits17);
    n.iuv().verify_as(AuxDigit::Three, None).unwrap();
    assert_eq!("302123456789012356".parse::<NoticeNumber>().unwrap(), n);
}

#[test]
fn legacy_layouts_parse_and_verify() {
    // aux 0: 0 + application 12 + base 0000000000001 -> N = 0120000000000001
    let cd = 120_000_000_000_001u64 % 93;
    let s = format!("0120000000000001{cd:02}");
    let n: NoticeNumber = s.parse().unwrap();
    assert_eq!(n.aux_digit(), AuxDigit::Zero);
    assert_eq!(n.application_code(), ApplicationCode::new(12));
    assert_eq!(n.segregation_code(), None);
    assert_eq!(n.iuv().kind(), IuvKind::Digits15);
    assert_eq!(n.iuv().as_str(), &s[3..]);
    n.iuv()
        .verify_as(AuxDigit::Zero, ApplicationCode::new(12))
        .unwrap();
    assert!(
        n.iuv()
            .verify_as(AuxDigit::Zero, ApplicationCode::new(13))
            .is_err()
    );
    assert_eq!(
        NoticeNumber::from_iuv_aux0(ApplicationCode::new(12).unwrap(), &n.iuv()).unwrap(),
        n
    );

    // aux 1: no check digits
    let n: NoticeNumber = "112345678901234567".parse().unwrap();
    assert_eq!(n.aux_digit(), AuxDigit::One);
    assert_eq!(n.check_digits(), None);
    assert_eq!(n.base(), 12_345_678_901_234_567);
    assert_eq!(NoticeNumber::from_iuv(AuxDigit::One, &n.iuv()).unwrap(), n);

    // aux 2: 2 + base15 + cd
    let cd = 2_123_456_789_012_345u64 % 93;
    let s = format!("2123456789012345{cd:02}");
    let n: NoticeNumber = s.parse().unwrap();
    assert_eq!(n.aux_digit(), AuxDigit::Two);
    assert_eq!(n.base(), 123_456_789_012_345);
    assert_eq!(NoticeNumber::from_iuv(AuxDigit::Two, &n.iuv()).unwrap(), n);
}

#[test]
fn typed_errors() {
    assert_eq!(
        "30100000000000014".parse::<NoticeNumber>(),
        Err(CodeError::WrongLength {
            what: CodeKind::NoticeNumber,
            expected: "18",
            found: 17
        })
    );
    assert_eq!(
        "3010000000A0000144".parse::<NoticeNumber>(),
        Err(CodeError::NonDigit {
            what: CodeKind::NoticeNumber,
            position: 11,
            found: 'A'
        })
    );
    assert_eq!(
        "301000000000000145".parse::<NoticeNumber>(),
        Err(CodeError::CheckDigits {
            what: CodeKind::NoticeNumber,
            expected: 44,
            found: 45
        })
    );
    assert_eq!(
        "401000000000000144".parse::<NoticeNumber>(),
        Err(CodeError::UnknownAuxDigit { found: '4' })
    );
    // Non-ASCII input reports characters, not bytes.
    assert_eq!(
        "3010000000é000144".parse::<NoticeNumber>(),
        Err(CodeError::NonDigit {
            what: CodeKind::NoticeNumber,
            position: 11,
            found: 'é'
        })
    );
    assert_eq!(
        "".parse::<NoticeNumber>(),
        Err(CodeError::WrongLength {
            what: CodeKind::NoticeNumber,
            expected: "18",
            found: 0
        })
    );
    let msg = "301000000000000145"
        .parse::<NoticeNumber>()
        .unwrap_err()
        .to_string();
    assert_eq!(msg, "notice number: check digits expected 44, found 45");
    assert_eq!(
        NoticeNumber::new_aux3(seg(1), 10_000_000_000_000),
        Err(CodeError::BaseOutOfRange {
            digits: 13,
            value: 10_000_000_000_000
        })
    );
    assert_eq!(
        NoticeNumber::new_aux3(seg(99), pagopa::MAX_BASE13)
            .unwrap()
            .as_str(),
        format!("3999999999999999{:02}", 3_999_999_999_999_999u64 % 93)
    );
    // aux 3 IUV with the wrong check digits
    let iuv: Iuv = "01000000000000145".parse().unwrap();
    assert_eq!(
        iuv.verify_as(AuxDigit::Three, None),
        Err(CodeError::CheckDigits {
            what: CodeKind::Iuv,
            expected: 44,
            found: 45
        })
    );
    assert!(matches!(
        NoticeNumber::from_iuv(AuxDigit::Three, &iuv),
        Err(CodeError::CheckDigits {
            expected: 44,
            found: 45,
            ..
        })
    ));
    assert!(matches!(
        NoticeNumber::from_iuv(AuxDigit::Zero, &iuv),
        Err(CodeError::IuvShape { aux: 0, found: 17 })
    ));
}

#[test]
fn print_format() {
    let n: NoticeNumber = "302123456789012356".parse().unwrap();
    assert_eq!(n.to_print_format(), "3021 2345 6789 0123 56");
    assert_eq!(
        NoticeNumber::parse_print_format("3021 2345 6789 0123 56").unwrap(),
        n
    );
}

#[test]
fn segregation_codes() {
    assert_eq!("07".parse::<SegregationCode>().unwrap().value(), 7);
    assert_eq!(seg(7).to_string(), "07");
    assert!("7".parse::<SegregationCode>().is_err());
    assert!("7a".parse::<SegregationCode>().is_err());
    assert!(SegregationCode::new(100).is_none());
    assert!(SegregationCode::CIE.is_reserved());
    assert!(SegregationCode::CANONE_UNICO.is_reserved());
    assert!(!seg(1).is_reserved());
}

#[test]
fn serde_validates() {
    let n: NoticeNumber = serde_json::from_str("\"301000000000000144\"").unwrap();
    assert_eq!(serde_json::to_string(&n).unwrap(), "\"301000000000000144\"");
    assert!(serde_json::from_str::<NoticeNumber>("\"301000000000000145\"").is_err());
    assert!(serde_json::from_str::<NoticeNumber>("301000000000000144").is_err());
    let s: SegregationCode = serde_json::from_str("\"01\"").unwrap();
    assert_eq!(serde_json::to_string(&s).unwrap(), "\"01\"");
    let rf: RfReference = serde_json::from_str("\"rf18539007547034\"").unwrap();
    assert_eq!(serde_json::to_string(&rf).unwrap(), "\"RF18539007547034\"");
    let iuv: Iuv = serde_json::from_str("\"01000000000000144\"").unwrap();
    assert_eq!(iuv.as_str(), "01000000000000144");
}

#[test]
fn iuv_shapes() {
    assert_eq!(
        "123456789012345".parse::<Iuv>().unwrap().kind(),
        IuvKind::Digits15
    );
    assert_eq!(
        "RF18539007547034".parse::<Iuv>().unwrap().kind(),
        IuvKind::Rf
    );
    assert_eq!(
        "rf18539007547034".parse::<Iuv>().unwrap().as_str(),
        "RF18539007547034"
    );
    assert!("rf18539007547034".parse::<Iuv>().unwrap().as_rf().is_some());
    assert!(matches!(
        "1234567890123456".parse::<Iuv>(),
        Err(CodeError::WrongLength {
            what: CodeKind::Iuv,
            found: 16,
            ..
        })
    ));
    assert!(matches!(
        "12345678901234X".parse::<Iuv>(),
        Err(CodeError::NonDigit {
            what: CodeKind::Iuv,
            position: 15,
            found: 'X'
        })
    ));
    assert_eq!(
        Iuv::new_aux3(seg(1), 1).unwrap().as_str(),
        "01000000000000144"
    );
}

#[test]
fn rf_references() {
    // ISO 11649's own example.
    let rf: RfReference = "RF18539007547034".parse().unwrap();
    assert_eq!(rf.check_digits(), 18);
    assert_eq!(rf.reference(), "539007547034");
    assert_eq!(RfReference::from_reference("539007547034").unwrap(), rf);
    assert_eq!(
        RfReference::parse_print_format("RF18 5390 0754 7034").unwrap(),
        rf
    );
    // The old pagoPA spec example is wrong: the right check digits are 78.
    assert_eq!(
        RfReference::parse_print_format("RF23 5674 8393 7849 4505 5087 5"),
        Err(CodeError::CheckDigits {
            what: CodeKind::RfReference,
            expected: 78,
            found: 23
        })
    );
    let fixed = RfReference::parse_print_format("RF78 5674 8393 7849 4505 5087 5").unwrap();
    assert_eq!(fixed.to_print_format(), "RF78 5674 8393 7849 4505 5087 5");
    assert_eq!(
        RfReference::from_reference("567483937849450550875").unwrap(),
        fixed
    );
    // letters, any case
    let rf = RfReference::from_reference("abc123").unwrap();
    assert_eq!(rf.reference(), "ABC123");
    assert_eq!(
        rf.as_str().to_lowercase().parse::<RfReference>().unwrap(),
        rf
    );
    // 01 = 98 and 99 = 02 mod 97: aliases are rejected
    let body = (0..100_000u32)
        .map(|i| i.to_string())
        .find(|b| RfReference::from_reference(b).unwrap().check_digits() == 98)
        .unwrap();
    assert!(matches!(
        format!("RF01{body}").parse::<RfReference>(),
        Err(CodeError::CheckDigits {
            expected: 98,
            found: 1,
            ..
        })
    ));
    let body = (0..100_000u32)
        .map(|i| i.to_string())
        .find(|b| RfReference::from_reference(b).unwrap().check_digits() == 2)
        .unwrap();
    assert!(format!("RF99{body}").parse::<RfReference>().is_err());
    // errors
    assert_eq!(
        "XX18539007547034".parse::<RfReference>(),
        Err(CodeError::MissingRfPrefix)
    );
    assert_eq!(
        "RF1853900754-7034".parse::<RfReference>(),
        Err(CodeError::InvalidCharacter {
            what: CodeKind::RfReference,
            position: 13,
            found: '-'
        })
    );
    assert_eq!(
        "RFX8539007547034".parse::<RfReference>(),
        Err(CodeError::NonDigit {
            what: CodeKind::RfReference,
            position: 3,
            found: 'X'
        })
    );
    assert!(matches!(
        "RF18".parse::<RfReference>(),
        Err(CodeError::WrongLength { found: 4, .. })
    ));
    assert!(matches!(
        RfReference::from_reference("1234567890123456789012"),
        Err(CodeError::WrongLength { found: 22, .. })
    ));
    assert!(RfReference::from_reference("").is_err());
    assert!(RfReference::from_reference("àb").is_err());
}

fn first16_mod93(s: &str) -> u8 {
    (s[..16].parse::<u64>().unwrap() % 93) as u8
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn built_notice_round_trips(s in 0u8..=99, base in 0u64..=pagopa::MAX_BASE13) {
        let n = NoticeNumber::new_aux3(seg(s), base).unwrap();
        prop_assert_eq!(n.as_str().len(), 18);
        prop_assert_eq!(n.check_digits(), Some(first16_mod93(n.as_str())));
        prop_assert_eq!(n.as_str().parse::<NoticeNumber>().unwrap(), n);
        prop_assert_eq!(n.base(), base);
        prop_assert_eq!(n.segregation_code(), Some(seg(s)));
        prop_assert_eq!(NoticeNumber::from_iuv(AuxDigit::Three, &n.iuv()).unwrap(), n);
    }

    /// Changing any single digit of the first 16 changes N by d * 10^k with 1 <= |d| <= 9;
    /// 93 = 3 * 31 and 10^k is coprime to 93, so d * 10^k is never 0 mod 93: always caught.
    /// A change in the check digits themselves is caught too (a different value 0..=99 is
    /// never equal to the expected one, except 93..=99 which alias 0..=6 but are rejected as
    /// "expected X found Y" because we compare the literal digits).
    #[test]
    fn every_single_digit_change_is_caught(
        aux in prop::sample::select(vec![0u8, 2, 3]),
        mid in 0u64..1_000_000_000_000_000,
        pos in 0usize..18,
        delta in 1u8..=9,
    ) {
        let first16 = u64::from(aux) * 1_000_000_000_000_000 + mid;
        let s = format!("{first16:016}{:02}", first16 % 93);
        prop_assert!(s.parse::<NoticeNumber>().is_ok());
        let mut b = s.into_bytes();
        let d = b[pos] - b'0';
        b[pos] = b'0' + (d + delta) % 10;
        let bad = String::from_utf8(b).unwrap();
        if pos == 0 && !matches!(bad.as_bytes()[0], b'0' | b'2' | b'3') {
            // changed to aux 1 (no check digits) or an unknown aux digit: not a check-digit matter
            return Ok(());
        }
        prop_assert!(bad.parse::<NoticeNumber>().is_err(), "{} accepted", bad);
    }

    /// An adjacent transposition of digits a != b at positions k+1, k inside the first 16
    /// changes N by (a - b) * 9 * 10^k: divisible by 3 always, so mod 93 catches it exactly when
    /// 31 does not divide (a - b) * 9 * 10^k, i.e. always (|a - b| <= 9 < 31). A transposition
    /// inside the check digits, or across the boundary, is caught unless by coincidence the
    /// swapped value matches (checked explicitly).
    #[test]
    fn adjacent_transpositions_are_caught(
        aux in prop::sample::select(vec![0u8, 2, 3]),
        mid in 0u64..1_000_000_000_000_000,
        pos in 1usize..17,
    ) {
        let first16 = u64::from(aux) * 1_000_000_000_000_000 + mid;
        let s = format!("{first16:016}{:02}", first16 % 93);
        let mut b = s.clone().into_bytes();
        prop_assume!(b[pos] != b[pos + 1]);
        b.swap(pos, pos + 1);
        let bad = String::from_utf8(b).unwrap();
        if pos + 1 < 16 {
            prop_assert!(bad.parse::<NoticeNumber>().is_err(), "{} accepted", bad);
        } else {
            // Across or inside the check digits: rejected iff the rule says so.
            let valid = first16_mod93(&bad) == bad[16..].parse::<u8>().unwrap();
            prop_assert_eq!(bad.parse::<NoticeNumber>().is_ok(), valid);
        }
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,30}") {
        let _ = s.parse::<NoticeNumber>();
        let _ = s.parse::<Iuv>();
        let _ = s.parse::<RfReference>();
        let _ = RfReference::from_reference(&s);
    }

    #[test]
    fn rf_round_trip_and_single_digit_change(
        body in "[0-9A-Z]{1,21}",
        idx in any::<prop::sample::Index>(),
        delta in 1u8..=9,
    ) {
        let rf = RfReference::from_reference(&body).unwrap();
        prop_assert_eq!(rf.as_str().parse::<RfReference>().unwrap(), rf);
        prop_assert_eq!(rf.as_str().to_lowercase().parse::<RfReference>().unwrap(), rf);
        // ISO 7064 mod 97-10 detects every substitution of one digit by another.
        let mut b = rf.as_str().as_bytes().to_vec();
        let pos = 2 + idx.index(b.len() - 2);
        if !b[pos].is_ascii_digit() {
            return Ok(());
        }
        b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
        let bad = String::from_utf8(b).unwrap();
        prop_assert!(bad.parse::<RfReference>().is_err(), "{} accepted", bad);
    }
}

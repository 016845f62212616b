//! Public-API tests of pa-types: real-world vectors, attacks on every check, property tests.
#![allow(clippy::unwrap_used)]

use pa_types::{
    Amount, AnyFiscalCode, Cig, CodiceFiscale, CodiceIpa, CodiceUnivocoUfficio, Cup, Expected,
    Iban, Kind, NumericFiscalCode, OrganizationFiscalCode, ParseError, PartitaIva,
    SpidFiscalNumber, parse_spid_any_fiscal_number, parse_spid_fiscal_number,
    parse_spid_vat_number,
};
use proptest::prelude::*;

// ---------- codice fiscale ----------

/// Codes generated independently of our implementation: by the `codice_fiscale` crate from
/// person data (see `codice_fiscale_crate_agrees`) and widely published examples.
const VALID_CF: &[&str] = &["RSSMRA85T10A562S", "BLTMHL77S04E889G", "MRTMTT25D09F205Z"];

#[test]
fn valid_codici_fiscali_parse_and_normalize() {
    for cf in VALID_CF {
        let parsed: CodiceFiscale = cf.parse().unwrap_or_else(|e| panic!("{cf}: {e}"));
        assert_eq!(parsed.as_str(), *cf);
        let lower: CodiceFiscale = format!("  {}  ", cf.to_lowercase()).parse().unwrap();
        assert_eq!(lower, parsed);
    }
}

#[test]
fn codice_fiscale_fields() {
    let cf: CodiceFiscale = "RSSMRA85T10A562S".parse().unwrap();
    assert_eq!(cf.birth_year_two_digits(), 85);
    assert_eq!(cf.birth_month(), 12);
    assert_eq!(cf.birth_day(), 10);
    assert!(!cf.is_female());
    assert_eq!(cf.belfiore_code(), "A562");
    assert!(!cf.is_omocode());
}

#[test]
fn codice_fiscale_wrong_check_character() {
    assert_eq!(
        "RSSMRA85T10A562T".parse::<CodiceFiscale>(),
        Err(ParseError::CheckCharacter {
            kind: Kind::CodiceFiscale,
            expected: 'S',
            found: 'T'
        })
    );
}

#[test]
fn codice_fiscale_structural_errors_name_the_position() {
    assert_eq!(
        "RSSMRA85T10A562".parse::<CodiceFiscale>(),
        Err(ParseError::Length {
            kind: Kind::CodiceFiscale,
            min: 16,
            max: 16,
            found: 15
        })
    );
    assert_eq!(
        "".parse::<CodiceFiscale>(),
        Err(ParseError::Empty {
            kind: Kind::CodiceFiscale
        })
    );
    // digit where a letter must be
    assert!(matches!(
        "R5SMRA85T10A562S".parse::<CodiceFiscale>(),
        Err(ParseError::Character {
            position: 2,
            found: '5',
            expected: Expected::Letter,
            ..
        })
    ));
    // letter that is not an omocodia letter in a digit position
    assert!(matches!(
        "RSSMRAA5T10A562S".parse::<CodiceFiscale>(),
        Err(ParseError::Character {
            position: 7,
            expected: Expected::DigitOrOmocodia,
            ..
        })
    ));
    // month letter F does not exist
    assert!(matches!(
        "RSSMRA85F10A562S".parse::<CodiceFiscale>(),
        Err(ParseError::Character {
            position: 9,
            expected: Expected::MonthLetter,
            ..
        })
    ));
}

#[test]
fn codice_fiscale_rejects_impossible_birth_dates() {
    // 31 April, day 00, day 35 (neither male 1-31 nor female 41-71)
    for base in ["RSSMRA85D31A562", "RSSMRA85D00A562", "RSSMRA85D35A562"] {
        let code = with_check(base);
        assert!(
            matches!(
                code.parse::<CodiceFiscale>(),
                Err(ParseError::BirthDate { .. })
            ),
            "{code}"
        );
    }
    // 30 February
    let code = with_check("RSSMRA85B30A562");
    assert_eq!(
        code.parse::<CodiceFiscale>(),
        Err(ParseError::BirthDate { month: 2, day: 30 })
    );
}

#[test]
fn codice_fiscale_non_ascii_is_an_error_not_a_panic() {
    // 16 bytes but fewer characters, and 16 characters with multi-byte ones.
    for s in [
        "RSSMRÀ85T10A562",
        "RSSMRÀ85T10A562S",
        "ÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀ",
        "RSSMRA85T10A562\u{0}",
    ] {
        assert!(s.parse::<CodiceFiscale>().is_err(), "{s:?}");
    }
}

#[test]
fn omocodia_variants() {
    // RSSMRA85T10A562S with the last digit 2 -> N (omocodia level 1): a valid code of its own.
    let omo = with_check("RSSMRA85T10A56N");
    let cf: CodiceFiscale = omo.parse().unwrap();
    assert!(cf.is_omocode());
    assert_eq!(cf.base_form().as_str(), "RSSMRA85T10A562S");
    assert_eq!(cf.belfiore_code(), "A562");
    // All seven positions substituted.
    let full = with_check("RSSMRAURTMLARSN");
    let cf: CodiceFiscale = full.parse().unwrap();
    assert_eq!(cf.base_form().as_str(), "RSSMRA85T10A562S");
    assert_eq!(cf.birth_day(), 10);
    // female day + 40
    let f: CodiceFiscale = with_check("RSSMRA85T50A562").parse().unwrap();
    assert!(f.is_female());
    assert_eq!(f.birth_day(), 10);
}

/// Appends the check character by brute force (independent of the library's function).
fn with_check(base15: &str) -> String {
    for c in 'A'..='Z' {
        let candidate = format!("{base15}{c}");
        if let Err(ParseError::CheckCharacter { .. }) = candidate.parse::<CodiceFiscale>() {
            continue;
        }
        return candidate;
    }
    panic!("no check char for {base15}")
}

#[test]
fn codice_fiscale_crate_agrees() {
    // The `codice_fiscale` crate computes codes from person data; every code it produces must be
    // accepted by our parser, and its check must accept everything we accept without omocodia.
    use codice_fiscale as oracle;
    let people = [
        (
            "Michele",
            "Beltrame",
            "1977-11-04",
            oracle::Gender::M,
            "Rovigo",
        ),
        ("Maria", "Rossi", "1985-12-10", oracle::Gender::F, "Roma"),
        (
            "Giuseppe",
            "Verdi",
            "1980-01-01",
            oracle::Gender::M,
            "Milano",
        ),
        ("Anna", "Bianchi", "2001-02-28", oracle::Gender::F, "Napoli"),
        ("Lu", "Xi", "1999-07-31", oracle::Gender::M, "Torino"),
    ];
    for (name, surname, birthdate, gender, place) in people {
        let place_of_birth = oracle::BELFIORE_STORE
            .get_info(place)
            .unwrap_or_else(|| panic!("{place} unknown to the oracle"))
            .clone();
        let data = oracle::PersonData {
            name: name.into(),
            surname: surname.into(),
            birthdate: birthdate.into(),
            gender,
            place_of_birth,
        };
        let code = oracle::CodiceFiscale::new(&data).unwrap();
        let ours: CodiceFiscale = code.get_codice().parse().unwrap();
        assert_eq!(ours.as_str(), code.get_codice());
        assert_eq!(ours.is_female(), gender == oracle::Gender::F);
    }
    for cf in VALID_CF {
        assert!(oracle::CodiceFiscale::check(cf).is_ok(), "{cf}");
    }
}

fn cf_strategy() -> impl Strategy<Value = String> {
    let letter = proptest::char::range('A', 'Z');
    let digit = proptest::char::range('0', '9');
    (
        proptest::collection::vec(letter.clone(), 6),
        proptest::collection::vec(digit.clone(), 2),
        proptest::sample::select(b"ABCDEHLMPRST".to_vec()),
        1u8..=28,
        any::<bool>(),
        letter,
        proptest::collection::vec(digit, 3),
    )
        .prop_map(|(names, year, month, day, female, place, num)| {
            let day = if female { day + 40 } else { day };
            let s: String = names
                .into_iter()
                .chain(year)
                .chain([char::from(month)])
                .chain(format!("{day:02}").chars())
                .chain([place])
                .chain(num)
                .collect();
            with_check(&s)
        })
}

proptest! {
    #[test]
    fn cf_round_trips(code in cf_strategy()) {
        let cf: CodiceFiscale = code.parse().unwrap();
        prop_assert_eq!(cf.to_string(), code.clone());
        let json = serde_json::to_string(&cf).unwrap();
        let back: CodiceFiscale = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, cf.clone());
        let spid: SpidFiscalNumber = format!("TINIT-{code}").parse().unwrap();
        prop_assert_eq!(spid.codice_fiscale(), &cf);
        prop_assert_eq!(spid.to_string(), format!("TINIT-{code}"));
    }

    /// The check character catches every single-character substitution.
    #[test]
    fn cf_single_substitution_rejected(code in cf_strategy(), pos in 0usize..16, repl in proptest::char::range('A', 'Z')) {
        let mut chars: Vec<char> = code.chars().collect();
        prop_assume!(chars[pos] != repl);
        chars[pos] = repl;
        let corrupted: String = chars.into_iter().collect();
        // Substituting a digit by its own omocodia letter yields another valid code (that is
        // what omocodia is); every other substitution must be rejected.
        let omocodia_of_same = b"LMNPQRSTUV"
            .get(code.as_bytes()[pos].wrapping_sub(b'0') as usize)
            .is_some_and(|&l| char::from(l) == repl);
        if !omocodia_of_same {
            prop_assert!(corrupted.parse::<CodiceFiscale>().is_err(), "{} accepted", corrupted);
        }
    }

    #[test]
    fn cf_digit_substitution_rejected(code in cf_strategy(), pos in 0usize..16, repl in proptest::char::range('0', '9')) {
        let mut chars: Vec<char> = code.chars().collect();
        prop_assume!(chars[pos] != repl);
        chars[pos] = repl;
        let corrupted: String = chars.into_iter().collect();
        prop_assert!(corrupted.parse::<CodiceFiscale>().is_err(), "{} accepted", corrupted);
    }

    #[test]
    fn cf_parser_never_panics(s in "\\PC{0,20}") {
        let _ = s.parse::<CodiceFiscale>();
        let _ = s.parse::<AnyFiscalCode>();
        let _ = s.parse::<Iban>();
        let _ = s.parse::<Cup>();
        let _ = s.parse::<Cig>();
        let _ = s.parse::<CodiceIpa>();
        let _ = Amount::parse_decimal(&s);
        let _ = parse_spid_fiscal_number(&s);
    }
}

// ---------- partita IVA, numeric fiscal code, organization fiscal code ----------

#[test]
fn partita_iva_vectors() {
    // TIM, ENI, Poste Italiane, Agenzia delle Entrate's published example
    for p in ["00488410010", "00484960588", "01114601006", "97735020584"] {
        let v: PartitaIva = p.parse().unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(v.as_str(), p);
    }
    let it: PartitaIva = "IT00488410010".parse().unwrap();
    assert_eq!(it.as_str(), "00488410010");
    assert_eq!(
        "00488410011".parse::<PartitaIva>(),
        Err(ParseError::CheckCharacter {
            kind: Kind::PartitaIva,
            expected: '0',
            found: '1'
        })
    );
    assert!(matches!(
        "0048841001X".parse::<PartitaIva>(),
        Err(ParseError::Character {
            position: 11,
            found: 'X',
            expected: Expected::Digit,
            ..
        })
    ));
    assert!(matches!(
        "004884100".parse::<PartitaIva>(),
        Err(ParseError::Length { found: 9, .. })
    ));
}

#[test]
fn numeric_and_organization_codes() {
    let n: NumericFiscalCode = "80016350821".parse().unwrap();
    assert_eq!(n.as_str(), "80016350821");
    assert!("80016350822".parse::<NumericFiscalCode>().is_err());
    let any: AnyFiscalCode = "80016350821".parse().unwrap();
    assert!(matches!(any, AnyFiscalCode::Numeric(_)));
    let any: AnyFiscalCode = "RSSMRA85T10A562S".parse().unwrap();
    assert!(matches!(any, AnyFiscalCode::Personal(_)));
    // pagoPA organization codes: 11 digits, check digit reported, not required.
    let ok: OrganizationFiscalCode = "77777777777".parse().unwrap();
    assert!(!ok.has_valid_check_digit());
    let ec: OrganizationFiscalCode = "80016350821".parse().unwrap();
    assert!(ec.has_valid_check_digit());
    assert!("7777777777".parse::<OrganizationFiscalCode>().is_err());
    assert!("7777777777a".parse::<OrganizationFiscalCode>().is_err());
}

fn piva_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..10, 10).prop_map(|d| {
        let base: String = d.iter().map(|x| char::from(b'0' + x)).collect();
        (0..10)
            .map(|c| format!("{base}{c}"))
            .find(|s| s.parse::<PartitaIva>().is_ok())
            .expect("one check digit fits")
    })
}

proptest! {
    #[test]
    fn piva_single_digit_corruption_rejected(p in piva_strategy(), pos in 0usize..11, repl in 0u8..10) {
        let mut b = p.clone().into_bytes();
        prop_assume!(b[pos] != b'0' + repl);
        b[pos] = b'0' + repl;
        let corrupted = String::from_utf8(b).unwrap();
        prop_assert!(corrupted.parse::<PartitaIva>().is_err());
        prop_assert!(corrupted.parse::<NumericFiscalCode>().is_err());
    }

    #[test]
    fn piva_round_trip(p in piva_strategy()) {
        let v: PartitaIva = p.parse().unwrap();
        prop_assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{p}\""));
        let spid = parse_spid_vat_number(&format!("VATIT-{p}")).unwrap();
        prop_assert_eq!(spid, v);
    }
}

// ---------- IBAN ----------

#[test]
fn iban_vectors() {
    let iban: Iban = "it60x0542811101000000123456".parse().unwrap();
    assert_eq!(iban.as_str(), "IT60X0542811101000000123456");
    assert_eq!(
        iban.to_grouped_string(),
        "IT60 X054 2811 1010 0000 0123 456"
    );
    let it = iban.italian().unwrap();
    assert_eq!(it.cin(), 'X');
    assert_eq!(it.abi(), "05428");
    assert_eq!(it.cab(), "11101");
    assert_eq!(it.account(), "000000123456");
    assert!(!it.is_postal());
    // foreign IBAN
    let de: Iban = "DE89 3704 0044 0532 0130 00".parse().unwrap();
    assert!(de.italian().is_none());
    assert_eq!(
        Iban::parse_italian("DE89370400440532013000"),
        Err(ParseError::NotItalian('D', 'E'))
    );
    assert!(Iban::parse_italian("IT60X0542811101000000123456").is_ok());
}

#[test]
fn iban_attacks() {
    // checksum wrong
    assert_eq!(
        "IT61X0542811101000000123456".parse::<Iban>(),
        Err(ParseError::IbanChecksum)
    );
    // a valid mod-97 checksum but a wrong CIN: recompute the IBAN check digits for CIN 'Y'.
    let bban = "Y0542811101000000123456";
    let forged = with_iban_check("IT", bban);
    assert!(matches!(
        forged.parse::<Iban>(),
        Err(ParseError::CheckCharacter {
            kind: Kind::Iban,
            expected: 'X',
            found: 'Y'
        })
    ));
    // BBAN of the wrong shape for Italy (too short), with a valid checksum
    let short = with_iban_check("IT", "X05428111010000001234");
    assert!(matches!(
        short.parse::<Iban>(),
        Err(ParseError::IbanBban('I', 'T'))
    ));
    assert!(matches!(
        "1T60X0542811101000000123456".parse::<Iban>(),
        Err(ParseError::Character { position: 1, .. })
    ));
    assert!(matches!(
        "IT60X05428111010000001234-6".parse::<Iban>(),
        Err(ParseError::Character {
            position: 26,
            found: '-',
            ..
        })
    ));
}

/// Computes ISO 13616 check digits independently of the library.
fn with_iban_check(country: &str, bban: &str) -> String {
    let rearranged = format!("{bban}{country}00");
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = c.to_digit(36).unwrap();
        for d in v.to_string().chars() {
            rem = (rem * 10 + d.to_digit(10).unwrap()) % 97;
        }
    }
    format!("{country}{:02}{bban}", 98 - rem)
}

proptest! {
    #[test]
    fn iban_single_char_corruption_rejected(pos in 0usize..27, repl in proptest::char::range('0', '9')) {
        let good = "IT60X0542811101000000123456";
        let mut chars: Vec<char> = good.chars().collect();
        prop_assume!(chars[pos] != repl);
        chars[pos] = repl;
        let corrupted: String = chars.into_iter().collect();
        prop_assert!(corrupted.parse::<Iban>().is_err());
    }
}

// ---------- IPA, CUP, CIG ----------

#[test]
fn ipa_cup_cig() {
    assert_eq!("C_H501".parse::<CodiceIpa>().unwrap().as_str(), "c_h501");
    assert!(matches!(
        "c-h501".parse::<CodiceIpa>(),
        Err(ParseError::Character {
            position: 2,
            found: '-',
            ..
        })
    ));
    assert!("a".parse::<CodiceIpa>().is_err());
    assert_eq!(
        "uf1a2b".parse::<CodiceUnivocoUfficio>().unwrap().as_str(),
        "UF1A2B"
    );
    assert!("UF1A2".parse::<CodiceUnivocoUfficio>().is_err());

    for cup in ["J41B04000070001", "E67H12000070003", "F89J21012380001"] {
        assert_eq!(cup.parse::<Cup>().unwrap().as_str(), cup);
    }
    assert!(matches!(
        "J41B0400007000".parse::<Cup>(),
        Err(ParseError::Length { found: 14, .. })
    ));
    assert!(matches!(
        "141B04000070001".parse::<Cup>(),
        Err(ParseError::Character {
            position: 1,
            expected: Expected::Letter,
            ..
        })
    ));

    for cig in ["1234567ABC", "Z1A2B3C4D5", "A01F2E3D4C", "X0123456FF"] {
        assert_eq!(cig.parse::<Cig>().unwrap().as_str(), cig);
    }
    assert!(matches!(
        "123456ABCD".parse::<Cig>(),
        Err(ParseError::Character {
            position: 7,
            expected: Expected::Digit,
            ..
        })
    ));
    assert!(matches!(
        "Z1A2B3C4DG".parse::<Cig>(),
        Err(ParseError::Character {
            position: 10,
            expected: Expected::HexDigit,
            ..
        })
    ));
    let json = serde_json::to_string(&"J41B04000070001".parse::<Cup>().unwrap()).unwrap();
    assert!(serde_json::from_str::<Cup>(&json).is_ok());
    assert!(serde_json::from_str::<Cup>("\"J41B0400007000X\"").is_err());
}

// ---------- SPID prefixed forms ----------

#[test]
fn spid_prefixed_forms() {
    assert_eq!(
        parse_spid_fiscal_number("tinit-rssmra85t10a562s")
            .unwrap()
            .as_str(),
        "RSSMRA85T10A562S"
    );
    assert_eq!(
        parse_spid_fiscal_number("RSSMRA85T10A562S"),
        Err(ParseError::Prefix { expected: "TINIT-" })
    );
    assert_eq!(
        parse_spid_fiscal_number("VATIT-00488410010"),
        Err(ParseError::Prefix { expected: "TINIT-" })
    );
    assert!(parse_spid_fiscal_number("TINIT-RSSMRA85T10A562X").is_err());
    assert!(matches!(
        parse_spid_any_fiscal_number("TINIT-80016350821"),
        Ok(AnyFiscalCode::Numeric(_))
    ));
    assert!(parse_spid_vat_number("VATIT-00488410011").is_err());
    assert!(parse_spid_vat_number("TINIT-00488410010").is_err());
    assert!(parse_spid_fiscal_number("TINIT").is_err());
    assert!(parse_spid_fiscal_number("TINIÀ-RSSMRA85T10A562S").is_err());
}

// ---------- Amount ----------

#[test]
fn amount_forms() {
    let a = Amount::parse_decimal("1234.56").unwrap();
    assert_eq!(a.cents(), 123_456);
    assert_eq!(a.to_string(), "1234.56");
    assert_eq!(a.to_cents_string(), "123456");
    assert_eq!(Amount::parse_decimal("0.5").unwrap().cents(), 50);
    assert_eq!(Amount::parse_decimal("7").unwrap().to_string(), "7.00");
    assert_eq!(Amount::parse_decimal("0.05").unwrap().to_string(), "0.05");
    assert_eq!(Amount::parse_cents("123456").unwrap(), a);
    assert_eq!(Amount::from_euros(16).unwrap().to_string(), "16.00");
    assert_eq!(Amount::from_euros(u64::MAX), None);
}

#[test]
fn amount_rejects_what_is_not_exact_cents() {
    assert_eq!(
        Amount::parse_decimal("1.005"),
        Err(ParseError::TooManyDecimals { found: 3 })
    );
    for bad in [
        "-1.00",
        "+1.00",
        "1,00",
        "1 000.00",
        ".50",
        "1.",
        "",
        "1e3",
        "NaN",
        "１.００",
    ] {
        assert!(Amount::parse_decimal(bad).is_err(), "{bad:?} accepted");
    }
    assert!(matches!(
        Amount::parse_decimal("12a.00"),
        Err(ParseError::Character {
            position: 3,
            found: 'a',
            ..
        })
    ));
    assert_eq!(
        Amount::parse_decimal("184467440737095516.16"),
        Err(ParseError::Overflow)
    );
    assert_eq!(
        Amount::parse_cents("18446744073709551616"),
        Err(ParseError::Overflow)
    );
    assert!(Amount::parse_cents("12.00").is_err());
}

#[test]
fn amount_arithmetic_is_checked() {
    let a = Amount::from_cents(100);
    assert_eq!(a.checked_sub(Amount::from_cents(101)), None);
    assert_eq!(Amount::from_cents(u64::MAX).checked_add(a), None);
    assert_eq!(Amount::from_cents(u64::MAX).checked_mul(2), None);
    assert_eq!(
        Amount::checked_sum([a, a, Amount::from_cents(5)]),
        Some(Amount::from_cents(205))
    );
    assert_eq!(Amount::checked_sum([Amount::from_cents(u64::MAX), a]), None);
}

#[test]
fn amount_serde_adapters() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Payment {
        default: Amount,
        #[serde(with = "pa_types::amount::decimal")]
        soap: Amount,
        #[serde(with = "pa_types::amount::cents")]
        gpd: Amount,
    }
    let p = Payment {
        default: Amount::from_cents(1600),
        soap: Amount::from_cents(1600),
        gpd: Amount::from_cents(1600),
    };
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(json, r#"{"default":1600,"soap":"16.00","gpd":1600}"#);
    assert_eq!(serde_json::from_str::<Payment>(&json).unwrap(), p);
    for bad in [
        r#"{"default":-1,"soap":"16.00","gpd":1600}"#,
        r#"{"default":16.5,"soap":"16.00","gpd":1600}"#,
        r#"{"default":1600,"soap":"16.001","gpd":1600}"#,
        r#"{"default":1600,"soap":16.00,"gpd":1600}"#,
    ] {
        assert!(serde_json::from_str::<Payment>(bad).is_err(), "{bad}");
    }
}

proptest! {
    #[test]
    fn amount_round_trips(cents in any::<u64>()) {
        let a = Amount::from_cents(cents);
        prop_assert_eq!(Amount::parse_decimal(&a.to_string()).unwrap(), a);
        prop_assert_eq!(Amount::parse_cents(&a.to_cents_string()).unwrap(), a);
    }
}

#[test]
fn errors_are_readable() {
    let e = "0048841001".parse::<PartitaIva>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "partita IVA: expected 11 characters, found 10"
    );
    let e = "J41B0400007000X".parse::<Cup>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "CUP: invalid character 'X' at position 15, expected a digit"
    );
}

// ---------- the common identity ----------

#[test]
fn citizen_identity_round_trips_and_keeps_the_method() {
    use pa_types::{AssuranceLevel, CitizenIdentity, LoginMethod};
    let id = CitizenIdentity::new(
        "RSSMRA85T10A562S".parse().unwrap(),
        LoginMethod::Spid {
            level: AssuranceLevel::L2,
        },
        "https://idp.example.it",
    )
    .with_names(Some("Mario".into()), Some("Rossi".into()));
    let json = serde_json::to_string(&id).unwrap();
    let back: CitizenIdentity = serde_json::from_str(&json).unwrap();
    assert_eq!(back, id);
    assert!(AssuranceLevel::L3 > AssuranceLevel::L2);
    // A tampered fiscal code is refused on the way in.
    let forged = json.replace("RSSMRA85T10A562S", "RSSMRA85T10A562T");
    assert!(serde_json::from_str::<CitizenIdentity>(&forged).is_err());
}

use std::path::Path;
use std::process::Command;

use pa_types::Amount;
use pagopa::{
    NoticeNumber, PayloadError, PostalAccount, PosteDataMatrix, QrPayload, Symbol, Symbology,
};

const PAYLOAD: &str = "PAGOPA|002|301000000000000144|80016350821|1234";

fn qr() -> QrPayload {
    QrPayload::new(
        "301000000000000144".parse().unwrap(),
        "80016350821".parse().unwrap(),
        Amount::from_cents(1234),
    )
    .unwrap()
}

fn dm() -> PosteDataMatrix {
    PosteDataMatrix::new(
        "302123456789012356".parse().unwrap(),
        PostalAccount::parse("1234567").unwrap(),
        Amount::from_cents(12_345),
        "80016350821".parse().unwrap(),
        "RSSMRA80A01H501U".parse().unwrap(),
        "Mario Rossi",
        "TARI 2026 rata unica - Città di Roma",
    )
    .unwrap()
}

#[test]
fn qr_payload_strict_emit_lenient_parse() {
    assert_eq!(qr().to_string(), PAYLOAD);
    assert_eq!(PAYLOAD.parse::<QrPayload>().unwrap(), qr());
    // leniency: whitespace, case of the prefix, 1-digit amounts, leading zeros
    let p: QrPayload = " pagopa|002|301000000000000144|80016350821|5\n"
        .parse()
        .unwrap();
    assert_eq!(p.amount().cents(), 5);
    assert_eq!(
        p.to_string(),
        "PAGOPA|002|301000000000000144|80016350821|05"
    );
    let p: QrPayload = "PAGOPA|002|301000000000000144|80016350821|0001234"
        .parse()
        .unwrap();
    assert_eq!(p, qr());
    let big = "PAGOPA|002|301000000000000144|80016350821|99999999999";
    assert_eq!(big.parse::<QrPayload>().unwrap().to_string(), big);
}

#[test]
fn qr_payload_errors() {
    assert!(matches!(
        "PAGOPA|001|301000000000000144|80016350821|1234".parse::<QrPayload>(),
        Err(PayloadError::QrHeader { .. })
    ));
    assert!(matches!(
        "PAGOPA|002|301000000000000144|80016350821".parse::<QrPayload>(),
        Err(PayloadError::QrFieldCount { found: 4 })
    ));
    assert!(matches!(
        "PAGOPA|002|301000000000000145|80016350821|1234".parse::<QrPayload>(),
        Err(PayloadError::Notice(pagopa::CodeError::CheckDigits {
            expected: 44,
            found: 45,
            ..
        }))
    ));
    assert!(matches!(
        "PAGOPA|002|301000000000000144|8001635082|1234".parse::<QrPayload>(),
        Err(PayloadError::FiscalCode {
            field: "creditor fiscal code",
            ..
        })
    ));
    for bad in ["", "12.34", "123456789012", "-1", "0"] {
        let s = format!("PAGOPA|002|301000000000000144|80016350821|{bad}");
        assert!(
            matches!(s.parse::<QrPayload>(), Err(PayloadError::Amount { .. })),
            "{bad}"
        );
    }
    assert!(
        QrPayload::new(
            qr().notice().to_owned(),
            qr().creditor().clone(),
            Amount::ZERO
        )
        .is_err()
    );
}

/// Decodes every QR code in a greyscale image with `rqrr` (an independent decoder).
fn rqrr_decode(px: &[u8], w: usize, h: usize) -> Vec<(usize, u16, String)> {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| px[y * w + x]);
    img.detect_grids()
        .into_iter()
        .map(|g| {
            let (meta, content) = g.decode().unwrap();
            (meta.version.0, meta.ecc_level, content)
        })
        .collect()
}

#[test]
fn qr_symbol_has_spec_parameters_and_scans() {
    let sym = qr().to_symbol().unwrap();
    assert_eq!(sym.symbology(), Symbology::Qr);
    assert_eq!((sym.width(), sym.height()), (33, 33)); // version 4
    assert_eq!(sym.quiet_zone(), 4);
    assert!((sym.module_mm() * 33.0 - 25.0).abs() < 1e-9);
    let (px, w, h) = sym.to_pixels(4);
    assert_eq!((w, h), (41 * 4, 41 * 4));
    // quiet zone is white
    assert!(px[..(4 * 4) * w as usize].iter().all(|p| *p == 255));
    let decoded = rqrr_decode(&px, w as usize, h as usize);
    // version 4, ECC level M (format bits 00), the strict payload
    assert_eq!(decoded, vec![(4, 0, PAYLOAD.to_owned())]);
}

#[test]
fn qr_png_scans() {
    let png = qr().to_symbol().unwrap().to_png(6).unwrap();
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .unwrap()
        .to_luma8();
    let (w, h) = img.dimensions();
    assert_eq!((w, h), (41 * 6, 41 * 6));
    let decoded = rqrr_decode(img.as_raw(), w as usize, h as usize);
    assert_eq!(decoded, vec![(4, 0, PAYLOAD.to_owned())]);
}

/// Reads the dark modules back from our SVG path and compares them with the symbol.
fn svg_modules(svg: &str, sym: &Symbol) -> Vec<bool> {
    let q = sym.quiet_zone();
    let d = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mut dark = vec![false; sym.width() * sym.height()];
    for cmd in d.split('z').filter(|c| !c.is_empty()) {
        // M{x} {y}h{run}v1h-{run}
        let rest = cmd.strip_prefix('M').unwrap();
        let (xy, tail) = rest.split_once('h').unwrap();
        let (x, y) = xy.split_once(' ').unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        let run: usize = tail.split_once('v').unwrap().0.parse().unwrap();
        for i in 0..run {
            dark[(y - q) * sym.width() + x - q + i] = true;
        }
    }
    dark
}

#[test]
fn qr_svg_geometry() {
    let sym = qr().to_symbol().unwrap();
    let svg = sym.to_svg();
    assert!(svg.contains("viewBox=\"0 0 41 41\""), "{svg}");
    assert!(svg.contains("width=\"31.06mm\""), "{svg}"); // 41 modules of 25/33 mm
    assert_eq!(svg_modules(&svg, &sym), sym.modules());
}

fn ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Runs an external decoder if installed; in CI its absence is a failure.
fn external(tool: &str, args: &[&str], file: &Path) -> Option<String> {
    match Command::new(tool).args(args).arg(file).output() {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{tool} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !ci() => {
            eprintln!("{tool} not installed: skipping the external decoder check");
            None
        }
        Err(e) => panic!("{tool} is required in CI: {e}"),
    }
}

#[test]
fn qr_png_scans_with_zbarimg() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qr.png");
    std::fs::write(&path, qr().to_symbol().unwrap().to_png(4).unwrap()).unwrap();
    if let Some(out) = external("zbarimg", &["--raw", "-q"], &path) {
        assert_eq!(out.trim_end(), PAYLOAD);
    }
}

#[test]
fn datamatrix_payload_layout() {
    let p = dm().to_payload();
    assert_eq!(p.len(), 256);
    assert!(p.starts_with(
        "codfase=NBPA;1830212345678901235612000001234567100000012345389\
         61P180016350821RSSMRA80A01H501UMario Rossi"
    ));
    assert_eq!(&p[63..66], "1P1");
    assert_eq!(&p[93..133], format!("{:<40}", "Mario Rossi"));
    assert_eq!(
        &p[133..243],
        format!("{:<110}", "TARI 2026 rata unica - Citta di Roma")
    );
    assert!(p.ends_with(&format!("{}A", " ".repeat(12))));
    assert_eq!(
        dm().codeline(),
        "18302123456789012356120000012345671000000123453896"
    );
    assert_eq!(PosteDataMatrix::parse(&p).unwrap(), dm());
    // a numeric debtor code is right padded too
    let d = PosteDataMatrix::new(
        *dm().notice(),
        dm().postal_account(),
        dm().amount(),
        dm().creditor().clone(),
        "80016350821".parse().unwrap(),
        "Comune",
        "",
    )
    .unwrap();
    assert_eq!(&d.to_payload()[77..93], "80016350821     ");
    assert_eq!(PosteDataMatrix::parse(&d.to_payload()).unwrap(), d);
}

#[test]
fn datamatrix_errors() {
    let base = dm();
    let mk = |name: &str, causale: &str, cents: u64| {
        PosteDataMatrix::new(
            *base.notice(),
            base.postal_account(),
            Amount::from_cents(cents),
            base.creditor().clone(),
            base.debtor().clone(),
            name,
            causale,
        )
    };
    assert!(matches!(
        mk(&"x".repeat(41), "", 1),
        Err(PayloadError::TooLong {
            field: "debtor name",
            max: 40,
            found: 41
        })
    ));
    assert!(matches!(
        mk("", &"x".repeat(111), 1),
        Err(PayloadError::TooLong {
            field: "causale",
            max: 110,
            found: 111
        })
    ));
    assert!(matches!(
        mk("Zoë Ωmega", "", 1),
        Err(PayloadError::Unencodable {
            field: "debtor name",
            position: 5,
            found: 'Ω'
        })
    ));
    assert!(matches!(mk("a", "b", 0), Err(PayloadError::Amount { .. })));
    assert!(matches!(
        mk("a", "b", 10_000_000_000),
        Err(PayloadError::Amount { .. })
    ));
    assert!(mk("a", "b", 9_999_999_999).is_ok());
    assert!(PostalAccount::parse("1234567890123").is_err());
    assert!(PostalAccount::parse("12a").is_err());
    assert_eq!(
        PostalAccount::parse("1").unwrap().to_string(),
        "000000000001"
    );

    let p = dm().to_payload();
    assert!(matches!(
        PosteDataMatrix::parse(&p[..255]),
        Err(PayloadError::DataMatrixLength {
            expected: 256,
            found: 255
        })
    ));
    let bad = p.replacen("codfase=NBPA;", "codfase=XXXX;", 1);
    assert!(matches!(
        PosteDataMatrix::parse(&bad),
        Err(PayloadError::DataMatrixMarker { position: 1, .. })
    ));
    let mut bad = p.clone();
    bad.replace_range(255..256, "B");
    assert!(matches!(
        PosteDataMatrix::parse(&bad),
        Err(PayloadError::DataMatrixMarker { position: 256, .. })
    ));
    let mut bad = p.clone();
    bad.replace_range(32..33, "7"); // notice check digit
    assert!(matches!(
        PosteDataMatrix::parse(&bad),
        Err(PayloadError::Notice(_))
    ));
    let mut bad = p;
    bad.replace_range(200..201, "é"); // multibyte: wrong byte length
    assert!(PosteDataMatrix::parse(&bad).is_err());
}

#[test]
fn datamatrix_symbol_round_trips() {
    let sym = dm().to_symbol().unwrap();
    assert_eq!(sym.symbology(), Symbology::DataMatrix);
    assert_eq!(sym.width(), sym.height());
    let back = PosteDataMatrix::decode_modules(sym.modules(), sym.width()).unwrap();
    assert_eq!(back, dm());
    let svg = sym.to_svg();
    assert_eq!(svg_modules(&svg, &sym), sym.modules());
    // A damaged symbol is reported, not panicked on.
    assert!(PosteDataMatrix::decode_modules(&sym.modules()[1..], sym.width()).is_err());
    assert!(PosteDataMatrix::decode_modules(&[], 0).is_err());
}

#[test]
fn datamatrix_png_scans_with_dmtxread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dm.png");
    std::fs::write(&path, dm().to_symbol().unwrap().to_png(5).unwrap()).unwrap();
    if let Some(out) = external("dmtxread", &[], &path) {
        assert_eq!(out, dm().to_payload());
    }
}

#[test]
fn notice_number_print_groups() {
    let n: NoticeNumber = "301000000000000144".parse().unwrap();
    assert_eq!(n.to_print_format(), "3010 0000 0000 0001 44");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn notice(seg: u8, base: u64) -> NoticeNumber {
        NoticeNumber::new_aux3(pagopa::SegregationCode::new(seg).unwrap(), base).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn qr_payload_round_trips(
            seg in 0u8..=99,
            base in 0u64..=pagopa::MAX_BASE13,
            cf in "[0-9]{11}",
            cents in 1u64..=pagopa::MAX_QR_CENTS,
        ) {
            let p = QrPayload::new(notice(seg, base), cf.parse().unwrap(), Amount::from_cents(cents))
                .unwrap();
            let text = p.to_string();
            prop_assert_eq!(text.parse::<QrPayload>().unwrap(), p);
            let amount = text.rsplit('|').next().unwrap();
            prop_assert!(amount.len() >= 2 && amount.len() <= 11);
        }

        #[test]
        fn poste_payload_round_trips(
            base in 0u64..=pagopa::MAX_BASE13,
            account in 1u64..=999_999_999_999,
            cents in 1u64..=pagopa::MAX_POSTE_CENTS,
            name in "[ -~]{0,40}",
            causale in "[ -~]{0,110}",
        ) {
            let dm = PosteDataMatrix::new(
                notice(1, base),
                PostalAccount::parse(&account.to_string()).unwrap(),
                Amount::from_cents(cents),
                "80016350821".parse().unwrap(),
                "RSSMRA80A01H501U".parse().unwrap(),
                &name,
                &causale,
            )
            .unwrap();
            let text = dm.to_payload();
            prop_assert_eq!(text.len(), pagopa::POSTE_PAYLOAD_LEN);
            let back = PosteDataMatrix::parse(&text).unwrap();
            prop_assert_eq!(back.debtor_name(), name.trim_end());
            prop_assert_eq!(back.causale(), causale.trim_end());
            prop_assert_eq!(back, dm);
        }

        #[test]
        fn payload_parsers_never_panic(s in "\\PC{0,300}") {
            let _ = s.parse::<QrPayload>();
            let _ = PosteDataMatrix::parse(&s);
        }
    }
}

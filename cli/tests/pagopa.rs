//! `pa pagopa ...`: notice numbers, checks, QR code and Data Matrix from the command line.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

fn pa(args: &[&str]) -> (i32, String, String) {
    pa_testkit::exec(env!("CARGO_BIN_EXE_pa"), args)
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pa-pagopa");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{}-{name}", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
    }
    p
}

#[test]
fn notice_from_segregation_and_base() {
    let (code, out, _) = pa(&[
        "pagopa",
        "notice",
        "--segregation",
        "01",
        "--base",
        "0000000000001",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("notice number: 301000000000000144"), "{out}");
    assert!(out.contains("IUV:           01000000000000144"), "{out}");
    assert!(out.contains("3010 0000 0000 0001 44"), "{out}");
    let (code, out, _) = pa(&[
        "pagopa",
        "notice",
        "--segregation",
        "02",
        "--base",
        "1234567890123",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("302123456789012356"), "{out}");
    let (code, _, err) = pa(&["pagopa", "notice", "--segregation", "1", "--base", "1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("segregation code must be 2 characters long, found 1"),
        "{err}"
    );
    let (code, _, err) = pa(&[
        "pagopa",
        "notice",
        "--segregation",
        "01",
        "--base",
        "12345678901234",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("base must be 1 to 13 digits"), "{err}");
}

#[test]
fn notice_allocated_from_a_sequence_file() {
    let db = tmp("iuv.sqlite");
    let db = db.to_str().unwrap();
    let args = [
        "pagopa",
        "notice",
        "--segregation",
        "01",
        "--db",
        db,
        "--creditor",
        "80016350821",
    ];
    let (code, out, err) = pa(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("301000000000000144"), "{out}");
    let (_, out, _) = pa(&args);
    assert!(out.contains("IUV:           01000000000000245"), "{out}");
}

#[test]
fn check_reports_and_exits() {
    for (input, expect) in [
        (
            "301000000000000144",
            "valid notice number 301000000000000144 (aux 3, segregation code 01",
        ),
        (
            "3010 0000 0000 0001 44",
            "valid notice number 301000000000000144",
        ),
        ("01000000000000144", "valid aux-3 IUV 01000000000000144"),
        ("RF18 5390 0754 7034", "valid RF reference RF18539007547034"),
        ("rf18539007547034", "valid RF reference RF18539007547034"),
    ] {
        let (code, out, err) = pa(&["pagopa", "check", input]);
        assert_eq!(code, 0, "{input}: {err}");
        assert!(out.starts_with(expect), "{out}");
    }
    for (input, reason) in [
        ("301000000000000145", "check digits expected 44, found 45"),
        ("401000000000000144", "aux digit '4' unknown"),
        ("3010000000A0000144", "non-digit 'A' at position 11"),
        (
            "01000000000000145",
            "IUV: check digits expected 44, found 45",
        ),
        (
            "RF23 5674 8393 7849 4505 5087 5",
            "check digits expected 78, found 23",
        ),
        ("1234", "found 4 characters"),
        ("123456789012345", "pass --application"),
    ] {
        let (code, _, err) = pa(&["pagopa", "check", input]);
        assert_eq!(code, 1, "{input}");
        assert!(err.contains(reason), "{input}: {err}");
    }
}

#[test]
fn qr_writes_svg_and_png() {
    let svg = tmp("qr.svg");
    let (code, out, err) = pa(&[
        "pagopa",
        "qr",
        "--notice",
        "301000000000000144",
        "--creditor",
        "80016350821",
        "--amount",
        "12.34",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "PAGOPA|002|301000000000000144|80016350821|1234");
    assert!(
        std::fs::read_to_string(&svg)
            .unwrap()
            .contains("viewBox=\"0 0 41 41\"")
    );
    let png = tmp("qr.png");
    let (code, _, err) = pa(&[
        "pagopa",
        "qr",
        "--notice",
        "301000000000000144",
        "--creditor",
        "80016350821",
        "--amount",
        "12.34",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read(&png)
            .unwrap()
            .starts_with(b"\x89PNG\r\n\x1a\n")
    );
    let (code, _, err) = pa(&[
        "pagopa",
        "qr",
        "--notice",
        "301000000000000144",
        "--creditor",
        "80016350821",
        "--amount",
        "12.345",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("amount"), "{err}");
    let (code, _, err) = pa(&[
        "pagopa",
        "qr",
        "--notice",
        "301000000000000144",
        "--creditor",
        "80016350821",
        "--amount",
        "1",
        "--out",
        "qr.gif",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains(".svg or .png"), "{err}");
}

#[test]
fn datamatrix_builds_and_parses_back() {
    let png = tmp("dm.png");
    let (code, out, err) = pa(&[
        "pagopa",
        "datamatrix",
        "--notice",
        "302123456789012356",
        "--creditor",
        "80016350821",
        "--amount",
        "123.45",
        "--postal-account",
        "1234567",
        "--debtor",
        "RSSMRA80A01H501U",
        "--debtor-name",
        "Mario Rossi",
        "--causale",
        "TARI 2026",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let payload = out.trim_end_matches('\n');
    assert_eq!(payload.len(), 256);
    assert!(
        payload.starts_with("codfase=NBPA;18302123456789012356"),
        "{payload}"
    );
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let (code, out, err) = pa(&["pagopa", "datamatrix", "--parse", payload]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("amount:         123.45"), "{out}");
    assert!(out.contains("debtor name:    Mario Rossi"), "{out}");
    let (code, _, err) = pa(&["pagopa", "datamatrix", "--parse", &payload[..200]]);
    assert_eq!(code, 1);
    assert!(
        err.contains("must be 256 characters long, found 200"),
        "{err}"
    );
}

#[test]
fn check_legacy_iuvs() {
    // aux 2: N = 2 + base15
    let cd = 2_123_456_789_012_345u64 % 93;
    let iuv = format!("123456789012345{cd:02}");
    let (code, out, err) = pa(&["pagopa", "check", "--aux", "2", &iuv]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("valid aux-2 IUV {iuv} (notice number 2{iuv})")),
        "{out}"
    );
    let (code, _, _) = pa(&["pagopa", "check", &iuv]); // not an aux-3 IUV
    assert_eq!(code, 1);
    let (code, out, _) = pa(&["pagopa", "check", "--aux", "1", "12345678901234567"]);
    assert_eq!(code, 0);
    assert!(out.contains("no check digits"), "{out}");
    // aux 0: 15-digit IUV with the application code
    let cd = 120_000_000_000_001u64 % 93;
    let iuv = format!("0000000000001{cd:02}");
    let (code, out, err) = pa(&["pagopa", "check", "--application", "12", &iuv]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("application code 12"), "{out}");
    let (code, _, _) = pa(&["pagopa", "check", "--application", "13", &iuv]);
    assert_eq!(code, 1);
    let (code, _, _) = pa(&["pagopa", "check", "--aux", "4", &iuv]);
    assert_eq!(code, 2); // usage error
}

#[test]
fn avviso_writes_a_pdf_and_refuses_invalid_input() {
    let json = tmp("avviso.json");
    let pdf = tmp("avviso.pdf");
    std::fs::write(
        &json,
        r#"{
  "subject": "TARI 2026 - tassa sui rifiuti",
  "creditor": { "name": "Comune di Esempio", "fiscal_code": "80016350821", "cbill": "AB12C",
                "postal": { "account": "1011136627", "holder": "Comune di Esempio",
                            "authorization": "AUT. 0000 DEL 01/01/2026" } },
  "debtor": { "name": "Mario Rossi", "fiscal_code": "RSSMRA80A01H501U" },
  "single": { "notice_number": "301000000000000144", "amount_cents": 30000,
              "due_date": "2026-04-16" },
  "installments": [
    { "notice_number": "301000000000000245", "amount_cents": 15000, "due_date": "2026-04-16" },
    { "notice_number": "301000000000000346", "amount_cents": 15000, "due_date": "2026-09-16" }
  ]
}"#,
    )
    .unwrap();
    let (code, out, err) = pa(&[
        "pagopa",
        "avviso",
        "--input",
        json.to_str().unwrap(),
        "--out",
        pdf.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 page(s)"), "{out}");
    assert!(
        out.contains("QR: PAGOPA|002|301000000000000346|80016350821|15000"),
        "{out}"
    );
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(!bytes.windows(6).any(|w| w == b"/Image"));

    // --logo: a PNG made by the image crate is embedded as an image XObject; a file that is
    // not an image is refused, naming the logo.
    let logo = tmp("logo.png");
    image::RgbImage::from_pixel(60, 30, image::Rgb([0, 102, 204]))
        .save(&logo)
        .unwrap();
    let with_logo = tmp("avviso-logo.pdf");
    let (code, _, err) = pa(&[
        "pagopa",
        "avviso",
        "--input",
        json.to_str().unwrap(),
        "--out",
        with_logo.to_str().unwrap(),
        "--logo",
        logo.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let bytes = std::fs::read(&with_logo).unwrap();
    assert!(bytes.windows(13).any(|w| w == b"/Subtype /Ima"), "no image");
    let (code, _, err) = pa(&[
        "pagopa",
        "avviso",
        "--input",
        json.to_str().unwrap(),
        "--out",
        with_logo.to_str().unwrap(),
        "--logo",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("logo: is neither a PNG nor a JPEG"), "{err}");

    let bad = std::fs::read_to_string(&json)
        .unwrap()
        .replace("301000000000000346", "301000000000000347");
    std::fs::write(&json, bad).unwrap();
    let (code, _, err) = pa(&[
        "pagopa",
        "avviso",
        "--input",
        json.to_str().unwrap(),
        "--out",
        pdf.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("installments[1].notice_number") && err.contains("check"),
        "{err}"
    );
}

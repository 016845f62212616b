//! `pa pagopa ...`: notice numbers, checks, QR code, Data Matrix and the printed notice
//! (`avviso`, the PDF read back by poppler: `pdfinfo`, `pdfimages`, `pdftotext`) from the
//! command line.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

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

/// `pa pagopa avviso --input <json> --out <pdf>` followed by `extra`.
fn avviso(json: &Path, pdf: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "pagopa",
        "avviso",
        "--input",
        json.to_str().unwrap(),
        "--out",
        pdf.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    pa(&args)
}

/// A `w`×`h` PNG of one colour, made by the image crate.
fn png(path: &Path, w: u32, h: u32, rgb: [u8; 3]) {
    image::RgbImage::from_pixel(w, h, image::Rgb(rgb))
        .save(path)
        .unwrap();
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
    let (code, out, err) = avviso(&json, &pdf, &[]);
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
    png(&logo, 60, 30, [0, 102, 204]);
    let with_logo = tmp("avviso-logo.pdf");
    let (code, _, err) = avviso(&json, &with_logo, &["--logo", logo.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let bytes = std::fs::read(&with_logo).unwrap();
    assert!(bytes.windows(13).any(|w| w == b"/Subtype /Ima"), "no image");
    let (code, _, err) = avviso(&json, &with_logo, &["--logo", json.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("logo: is neither a PNG nor a JPEG"), "{err}");

    let bad = std::fs::read_to_string(&json)
        .unwrap()
        .replace("301000000000000346", "301000000000000347");
    std::fs::write(&json, bad).unwrap();
    let (code, _, err) = avviso(&json, &pdf, &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("installments[1].notice_number") && err.contains("check"),
        "{err}"
    );
}

/// A poppler tool's standard output; `None` outside CI when it is not installed.
fn poppler(name: &str, args: &[&str]) -> Option<String> {
    match Command::new(name).args(args).output() {
        Ok(out) => {
            assert!(out.status.success(), "{name}: {out:?}");
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(e) if !pa_testkit::in_ci() => {
            eprintln!("{name} not available ({e}): skipping");
            None
        }
        Err(e) => panic!("{name} is required in CI: {e}"),
    }
}

/// `n` installments (notice numbers `3 01 <13-digit base> <check digits>`), a postal account.
fn notice_json(n: usize) -> String {
    let rates: Vec<String> = (0..n)
        .map(|i| {
            let base = format!("301{:013}", 100 + i);
            let check = base.parse::<u128>().unwrap() % 93;
            format!(
                r#"{{ "notice_number": "{base}{check:02}", "amount_cents": {}, "due_date": "2026-{:02}-28" }}"#,
                5000 + i,
                i % 12 + 1
            )
        })
        .collect();
    format!(
        r#"{{ "subject": "Sanzione - piano di rateizzazione",
  "creditor": {{ "name": "Comune di Esempio", "fiscal_code": "80016350821", "cbill": "AB12C",
                "postal": {{ "account": "1011136627", "holder": "Comune di Esempio",
                            "authorization": "AUT. 0000 DEL 01/01/2026" }} }},
  "debtor": {{ "name": "Mario Rossi", "fiscal_code": "RSSMRA80A01H501U" }},
  "installments": [ {} ] }}"#,
        rates.join(",\n")
    )
}

#[test]
fn avviso_marks_as_files_and_many_installments() {
    let json = tmp("many.json");
    std::fs::write(&json, notice_json(9)).unwrap();
    let (logo, mark) = (tmp("pagopa.png"), tmp("poste.png"));
    png(&logo, 560, 280, [0, 150, 70]);
    png(&mark, 300, 60, [0, 150, 70]);

    // Nine rates: the base model (3 pages), stand-ins named in the PDF's keywords.
    let plain = tmp("plain.pdf");
    let (code, out, err) = avviso(&json, &plain, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 page(s)"), "{out}");
    if let Some(info) = poppler("pdfinfo", &[plain.to_str().unwrap()]) {
        assert!(info.contains("logo pagoPA: disegno sostitutivo"), "{info}");
        assert!(
            info.contains("marchio BancoPosta: testo sostitutivo"),
            "{info}"
        );
    }

    // The variant on request, with the marks: 1 grid page, 2 pages of bollettini.
    let pdf = tmp("marks.pdf");
    let (code, out, err) = avviso(
        &json,
        &pdf,
        &[
            "--pagopa-logo",
            logo.to_str().unwrap(),
            "--poste-logo",
            mark.to_str().unwrap(),
            "--molte-rate",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 page(s)"), "{out}");
    assert_eq!(out.matches("QR: PAGOPA|002|").count(), 9, "{out}");
    if let Some(info) = poppler("pdfinfo", &[pdf.to_str().unwrap()]) {
        assert!(!info.contains("sostitutivo"), "{info}");
    }
    if let Some(list) = poppler("pdfimages", &["-list", pdf.to_str().unwrap()]) {
        // pagoPA's logo on each of the 3 pages; the BancoPosta mark on each group of three
        // bollettini (two on page 2, one on page 3).
        let rows: Vec<(String, String)> = list
            .lines()
            .skip(2)
            .map(|l| {
                let c: Vec<&str> = l.split_whitespace().collect();
                (c[0].to_owned(), format!("{}x{}", c[3], c[4]))
            })
            .collect();
        let of = |size: &str| rows.iter().filter(|(_, s)| s == size).count();
        assert_eq!(of("560x280"), 3, "{list}");
        assert_eq!(of("300x60"), 3, "{list}");
    }
    if let Some(text) = poppler(
        "pdftotext",
        &["-f", "1", "-l", "1", pdf.to_str().unwrap(), "-"],
    ) {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains("Puoi pagare in 9 rate"), "{flat}");
        assert!(flat.contains("RATA 9 entro il 28/09/2026"), "{flat}");
    }

    // Fewer than 9 rates with --molte-rate, or a logo that is no image: refused, exit 1.
    std::fs::write(&json, notice_json(4)).unwrap();
    let (code, _, err) = avviso(&json, &pdf, &["--molte-rate"]);
    assert_eq!(code, 1);
    assert!(err.contains("at least 9"), "{err}");
    let (code, _, err) = avviso(&json, &pdf, &["--pagopa-logo", json.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("neither a PNG nor a JPEG"), "{err}");
}

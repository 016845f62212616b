//! `pa pagopa avviso` with the official marks as files and the variant "Avviso con molte
//! rate": the PDF read back by poppler (`pdfinfo`, `pdfimages`, `pdftotext`).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn pa(args: &[&str]) -> (i32, String, String) {
    pa_testkit::exec(env!("CARGO_BIN_EXE_pa"), args)
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pa-avviso");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// A poppler tool's standard output; `None` outside CI when it is not installed.
fn poppler(name: &str, args: &[&str]) -> Option<String> {
    match Command::new(name).args(args).output() {
        Ok(out) => {
            assert!(out.status.success(), "{name}: {out:?}");
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(e) if std::env::var_os("CI").is_none() => {
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

fn png(path: &Path, w: u32, h: u32) {
    image::RgbImage::from_pixel(w, h, image::Rgb([0, 150, 70]))
        .save(path)
        .unwrap();
}

#[test]
fn marks_as_files_and_many_installments() {
    let json = tmp("many.json");
    std::fs::write(&json, notice_json(9)).unwrap();
    let (logo, mark) = (tmp("pagopa.png"), tmp("poste.png"));
    png(&logo, 560, 280);
    png(&mark, 300, 60);

    // Nine rates: the base model (3 pages), stand-ins named in the PDF's keywords.
    let plain = tmp("plain.pdf");
    let (code, out, err) = pa(&[
        "pagopa",
        "avviso",
        "--input",
        json.to_str().unwrap(),
        "--out",
        plain.to_str().unwrap(),
    ]);
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
    let (code, out, err) = pa(&[
        "pagopa",
        "avviso",
        "--input",
        json.to_str().unwrap(),
        "--out",
        pdf.to_str().unwrap(),
        "--pagopa-logo",
        logo.to_str().unwrap(),
        "--poste-logo",
        mark.to_str().unwrap(),
        "--molte-rate",
    ]);
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
    let (code, _, err) = pa(&[
        "pagopa",
        "avviso",
        "--input",
        json.to_str().unwrap(),
        "--out",
        pdf.to_str().unwrap(),
        "--molte-rate",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("at least 9"), "{err}");
    let (code, _, err) = pa(&[
        "pagopa",
        "avviso",
        "--input",
        json.to_str().unwrap(),
        "--out",
        pdf.to_str().unwrap(),
        "--pagopa-logo",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("neither a PNG nor a JPEG"), "{err}");
}

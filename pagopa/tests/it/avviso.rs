//! The printable notice: its PDF read back by poppler (`pdftotext`, `pdfinfo`, `pdftoppm`),
//! its QR codes decoded by zbar (`zbarimg`) and its Data Matrix symbols by libdmtx
//! (`dmtxread`) from the rasterised pages; and the typed errors of invalid input.

use std::path::{Path, PathBuf};
use std::process::Command;

use pagopa::avviso::{Avviso, AvvisoError, MAX_INSTALLMENTS, TextProblem};
use pagopa::{CodeError, PayloadError};
use serde_json::{Value, json};

const CREDITOR: &str = "80016350821";
const NOTICES: [&str; 11] = [
    "301000000000000144",
    "301000000000000245",
    "301000000000000346",
    "301000000000000447",
    "301000000000000548",
    "301000000000000649",
    "301000000000000750",
    "301000000000000851",
    "301000000000000952",
    "301000000000001053",
    "301000000000001154",
];

fn ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Runs a poppler / zbar / libdmtx tool. `None` when it is not installed outside CI; in CI a
/// missing tool fails the test.
fn tool(name: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(name).args(args).output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !ci() => {
            eprintln!("{name} not installed: skipping this external check");
            None
        }
        Err(e) => panic!("{name} is required in CI: {e}"),
    }
}

fn ok_stdout(name: &str, out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn base(installments: usize, single: bool, postal: bool) -> Value {
    let mut v = json!({
        "subject": "TARI 2026 - Tassa sui rifiuti, utenza domestica",
        "creditor": {
            "name": "Comune di Sant'Elpidio a Mare",
            "sector": "Servizio Tributi",
            "info": "tributi@comune.example.it · 0734 000000",
            "fiscal_code": CREDITOR,
            "cbill": "AB12C"
        },
        "debtor": {
            "name": "Mario Rossi Niccolò",
            "fiscal_code": "RSSMRA80A01H501U",
            "address": "Via Roma 1, 63811 Sant'Elpidio a Mare (FM)"
        }
    });
    if single {
        v["single"] = json!({
            "notice_number": NOTICES[0], "amount_cents": 12_345_678, "due_date": "2026-04-16"
        });
    }
    let rates: Vec<Value> = (0..installments)
        .map(|i| {
            json!({
                "notice_number": NOTICES[i + 1],
                "amount_cents": 10_000 + i as u64,
                "due_date": format!("2026-{:02}-16", i + 3),
            })
        })
        .collect();
    v["installments"] = Value::Array(rates);
    if postal {
        v["creditor"]["postal"] = json!({
            "account": "1011136627",
            "holder": "Comune di Sant'Elpidio a Mare - Servizio Tesoreria",
            "authorization": "AUT. DB/SISB/E 123456 DEL 01/01/2026"
        });
    }
    v
}

fn avviso(v: &Value) -> Avviso {
    Avviso::from_json(&v.to_string()).unwrap()
}

fn write_pdf(dir: &Path, a: &Avviso) -> PathBuf {
    let path = dir.join("avviso.pdf");
    std::fs::write(&path, a.to_pdf().unwrap()).unwrap();
    path
}

fn page_text(pdf: &Path, page: usize) -> Option<String> {
    let p = page.to_string();
    let out = tool(
        "pdftotext",
        &["-f", &p, "-l", &p, "-layout", pdf.to_str().unwrap(), "-"],
    )?;
    Some(ok_stdout("pdftotext", &out))
}

fn pages(pdf: &Path) -> Option<usize> {
    let out = tool("pdfinfo", &[pdf.to_str().unwrap()])?;
    let info = ok_stdout("pdfinfo", &out);
    let line = info.lines().find(|l| l.starts_with("Pages:")).unwrap();
    Some(line["Pages:".len()..].trim().parse().unwrap())
}

/// Page `page` rasterised at 300 dpi, as a PNG file.
fn raster(pdf: &Path, page: usize) -> Option<PathBuf> {
    let p = page.to_string();
    let prefix = pdf.with_file_name(format!("page{page}"));
    let out = tool(
        "pdftoppm",
        &[
            "-r",
            "300",
            "-png",
            "-gray",
            "-singlefile",
            "-f",
            &p,
            "-l",
            &p,
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    )?;
    ok_stdout("pdftoppm", &out);
    Some(prefix.with_extension("png"))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn qr_codes(png: &Path) -> Option<Vec<String>> {
    let out = tool(
        "zbarimg",
        &[
            "--raw",
            "-q",
            "-Sdisable",
            "-Sqrcode.enable",
            png.to_str().unwrap(),
        ],
    )?;
    let text = ok_stdout("zbarimg", &out);
    Some(sorted(text.lines().map(str::to_owned).collect()))
}

fn data_matrices(png: &Path, expected: usize) -> Option<Vec<String>> {
    let n = expected.to_string();
    let out = tool(
        "dmtxread",
        &["-N", &n, "-m", "120000", png.to_str().unwrap()],
    )?;
    let text = ok_stdout("dmtxread", &out);
    // `-n`: no newline after each message; each payload is exactly 256 characters.
    assert_eq!(text.len() % 256, 0, "{text:?}");
    let found = text
        .as_bytes()
        .chunks(256)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    Some(sorted(found))
}

#[test]
fn single_payment_with_postal_account_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let a = avviso(&base(0, true, true));
    assert_eq!(a.page_count(), 1);
    let pdf = write_pdf(dir.path(), &a);
    if let Some(n) = pages(&pdf) {
        assert_eq!(n, 1);
    }
    if let Some(text) = page_text(&pdf, 1) {
        for needle in [
            "AVVISO DI PAGAMENTO",
            "TARI 2026 - Tassa sui rifiuti, utenza domestica",
            "ENTE CREDITORE",
            "Comune di Sant'Elpidio a Mare",
            "Servizio Tributi",
            "tributi@comune.example.it · 0734 000000",
            "Cod. Fiscale 80016350821",
            "DESTINATARIO AVVISO",
            "Mario Rossi Niccolò",
            "Cod. Fiscale RSSMRA80A01H501U",
            "Via Roma 1, 63811 Sant'Elpidio a Mare (FM)",
            "QUANTO E QUANDO PAGARE?",
            "123.456,78 Euro",
            "entro il 16/04/2026",
            "DOVE PAGARE?",
            "RATA UNICA entro il 16/04/2026",
            "Codice CBILL",
            "AB12C",
            "Codice Avviso",
            "3010 0000 0000 0001 44",
            "Cod. Fiscale Ente Creditore",
            "BOLLETTINO POSTALE PA",
            "sul C/C n.",
            "001011136627",
            "Comune di Sant'Elpidio a Mare - Servizio Tesoreria",
            "AUT. DB/SISB/E 123456 DEL 01/01/2026",
            "P1",
        ] {
            assert!(text.contains(needle), "{needle:?} not found in:\n{text}");
        }
        // The notice code is printed in groups of four, never as 18 digits in a row.
        assert!(!text.contains(NOTICES[0]), "{text}");
    }
    let Some(png) = raster(&pdf, 1) else { return };
    if let Some(found) = qr_codes(&png) {
        assert_eq!(
            found,
            vec![format!("PAGOPA|002|{}|{CREDITOR}|12345678", NOTICES[0])]
        );
        assert_eq!(found, a.qr_payloads());
    }
    if let Some(found) = data_matrices(&png, 1) {
        let expected: Vec<String> = a
            .data_matrices()
            .unwrap()
            .iter()
            .map(|d| d.to_payload())
            .collect();
        assert_eq!(found, expected);
        assert!(
            found[0].starts_with("codfase=NBPA;18301000000000000144120010111366271000123456783896")
        );
    }
}

/// Checks one page of installments: its text, its QR codes and Data Matrix symbols.
fn check_installment_page(pdf: &Path, a: &Avviso, page: usize, rates: std::ops::Range<usize>) {
    let offset = usize::from(a.single.is_some());
    if let Some(text) = page_text(pdf, page) {
        assert!(text.contains("TARI 2026 - Tassa sui rifiuti"), "{text}");
        for i in rates.clone() {
            let o = &a.installments[i];
            let code = o.notice.to_print_format();
            let amount = format!("{},{:02}", o.amount.cents() / 100, o.amount.cents() % 100);
            let due = o.due_date.format("%d/%m/%Y").to_string();
            for needle in [
                format!("RATA {}", i + 1),
                code,
                amount,
                format!("entro il {due}"),
            ] {
                assert!(
                    text.contains(&needle),
                    "page {page}: {needle:?} not in\n{text}"
                );
            }
        }
        assert!(text.contains("AB12C"), "{text}");
        let next = rates.end + 1;
        assert!(!text.contains(&format!("RATA {next} ")), "{text}");
    }
    let Some(png) = raster(pdf, page) else { return };
    let all = a.qr_payloads();
    let expected: Vec<String> = rates.clone().map(|i| all[offset + i].clone()).collect();
    if let Some(found) = qr_codes(&png) {
        assert_eq!(found, sorted(expected), "page {page}");
    }
    if a.creditor.postal.is_some() {
        let dms = a.data_matrices().unwrap();
        let expected: Vec<String> = rates
            .clone()
            .map(|i| dms[offset + i].to_payload())
            .collect();
        if let Some(found) = data_matrices(&png, expected.len()) {
            assert_eq!(found, sorted(expected), "page {page}");
        }
    }
}

#[test]
fn single_payment_and_three_installments_take_two_pages() {
    let dir = tempfile::tempdir().unwrap();
    let a = avviso(&base(3, true, true));
    assert_eq!(a.installments_per_page(), 3);
    assert_eq!(a.page_count(), 2);
    let pdf = write_pdf(dir.path(), &a);
    if let Some(n) = pages(&pdf) {
        assert_eq!(n, 2);
    }
    if let Some(text) = page_text(&pdf, 1) {
        assert!(
            text.contains("Puoi pagare per intero o in 3 rate."),
            "{text}"
        );
        assert!(text.contains("RATA UNICA"), "{text}");
        assert!(!text.contains("RATA 1"), "{text}");
    }
    check_installment_page(&pdf, &a, 2, 0..3);
}

#[test]
fn four_installments_without_single_payment_go_two_per_page() {
    let dir = tempfile::tempdir().unwrap();
    let a = avviso(&base(4, false, false));
    assert_eq!(a.installments_per_page(), 2);
    assert_eq!(a.page_count(), 2);
    assert!(a.data_matrices().unwrap().is_empty());
    let pdf = write_pdf(dir.path(), &a);
    if let Some(n) = pages(&pdf) {
        assert_eq!(n, 2);
    }
    if let Some(text) = page_text(&pdf, 1) {
        assert!(text.contains("Puoi pagare in 4 rate"), "{text}");
        assert!(!text.contains("RATA UNICA"), "{text}");
        assert!(!text.contains("BOLLETTINO POSTALE PA"), "{text}");
    }
    check_installment_page(&pdf, &a, 1, 0..2);
    check_installment_page(&pdf, &a, 2, 2..4);
}

#[test]
fn five_installments_with_postal_account_repeat_the_three_layout() {
    let dir = tempfile::tempdir().unwrap();
    let a = avviso(&base(5, true, true));
    assert_eq!(a.installments_per_page(), 3);
    assert_eq!(a.page_count(), 3);
    let pdf = write_pdf(dir.path(), &a);
    if let Some(n) = pages(&pdf) {
        assert_eq!(n, 3);
    }
    check_installment_page(&pdf, &a, 2, 0..3);
    check_installment_page(&pdf, &a, 3, 3..5);
}

#[test]
fn page_grouping_follows_the_guide() {
    // (installments, single) -> (per page, pages)
    for (n, single, per_page, pages) in [
        (2, true, 2, 2),
        (3, false, 3, 1),
        (4, true, 2, 3),
        (6, true, 3, 3),
        (7, false, 3, 3),
        (8, true, 2, 5),
        (9, false, 3, 3),
    ] {
        let a = avviso(&base(n, single, false));
        assert_eq!(a.installments_per_page(), per_page, "{n} rates");
        assert_eq!(a.page_count(), pages, "{n} rates, single {single}");
    }
}

fn error_of(v: &Value) -> AvvisoError {
    Avviso::from_json(&v.to_string()).unwrap_err()
}

#[test]
fn invalid_input_gives_typed_errors() {
    let mut v = base(2, true, true);
    v["installments"][1]["notice_number"] = json!("301000000000000246");
    match error_of(&v) {
        AvvisoError::Notice { field, source } => {
            assert_eq!(field, "installments[1].notice_number");
            assert!(
                matches!(source, CodeError::CheckDigits { .. }),
                "{source:?}"
            );
        }
        e => panic!("{e:?}"),
    }
    let mut v = base(0, true, false);
    v["single"]["notice_number"] = json!("90100000000000014");
    assert!(
        matches!(error_of(&v), AvvisoError::Notice { field, .. } if field == "single.notice_number")
    );
    let mut v = base(0, true, false);
    v["single"]["notice_number"] = json!("901000000000000144");
    assert!(matches!(
        error_of(&v),
        AvvisoError::Notice {
            source: CodeError::UnknownAuxDigit { found: '9' },
            ..
        }
    ));

    let mut v = base(0, true, false);
    // Organisation codes without a valid check digit exist (pa-types accepts them): the shape
    // is what is checked.
    v["creditor"]["fiscal_code"] = json!("8001635082A");
    assert!(
        matches!(error_of(&v), AvvisoError::FiscalCode { field, .. } if field == "creditor.fiscal_code")
    );
    let mut v = base(0, true, false);
    v["debtor"]["fiscal_code"] = json!("RSSMRA80A01H501X");
    assert!(
        matches!(error_of(&v), AvvisoError::FiscalCode { field, .. } if field == "debtor.fiscal_code")
    );

    let mut v = base(2, false, false);
    v["installments"][0]["amount_cents"] = json!(0);
    assert!(matches!(
        error_of(&v),
        AvvisoError::Amount { field, cents: 0 } if field == "installments[0].amount_cents"
    ));
    let mut v = base(0, true, false);
    v["single"]["amount_cents"] = json!(100_000_000_000_u64);
    assert!(matches!(error_of(&v), AvvisoError::Amount { .. }));
    let mut v = base(0, true, false);
    v["single"]["amount_cents"] = json!(-5);
    assert!(matches!(error_of(&v), AvvisoError::Json { .. }));

    let mut v = base(0, true, false);
    v["single"]["due_date"] = json!("2026-02-30");
    assert!(matches!(error_of(&v), AvvisoError::Date { field, .. } if field == "single.due_date"));
    let mut v = base(0, true, false);
    v["single"]["due_date"] = json!("16/04/2026");
    assert!(matches!(error_of(&v), AvvisoError::Date { .. }));

    let v = base(1, true, false);
    assert!(matches!(
        error_of(&v),
        AvvisoError::InstallmentCount { found: 1, .. }
    ));
    let v = base(MAX_INSTALLMENTS + 1, false, false);
    assert!(matches!(
        error_of(&v),
        AvvisoError::InstallmentCount { found: 10, max: 9 }
    ));
    let v = base(0, false, false);
    assert!(matches!(error_of(&v), AvvisoError::NoPaymentOption));

    let mut v = base(2, true, false);
    v["installments"][1]["notice_number"] = json!(NOTICES[0]);
    match error_of(&v) {
        AvvisoError::DuplicateNotice { field, first, .. } => {
            assert_eq!(field, "installments[1].notice_number");
            assert_eq!(first, "single.notice_number");
        }
        e => panic!("{e:?}"),
    }

    let mut v = base(0, true, false);
    v["creditor"]["cbill"] = json!("ab12c");
    assert!(matches!(error_of(&v), AvvisoError::Cbill { .. }));
    let mut v = base(0, true, false);
    v["creditor"]["cbill"] = json!("AB12CD");
    assert!(matches!(error_of(&v), AvvisoError::Cbill { .. }));

    let mut v = base(0, true, false);
    v["subject"] = json!("x".repeat(91));
    assert!(matches!(
        error_of(&v),
        AvvisoError::Text { field, problem: TextProblem::TooLong { max: 90, found: 91 } } if field == "subject"
    ));
    let mut v = base(0, true, false);
    v["debtor"]["name"] = json!("  ");
    assert!(matches!(
        error_of(&v),
        AvvisoError::Text {
            problem: TextProblem::Empty,
            ..
        }
    ));
    let mut v = base(0, true, false);
    v["creditor"]["name"] = json!("Comune\ndi Roma");
    assert!(matches!(
        error_of(&v),
        AvvisoError::Text {
            problem: TextProblem::Control {
                found: '\n',
                position: 7
            },
            ..
        }
    ));

    let mut v = base(0, true, true);
    v["creditor"]["postal"]["account"] = json!("12345678901234");
    assert!(matches!(
        error_of(&v),
        AvvisoError::PostalAccount(PayloadError::PostalAccount { .. })
    ));
    // The Poste Data Matrix carries ASCII only (accented letters transliterated).
    let mut v = base(0, true, true);
    v["subject"] = json!("TARI 2026 – rata unica");
    assert!(matches!(
        error_of(&v),
        AvvisoError::Payload { field, source: PayloadError::Unencodable { found: '–', .. } } if field == "single"
    ));
    // Without a postal account the same subject prints.
    let mut v = base(0, true, false);
    v["subject"] = json!("TARI 2026 – rata unica");
    assert!(Avviso::from_json(&v.to_string()).unwrap().to_pdf().is_ok());

    let mut v = base(0, true, false);
    v["creditor"]["colour"] = json!("blue");
    match error_of(&v) {
        AvvisoError::Json { message, .. } => assert!(message.contains("colour"), "{message}"),
        e => panic!("{e:?}"),
    }
    assert!(matches!(
        Avviso::from_json("{ not json"),
        Err(AvvisoError::Json { line: 1, .. })
    ));

    // A character the embedded font cannot draw is refused when drawing, not replaced.
    let mut v = base(0, true, false);
    v["debtor"]["address"] = json!("東京都 1-2-3");
    let a = Avviso::from_json(&v.to_string()).unwrap();
    assert!(matches!(
        a.to_pdf(),
        Err(AvvisoError::Text { field, problem: TextProblem::NoGlyph { found: '東', position: 1 } }) if field == "debtor.address"
    ));
}

#[test]
fn output_is_deterministic_and_embeds_its_fonts() {
    let a = avviso(&base(3, true, true));
    let pdf = a.to_pdf().unwrap();
    assert_eq!(pdf, a.to_pdf().unwrap());
    assert!(pdf.starts_with(b"%PDF-1.7"));
    let dir = tempfile::tempdir().unwrap();
    let path = write_pdf(dir.path(), &a);
    let Some(out) = tool("pdffonts", &[path.to_str().unwrap()]) else {
        return;
    };
    let fonts = ok_stdout("pdffonts", &out);
    // name type encoding emb sub uni: both faces embedded, subset, with a ToUnicode map.
    let rows: Vec<&str> = fonts.lines().filter(|l| l.contains("NotoSans")).collect();
    assert_eq!(rows.len(), 2, "{fonts}");
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            &cols[cols.len() - 5..cols.len() - 2],
            ["yes", "yes", "yes"],
            "{row}"
        );
    }
}

#[test]
fn qr_code_is_vector_and_25_mm_wide() {
    let dir = tempfile::tempdir().unwrap();
    let a = avviso(&base(0, true, false));
    let pdf = write_pdf(dir.path(), &a);
    // No raster image anywhere: the symbols are drawn as filled rectangles.
    if let Some(out) = tool("pdfimages", &["-list", pdf.to_str().unwrap()]) {
        let list = ok_stdout("pdfimages", &out);
        assert_eq!(list.lines().count(), 2, "images found:\n{list}");
    }
    let Some(png) = raster(&pdf, 1) else { return };
    let img = image::open(&png).unwrap().to_luma8();
    // The QR of the single payment sits at 17 mm from the left, 157 mm from the top; the
    // window stays inside its white quiet zone, so every dark pixel in it belongs to the symbol.
    let px = |mm: f64| (mm / 25.4 * 300.0).round() as u32;
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for y in px(154.3)..px(184.7) {
        for x in px(14.3)..px(44.7) {
            if img.get_pixel(x, y).0[0] < 128 {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
    }
    let side = 25.0 / 25.4 * 300.0;
    let (w, h) = (f64::from(x1 - x0 + 1), f64::from(y1 - y0 + 1));
    assert!(
        (w - side).abs() <= 2.0,
        "QR width {w} px, expected {side:.1}"
    );
    assert!(
        (h - side).abs() <= 2.0,
        "QR height {h} px, expected {side:.1}"
    );
}

/// A word's box as poppler sees it: (xMin, yMin, xMax, yMax, word), in points.
type WordBox = (f64, f64, f64, f64, String);

/// The page width and the word boxes of one page.
fn word_boxes(pdf: &Path, page: usize) -> Option<(f64, Vec<WordBox>)> {
    let p = page.to_string();
    let out = tool(
        "pdftotext",
        &["-bbox", "-f", &p, "-l", &p, pdf.to_str().unwrap(), "-"],
    )?;
    let html = ok_stdout("pdftotext", &out);
    let attr = |tag: &str, name: &str| -> f64 {
        let at = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tag[at..at + tag[at..].find('"').unwrap()].parse().unwrap()
    };
    let page_tag = &html[html.find("<page ").unwrap()..];
    let width = attr(page_tag, "width");
    let words = html
        .split("<word ")
        .skip(1)
        .map(|w| {
            let text = &w[w.find('>').unwrap() + 1..w.find("</word>").unwrap()];
            (
                attr(w, "xMin"),
                attr(w, "yMin"),
                attr(w, "xMax"),
                attr(w, "yMax"),
                text.to_owned(),
            )
        })
        .collect();
    Some((width, words))
}

#[test]
fn longest_fields_stay_inside_the_page_without_overlapping() {
    let long = |prefix: &str, n: usize| {
        let mut s = prefix.to_owned();
        while s.chars().count() < n {
            s.push_str(" Parola");
        }
        s.chars().take(n).collect::<String>().trim_end().to_owned() + "Z"
    };
    for (rates, single) in [(3, true), (4, false)] {
        let mut v = base(rates, single, true);
        v["subject"] = json!(long("Oggetto", 89));
        v["creditor"]["name"] = json!(long("Ente", 99));
        v["creditor"]["sector"] = json!(long("Settore", 99));
        v["creditor"]["info"] = json!(long("Info", 99));
        v["creditor"]["postal"]["holder"] = json!(long("Intestatario", 99));
        v["creditor"]["postal"]["authorization"] = json!(long("AUT.", 99));
        v["debtor"]["name"] = json!(long("Destinatario", 69));
        v["debtor"]["address"] = json!(long("Via", 99));
        if single {
            v["single"]["amount_cents"] = json!(9_999_999_999_u64);
        }
        let a = avviso(&v);
        let dir = tempfile::tempdir().unwrap();
        let pdf = write_pdf(dir.path(), &a);
        for page in 1..=a.page_count() {
            let Some((width, words)) = word_boxes(&pdf, page) else {
                return;
            };
            let margin = 9.0 / 25.4 * 72.0;
            for w in &words {
                assert!(
                    w.0 >= margin && w.2 <= width - margin,
                    "page {page}: {w:?} leaves the margins"
                );
            }
            for (i, p) in words.iter().enumerate() {
                for q in &words[i + 1..] {
                    let dx = p.2.min(q.2) - p.0.max(q.0);
                    let dy = p.3.min(q.3) - p.1.max(q.1);
                    // Boxes span the font's whole ascent and descent: adjacent lines may touch.
                    let shorter = (p.3 - p.1).min(q.3 - q.1);
                    assert!(
                        dx <= 0.5 || dy <= 0.4 * shorter,
                        "page {page}: {p:?} overlaps {q:?}"
                    );
                }
            }
        }
    }
}

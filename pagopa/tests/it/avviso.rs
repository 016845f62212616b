//! The printable notice: its PDF read back by poppler (`pdftotext`, `pdfinfo`, `pdftoppm`),
//! its QR codes decoded by zbar (`zbarimg`) and its Data Matrix symbols by libdmtx
//! (`dmtxread`) from the rasterised pages; and the typed errors of invalid input.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;

use pagopa::avviso::{
    Avviso, AvvisoError, InstallmentLayout, LogoProblem, MAX_INSTALLMENTS, MAX_LOGO_BYTES,
    MAX_LOGO_PIXELS, TextProblem,
};
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

/// The text of one page in poppler's reading order with every run of white space made one
/// space, so that a paragraph wrapped over several lines reads as one line.
fn flat_text(pdf: &Path, page: usize) -> Option<String> {
    let p = page.to_string();
    let out = tool(
        "pdftotext",
        &["-f", &p, "-l", &p, pdf.to_str().unwrap(), "-"],
    )?;
    let text = ok_stdout("pdftotext", &out);
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// The fixed texts of the guide "Avviso di pagamento pagoPA" v3.x (its Italian strings,
/// `pagoPA-avvisi-320-stringhe-it.json`, and the page "Dove pagare"), as printed on the first
/// page of every notice. Typed here from the guide, not taken from the crate.
const FIRST_PAGE_TEXTS: [&str; 9] = [
    "AVVISO DI PAGAMENTO",
    "ENTE CREDITORE",
    "DESTINATARIO",
    "QUANTO E QUANDO PAGARE?",
    "In fase di pagamento, se previsto dall\u{2019}ente, l\u{2019}importo potrebbe essere \
     aggiornato automaticamente e subire variazioni in diminuzione (per sgravi, note di \
     credito) o in aumento (per sanzioni, interessi, ecc.).",
    "DOVE PAGARE?",
    "PAGA CON L\u{2019}APP IO",
    "PAGA SUL TERRITORIO",
    "DATI PER IL PAGAMENTO",
];
/// "Dove pagare", the two channel texts when the creditor takes no payment itself.
const ONLINE_TEXT: &str =
    "oppure dal tuo Home Banking, con la tua app di pagamento o con gli altri canali abilitati.";
const TERRITORY_TEXT: &str = "presso Banche e Sportelli ATM, negli Uffici Postali e Punti \
    Postali, nei Bar, Edicole, Ricevitorie, Supermercati, Tabaccherie e altri Esercenti \
    Convenzionati.";
const QR_SINGLE: &str = "Inquadra il codice QR con la tua app di pagamento o usa i dati accanto.";
const QR_RATES: &str = "Inquadra il codice QR con la tua app di pagamento o usa i dati sopra.";
const POSTAL_WHERE: &str = "Bollettino Postale pagabile in tutti gli Uffici Postali e sui \
    canali fisici o digitali abilitati di Poste Italiane e dell\u{2019}Ente Creditore";

fn assert_all(text: &str, needles: &[&str], what: &str) {
    for needle in needles {
        assert!(
            text.contains(needle),
            "{what}: {needle:?} not found in:\n{text}"
        );
    }
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
    if let Some(text) = flat_text(&pdf, 1) {
        assert_all(&text, &FIRST_PAGE_TEXTS, "fixed texts");
        assert_all(
            &text,
            &[ONLINE_TEXT, TERRITORY_TEXT, "vai su pagopa.gov.it"],
            "channels",
        );
        // 1, 2.1, 2.2: header and parties.
        assert_all(
            &text,
            &[
                "TARI 2026 - Tassa sui rifiuti, utenza domestica",
                "Codice Fiscale 80016350821",
                "Comune di Sant'Elpidio a Mare",
                "Servizio Tributi",
                "tributi@comune.example.it · 0734 000000",
                "Codice Fiscale RSSMRA80A01H501U",
                "Mario Rossi Niccolò",
                "Via Roma 1, 63811 Sant'Elpidio a Mare (FM)",
            ],
            "parties",
        );
        // 3.1: amount, due date; no installment text without installments.
        assert_all(&text, &["123.456,78 Euro entro il 16/04/2026"], "amount");
        assert!(!text.contains("Puoi pagare"), "{text}");
        // 4, Rata unica: its title, the QR instruction and every field's label.
        assert_all(
            &text,
            &[
                "RATA UNICA entro il 16/04/2026",
                QR_SINGLE,
                "Destinatario",
                "Ente Creditore",
                "Oggetto del pagamento",
                "Euro",
                "123.456,78",
                "Codice CBILL",
                "AB12C",
                "Codice Avviso",
                "3010 0000 0000 0001 44",
                "Codice Fiscale Ente",
            ],
            "rata unica",
        );
        // Bollettino Postale PA: title, where it is paid, account, holder, recipient, subject,
        // amount, notice code, type P1, creditor's fiscal code, Poste's authorisation.
        assert_all(
            &text,
            &[
                "BOLLETTINO POSTALE PA",
                "BancoPosta",
                POSTAL_WHERE,
                "sul C/C n.",
                "001011136627",
                "Intestato a",
                "Comune di Sant'Elpidio a Mare - Servizio Tesoreria",
                "Tipo",
                "P1",
                "Cod. Fiscale Ente Creditore",
                "AUT. DB/SISB/E 123456 DEL 01/01/2026",
            ],
            "bollettino",
        );
        // Each option's data twice: once for the banks, once on the bollettino.
        assert_eq!(count(&text, "RATA UNICA entro il 16/04/2026"), 2, "{text}");
        assert_eq!(count(&text, "3010 0000 0000 0001 44"), 2, "{text}");
        assert_eq!(count(&text, "Codice Avviso"), 2, "{text}");
        assert_eq!(count(&text, "Oggetto del pagamento"), 2, "{text}");
        assert_eq!(count(&text, "Mario Rossi Niccolò"), 3, "{text}");
        // Section 2.1, Rata unica, Bollettino.
        assert_eq!(count(&text, "80016350821"), 3, "{text}");
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
fn check_installment_page(pdf: &Path, a: &Avviso, page: usize, rates: Range<usize>) {
    if let Some(text) = flat_text(pdf, page) {
        assert_all(
            &text,
            &[
                "AVVISO DI PAGAMENTO",
                "TARI 2026 - Tassa sui rifiuti, utenza domestica",
                "DATI PER IL PAGAMENTO",
            ],
            "header",
        );
        // The data the installments share, with the guide's short labels.
        assert_all(
            &text,
            &[
                "Ente Creditore",
                "Comune di Sant'Elpidio a Mare",
                "Oggetto del pagamento",
                "Destinatario",
                "Mario Rossi Niccolò",
                "Cod. CBILL",
                "AB12C",
                "Cod. Fiscale Ente",
                "80016350821",
                QR_RATES,
            ],
            "rate multiple",
        );
        let n = rates.len();
        for i in rates.clone() {
            let o = &a.installments[i];
            let code = o.notice.to_print_format();
            let amount = euro(o.amount.cents());
            let due = o.due_date.unwrap().format("%d/%m/%Y").to_string();
            let title = format!("RATA {} entro il {due}", i + 1);
            assert_all(&text, &[&title, &code, &amount], &format!("page {page}"));
            let copies = if a.creditor.postal.is_some() { 2 } else { 1 };
            assert_eq!(count(&text, &title), copies, "page {page}: {title}\n{text}");
            assert_eq!(count(&text, &code), copies, "page {page}: {code}\n{text}");
        }
        assert_eq!(count(&text, "Cod. Avviso"), n, "{text}");
        assert_eq!(
            count(&text, "Euro"),
            n * if a.creditor.postal.is_some() { 2 } else { 1 },
            "{text}"
        );
        if a.creditor.postal.is_some() {
            assert_all(
                &text,
                &[
                    "BOLLETTINO POSTALE PA",
                    POSTAL_WHERE,
                    "sul C/C n. 001011136627",
                    "Intestato a Comune di Sant'Elpidio a Mare - Servizio Tesoreria",
                    "Cod. Fiscale Ente Creditore",
                    "Tipo",
                    "P1",
                    "AUT. DB/SISB/E 123456 DEL 01/01/2026",
                ],
                "bollettino",
            );
            // The bollettino prints the notice code with the long label.
            assert_eq!(count(&text, "Codice Avviso"), n, "{text}");
        } else {
            assert!(!text.contains("BOLLETTINO POSTALE PA"), "{text}");
        }
        let next = rates.end + 1;
        assert!(!text.contains(&format!("RATA {next} ")), "{text}");
    }
    let Some(png) = raster(pdf, page) else { return };
    assert_qr_codes(&png, a, page, rates.clone());
    if a.creditor.postal.is_some() {
        assert_data_matrices(&png, a, page, rates);
    }
}

/// The QR codes decoded from `png` (page `page` rasterised) are those of installments `rates`.
fn assert_qr_codes(png: &Path, a: &Avviso, page: usize, rates: Range<usize>) {
    let offset = usize::from(a.single.is_some());
    let all = a.qr_payloads();
    let expected: Vec<String> = rates.map(|i| all[offset + i].clone()).collect();
    if let Some(found) = qr_codes(png) {
        assert_eq!(found, sorted(expected), "page {page}");
    }
}

/// The Data Matrix symbols decoded from `png` are those of the bollettini of `rates`.
fn assert_data_matrices(png: &Path, a: &Avviso, page: usize, rates: Range<usize>) {
    let offset = usize::from(a.single.is_some());
    let dms = a.data_matrices().unwrap();
    let expected: Vec<String> = rates.map(|i| dms[offset + i].to_payload()).collect();
    if let Some(found) = data_matrices(png, expected.len()) {
        assert_eq!(found, sorted(expected), "page {page}");
    }
}

/// An amount as the notice prints it: `150,00`.
fn euro(cents: u64) -> String {
    format!("{},{:02}", cents / 100, cents % 100)
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
    if let Some(text) = flat_text(&pdf, 1) {
        assert_all(&text, &FIRST_PAGE_TEXTS, "fixed texts");
        assert_all(
            &text,
            &[
                "123.456,78 Euro entro il 16/04/2026",
                "Puoi pagare per intero o in 3 rate",
            ],
            "3.1",
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
    if let Some(text) = flat_text(&pdf, 1) {
        assert_all(&text, &FIRST_PAGE_TEXTS, "fixed texts");
        assert_all(
            &text,
            &[
                "Puoi pagare in 4 rate",
                "Importi e scadenze sono riportati nel dettaglio di ogni singola rata.",
            ],
            "3.1",
        );
        assert!(!text.contains("per intero"), "{text}");
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
    // The QR of the single payment sits at 17 mm from the left, 140 mm from the top; the
    // window stays inside its white quiet zone, so every dark pixel in it belongs to the symbol.
    let px = |mm: f64| (mm / 25.4 * 300.0).round() as u32;
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for y in px(137.3)..px(167.7) {
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
        v["creditor"]["postal"]["holder"] = json!(long("Intestatario", 49));
        v["creditor"]["physical_channel"] = json!(long("Casse", 49));
        v["creditor"]["online_channel"] = json!("site_or_app");
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

#[test]
fn creditor_channels_are_named_in_the_guide_words() {
    let dir = tempfile::tempdir().unwrap();
    for (channel, words) in [
        ("site", "sul sito di"),
        ("app", "sull\u{2019}app di"),
        ("site_or_app", "sul sito o app di"),
    ] {
        let mut v = base(0, true, false);
        v["creditor"]["online_channel"] = json!(channel);
        v["creditor"]["physical_channel"] = json!("Casse Del Municipio");
        let pdf = write_pdf(dir.path(), &avviso(&v));
        let Some(text) = flat_text(&pdf, 1) else {
            return;
        };
        let online = format!(
            "oppure {words} Comune di Sant'Elpidio a Mare, dal tuo Home \
             Banking, con la tua app di pagamento o con gli altri canali abilitati."
        );
        assert_all(
            &text,
            &[
                &online,
                &format!("PAGA SUL TERRITORIO Casse Del Municipio, {TERRITORY_TEXT}"),
            ],
            channel,
        );
        assert!(!text.contains(ONLINE_TEXT), "{text}");
    }
    let mut v = base(0, true, false);
    v["creditor"]["online_channel"] = json!("website");
    assert!(matches!(error_of(&v), AvvisoError::Json { .. }));
    let mut v = base(0, true, false);
    v["creditor"]["physical_channel"] = json!("x".repeat(51));
    assert!(matches!(
        error_of(&v),
        AvvisoError::Text { field, problem: TextProblem::TooLong { max: 50, found: 51 } }
            if field == "creditor.physical_channel"
    ));
    // The guide gives the postal account holder 50 characters.
    let mut v = base(0, true, true);
    v["creditor"]["postal"]["holder"] = json!("x".repeat(51));
    assert!(matches!(
        error_of(&v),
        AvvisoError::Text { field, problem: TextProblem::TooLong { max: 50, .. } }
            if field == "creditor.postal.holder"
    ));
}

/// `pdfimages -list` rows after its two header lines: (width, height, color, bpc, enc, is mask).
type ImageRow = (u32, u32, String, u32, String, bool);

fn image_list(pdf: &Path) -> Option<Vec<ImageRow>> {
    let out = tool("pdfimages", &["-list", pdf.to_str().unwrap()])?;
    let list = ok_stdout("pdfimages", &out);
    Some(
        list.lines()
            .skip(2)
            .map(|l| {
                let c: Vec<&str> = l.split_whitespace().collect();
                // page num type width height color comp bpc enc interp object ...
                (
                    c[3].parse().unwrap(),
                    c[4].parse().unwrap(),
                    c[5].to_owned(),
                    c[7].parse().unwrap(),
                    c[8].to_owned(),
                    c[2] == "smask",
                )
            })
            .collect(),
    )
}

/// Mean colour of a rectangle (millimetres) of a 100 dpi colour rendering of page 1.
fn mean_rgb(pdf: &Path, x: f64, y: f64, w: f64, h: f64) -> Option<[f64; 3]> {
    let prefix = pdf.with_file_name("colour");
    let out = tool(
        "pdftoppm",
        &[
            "-r",
            "100",
            "-png",
            "-singlefile",
            "-f",
            "1",
            "-l",
            "1",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    )?;
    ok_stdout("pdftoppm", &out);
    let img = image::open(prefix.with_extension("png")).unwrap().to_rgb8();
    let px = |mm: f64| (mm / 25.4 * 100.0).round() as u32;
    let mut sum = [0.0; 3];
    let mut n = 0.0;
    for yy in px(y)..px(y + h) {
        for xx in px(x)..px(x + w) {
            let p = img.get_pixel(xx, yy).0;
            for k in 0..3 {
                sum[k] += f64::from(p[k]);
            }
            n += 1.0;
        }
    }
    Some(sum.map(|s| s / n))
}

#[test]
fn creditor_logo_png_with_transparency_is_embedded_in_its_area() {
    let dir = tempfile::tempdir().unwrap();
    // A 300 x 150 red logo whose right half is transparent: it rests against the top right
    // corner of the 30 x 30 mm area (x 136..166 mm, y 5..35 mm), 30 x 15 mm.
    let mut img = image::RgbaImage::new(300, 150);
    for (x, _, p) in img.enumerate_pixels_mut() {
        *p = if x < 150 {
            image::Rgba([220, 20, 20, 255])
        } else {
            image::Rgba([0, 0, 255, 0])
        };
    }
    let png = dir.path().join("logo.png");
    img.save(&png).unwrap();
    let a = avviso(&base(0, true, false))
        .with_logo(&std::fs::read(&png).unwrap())
        .unwrap();
    let pdf = write_pdf(dir.path(), &a);
    if let Some(list) = image_list(&pdf) {
        assert_eq!(
            list,
            vec![
                (300, 150, "rgb".to_owned(), 8, "image".to_owned(), false),
                (300, 150, "gray".to_owned(), 8, "image".to_owned(), true),
            ]
        );
    }
    // Left half red, right half transparent (white paper), below the logo nothing.
    if let Some(red) = mean_rgb(&pdf, 138.0, 7.0, 11.0, 11.0) {
        assert!(red[0] > 180.0 && red[1] < 80.0 && red[2] < 80.0, "{red:?}");
    }
    if let Some(clear) = mean_rgb(&pdf, 153.0, 7.0, 11.0, 11.0) {
        assert!(clear.iter().all(|&c| c > 240.0), "{clear:?}");
    }
    if let Some(below) = mean_rgb(&pdf, 138.0, 22.0, 26.0, 12.0) {
        assert!(below.iter().all(|&c| c > 240.0), "{below:?}");
    }
}

#[test]
fn creditor_logo_jpeg_made_by_libjpeg_is_embedded_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    // poppler renders a notice to a JPEG (libjpeg): that JPEG is the logo of another notice.
    let first = write_pdf(dir.path(), &avviso(&base(0, true, false)));
    let prefix = dir.path().join("logo");
    let Some(out) = tool(
        "pdftoppm",
        &[
            "-r",
            "20",
            "-jpeg",
            "-singlefile",
            "-f",
            "1",
            "-l",
            "1",
            first.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    ) else {
        return;
    };
    ok_stdout("pdftoppm", &out);
    let jpeg = std::fs::read(prefix.with_extension("jpg")).unwrap();
    let a = avviso(&base(4, false, false)).with_logo(&jpeg).unwrap();
    assert_eq!(a.page_count(), 2);
    let logo = a.logo.as_ref().unwrap();
    assert!(logo.is_jpeg());
    // A4 at 20 dpi, as pdftoppm rounds the page size up.
    let side = |mm: f64| (mm / 25.4 * 20.0).ceil() as u32;
    let (w, h) = (side(210.0), side(297.0));
    assert_eq!((logo.width(), logo.height()), (w, h));
    let pdf = a.to_pdf().unwrap();
    // Embedded byte for byte (DCTDecode), on both pages through one image object.
    assert!(pdf.windows(jpeg.len()).any(|w| w == jpeg.as_slice()));
    let path = dir.path().join("with-logo.pdf");
    std::fs::write(&path, &pdf).unwrap();
    if let Some(list) = image_list(&path) {
        assert_eq!(
            list,
            vec![(w, h, "rgb".to_owned(), 8, "jpeg".to_owned(), false); 2]
        );
    }
}

#[test]
fn bad_logos_give_typed_errors() {
    let a = avviso(&base(0, true, false));
    let err = |bytes: &[u8]| match a.clone().with_logo(bytes) {
        Err(AvvisoError::Logo(p)) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!(err(b"GIF89a\x01\x00\x01\x00"), LogoProblem::UnknownFormat);
    assert_eq!(err(b""), LogoProblem::UnknownFormat);
    let mut huge = b"\x89PNG\r\n\x1a\n".to_vec();
    huge.resize(MAX_LOGO_BYTES + 1, 0);
    assert_eq!(
        err(&huge),
        LogoProblem::TooManyBytes {
            max: MAX_LOGO_BYTES,
            found: MAX_LOGO_BYTES + 1
        }
    );
    // A PNG signature followed by garbage, and a PNG cut in the middle.
    assert!(matches!(
        err(b"\x89PNG\r\n\x1a\ngarbage"),
        LogoProblem::Png(_)
    ));
    let dir = tempfile::tempdir().unwrap();
    let wide = dir.path().join("wide.png");
    image::GrayImage::new(MAX_LOGO_PIXELS + 1, 1)
        .save(&wide)
        .unwrap();
    let wide = std::fs::read(&wide).unwrap();
    assert_eq!(
        err(&wide),
        LogoProblem::BadSize {
            width: MAX_LOGO_PIXELS + 1,
            height: 1,
            max: MAX_LOGO_PIXELS
        }
    );
    let ok = dir.path().join("ok.png");
    image::GrayImage::new(40, 40).save(&ok).unwrap();
    let ok = std::fs::read(&ok).unwrap();
    assert!(matches!(err(&ok[..ok.len() / 2]), LogoProblem::Png(_)));
    // JPEG: a header cut short, a segment longer than the file, 12-bit and CMYK frames.
    assert!(matches!(
        err(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00]),
        LogoProblem::Jpeg(_)
    ));
    assert!(matches!(
        err(&[0xFF, 0xD8, 0xFF, 0xE0, 0x40, 0x00, 1, 2]),
        LogoProblem::Jpeg(_)
    ));
    assert!(matches!(
        err(&[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02]),
        LogoProblem::Jpeg(_)
    ));
    let sof = |bits: u8, comps: u8| {
        vec![
            0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, bits, 0, 10, 0, 10, comps, 1, 0x11, 0,
        ]
    };
    assert_eq!(
        err(&sof(12, 3)),
        LogoProblem::JpegKind {
            components: 3,
            bits: 12
        }
    );
    assert_eq!(
        err(&sof(8, 4)),
        LogoProblem::JpegKind {
            components: 4,
            bits: 8
        }
    );
    let mut zero = sof(8, 3);
    zero[9] = 0;
    zero[10] = 0;
    assert_eq!(
        err(&zero),
        LogoProblem::BadSize {
            width: 0,
            height: 10,
            max: MAX_LOGO_PIXELS
        }
    );
    // A frame header alone is enough to read a JPEG's size.
    let logo = a.clone().with_logo(&sof(8, 1)).unwrap().logo.unwrap();
    assert_eq!(
        (logo.width(), logo.height(), logo.is_jpeg()),
        (10, 10, true)
    );
}

/// The base notice without any due date.
fn without_dates(mut v: Value) -> Value {
    if let Some(s) = v["single"].as_object_mut() {
        s.remove("due_date");
    }
    for r in v["installments"].as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("due_date");
    }
    v
}

#[test]
fn notice_without_due_date_follows_the_variant_avviso_senza_scadenza() {
    let dir = tempfile::tempdir().unwrap();
    let a = avviso(&without_dates(base(3, true, true)));
    assert!(a.single.as_ref().unwrap().due_date.is_none());
    assert_eq!(a.page_count(), 2);
    let pdf = write_pdf(dir.path(), &a);
    if let Some(text) = flat_text(&pdf, 1) {
        // "Modifica l'intestazione in Quanto pagare?", "Rimuovi il blocco entro il".
        assert!(text.contains("QUANTO PAGARE?"), "{text}");
        assert!(!text.contains("QUANTO E QUANDO"), "{text}");
        assert!(!text.contains("entro il"), "{text}");
        assert_all(
            &text,
            &[
                "123.456,78 Euro",
                "Puoi pagare per intero o in 3 rate",
                "RATA UNICA",
                "BOLLETTINO POSTALE PA",
                "3010 0000 0000 0001 44",
            ],
            "senza scadenza",
        );
    }
    if let Some(text) = flat_text(&pdf, 2) {
        assert!(!text.contains("entro il"), "{text}");
        assert_all(&text, &["RATA 1", "RATA 2", "RATA 3", QR_RATES], "rates");
    }
    // The symbols do not carry the date: they read back unchanged.
    let Some(png) = raster(&pdf, 2) else { return };
    if let Some(found) = qr_codes(&png) {
        assert_eq!(found, sorted(a.qr_payloads()[1..].to_vec()));
    }
    if let Some(found) = data_matrices(&png, 3) {
        let dms = a.data_matrices().unwrap();
        assert_eq!(
            found,
            sorted(dms[1..].iter().map(|d| d.to_payload()).collect())
        );
    }

    // Only the single payment without date: the title keeps "quando", the rates their dates.
    let mut v = base(2, true, false);
    v["single"].as_object_mut().unwrap().remove("due_date");
    let pdf = write_pdf(dir.path(), &avviso(&v));
    if let Some(text) = flat_text(&pdf, 1) {
        assert!(text.contains("QUANTO E QUANDO PAGARE?"), "{text}");
        assert!(!text.contains("RATA UNICA entro il"), "{text}");
    }
    if let Some(text) = flat_text(&pdf, 2) {
        assert!(text.contains("RATA 1 entro il 16/03/2026"), "{text}");
    }
    // `null` is no date too; a wrong date is still refused.
    let mut v = base(0, true, false);
    v["single"]["due_date"] = Value::Null;
    assert!(avviso(&v).single.unwrap().due_date.is_none());
    v["single"]["due_date"] = json!("");
    assert!(matches!(error_of(&v), AvvisoError::Date { field, .. } if field == "single.due_date"));
}

/// A notice with `n` installments numbered from notice base 100 (no single payment unless
/// `single`).
fn many(n: usize, single: bool, postal: bool) -> Value {
    let mut v = base(0, single, postal);
    let seg = pagopa::SegregationCode::new(1).unwrap();
    v["installments"] = (0..n)
        .map(|i| {
            json!({
                "notice_number": pagopa::NoticeNumber::new_aux3(seg, 100 + i as u64).unwrap().to_string(),
                "amount_cents": 5_000 + i as u64,
                "due_date": format!("{}-{:02}-28", 2026 + i / 12, i % 12 + 1),
            })
        })
        .collect();
    v
}

/// Checks the text, QR codes of one grid page of the variant "molte rate".
fn check_grid_page(pdf: &Path, a: &Avviso, page: usize, rates: Range<usize>) {
    if let Some(text) = flat_text(pdf, page) {
        assert_all(
            &text,
            &[
                "AVVISO DI PAGAMENTO",
                "DATI PER IL PAGAMENTO",
                QR_RATES,
                "Cod. CBILL",
                "AB12C",
            ],
            "grid",
        );
        for i in rates.clone() {
            let o = &a.installments[i];
            let due = o.due_date.unwrap().format("%d/%m/%Y").to_string();
            let code = o.notice.to_print_format();
            let amount = euro(o.amount.cents());
            assert_all(
                &text,
                &[&format!("RATA {} entro il {due}", i + 1), &code, &amount],
                &format!("page {page}"),
            );
            assert_eq!(count(&text, &code), 1, "page {page}: {code}");
        }
        assert_eq!(
            count(&text, "Cod. Avviso"),
            rates.len(),
            "page {page}: {text}"
        );
        assert!(
            !text.contains(&format!("RATA {} ", rates.end + 1)),
            "{text}"
        );
        assert!(!text.contains("BOLLETTINO POSTALE PA"), "{text}");
    }
    let Some(png) = raster(pdf, page) else { return };
    assert_qr_codes(&png, a, page, rates);
}

/// Checks one page of bollettini of the variant "molte rate": text and Data Matrix symbols.
fn check_postal_page(pdf: &Path, a: &Avviso, page: usize, rates: Range<usize>) {
    if let Some(text) = flat_text(pdf, page) {
        assert_all(
            &text,
            &[
                "BOLLETTINO POSTALE PA",
                POSTAL_WHERE,
                "sul C/C n. 001011136627",
            ],
            "bollettino",
        );
        assert_eq!(
            count(&text, "BOLLETTINO POSTALE PA"),
            rates.len().div_ceil(3),
            "{text}"
        );
        for i in rates.clone() {
            let code = a.installments[i].notice.to_print_format();
            assert_eq!(count(&text, &code), 1, "page {page}: {code}\n{text}");
            assert!(text.contains(&format!("RATA {} entro il", i + 1)), "{text}");
        }
        assert!(!text.contains("Cod. Avviso"), "no grid here: {text}");
    }
    let Some(png) = raster(pdf, page) else { return };
    assert_data_matrices(&png, a, page, rates);
}

#[test]
fn many_installments_use_the_variant_and_go_on_extra_pages() {
    let dir = tempfile::tempdir().unwrap();
    // 14 rates, single payment, postal account: page 1 single payment and its bollettino; the
    // grid: 12 rates on page 2, 2 on page 3; the bollettini of the rates by 3, two groups a
    // page: pages 4 (1-6), 5 (7-12), 6 (13-14).
    let a = avviso(&many(14, true, true));
    assert_eq!(a.installment_layout(), InstallmentLayout::Many);
    assert_eq!(a.page_count(), 6);
    let pdf = write_pdf(dir.path(), &a);
    if let Some(n) = pages(&pdf) {
        assert_eq!(n, 6);
    }
    if let Some(text) = flat_text(&pdf, 1) {
        assert_all(&text, &FIRST_PAGE_TEXTS, "fixed texts");
        assert_all(
            &text,
            &[
                "Puoi pagare per intero o in 14 rate",
                "RATA UNICA entro il 16/04/2026",
            ],
            "3.1",
        );
        assert!(!text.contains("RATA 1 "), "{text}");
    }
    check_grid_page(&pdf, &a, 2, 0..12);
    check_grid_page(&pdf, &a, 3, 12..14);
    check_postal_page(&pdf, &a, 4, 0..6);
    check_postal_page(&pdf, &a, 6, 12..14);

    // Ten rates, no single payment, no postal account: 9 on the first page, 1 on the second.
    let a = avviso(&many(10, false, false));
    assert_eq!(a.page_count(), 2);
    let pdf = write_pdf(dir.path(), &a);
    if let Some(n) = pages(&pdf) {
        assert_eq!(n, 2);
    }
    if let Some(text) = flat_text(&pdf, 1) {
        assert_all(
            &text,
            &[
                "Puoi pagare in 10 rate",
                "Importi e scadenze sono riportati nel dettaglio di ogni singola rata.",
            ],
            "3.1",
        );
    }
    check_grid_page(&pdf, &a, 1, 0..9);
    check_grid_page(&pdf, &a, 2, 9..10);

    // Nine rates: the base model unless the variant is asked for ("minimo 9"), then one page.
    let nine = avviso(&many(9, false, false));
    assert_eq!(nine.installment_layout(), InstallmentLayout::Base);
    assert_eq!(nine.page_count(), 3);
    let nine = nine.with_many_installments().unwrap();
    assert_eq!(nine.page_count(), 1);
    let pdf = write_pdf(dir.path(), &nine);
    check_grid_page(&pdf, &nine, 1, 0..9);
    assert!(matches!(
        avviso(&many(8, true, false)).with_many_installments(),
        Err(AvvisoError::ManyInstallments { found: 8, min: 9 })
    ));
    // GPD's limit: 100 installments.
    assert_eq!(avviso(&many(100, false, false)).page_count(), 9);
    assert!(matches!(
        error_of(&many(101, false, false)),
        AvvisoError::InstallmentCount {
            found: 101,
            max: MAX_INSTALLMENTS
        }
    ));
}

/// A `pdfimages -list` row: (page, width, height, x-ppi, y-ppi, is a mask).
type PlacedImage = (usize, u32, u32, f64, f64, bool);

fn placed_images(pdf: &Path) -> Option<Vec<PlacedImage>> {
    let out = tool("pdfimages", &["-list", pdf.to_str().unwrap()])?;
    let list = ok_stdout("pdfimages", &out);
    Some(
        list.lines()
            .skip(2)
            .map(|l| {
                let c: Vec<&str> = l.split_whitespace().collect();
                (
                    c[0].parse().unwrap(),
                    c[3].parse().unwrap(),
                    c[4].parse().unwrap(),
                    c[12].parse().unwrap(),
                    c[13].parse().unwrap(),
                    c[2] == "smask",
                )
            })
            .collect(),
    )
}

fn keywords(pdf: &Path) -> Option<String> {
    let out = tool("pdfinfo", &[pdf.to_str().unwrap()])?;
    let info = ok_stdout("pdfinfo", &out);
    Some(
        info.lines()
            .find_map(|l| l.strip_prefix("Keywords:"))
            .unwrap_or_default()
            .trim()
            .to_owned(),
    )
}

#[test]
fn official_marks_given_as_files_replace_the_stand_ins() {
    let dir = tempfile::tempdir().unwrap();
    // Stand-ins: the PDF says so.
    let plain = write_pdf(dir.path(), &avviso(&base(3, true, true)));
    if let Some(k) = keywords(&plain) {
        assert!(k.contains("logo pagoPA: disegno sostitutivo"), "{k}");
        assert!(k.contains("marchio BancoPosta: testo sostitutivo"), "{k}");
    }
    if let Some(blue) = mean_rgb(&plain, 174.0, 10.0, 24.0, 7.0) {
        // The stand-in's pagoPA-blue box.
        assert!(blue[2] > 150.0 && blue[0] < 60.0, "{blue:?}");
    }
    // The marks as files: a 2:1 green PNG (pagoPA, 28 x 14 mm area) and a 5:1 yellow PNG
    // (BancoPosta, 30 x 6 mm box).
    let logo = dir.path().join("pagopa.png");
    image::RgbImage::from_pixel(560, 280, image::Rgb([0, 160, 60]))
        .save(&logo)
        .unwrap();
    let mark = dir.path().join("poste.png");
    image::RgbImage::from_pixel(300, 60, image::Rgb([250, 200, 0]))
        .save(&mark)
        .unwrap();
    let a = avviso(&base(3, true, true))
        .with_pagopa_logo(&std::fs::read(&logo).unwrap())
        .unwrap()
        .with_poste_logo(&std::fs::read(&mark).unwrap())
        .unwrap();
    let pdf = a.to_pdf().unwrap();
    let path = dir.path().join("marks.pdf");
    std::fs::write(&path, &pdf).unwrap();
    if let Some(k) = keywords(&path) {
        assert!(k.is_empty(), "no stand-in left: {k}");
    }
    if let Some(list) = placed_images(&path) {
        // Page 1: pagoPA logo, BancoPosta of the single payment; page 2: pagoPA logo,
        // BancoPosta of the group of rates. Sizes from the pixels and poppler's ppi.
        let mm = |px: u32, ppi: f64| f64::from(px) / ppi * 25.4;
        let mut seen = Vec::new();
        for (page, w, h, xppi, yppi, mask) in list {
            assert!(!mask);
            let (wm, hm) = (mm(w, xppi), mm(h, yppi));
            let which = match (w, h) {
                (560, 280) => {
                    assert!(
                        (wm - 28.0).abs() < 0.3 && (hm - 14.0).abs() < 0.3,
                        "{wm} x {hm}"
                    );
                    "pagopa"
                }
                (300, 60) => {
                    assert!(
                        (wm - 30.0).abs() < 0.3 && (hm - 6.0).abs() < 0.3,
                        "{wm} x {hm}"
                    );
                    "poste"
                }
                other => panic!("unexpected image {other:?}"),
            };
            seen.push((page, which));
        }
        assert_eq!(
            seen,
            vec![(1, "pagopa"), (1, "poste"), (2, "pagopa"), (2, "poste")]
        );
    }
    // The logo fills the header's pagoPA area (x 172..200, y 5..19 mm), the mark sits after
    // the bollettino's title (the single payment's bollettino starts at y 192 mm).
    if let Some(green) = mean_rgb(&path, 173.0, 6.0, 26.0, 12.0) {
        assert!(
            green[1] > 130.0 && green[0] < 40.0 && green[2] < 90.0,
            "{green:?}"
        );
    }
    if let Some(text) = flat_text(&path, 1) {
        assert!(!text.contains("BancoPosta"), "the word is replaced: {text}");
        assert!(text.contains("BOLLETTINO POSTALE PA"), "{text}");
    }
    if let Some(yellow) = mean_rgb(&path, 66.0, 195.5, 18.0, 4.0) {
        assert!(
            yellow[0] > 200.0 && yellow[1] > 160.0 && yellow[2] < 60.0,
            "{yellow:?}"
        );
    }
    // A bad file is a typed error.
    assert!(matches!(
        avviso(&base(0, true, false)).with_pagopa_logo(b"<svg/>"),
        Err(AvvisoError::Logo(LogoProblem::UnknownFormat))
    ));
    assert!(matches!(
        avviso(&base(0, true, true)).with_poste_logo(b"GIF89a"),
        Err(AvvisoError::Logo(LogoProblem::UnknownFormat))
    ));
}

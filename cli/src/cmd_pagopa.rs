//! `pa pagopa ...`: notice numbers, IUV/RF checks, QR code and Data Matrix of payment notices.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use pa_types::{Amount, AnyFiscalCode, OrganizationFiscalCode};
use pagopa::{
    ApplicationCode, AuxDigit, IuvAllocator, IuvKind, MAX_BASE13, NoticeNumber, PostalAccount,
    PosteDataMatrix, QrPayload, RfReference, SegregationCode, SequenceAllocator, SqliteSequence,
    Symbol,
};

/// pagoPA payment notice operations.
#[derive(Debug, Subcommand)]
pub(crate) enum Pagopa {
    /// Compute an aux-3 notice number and its IUV from a segregation code and a 13-digit base,
    /// or allocate the next one from a durable SQLite sequence (`--db` and `--creditor`).
    Notice {
        /// Segregation code (two digits, e.g. `01`).
        #[arg(long)]
        segregation: String,
        /// The 13-digit base (leading zeros optional).
        #[arg(long, conflicts_with_all = ["db", "creditor"], required_unless_present = "db")]
        base: Option<String>,
        /// SQLite file of the IUV sequence to allocate from (created if missing).
        #[arg(long, requires = "creditor")]
        db: Option<PathBuf>,
        /// Creditor fiscal code (11 digits), with `--db`.
        #[arg(long, requires = "db")]
        creditor: Option<String>,
    },
    /// Check a notice number (18 digits), an IUV (15 or 17 digits) or an RF reference; exit 0
    /// when valid, 1 with the reason when not. Spaces are ignored.
    Check {
        /// The notice number, IUV or RF reference.
        value: String,
        /// Application code of a 15-digit (aux 0) IUV, needed to verify its check digits.
        #[arg(long)]
        application: Option<String>,
        /// Aux digit to check a 17-digit IUV against: 3 (default), 2, or 1 (no check digits).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=3))]
        aux: u8,
    },
    /// Build the payment notice QR code (`PAGOPA|002|...`), print its payload and write it as
    /// SVG or PNG (by the file extension).
    Qr {
        /// Notice number (18 digits).
        #[arg(long)]
        notice: String,
        /// Creditor fiscal code (11 digits).
        #[arg(long)]
        creditor: String,
        /// Amount in euro, decimal form (`12.34`).
        #[arg(long)]
        amount: String,
        /// Output file, `.svg` or `.png`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Pixels per module for PNG output.
        #[arg(long, default_value_t = 8)]
        scale: u32,
    },
    /// Build the Poste Data Matrix of a payment notice, print its payload and write it as SVG
    /// or PNG; or, with `--parse`, read a payload back.
    Datamatrix {
        /// Notice number (18 digits).
        #[arg(long, required_unless_present = "parse")]
        notice: Option<String>,
        /// Creditor fiscal code (11 digits).
        #[arg(long, required_unless_present = "parse")]
        creditor: Option<String>,
        /// Amount in euro, decimal form (`12.34`).
        #[arg(long, required_unless_present = "parse")]
        amount: Option<String>,
        /// Postal account (conto corrente postale, up to 12 digits).
        #[arg(long, required_unless_present = "parse")]
        postal_account: Option<String>,
        /// Debtor fiscal code (16-character or 11-digit).
        #[arg(long, required_unless_present = "parse")]
        debtor: Option<String>,
        /// Debtor name (at most 40 characters).
        #[arg(long, default_value = "")]
        debtor_name: String,
        /// Causale (at most 110 characters).
        #[arg(long, default_value = "")]
        causale: String,
        /// Output file, `.svg` or `.png`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Pixels per module for PNG output.
        #[arg(long, default_value_t = 8)]
        scale: u32,
        /// Parse this 256-character payload instead of building one.
        #[arg(long, conflicts_with_all = ["notice", "creditor", "amount", "postal_account", "debtor", "out"])]
        parse: Option<String>,
    },
    /// Draw the printable payment notice ("avviso di pagamento pagoPA") as a PDF from a JSON
    /// description (subject, creditor, debtor, single payment and/or installments); exit 1
    /// with the reason when the description is invalid.
    Avviso {
        /// The notice as JSON (see `pagopa::avviso::AvvisoInput`); `-` reads standard input.
        #[arg(long)]
        input: PathBuf,
        /// The PDF to write.
        #[arg(long)]
        out: PathBuf,
        /// The creditor's logo (`ENTE.LOGO`), a PNG or JPEG image, drawn in the header's
        /// 30 × 30 mm logo area.
        #[arg(long)]
        logo: Option<PathBuf>,
        /// pagoPA's logo file (PNG or JPEG) as pagoPA distributes it, drawn in the header's
        /// 28 × 14 mm pagoPA area; without it a stand-in is drawn and the PDF's keywords say so.
        #[arg(long)]
        pagopa_logo: Option<PathBuf>,
        /// Poste Italiane's BancoPosta mark (PNG or JPEG), drawn 30 × 6 mm after the title of
        /// each Bollettino Postale PA; without it the word "BancoPosta" is printed.
        #[arg(long)]
        poste_logo: Option<PathBuf>,
        /// Draw the installments with the guide's variant "Avviso con molte rate" (9 or more;
        /// more than 9 always use it).
        #[arg(long)]
        molte_rate: bool,
    },
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("invalid: {msg}");
    ExitCode::FAILURE
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return fail(e),
        }
    };
}

/// Runs a `pa pagopa` subcommand.
pub(crate) fn run(cmd: Pagopa) -> ExitCode {
    match cmd {
        Pagopa::Notice {
            segregation,
            base,
            db,
            creditor,
        } => notice(
            &segregation,
            base.as_deref(),
            db.as_deref(),
            creditor.as_deref(),
        ),
        Pagopa::Check {
            value,
            application,
            aux,
        } => check(&value, application.as_deref(), aux),
        Pagopa::Qr {
            notice,
            creditor,
            amount,
            out,
            scale,
        } => {
            let notice = tri!(NoticeNumber::parse_print_format(&notice));
            let creditor: OrganizationFiscalCode = tri!(
                creditor
                    .parse()
                    .map_err(|e| format!("creditor fiscal code: {e}"))
            );
            let amount = tri!(Amount::parse_decimal(&amount).map_err(|e| format!("amount: {e}")));
            let payload = tri!(QrPayload::new(notice, creditor, amount));
            println!("{payload}");
            match out {
                Some(out) => write_symbol(tri!(payload.to_symbol()), &out, scale),
                None => ExitCode::SUCCESS,
            }
        }
        Pagopa::Avviso {
            input,
            out,
            logo,
            pagopa_logo,
            poste_logo,
            molte_rate,
        } => avviso(
            &input,
            &out,
            [
                logo.as_deref(),
                pagopa_logo.as_deref(),
                poste_logo.as_deref(),
            ],
            molte_rate,
        ),
        Pagopa::Datamatrix {
            notice,
            creditor,
            amount,
            postal_account,
            debtor,
            debtor_name,
            causale,
            out,
            scale,
            parse,
        } => {
            if let Some(payload) = parse {
                let dm = tri!(PosteDataMatrix::parse(&payload));
                println!("notice number:  {}", dm.notice());
                println!("postal account: {}", dm.postal_account());
                println!("amount:         {}", dm.amount());
                println!("creditor:       {}", dm.creditor());
                println!("debtor:         {}", dm.debtor());
                println!("debtor name:    {}", dm.debtor_name());
                println!("causale:        {}", dm.causale());
                return ExitCode::SUCCESS;
            }
            let (Some(notice), Some(creditor), Some(amount), Some(account), Some(debtor)) =
                (notice, creditor, amount, postal_account, debtor)
            else {
                return fail(
                    "--notice, --creditor, --amount, --postal-account and --debtor are required",
                );
            };
            let notice = tri!(NoticeNumber::parse_print_format(&notice));
            let creditor: OrganizationFiscalCode = tri!(
                creditor
                    .parse()
                    .map_err(|e| format!("creditor fiscal code: {e}"))
            );
            let amount = tri!(Amount::parse_decimal(&amount).map_err(|e| format!("amount: {e}")));
            let account = tri!(PostalAccount::parse(&account));
            let debtor: AnyFiscalCode = tri!(
                debtor
                    .parse()
                    .map_err(|e| format!("debtor fiscal code: {e}"))
            );
            let dm = tri!(PosteDataMatrix::new(
                notice,
                account,
                amount,
                creditor,
                debtor,
                &debtor_name,
                &causale
            ));
            println!("{}", dm.to_payload());
            match out {
                Some(out) => write_symbol(tri!(dm.to_symbol()), &out, scale),
                None => ExitCode::SUCCESS,
            }
        }
    }
}

fn notice(
    segregation: &str,
    base: Option<&str>,
    db: Option<&Path>,
    creditor: Option<&str>,
) -> ExitCode {
    let seg = tri!(SegregationCode::parse(segregation));
    let n = match (base, db, creditor) {
        (Some(base), _, _) => {
            if base.is_empty() || base.len() > 13 || !base.bytes().all(|b| b.is_ascii_digit()) {
                return fail(format!("base must be 1 to 13 digits, found {base:?}"));
            }
            let value: u64 = tri!(base.parse::<u64>());
            debug_assert!(value <= MAX_BASE13);
            tri!(NoticeNumber::new_aux3(seg, value))
        }
        (None, Some(db), Some(creditor)) => {
            let creditor: OrganizationFiscalCode = tri!(
                creditor
                    .parse()
                    .map_err(|e| format!("creditor fiscal code: {e}"))
            );
            let alloc = SequenceAllocator::new(tri!(SqliteSequence::open(db)));
            tri!(alloc.allocate(&creditor, seg))
        }
        _ => return fail("give --base, or --db with --creditor"),
    };
    println!("notice number: {n}");
    println!("printed:       {}", n.to_print_format());
    println!("IUV:           {}", n.iuv());
    ExitCode::SUCCESS
}

fn check(value: &str, application: Option<&str>, aux: u8) -> ExitCode {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() >= 2 && compact.as_bytes()[..2].eq_ignore_ascii_case(b"RF") {
        let rf = tri!(RfReference::parse(&compact));
        println!(
            "valid RF reference {rf} (check digits {:02}, reference {}, printed {})",
            rf.check_digits(),
            rf.reference(),
            rf.to_print_format()
        );
        return ExitCode::SUCCESS;
    }
    match compact.chars().count() {
        18 => {
            let n = tri!(NoticeNumber::parse(&compact));
            let detail = match n.aux_digit() {
                AuxDigit::Three => format!(
                    "segregation code {}",
                    n.segregation_code()
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                ),
                AuxDigit::Zero => format!(
                    "application code {}",
                    n.application_code()
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                ),
                AuxDigit::One | AuxDigit::Two => "legacy layout".to_owned(),
            };
            let cd = n
                .check_digits()
                .map_or("none".to_owned(), |c| format!("{c:02}"));
            println!(
                "valid notice number {n} (aux {}, {detail}, IUV {}, check digits {cd}, printed {})",
                n.aux_digit(),
                n.iuv(),
                n.to_print_format()
            );
            ExitCode::SUCCESS
        }
        15 | 17 => {
            let iuv = tri!(pagopa::Iuv::parse(&compact));
            if iuv.kind() == IuvKind::Digits17 {
                let aux = match aux {
                    1 => AuxDigit::One,
                    2 => AuxDigit::Two,
                    _ => AuxDigit::Three,
                };
                if let Err(e) = iuv.verify_as(aux, None) {
                    return fail(format!("{e} (checked as the IUV of an aux-{aux} notice)"));
                }
                let n = tri!(NoticeNumber::from_iuv(aux, &iuv));
                let detail = n
                    .segregation_code()
                    .map_or(String::new(), |s| format!("segregation code {s}, "));
                let cd = if aux == AuxDigit::One {
                    " (aux 1 has no check digits)"
                } else {
                    ""
                };
                println!("valid aux-{aux} IUV {iuv} ({detail}notice number {n}){cd}");
                return ExitCode::SUCCESS;
            }
            let Some(app) = application else {
                return fail(format!(
                    "15-digit IUV {iuv}: its check digits depend on the application code; \
                     pass --application NN"
                ));
            };
            let app = tri!(ApplicationCode::parse(app));
            let n = tri!(NoticeNumber::from_iuv_aux0(app, &iuv));
            println!("valid aux-0 IUV {iuv} (application code {app}, notice number {n})");
            ExitCode::SUCCESS
        }
        found => fail(format!(
            "expected an 18-digit notice number, a 15- or 17-digit IUV or an RF reference, \
             found {found} characters"
        )),
    }
}

fn write_symbol(symbol: Symbol, out: &Path, scale: u32) -> ExitCode {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match ext.as_deref() {
        Some("svg") => symbol.to_svg().into_bytes(),
        Some("png") => tri!(symbol.to_png(scale)),
        _ => {
            return fail(format!(
                "{}: the output file must end in .svg or .png",
                out.display()
            ));
        }
    };
    if let Err(e) = std::fs::write(out, bytes) {
        eprintln!("cannot write {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    eprintln!("wrote {}", out.display());
    ExitCode::SUCCESS
}

/// `logos`: the creditor's, pagoPA's and BancoPosta's image files.
fn avviso(input: &Path, out: &Path, logos: [Option<&Path>; 3], many: bool) -> ExitCode {
    let json = if input == Path::new("-") {
        let mut s = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut s) {
            return fail(format!("cannot read standard input: {e}"));
        }
        s
    } else {
        match std::fs::read_to_string(input) {
            Ok(s) => s,
            Err(e) => return fail(format!("cannot read {}: {e}", input.display())),
        }
    };
    let mut avviso = tri!(pagopa::avviso::Avviso::from_json(&json));
    for (k, logo) in logos.into_iter().enumerate() {
        let Some(path) = logo else { continue };
        let image = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return fail(format!("cannot read {}: {e}", path.display())),
        };
        avviso = match k {
            0 => tri!(avviso.with_logo(&image)),
            1 => tri!(avviso.with_pagopa_logo(&image)),
            _ => tri!(avviso.with_poste_logo(&image)),
        };
    }
    if many {
        avviso = tri!(avviso.with_many_installments());
    }
    let pdf = tri!(avviso.to_pdf());
    if let Err(e) = std::fs::write(out, &pdf) {
        eprintln!("cannot write {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    println!(
        "{}: {} page(s), {} bytes",
        out.display(),
        avviso.page_count(),
        pdf.len()
    );
    for payload in avviso.qr_payloads() {
        println!("QR: {payload}");
    }
    ExitCode::SUCCESS
}

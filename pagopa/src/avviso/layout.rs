//! The pages of the notice, after the guide's modules in their order: header, creditor and
//! recipient, "how much and when", "where to pay", the payment data (single payment, or
//! installments grouped by 2 or 3) and, when the creditor has a postal account, the Bollettino
//! Postale PA with the Poste Data Matrix of each option.

use super::error::AvvisoError;
use super::model::{Avviso, PaymentOption};
use super::pdf::{Canvas, Face, Rgb};
use crate::notice::Symbol;

const TEXT: Rgb = Rgb(0.090, 0.196, 0.302);
const BLUE: Rgb = Rgb(0.0, 0.400, 0.800);
const LIGHT: Rgb = Rgb(0.933, 0.949, 0.965);
const RULE: Rgb = Rgb(0.702, 0.745, 0.788);
/// The bollettino's text is 70 % black (guide, Bollettino Postale PA).
const POSTE: Rgb = Rgb(0.3, 0.3, 0.3);
const BLACK: Rgb = Rgb(0.0, 0.0, 0.0);
const WHITE: Rgb = Rgb(1.0, 1.0, 1.0);

const LEFT: f32 = 10.0;
const RIGHT: f32 = 200.0;
const MID: f32 = 110.0;
const INNER: f32 = 14.0;

/// Fixed wording of the notice.
const LEGAL: &str = "In fase di pagamento, se previsto dall'ente, l'importo potrebbe essere \
    aggiornato automaticamente e subire variazioni in diminuzione (per sgravi, note di credito) \
    o in aumento (per sanzioni, interessi, ecc.).";
const ONLINE: &str = "del tuo Ente Creditore, della tua Banca o degli altri canali di \
    pagamento. Potrai pagare con carte, conto corrente, CBILL.";
const TERRITORY: &str = "in tutti gli Uffici Postali, in Banca, in Ricevitoria, dal \
    Tabaccaio, al Bancomat, al Supermercato. Potrai pagare in contanti, con carte o conto \
    corrente.";
const QR_HINT: &str = "Qui accanto trovi il codice QR e il codice interbancario CBILL per \
    pagare attraverso il circuito bancario e gli altri canali di pagamento abilitati.";
const MANY: &str = "Importi e scadenze sono riportati nel dettaglio di ogni singola rata.";

/// `1.234,56`: thousands with a dot, decimals with a comma (guide, AVVISO.IMPORTO).
pub(crate) fn euro(o: &PaymentOption) -> String {
    let cents = o.amount.cents();
    let int = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{grouped},{:02}", cents % 100)
}

/// `dd/mm/yyyy` (guide, AVVISO.DATA).
pub(crate) fn date(o: &PaymentOption) -> String {
    o.due_date.format("%d/%m/%Y").to_string()
}

/// Draws a symbol with its quiet zone on white, its modules as filled rectangles (one per run
/// of dark modules in a row). `(x, y)` is the top-left corner of the modules.
fn symbol(c: &mut Canvas, s: &Symbol, x: f32, y: f32) {
    #[allow(clippy::cast_possible_truncation)]
    let m = s.module_mm() as f32;
    #[allow(clippy::cast_precision_loss)]
    let q = s.quiet_zone() as f32 * m;
    #[allow(clippy::cast_precision_loss)]
    let (w, h) = (s.width() as f32 * m, s.height() as f32 * m);
    c.rect(x - q, y - q, w + 2.0 * q, h + 2.0 * q, WHITE);
    for row in 0..s.height() {
        let mut col = 0;
        while col < s.width() {
            if s.is_dark(col, row) {
                let start = col;
                while col < s.width() && s.is_dark(col, row) {
                    col += 1;
                }
                #[allow(clippy::cast_precision_loss)]
                c.rect(
                    x + start as f32 * m,
                    y + row as f32 * m,
                    (col - start) as f32 * m,
                    m,
                    BLACK,
                );
            } else {
                col += 1;
            }
        }
    }
}

fn symbol_height(s: &Symbol) -> f32 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let h = (s.height() as f64 * s.module_mm()) as f32;
    h
}

/// A small label and its value below it; returns the baseline after the value.
#[allow(clippy::too_many_arguments)]
fn field(
    c: &mut Canvas,
    x: f32,
    y: f32,
    w: f32,
    color: Rgb,
    size: f32,
    label: &str,
    value: &str,
) -> f32 {
    c.text(Face::Regular, 7.0, x, y, color, label);
    c.fit(Face::Bold, size, x, y + 4.2, w, 2, color, value)
}

struct Symbols {
    qr: Vec<Symbol>,
    dm: Vec<Symbol>,
}

fn header(c: &mut Canvas, a: &Avviso) {
    c.text(Face::Bold, 8.0, LEFT, 14.0, TEXT, "AVVISO DI PAGAMENTO");
    c.fit(Face::Bold, 15.0, LEFT, 22.0, 150.0, 2, TEXT, &a.subject);
    c.text_right(Face::Bold, 18.0, RIGHT, 18.0, BLUE, "pagoPA");
    c.line(LEFT, 34.0, RIGHT, 34.0, 0.3, RULE);
}

fn parties(c: &mut Canvas, a: &Avviso) {
    let cr = &a.creditor;
    c.text(Face::Bold, 7.0, LEFT, 41.0, BLUE, "ENTE CREDITORE");
    c.fit(
        Face::Regular,
        8.0,
        LEFT,
        46.0,
        186.0,
        1,
        TEXT,
        &format!("Cod. Fiscale {}", cr.fiscal_code),
    );
    let mut y = c.fit(Face::Bold, 11.0, LEFT, 52.0, 92.0, 2, TEXT, &cr.name);
    for line in [&cr.sector, &cr.info].into_iter().flatten() {
        y = c.fit(Face::Regular, 8.0, LEFT, y, 92.0, 1, TEXT, line);
    }
    let d = &a.debtor;
    c.text(Face::Bold, 7.0, MID, 41.0, BLUE, "DESTINATARIO AVVISO");
    c.text(
        Face::Regular,
        8.0,
        MID,
        46.0,
        TEXT,
        &format!("Cod. Fiscale {}", d.fiscal_code),
    );
    let y = c.fit(Face::Bold, 11.0, MID, 52.0, 90.0, 2, TEXT, &d.name);
    if let Some(addr) = &d.address {
        c.fit(Face::Regular, 8.0, MID, y, 90.0, 2, TEXT, addr);
    }
}

fn how_much_where(c: &mut Canvas, a: &Avviso) {
    c.text(Face::Bold, 7.0, LEFT, 80.0, BLUE, "QUANTO E QUANDO PAGARE?");
    let n = a.installments.len();
    let mut y = 89.0;
    if let Some(s) = &a.single {
        let amount = format!("{} Euro", euro(s));
        c.text(Face::Bold, 16.0, LEFT, y, TEXT, &amount);
        let w = c.width(Face::Bold, 16.0, &amount);
        c.text(
            Face::Regular,
            9.0,
            LEFT + w + 2.0,
            y,
            TEXT,
            &format!("entro il {}", date(s)),
        );
        y += 6.0;
        if n > 0 {
            c.fit(
                Face::Regular,
                8.0,
                LEFT,
                y,
                186.0,
                1,
                TEXT,
                &format!("Puoi pagare per intero o in {n} rate."),
            );
            y += 5.0;
        }
    } else {
        c.text(
            Face::Bold,
            13.0,
            LEFT,
            y,
            TEXT,
            &format!("Puoi pagare in {n} rate"),
        );
        y += 6.0;
        c.text(Face::Regular, 8.0, LEFT, y, TEXT, MANY);
        y += 5.0;
    }
    c.paragraph(Face::Regular, 6.5, LEFT, y, 92.0, 3.0, TEXT, LEGAL);

    c.text(Face::Bold, 7.0, MID, 80.0, BLUE, "DOVE PAGARE?");
    c.text(
        Face::Bold,
        8.0,
        MID,
        86.0,
        TEXT,
        "PAGA SUL SITO O CON LE APP",
    );
    let y = c.paragraph(Face::Regular, 7.0, MID, 90.0, 90.0, 3.3, TEXT, ONLINE);
    c.text(Face::Bold, 8.0, MID, y + 2.0, TEXT, "PAGA SUL TERRITORIO");
    let y = c.paragraph(Face::Regular, 7.0, MID, y + 6.0, 90.0, 3.3, TEXT, TERRITORY);
    c.text(
        Face::Regular,
        7.0,
        MID,
        y + 2.0,
        TEXT,
        "Lista dei canali di pagamento su www.pagopa.gov.it",
    );
}

fn payment_title(c: &mut Canvas, y: f32) {
    c.text(Face::Bold, 7.0, LEFT, y, BLUE, "DATI PER IL PAGAMENTO");
    c.text_right(
        Face::Regular,
        7.0,
        RIGHT,
        y,
        TEXT,
        "Utilizza la porzione di avviso relativa alla rata e al canale di pagamento che preferisci.",
    );
}

/// Height of the single-payment block.
const SINGLE_H: f32 = 62.0;

fn single_block(c: &mut Canvas, a: &Avviso, o: &PaymentOption, qr: &Symbol, y0: f32) {
    c.rect(LEFT, y0, RIGHT - LEFT, SINGLE_H, LIGHT);
    c.text(
        Face::Bold,
        9.0,
        INNER,
        y0 + 7.0,
        TEXT,
        "BANCHE E ALTRI CANALI",
    );
    c.text_right(
        Face::Bold,
        9.0,
        RIGHT - 4.0,
        y0 + 7.0,
        TEXT,
        &format!("RATA UNICA entro il {}", date(o)),
    );
    c.paragraph(
        Face::Regular,
        6.5,
        INNER,
        y0 + 12.0,
        36.0,
        3.0,
        TEXT,
        QR_HINT,
    );
    symbol(c, qr, INNER + 3.0, y0 + 32.0);
    let x = 55.0;
    field(
        c,
        x,
        y0 + 16.0,
        78.0,
        TEXT,
        9.0,
        "Destinatario",
        &a.debtor.name,
    );
    field(
        c,
        x,
        y0 + 28.0,
        78.0,
        TEXT,
        9.0,
        "Ente Creditore",
        &a.creditor.name,
    );
    field(
        c,
        x,
        y0 + 40.0,
        78.0,
        TEXT,
        9.0,
        "Oggetto del pagamento",
        &a.subject,
    );
    let x = 140.0;
    c.text(Face::Regular, 7.0, x, y0 + 16.0, TEXT, "Euro");
    c.text(Face::Bold, 14.0, x, y0 + 22.5, TEXT, &euro(o));
    field(
        c,
        x,
        y0 + 30.0,
        58.0,
        TEXT,
        10.0,
        "Codice CBILL",
        &a.creditor.cbill,
    );
    field(
        c,
        x,
        y0 + 40.0,
        58.0,
        TEXT,
        10.0,
        "Codice Avviso",
        &o.notice.to_print_format(),
    );
    field(
        c,
        x,
        y0 + 50.0,
        58.0,
        TEXT,
        10.0,
        "Cod. Fiscale Ente Creditore",
        a.creditor.fiscal_code.as_str(),
    );
}

fn postal_title(c: &mut Canvas, y0: f32) {
    c.line(LEFT, y0, RIGHT, y0, 0.3, RULE);
    c.text(
        Face::Bold,
        9.0,
        INNER,
        y0 + 7.0,
        POSTE,
        "BOLLETTINO POSTALE PA",
    );
    c.text_right(Face::Bold, 9.0, RIGHT - 4.0, y0 + 7.0, POSTE, "BancoPosta");
}

fn postal_single(c: &mut Canvas, a: &Avviso, o: &PaymentOption, dm: &Symbol, y0: f32) {
    let Some(p) = &a.creditor.postal else { return };
    postal_title(c, y0);
    c.text(Face::Regular, 7.0, INNER, y0 + 14.0, POSTE, "sul C/C n.");
    c.text(
        Face::Bold,
        10.0,
        INNER + 13.0,
        y0 + 14.0,
        POSTE,
        &p.account.to_string(),
    );
    c.text(Face::Regular, 7.0, 140.0, y0 + 14.0, POSTE, "Euro");
    c.text(Face::Bold, 12.0, 147.0, y0 + 14.0, POSTE, &euro(o));
    c.text(Face::Regular, 7.0, INNER, y0 + 20.0, POSTE, "intestato a");
    c.fit(
        Face::Bold,
        9.0,
        INNER + 13.0,
        y0 + 20.0,
        160.0,
        1,
        POSTE,
        &p.holder,
    );
    symbol(c, dm, INNER + 1.0, y0 + 27.0);
    let x = 55.0;
    field(
        c,
        x,
        y0 + 29.0,
        78.0,
        POSTE,
        9.0,
        "Destinatario",
        &a.debtor.name,
    );
    field(
        c,
        x,
        y0 + 41.5,
        78.0,
        POSTE,
        9.0,
        "Oggetto del pagamento",
        &a.subject,
    );
    let x = 140.0;
    field(
        c,
        x,
        y0 + 29.0,
        58.0,
        POSTE,
        10.0,
        "Codice Avviso",
        &o.notice.to_print_format(),
    );
    field(c, x, y0 + 39.0, 58.0, POSTE, 10.0, "Tipo", "P1");
    field(
        c,
        x,
        y0 + 49.0,
        58.0,
        POSTE,
        10.0,
        "Cod. Fiscale Ente Creditore",
        a.creditor.fiscal_code.as_str(),
    );
    c.fit(
        Face::Regular,
        6.0,
        INNER,
        y0 + 27.0 + symbol_height(dm) + 6.0,
        180.0,
        1,
        POSTE,
        &p.authorization,
    );
}

/// Height of a block of installments.
const GROUP_H: f32 = 78.0;

/// Draws installments `first..first + group.len()` (0-based) in `k` columns.
#[allow(clippy::too_many_arguments)]
fn group_block(
    c: &mut Canvas,
    a: &Avviso,
    group: &[PaymentOption],
    qrs: &[Symbol],
    first: usize,
    k: usize,
    y0: f32,
) {
    c.rect(LEFT, y0, RIGHT - LEFT, GROUP_H, LIGHT);
    c.text(
        Face::Bold,
        9.0,
        INNER,
        y0 + 7.0,
        TEXT,
        "BANCHE E ALTRI CANALI",
    );
    let cr = &a.creditor;
    c.fit(
        Face::Regular,
        7.0,
        INNER,
        y0 + 12.0,
        186.0,
        1,
        TEXT,
        &format!(
            "Ente Creditore: {} · Cod. Fiscale Ente Creditore: {} · Codice CBILL: {}",
            cr.name, cr.fiscal_code, cr.cbill
        ),
    );
    c.fit(
        Face::Regular,
        7.0,
        INNER,
        y0 + 16.0,
        186.0,
        1,
        TEXT,
        &format!("Oggetto del pagamento: {}", a.subject),
    );
    #[allow(clippy::cast_precision_loss)]
    let col_w = (RIGHT - INNER) / k as f32;
    for (i, (o, qr)) in group.iter().zip(qrs).enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let cx = INNER + i as f32 * col_w;
        c.text(
            Face::Bold,
            9.0,
            cx,
            y0 + 23.0,
            TEXT,
            &format!("RATA {}", first + i + 1),
        );
        c.text(
            Face::Regular,
            7.0,
            cx,
            y0 + 27.0,
            TEXT,
            &format!("entro il {}", date(o)),
        );
        symbol(c, qr, cx + 3.0, y0 + 33.0);
        c.text(Face::Regular, 7.0, cx, y0 + 65.0, TEXT, "Euro");
        c.text(Face::Bold, 11.0, cx + 7.0, y0 + 65.0, TEXT, &euro(o));
        field(
            c,
            cx,
            y0 + 70.0,
            col_w - 2.0,
            TEXT,
            8.5,
            "Codice Avviso",
            &o.notice.to_print_format(),
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn postal_group(
    c: &mut Canvas,
    a: &Avviso,
    group: &[PaymentOption],
    dms: &[Symbol],
    first: usize,
    k: usize,
    y0: f32,
) {
    let Some(p) = &a.creditor.postal else { return };
    postal_title(c, y0);
    c.fit(
        Face::Regular,
        7.0,
        INNER,
        y0 + 12.0,
        186.0,
        1,
        POSTE,
        &format!("sul C/C n. {} intestato a {}", p.account, p.holder),
    );
    c.fit(
        Face::Regular,
        7.0,
        INNER,
        y0 + 16.0,
        186.0,
        1,
        POSTE,
        &format!("Destinatario: {}", a.debtor.name),
    );
    c.fit(
        Face::Regular,
        7.0,
        INNER,
        y0 + 20.0,
        186.0,
        1,
        POSTE,
        &format!("Oggetto del pagamento: {}", a.subject),
    );
    c.fit(
        Face::Regular,
        7.0,
        INNER,
        y0 + 24.0,
        186.0,
        1,
        POSTE,
        &format!(
            "Cod. Fiscale Ente Creditore: {} · Tipo: P1",
            a.creditor.fiscal_code
        ),
    );
    #[allow(clippy::cast_precision_loss)]
    let col_w = (RIGHT - INNER) / k as f32;
    let mut bottom = y0;
    for (i, (o, dm)) in group.iter().zip(dms).enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let cx = INNER + i as f32 * col_w;
        c.text(
            Face::Bold,
            9.0,
            cx,
            y0 + 31.0,
            POSTE,
            &format!("RATA {}", first + i + 1),
        );
        c.text(
            Face::Regular,
            7.0,
            cx + 14.0,
            y0 + 31.0,
            POSTE,
            &format!("entro il {}", date(o)),
        );
        symbol(c, dm, cx + 1.0, y0 + 35.0);
        let y = y0 + 35.0 + symbol_height(dm) + 5.0;
        c.text(Face::Regular, 7.0, cx, y, POSTE, "Euro");
        c.text(Face::Bold, 10.0, cx + 7.0, y, POSTE, &euro(o));
        bottom = field(
            c,
            cx,
            y + 4.5,
            col_w - 2.0,
            POSTE,
            8.5,
            "Codice Avviso",
            &o.notice.to_print_format(),
        );
    }
    c.fit(
        Face::Regular,
        6.0,
        INNER,
        bottom + 1.0,
        180.0,
        1,
        POSTE,
        &p.authorization,
    );
}

fn short_parties(c: &mut Canvas, a: &Avviso) {
    c.fit(
        Face::Regular,
        8.0,
        LEFT,
        41.0,
        186.0,
        1,
        TEXT,
        &format!(
            "Ente Creditore: {} · Cod. Fiscale {}",
            a.creditor.name, a.creditor.fiscal_code
        ),
    );
    c.fit(
        Face::Regular,
        8.0,
        LEFT,
        46.0,
        186.0,
        1,
        TEXT,
        &format!(
            "Destinatario: {} · Cod. Fiscale {}",
            a.debtor.name, a.debtor.fiscal_code
        ),
    );
}

fn check_texts(c: &Canvas, a: &Avviso) -> Result<(), AvvisoError> {
    c.check_glyphs("subject", &a.subject)?;
    c.check_glyphs("creditor.name", &a.creditor.name)?;
    for (f, v) in [
        ("creditor.sector", &a.creditor.sector),
        ("creditor.info", &a.creditor.info),
        ("debtor.address", &a.debtor.address),
    ] {
        if let Some(v) = v {
            c.check_glyphs(f, v)?;
        }
    }
    c.check_glyphs("debtor.name", &a.debtor.name)?;
    if let Some(p) = &a.creditor.postal {
        c.check_glyphs("creditor.postal.holder", &p.holder)?;
        c.check_glyphs("creditor.postal.authorization", &p.authorization)?;
    }
    Ok(())
}

pub(crate) fn render(a: &Avviso) -> Result<Vec<u8>, AvvisoError> {
    let mut c = Canvas::new()?;
    check_texts(&c, a)?;
    let mut syms = Symbols {
        qr: Vec::new(),
        dm: Vec::new(),
    };
    for (o, _) in a.options() {
        syms.qr.push(a.qr(o)?.to_symbol()?);
    }
    for dm in a.data_matrices()? {
        syms.dm.push(dm.to_symbol()?);
    }
    let postal = a.creditor.postal.is_some();
    let offset = usize::from(a.single.is_some());
    let k = a.installments_per_page();

    c.new_page();
    header(&mut c, a);
    parties(&mut c, a);
    how_much_where(&mut c, a);
    payment_title(&mut c, 122.0);
    let y0 = 125.0;
    let mut groups = a.installments.chunks(k.max(1)).enumerate().peekable();
    if let Some(s) = &a.single {
        single_block(&mut c, a, s, &syms.qr[0], y0);
        if postal {
            postal_single(&mut c, a, s, &syms.dm[0], y0 + SINGLE_H + 4.0);
        }
    } else if let Some((_, group)) = groups.next() {
        let n = group.len();
        group_block(&mut c, a, group, &syms.qr[..n], 0, k, y0);
        if postal {
            postal_group(&mut c, a, group, &syms.dm[..n], 0, k, y0 + GROUP_H + 4.0);
        }
    }
    for (g, group) in groups {
        let first = g * k;
        let range = offset + first..offset + first + group.len();
        c.new_page();
        header(&mut c, a);
        short_parties(&mut c, a);
        payment_title(&mut c, 54.0);
        group_block(&mut c, a, group, &syms.qr[range.clone()], first, k, 57.0);
        if postal {
            postal_group(
                &mut c,
                a,
                group,
                &syms.dm[range],
                first,
                k,
                57.0 + GROUP_H + 4.0,
            );
        }
    }
    c.finish(&a.subject)
}

//! The pages of the notice, after the modules of pagoPA's guide "Avviso di pagamento pagoPA"
//! v3.x (Allegato 2, "Specifiche Tecniche",
//! <https://docs.pagopa.it/avviso-pagamento/allegato-2/specifiche-tecniche>) in the guide's
//! order: 1 "Intestazione" (on every page), 2.1 "Informazioni sull'Ente Creditore", 2.2
//! "Informazioni sul Destinatario", 3.1 "Importo e scadenza", 3.2 "Dove pagare", 4 "Dati per il
//! pagamento": the single payment ("Rata unica") first, then the installments ("Rate multiple")
//! grouped by 2 or 3, each followed, when the creditor collects on a postal account, by its
//! "Bollettino Postale PA" with the Poste Data Matrix.
//!
//! The fixed texts are the guide's Italian strings ("Stringhe dei testi fissi",
//! `pagoPA-avvisi-320-stringhe-it.json`, page "Traduzioni" of Allegato 1, Varianti) and the
//! texts the page "Dove pagare" gives for the digital and physical channels; section headings
//! are set in capitals as in the guide's models. The Bollettino Postale PA texts follow the
//! guide's model of that part ("sul C/C n.", "Intestato a", "Tipo P1", Poste's authorisation
//! in 70 % black, page "Bollettino Postale PA").

use super::error::AvvisoError;
use super::model::{Avviso, InstallmentLayout, PaymentOption};
use super::pdf::{Canvas, Face, Rgb};
use crate::notice::Symbol;

const TEXT: Rgb = Rgb(0.090, 0.196, 0.302);
/// pagoPA blue (#0066CC).
const BLUE: Rgb = Rgb(0.0, 0.400, 0.800);
const LIGHT: Rgb = Rgb(0.933, 0.949, 0.965);
const RULE: Rgb = Rgb(0.702, 0.745, 0.788);
/// The bollettino's text is 70 % black (guide, Bollettino Postale PA, `<autorizzazione>`).
const POSTE: Rgb = Rgb(0.3, 0.3, 0.3);
const BLACK: Rgb = Rgb(0.0, 0.0, 0.0);
const WHITE: Rgb = Rgb(1.0, 1.0, 1.0);

const LEFT: f32 = 10.0;
const RIGHT: f32 = 200.0;
const MID: f32 = 110.0;
const INNER: f32 = 14.0;

/// The guide's fixed texts (Italian strings of the guide, v3.2 and later).
pub(crate) mod texts {
    /// `intestazione.titolo`.
    pub(crate) const TITLE: &str = "AVVISO DI PAGAMENTO";
    /// `infoEnteCreditore.titolo`.
    pub(crate) const CREDITOR: &str = "ENTE CREDITORE";
    /// `infoDestinatario.titolo`.
    pub(crate) const DEBTOR: &str = "DESTINATARIO";
    /// `importoScadenza.titolo`.
    pub(crate) const HOW_MUCH: &str = "QUANTO E QUANDO PAGARE?";
    /// The title of "Importo e scadenza" in the variant "Avviso senza scadenza" ("Modifica
    /// l'intestazione in `Quanto pagare?`").
    pub(crate) const HOW_MUCH_NO_DATE: &str = "QUANTO PAGARE?";
    /// `importoScadenza.euro`.
    pub(crate) const EURO: &str = "Euro";
    /// `importoScadenza.scadenza.scadenza` and `datiPagamento.scadenza`.
    pub(crate) const BY: &str = "entro il";
    /// `importoScadenza.disclaimer.legal`.
    pub(crate) const LEGAL: &str = "In fase di pagamento, se previsto dall\u{2019}ente, \
        l\u{2019}importo potrebbe essere aggiornato automaticamente e subire variazioni in \
        diminuzione (per sgravi, note di credito) o in aumento (per sanzioni, interessi, ecc.).";
    /// `importoScadenza.disclaimer.rate.rate`, `{{Numero}}` replaced.
    pub(crate) fn full_or_rates(n: usize) -> String {
        format!("Puoi pagare per intero o in {n} rate")
    }
    /// `importoScadenza.disclaimer.rate.soloRate`, `{{Numero}}` replaced.
    pub(crate) fn only_rates(n: usize) -> String {
        format!("Puoi pagare in {n} rate")
    }
    /// `importoScadenza.disclaimer.rate.molteRate`.
    pub(crate) const EACH_RATE: &str =
        "Importi e scadenze sono riportati nel dettaglio di ogni singola rata.";
    /// `dovePagare.titolo`.
    pub(crate) const WHERE: &str = "DOVE PAGARE?";
    /// `dovePagare.cta`.
    pub(crate) const CTA: &str = "vai su pagopa.gov.it";
    /// `dovePagare.italia.online.titolo`.
    pub(crate) const ONLINE_TITLE: &str = "PAGA CON L\u{2019}APP IO";
    /// `dovePagare.italia.online.descrizione.noEnte` without its first word, "oppure".
    pub(crate) const ONLINE_REST: &str =
        "dal tuo Home Banking, con la tua app di pagamento o con gli altri canali abilitati.";
    /// `dovePagare.italia.territorio.titolo`.
    pub(crate) const TERRITORY_TITLE: &str = "PAGA SUL TERRITORIO";
    /// `dovePagare.italia.territorio.descrizione`.
    pub(crate) const TERRITORY: &str = "presso Banche e Sportelli ATM, negli Uffici Postali e Punti \
        Postali, nei Bar, Edicole, Ricevitorie, Supermercati, Tabaccherie e altri Esercenti \
        Convenzionati.";
    /// `datiPagamento.titolo`.
    pub(crate) const PAYMENT_DATA: &str = "DATI PER IL PAGAMENTO";
    /// `datiPagamento.rataUnica`.
    pub(crate) const SINGLE: &str = "RATA UNICA";
    /// `datiPagamento.numRata`, `{{Numero}}` replaced.
    pub(crate) fn rate(n: usize) -> String {
        format!("RATA {n}")
    }
    /// `datiPagamento.destinatario`.
    pub(crate) const L_DEBTOR: &str = "Destinatario";
    /// `datiPagamento.enteCreditore`.
    pub(crate) const L_CREDITOR: &str = "Ente Creditore";
    /// `datiPagamento.oggettoDelPagamento`.
    pub(crate) const L_SUBJECT: &str = "Oggetto del pagamento";
    /// `datiPagamento.cbill.esteso` / `.breve`.
    pub(crate) const L_CBILL: &str = "Codice CBILL";
    /// `datiPagamento.cbill.breve`.
    pub(crate) const L_CBILL_SHORT: &str = "Cod. CBILL";
    /// `datiPagamento.avviso.esteso`.
    pub(crate) const L_NOTICE: &str = "Codice Avviso";
    /// `datiPagamento.avviso.breve`.
    pub(crate) const L_NOTICE_SHORT: &str = "Cod. Avviso";
    /// `datiPagamento.codiceFiscaleEnte.esteso`.
    pub(crate) const L_CF: &str = "Codice Fiscale Ente";
    /// `datiPagamento.codiceFiscaleEnte.breve`.
    pub(crate) const L_CF_SHORT: &str = "Cod. Fiscale Ente";
    /// `datiPagamento.istruzioni.qrCode.rataUnica`.
    pub(crate) const QR_SINGLE: &str =
        "Inquadra il codice QR con la tua app di pagamento o usa i dati accanto.";
    /// `datiPagamento.istruzioni.qrCode.rate`.
    pub(crate) const QR_RATES: &str =
        "Inquadra il codice QR con la tua app di pagamento o usa i dati sopra.";
    /// Title of the bollettino part.
    pub(crate) const POSTAL: &str = "BOLLETTINO POSTALE PA";
    /// What the bollettino part says of where it is paid.
    pub(crate) const POSTAL_WHERE: &str = "Bollettino Postale pagabile in tutti gli Uffici Postali e \
        sui canali fisici o digitali abilitati di Poste Italiane e dell\u{2019}Ente Creditore";
    /// Label of the postal account number.
    pub(crate) const L_ACCOUNT: &str = "sul C/C n.";
    /// Label of the account holder.
    pub(crate) const L_HOLDER: &str = "Intestato a";
    /// Label of the bollettino type.
    pub(crate) const L_TYPE: &str = "Tipo";
    /// The bollettino type of the Bollettino Postale PA.
    pub(crate) const TYPE: &str = "P1";
    /// The creditor's fiscal code on the bollettino.
    pub(crate) const L_CF_POSTAL: &str = "Cod. Fiscale Ente Creditore";
    /// Label of the fiscal codes of the parties in sections 2.1 and 2.2.
    pub(crate) const L_FISCAL: &str = "Codice Fiscale";
}
use texts as t;

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

/// "entro il dd/mm/yyyy" (`datiPagamento.scadenza` and AVVISO.DATA, `dd/mm/yyyy`); `None`
/// for an option without due date, whose "entro il" block the guide's variant "Avviso senza
/// scadenza" removes.
pub(crate) fn by(o: &PaymentOption) -> Option<String> {
    o.due_date
        .map(|d| format!("{} {}", t::BY, d.format("%d/%m/%Y")))
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

/// Bottom of the header (the rule under it).
const HEADER_BOTTOM: f32 = 37.0;
/// The creditor's logo area (`ENTE.LOGO`, 30 × 30 mm), left of the pagoPA logo.
const LOGO_X: f32 = 136.0;
const LOGO_Y: f32 = 5.0;
const LOGO_SIDE: f32 = 30.0;

/// The pagoPA logo area (x, y, width, height in mm): top right of the header.
pub(crate) const PAGOPA_AREA: (f32, f32, f32, f32) = (172.0, 5.0, RIGHT - 172.0, 14.0);
/// The BancoPosta mark's box after the bollettino's title: width and height in mm, top
/// 2.5 mm below the bollettino's rule.
pub(crate) const POSTE_MARK: (f32, f32) = (30.0, 6.0);

/// The pagoPA logo: the file given with [`Avviso::with_pagopa_logo`] in its area, else a
/// stand-in (a pagoPA-blue box with the brand name).
fn pagopa_logo(c: &mut Canvas, a: &Avviso) {
    let (ax, ay, aw, ah) = PAGOPA_AREA;
    if let Some(logo) = &a.pagopa_logo {
        c.image(logo, ax, ay, aw, ah);
        return;
    }
    let (x, y, w, h) = (ax, 8.0, aw, 11.0);
    c.rect(x, y, w, h, BLUE);
    let tw = c.width(Face::Bold, 15.0, "pagoPA");
    c.text(
        Face::Bold,
        15.0,
        x + (w - tw) / 2.0,
        y + 8.0,
        WHITE,
        "pagoPA",
    );
}

/// 1, "Intestazione": title, subject (`AVVISO.OGGETTO`), the creditor's logo and pagoPA's.
fn header(c: &mut Canvas, a: &Avviso) {
    c.text(Face::Bold, 8.0, LEFT, 14.0, TEXT, t::TITLE);
    c.fit(Face::Bold, 15.0, LEFT, 22.0, 122.0, 2, TEXT, &a.subject);
    if let Some(logo) = &a.logo {
        c.image(logo, LOGO_X, LOGO_Y, LOGO_SIDE, LOGO_SIDE);
    }
    pagopa_logo(c, a);
    c.line(LEFT, HEADER_BOTTOM, RIGHT, HEADER_BOTTOM, 0.3, RULE);
}

/// 2.1 and 2.2: the creditor (`ENTE.CF`, `ENTE.NOME`, `ENTE.SETTORE`, `ENTE.INFO`) and the
/// recipient (`DESTINATARIO.CF`, `DESTINATARIO.NOMECOMPLETO`, `DESTINATARIO.INDIRIZZO`).
fn parties(c: &mut Canvas, a: &Avviso) {
    let cr = &a.creditor;
    c.text(Face::Bold, 7.0, LEFT, 43.0, BLUE, t::CREDITOR);
    c.text(
        Face::Regular,
        7.0,
        LEFT,
        47.5,
        TEXT,
        &format!("{} {}", t::L_FISCAL, cr.fiscal_code),
    );
    let mut y = c.fit(Face::Bold, 11.0, LEFT, 53.0, 92.0, 2, TEXT, &cr.name);
    for line in [&cr.sector, &cr.info].into_iter().flatten() {
        y = c.fit(Face::Regular, 8.0, LEFT, y, 92.0, 1, TEXT, line);
    }
    let d = &a.debtor;
    c.text(Face::Bold, 7.0, MID, 43.0, BLUE, t::DEBTOR);
    c.text(
        Face::Regular,
        7.0,
        MID,
        47.5,
        TEXT,
        &format!("{} {}", t::L_FISCAL, d.fiscal_code),
    );
    let y = c.fit(Face::Bold, 11.0, MID, 53.0, 90.0, 2, TEXT, &d.name);
    if let Some(addr) = &d.address {
        c.fit(Face::Regular, 8.0, MID, y, 90.0, 2, TEXT, addr);
    }
}

/// The online channels' text: "oppure [sul sito di <Ente.Nome>, ]dal tuo Home Banking, ...".
fn online_text(a: &Avviso) -> String {
    match a.creditor.online_channel {
        None => format!("oppure {}", t::ONLINE_REST),
        Some(ch) => format!(
            "oppure {} {}, {}",
            ch.words(),
            a.creditor.name,
            t::ONLINE_REST
        ),
    }
}

/// The physical channels' text: "[<Ente.Canale.Fisico>, ]presso Banche e Sportelli ATM, ...".
fn territory_text(a: &Avviso) -> String {
    match &a.creditor.physical_channel {
        None => t::TERRITORY.to_owned(),
        Some(place) => format!("{place}, {}", t::TERRITORY),
    }
}

/// 3.1 "Importo e scadenza" and 3.2 "Dove pagare".
fn how_much_where(c: &mut Canvas, a: &Avviso) {
    let title = if a.options().any(|(o, _)| o.due_date.is_some()) {
        t::HOW_MUCH
    } else {
        t::HOW_MUCH_NO_DATE
    };
    c.text(Face::Bold, 7.0, LEFT, 81.0, BLUE, title);
    let n = a.installments.len();
    let mut y = 90.0;
    if let Some(s) = &a.single {
        let amount = format!("{} {}", euro(s), t::EURO);
        c.text(Face::Bold, 16.0, LEFT, y, TEXT, &amount);
        let w = c.width(Face::Bold, 16.0, &amount);
        if let Some(by) = by(s) {
            c.text(Face::Regular, 9.0, LEFT + w + 2.0, y, TEXT, &by);
        }
        y += 6.0;
        if n > 0 {
            c.fit(
                Face::Regular,
                8.0,
                LEFT,
                y,
                92.0,
                1,
                TEXT,
                &t::full_or_rates(n),
            );
            y += 5.0;
        }
    } else {
        c.text(Face::Bold, 13.0, LEFT, y, TEXT, &t::only_rates(n));
        y += 6.0;
        c.fit(Face::Regular, 8.0, LEFT, y, 92.0, 1, TEXT, t::EACH_RATE);
        y += 5.0;
    }
    c.paragraph(Face::Regular, 6.5, LEFT, y, 92.0, 3.0, TEXT, t::LEGAL);

    c.text(Face::Bold, 7.0, MID, 81.0, BLUE, t::WHERE);
    c.text_right(Face::Regular, 7.0, RIGHT, 81.0, BLUE, t::CTA);
    c.text(Face::Bold, 8.0, MID, 87.0, TEXT, t::ONLINE_TITLE);
    let y = c.paragraph(
        Face::Regular,
        7.0,
        MID,
        91.0,
        90.0,
        3.3,
        TEXT,
        &online_text(a),
    );
    c.text(Face::Bold, 8.0, MID, y + 2.0, TEXT, t::TERRITORY_TITLE);
    c.paragraph(
        Face::Regular,
        7.0,
        MID,
        y + 6.0,
        90.0,
        3.3,
        TEXT,
        &territory_text(a),
    );
}

/// 4, "Dati per il pagamento": the module's title.
fn payment_title(c: &mut Canvas, y: f32) {
    c.text(Face::Bold, 7.0, LEFT, y, BLUE, t::PAYMENT_DATA);
}

/// Height of the single-payment block.
const SINGLE_H: f32 = 62.0;

/// "Rata unica": title and due date, QR code with its instruction, recipient, creditor,
/// subject, amount, CBILL code, notice code, creditor's fiscal code.
fn single_block(c: &mut Canvas, a: &Avviso, o: &PaymentOption, qr: &Symbol, y0: f32) {
    c.rect(LEFT, y0, RIGHT - LEFT, SINGLE_H, LIGHT);
    c.text(Face::Bold, 9.0, INNER, y0 + 7.0, TEXT, t::SINGLE);
    let w = c.width(Face::Bold, 9.0, t::SINGLE);
    if let Some(by) = by(o) {
        c.text(Face::Regular, 8.0, INNER + w + 2.0, y0 + 7.0, TEXT, &by);
    }
    symbol(c, qr, INNER + 3.0, y0 + 14.0);
    c.paragraph(
        Face::Regular,
        6.5,
        INNER,
        y0 + 47.0,
        36.0,
        3.0,
        TEXT,
        t::QR_SINGLE,
    );
    let x = 55.0;
    field(
        c,
        x,
        y0 + 16.0,
        78.0,
        TEXT,
        9.0,
        t::L_DEBTOR,
        &a.debtor.name,
    );
    field(
        c,
        x,
        y0 + 28.0,
        78.0,
        TEXT,
        9.0,
        t::L_CREDITOR,
        &a.creditor.name,
    );
    field(c, x, y0 + 40.0, 78.0, TEXT, 9.0, t::L_SUBJECT, &a.subject);
    let x = 140.0;
    c.text(Face::Regular, 7.0, x, y0 + 16.0, TEXT, t::EURO);
    c.text(Face::Bold, 14.0, x, y0 + 22.5, TEXT, &euro(o));
    field(
        c,
        x,
        y0 + 30.0,
        58.0,
        TEXT,
        10.0,
        t::L_CBILL,
        &a.creditor.cbill,
    );
    field(
        c,
        x,
        y0 + 40.0,
        58.0,
        TEXT,
        10.0,
        t::L_NOTICE,
        &o.notice.to_print_format(),
    );
    field(
        c,
        x,
        y0 + 50.0,
        58.0,
        TEXT,
        10.0,
        t::L_CF,
        a.creditor.fiscal_code.as_str(),
    );
}

/// The bollettino's title row ("BOLLETTINO POSTALE PA", the BancoPosta mark, and on the
/// right `right`) and the line on where it is paid.
fn postal_title(c: &mut Canvas, a: &Avviso, y0: f32, right: Option<&str>) {
    c.line(LEFT, y0, RIGHT, y0, 0.3, RULE);
    c.text(Face::Bold, 9.0, INNER, y0 + 7.0, POSTE, t::POSTAL);
    let w = c.width(Face::Bold, 9.0, t::POSTAL);
    match &a.poste_logo {
        Some(mark) => {
            let (mw, mh) = POSTE_MARK;
            // Resting against the left of its box, as the word it replaces.
            c.image_left(mark, INNER + w + 6.0, y0 + 2.5, mw, mh);
        }
        None => c.text(
            Face::Bold,
            9.0,
            INNER + w + 6.0,
            y0 + 7.0,
            POSTE,
            "BancoPosta",
        ),
    }
    if let Some(r) = right {
        c.text_right(Face::Bold, 9.0, RIGHT - 4.0, y0 + 7.0, POSTE, r);
    }
    c.fit(
        Face::Regular,
        6.5,
        INNER,
        y0 + 11.5,
        182.0,
        1,
        POSTE,
        t::POSTAL_WHERE,
    );
}

/// Account number and holder on one row.
fn postal_account(c: &mut Canvas, a: &Avviso, y: f32) {
    let Some(p) = &a.creditor.postal else { return };
    c.text(Face::Regular, 7.0, INNER, y, POSTE, t::L_ACCOUNT);
    c.text(
        Face::Bold,
        10.0,
        INNER + 13.0,
        y,
        POSTE,
        &p.account.to_string(),
    );
    c.text(Face::Regular, 7.0, 80.0, y, POSTE, t::L_HOLDER);
    c.fit(Face::Bold, 8.5, 94.0, y, 104.0, 1, POSTE, &p.holder);
}

/// Bollettino Postale PA of the single payment.
fn postal_single(c: &mut Canvas, a: &Avviso, o: &PaymentOption, dm: &Symbol, y0: f32) {
    let Some(p) = &a.creditor.postal else { return };
    let right = match by(o) {
        Some(by) => format!("{} {by}", t::SINGLE),
        None => t::SINGLE.to_owned(),
    };
    postal_title(c, a, y0, Some(&right));
    postal_account(c, a, y0 + 18.0);
    symbol(c, dm, INNER + 1.0, y0 + 24.0);
    let x = 55.0;
    field(
        c,
        x,
        y0 + 26.0,
        78.0,
        POSTE,
        9.0,
        t::L_DEBTOR,
        &a.debtor.name,
    );
    field(c, x, y0 + 38.5, 78.0, POSTE, 9.0, t::L_SUBJECT, &a.subject);
    let x = 140.0;
    c.text(Face::Regular, 7.0, x, y0 + 26.0, POSTE, t::EURO);
    c.text(Face::Bold, 12.0, x, y0 + 31.0, POSTE, &euro(o));
    field(
        c,
        x,
        y0 + 36.0,
        58.0,
        POSTE,
        10.0,
        t::L_NOTICE,
        &o.notice.to_print_format(),
    );
    field(c, x, y0 + 45.0, 20.0, POSTE, 10.0, t::L_TYPE, t::TYPE);
    field(
        c,
        x,
        y0 + 54.0,
        58.0,
        POSTE,
        10.0,
        t::L_CF_POSTAL,
        a.creditor.fiscal_code.as_str(),
    );
    c.fit(
        Face::Regular,
        6.0,
        INNER,
        y0 + 24.0 + symbol_height(dm) + 5.0,
        120.0,
        1,
        POSTE,
        &p.authorization,
    );
}

/// The data the installments of a block share, in its top band from `y0`: creditor, subject,
/// recipient, CBILL, creditor's fiscal code, then the QR instruction.
fn shared_band(c: &mut Canvas, a: &Avviso, y0: f32) {
    let cr = &a.creditor;
    let one = |c: &mut Canvas, x: f32, y: f32, w: f32, label: &str, value: &str| {
        c.text(Face::Regular, 7.0, x, y, TEXT, label);
        c.fit(Face::Bold, 8.5, x, y + 4.2, w, 1, TEXT, value);
    };
    one(c, INNER, y0 + 6.0, 88.0, t::L_CREDITOR, &cr.name);
    one(c, 105.0, y0 + 6.0, 93.0, t::L_SUBJECT, &a.subject);
    one(c, INNER, y0 + 15.0, 88.0, t::L_DEBTOR, &a.debtor.name);
    one(c, 105.0, y0 + 15.0, 40.0, t::L_CBILL_SHORT, &cr.cbill);
    one(
        c,
        150.0,
        y0 + 15.0,
        48.0,
        t::L_CF_SHORT,
        cr.fiscal_code.as_str(),
    );
    c.fit(
        Face::Regular,
        6.5,
        INNER,
        y0 + 25.0,
        182.0,
        1,
        TEXT,
        t::QR_RATES,
    );
}

/// "RATA `n`", followed by its due date when it has one, at (`x`, `y`) in `color`.
fn rate_title(c: &mut Canvas, o: &PaymentOption, n: usize, x: f32, y: f32, color: Rgb) {
    let title = t::rate(n);
    c.text(Face::Bold, 9.0, x, y, color, &title);
    let w = c.width(Face::Bold, 9.0, &title);
    if let Some(by) = by(o) {
        c.text(Face::Regular, 7.5, x + w + 2.0, y, color, &by);
    }
}

/// Height of a block of installments.
const GROUP_H: f32 = 79.0;

/// "Rate multiple": the data shared by the installments (creditor, subject, recipient, CBILL,
/// creditor's fiscal code, the QR instruction), then installments `first..first + group.len()`
/// (0-based) in `k` columns, each with its title, due date, QR code, amount and notice code.
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
    shared_band(c, a, y0);
    #[allow(clippy::cast_precision_loss)]
    let col_w = (RIGHT - INNER) / k as f32;
    for (i, (o, qr)) in group.iter().zip(qrs).enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let cx = INNER + i as f32 * col_w;
        rate_title(c, o, first + i + 1, cx, y0 + 31.0, TEXT);
        symbol(c, qr, cx + 3.0, y0 + 37.0);
        c.text(Face::Regular, 7.0, cx, y0 + 67.0, TEXT, t::EURO);
        c.text(Face::Bold, 11.0, cx + 7.0, y0 + 67.0, TEXT, &euro(o));
        field(
            c,
            cx,
            y0 + 71.0,
            col_w - 2.0,
            TEXT,
            8.5,
            t::L_NOTICE_SHORT,
            &o.notice.to_print_format(),
        );
    }
}

/// Bollettino Postale PA of a group of installments.
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
    postal_title(c, a, y0, None);
    postal_account(c, a, y0 + 17.0);
    let one = |c: &mut Canvas, x: f32, y: f32, w: f32, label: &str, value: &str| {
        c.text(Face::Regular, 7.0, x, y, POSTE, label);
        c.fit(Face::Bold, 8.5, x, y + 4.2, w, 1, POSTE, value);
    };
    one(c, INNER, y0 + 22.0, 62.0, t::L_DEBTOR, &a.debtor.name);
    one(c, 80.0, y0 + 22.0, 68.0, t::L_SUBJECT, &a.subject);
    one(
        c,
        150.0,
        y0 + 22.0,
        34.0,
        t::L_CF_POSTAL,
        a.creditor.fiscal_code.as_str(),
    );
    one(c, 188.0, y0 + 22.0, 12.0, t::L_TYPE, t::TYPE);
    #[allow(clippy::cast_precision_loss)]
    let col_w = (RIGHT - INNER) / k as f32;
    let mut bottom = y0;
    for (i, (o, dm)) in group.iter().zip(dms).enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let cx = INNER + i as f32 * col_w;
        rate_title(c, o, first + i + 1, cx, y0 + 33.0, POSTE);
        symbol(c, dm, cx + 1.0, y0 + 36.0);
        let y = y0 + 36.0 + symbol_height(dm) + 4.5;
        c.text(Face::Regular, 7.0, cx, y, POSTE, t::EURO);
        c.text(Face::Bold, 10.0, cx + 7.0, y, POSTE, &euro(o));
        bottom = field(
            c,
            cx,
            y + 4.0,
            col_w - 2.0,
            POSTE,
            8.5,
            t::L_NOTICE,
            &o.notice.to_print_format(),
        );
    }
    c.fit(
        Face::Regular,
        6.0,
        INNER,
        bottom + 0.5,
        180.0,
        1,
        POSTE,
        &p.authorization,
    );
}

/// The parties on the pages after the first: names and fiscal codes on two lines.
fn short_parties(c: &mut Canvas, a: &Avviso) {
    c.fit(
        Face::Regular,
        8.0,
        LEFT,
        43.0,
        186.0,
        1,
        TEXT,
        &format!(
            "{}: {} · {} {}",
            t::L_CREDITOR,
            a.creditor.name,
            t::L_FISCAL,
            a.creditor.fiscal_code
        ),
    );
    c.fit(
        Face::Regular,
        8.0,
        LEFT,
        48.0,
        186.0,
        1,
        TEXT,
        &format!(
            "{}: {} · {} {}",
            t::L_DEBTOR,
            a.debtor.name,
            t::L_FISCAL,
            a.debtor.fiscal_code
        ),
    );
}

fn check_texts(c: &Canvas, a: &Avviso) -> Result<(), AvvisoError> {
    c.check_glyphs("subject", &a.subject)?;
    c.check_glyphs("creditor.name", &a.creditor.name)?;
    for (f, v) in [
        ("creditor.sector", &a.creditor.sector),
        ("creditor.info", &a.creditor.info),
        ("creditor.physical_channel", &a.creditor.physical_channel),
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

/// Top of the installments' grid of the variant "molte rate" on the first page.
const MANY_FIRST_TOP: f32 = 126.0;
/// Top of the grid (or of the bollettini) on the later pages.
const NEXT_TOP: f32 = 59.0;
/// Lowest point of the content (10 mm margin).
const PAGE_BOTTOM: f32 = 287.0;
/// The band with the data the installments share.
const MANY_BAND_H: f32 = 30.0;
/// One installment of the grid.
const MANY_CELL_H: f32 = 43.0;
/// Installments a row of the grid.
const MANY_COLS: usize = 3;
/// One group of three bollettini (title, account, shared data, three Data Matrix, amounts,
/// codes, authorisation) with the space after it.
const POSTAL_GROUP_H: f32 = 86.0;

/// Where the variant "Avviso con molte rate" puts the installments (0-based ranges).
pub(crate) struct ManyPlan {
    /// Each page of the grid: its installments and the top of its band.
    pub(crate) grid: Vec<(std::ops::Range<usize>, f32)>,
    /// Whether the first grid is on the first page (no single payment).
    pub(crate) grid_on_first: bool,
    /// Each page of bollettini: its groups of three installments.
    pub(crate) postal: Vec<Vec<std::ops::Range<usize>>>,
}

impl ManyPlan {
    pub(crate) fn page_count(&self) -> usize {
        1 + self.grid.len() - usize::from(self.grid_on_first) + self.postal.len()
    }
}

/// Rows of the grid that fit under `top`.
fn rows_fitting(top: f32) -> usize {
    let rows = ((PAGE_BOTTOM - top - MANY_BAND_H) / MANY_CELL_H).floor();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rows = rows.max(1.0) as usize;
    rows
}

pub(crate) fn many_plan(a: &Avviso) -> ManyPlan {
    let n = a.installments.len();
    let grid_on_first = a.single.is_none();
    let mut grid = Vec::new();
    let mut at = 0;
    let mut top = if grid_on_first {
        MANY_FIRST_TOP
    } else {
        NEXT_TOP
    };
    while at < n {
        let take = (rows_fitting(top) * MANY_COLS).min(n - at);
        grid.push((at..at + take, top));
        at += take;
        top = NEXT_TOP;
    }
    let mut postal = Vec::new();
    if a.creditor.postal.is_some() {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let per_page = (((PAGE_BOTTOM - NEXT_TOP) / POSTAL_GROUP_H).floor().max(1.0)) as usize;
        let groups: Vec<_> = (0..n)
            .step_by(MANY_COLS)
            .map(|i| i..(i + MANY_COLS).min(n))
            .collect();
        for page in groups.chunks(per_page) {
            postal.push(page.to_vec());
        }
    }
    ManyPlan {
        grid,
        grid_on_first,
        postal,
    }
}

/// The grid of the variant "molte rate": the shared data (creditor, subject, recipient, CBILL,
/// creditor's fiscal code, the QR instruction), then three installments a row, each with its
/// title and due date, QR code, amount and notice code. `first` is the 0-based number of the
/// first installment.
fn many_block(
    c: &mut Canvas,
    a: &Avviso,
    rates: &[PaymentOption],
    qrs: &[Symbol],
    first: usize,
    y0: f32,
) {
    let rows = rates.len().div_ceil(MANY_COLS);
    #[allow(clippy::cast_precision_loss)]
    let h = MANY_BAND_H + rows as f32 * MANY_CELL_H - 3.0;
    c.rect(LEFT, y0, RIGHT - LEFT, h, LIGHT);
    shared_band(c, a, y0);
    #[allow(clippy::cast_precision_loss)]
    let col_w = (RIGHT - INNER) / MANY_COLS as f32;
    for (i, (o, qr)) in rates.iter().zip(qrs).enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let cx = INNER + (i % MANY_COLS) as f32 * col_w;
        #[allow(clippy::cast_precision_loss)]
        let cy = y0 + MANY_BAND_H + (i / MANY_COLS) as f32 * MANY_CELL_H;
        rate_title(c, o, first + i + 1, cx, cy + 4.0, TEXT);
        symbol(c, qr, cx + 3.0, cy + 9.0);
        let tx = cx + 32.5;
        let tw = col_w - 34.0;
        c.text(Face::Regular, 7.0, tx, cy + 13.0, TEXT, t::EURO);
        c.fit(Face::Bold, 11.0, tx, cy + 18.0, tw, 1, TEXT, &euro(o));
        c.text(Face::Regular, 7.0, tx, cy + 26.0, TEXT, t::L_NOTICE_SHORT);
        c.fit(
            Face::Bold,
            8.5,
            tx,
            cy + 30.2,
            tw,
            1,
            TEXT,
            &o.notice.to_print_format(),
        );
    }
}

/// The pages of the variant "molte rate", after the first page's general information (and
/// the single payment with its bollettino, when offered).
fn render_many(c: &mut Canvas, a: &Avviso, syms: &Symbols) {
    let plan = many_plan(a);
    let offset = usize::from(a.single.is_some());
    for (k, (range, top)) in plan.grid.iter().enumerate() {
        if k > 0 || !plan.grid_on_first {
            c.new_page();
            header(c, a);
            short_parties(c, a);
            payment_title(c, 56.0);
        }
        let qrs = &syms.qr[offset + range.start..offset + range.end];
        many_block(c, a, &a.installments[range.clone()], qrs, range.start, *top);
    }
    for page in &plan.postal {
        c.new_page();
        header(c, a);
        short_parties(c, a);
        payment_title(c, 56.0);
        let mut y = NEXT_TOP;
        for group in page {
            let dms = &syms.dm[offset + group.start..offset + group.end];
            postal_group(
                c,
                a,
                &a.installments[group.clone()],
                dms,
                group.start,
                MANY_COLS,
                y,
            );
            y += POSTAL_GROUP_H;
        }
    }
}

/// The Data Matrix is printed 25 × 25 mm (guide, Bollettino Postale PA, `<data_matrix>`).
const DM_SIZE_MM: f64 = 25.0;

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
        let s = dm.to_symbol()?;
        #[allow(clippy::cast_precision_loss)]
        let module = DM_SIZE_MM / s.width().max(1) as f64;
        syms.dm.push(s.with_module_mm(module));
    }
    let postal = a.creditor.postal.is_some();
    let offset = usize::from(a.single.is_some());
    let k = a.installments_per_page();

    c.new_page();
    header(&mut c, a);
    parties(&mut c, a);
    how_much_where(&mut c, a);
    payment_title(&mut c, 123.0);
    let y0 = 126.0;
    let mut groups = a.installments.chunks(k.max(1)).enumerate().peekable();
    let many = a.installment_layout() == InstallmentLayout::Many;
    if let Some(s) = &a.single {
        single_block(&mut c, a, s, &syms.qr[0], y0);
        if postal {
            postal_single(&mut c, a, s, &syms.dm[0], y0 + SINGLE_H + 4.0);
        }
    } else if many {
        // The first grid goes on this page (render_many).
    } else if let Some((_, group)) = groups.next() {
        let n = group.len();
        group_block(&mut c, a, group, &syms.qr[..n], 0, k, y0);
        if postal {
            postal_group(&mut c, a, group, &syms.dm[..n], 0, k, y0 + GROUP_H + 4.0);
        }
    }
    if many {
        render_many(&mut c, a, &syms);
        return finish(c, a, postal);
    }
    for (g, group) in groups {
        let first = g * k;
        let range = offset + first..offset + first + group.len();
        c.new_page();
        header(&mut c, a);
        short_parties(&mut c, a);
        payment_title(&mut c, 56.0);
        group_block(&mut c, a, group, &syms.qr[range.clone()], first, k, 59.0);
        if postal {
            postal_group(
                &mut c,
                a,
                group,
                &syms.dm[range],
                first,
                k,
                59.0 + GROUP_H + 4.0,
            );
        }
    }
    finish(c, a, postal)
}

/// Writes the PDF; its keywords name the marks drawn as stand-ins.
fn finish(c: Canvas, a: &Avviso, postal: bool) -> Result<Vec<u8>, AvvisoError> {
    let mut stand_ins = Vec::new();
    if a.pagopa_logo.is_none() {
        stand_ins.push("logo pagoPA: disegno sostitutivo, non il file ufficiale");
    }
    if postal && a.poste_logo.is_none() {
        stand_ins.push("marchio BancoPosta: testo sostitutivo, non il file ufficiale");
    }
    c.finish(&a.subject, &stand_ins.join("; "))
}

//! Rules of OPI that the types and the schema cannot express: totals that add up, numbers unique
//! in the flow, progressivi unique in the order, identifier formats, and the schema facets of
//! free strings (so that what we write always validates).

use pa_types::{Amount, AnyFiscalCode, PartitaIva};

use crate::error::{ValidationError, ValidationErrors};
use crate::model::{
    ArconetEntrate, ArconetUscite, Bilancio, CategoryPurpose, ClassificazioneEntrata,
    ClassificazioneUscita, DatiEnteMandato, DatiEnteReversale, DebitoEntrata, DebitoUscita,
    DocumentoSiope, FatturaSiope, FlussoOrdinativi, InformazioniAggiuntive,
    InformazioniBeneficiario, InformazioniVersante, Mandato, OrderRef, Ordinativo, Reversale,
    Soggetto, Sospeso, Sostituzione, TestataFlusso, TipoOperazione, TipoPagamento, TipoRiscossione,
};
use crate::types::MAX_OPI_CENTS;

const MAX_NUM7: u32 = 9_999_999;
const MAX_NUM18: u64 = 999_999_999_999_999_999;

/// A field path, rendered only when a finding is reported.
trait Field: Copy {
    fn render(self) -> String;
}

impl Field for &str {
    fn render(self) -> String {
        self.to_owned()
    }
}

impl Field for &String {
    fn render(self) -> String {
        self.clone()
    }
}

impl Field for std::fmt::Arguments<'_> {
    fn render(self) -> String {
        self.to_string()
    }
}

struct V {
    order: OrderRef,
    errs: Vec<ValidationError>,
}

impl V {
    fn new(order: OrderRef) -> Self {
        V {
            order,
            errs: Vec::new(),
        }
    }

    fn push(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.errs.push(ValidationError {
            order: self.order,
            field: field.into(),
            problem: problem.into(),
        });
    }

    fn amount(&mut self, field: impl Field, a: Amount) {
        if a.cents() == 0 {
            self.push(field.render(), "must be at least 0.01");
        } else if a.cents() > MAX_OPI_CENTS {
            self.push(field.render(), format!("{a} has more than 15 digits"));
        }
    }

    fn range_u32(&mut self, field: impl Field, v: u32, lo: u32, hi: u32) {
        if v < lo || v > hi {
            self.push(field.render(), format!("{v} is outside {lo}..={hi}"));
        }
    }

    fn range_u64(&mut self, field: impl Field, v: u64, lo: u64, hi: u64) {
        if v < lo || v > hi {
            self.push(field.render(), format!("{v} is outside {lo}..={hi}"));
        }
    }

    fn year(&mut self, field: impl Field, y: u16, lo: u16) {
        if y < lo || y > 2099 {
            self.push(field.render(), format!("year {y} is outside {lo}..=2099"));
        }
    }

    /// `whiteSpace=collapse` + `minLength=1`: something other than blanks.
    fn not_blank(&mut self, field: impl Field, s: &str) {
        if s.trim().is_empty() {
            self.push(field.render(), "must not be empty");
        }
    }

    fn len(&mut self, field: impl Field, s: &str, lo: usize, hi: usize) {
        let n = s.chars().count();
        if n < lo || n > hi {
            self.push(field.render(), format!("length {n} is outside {lo}..={hi}"));
        }
    }

    fn digits(&mut self, field: impl Field, s: &str, lo: usize, hi: usize) {
        if s.len() < lo || s.len() > hi || !s.bytes().all(|b| b.is_ascii_digit()) {
            self.push(field.render(), format!("{s:?} is not {lo} to {hi} digits"));
        }
    }

    /// `(\s*[^\s]\s*)+` with a length range: not blank.
    fn token(&mut self, field: impl Field, s: &str, hi: usize) {
        self.not_blank(field, s);
        self.len(field, s, 1, hi);
    }

    fn finish(self) -> Result<(), ValidationErrors> {
        if self.errs.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(self.errs))
        }
    }
}

/// Checks the flow header and the financial year.
///
/// # Errors
/// Every broken rule, each naming its field.
pub fn validate_testata(t: &TestataFlusso, esercizio: u16) -> Result<(), ValidationErrors> {
    let mut v = V::new(OrderRef::Flusso);
    v.not_blank("testata_flusso/descrizione_ente", &t.descrizione_ente);
    v.not_blank("testata_flusso/codice_ente_BT", &t.codice_ente_bt);
    let cf = &t.codice_fiscale_ente;
    let cf_ok = (11..=16).contains(&cf.len())
        && cf
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && cf.parse::<AnyFiscalCode>().is_ok();
    if !cf_ok {
        v.push(
            "testata_flusso/codice_fiscale_ente",
            format!("{cf:?} is not a valid codice fiscale (11 digits or 16 characters)"),
        );
    }
    v.year("esercizio", esercizio, 1999);
    v.finish()
}

/// Tracks the numbers used in a flow in constant memory (two fixed bitsets of 10^7 bits).
pub(crate) struct Seen {
    bits: Vec<u64>,
}

impl Seen {
    pub(crate) fn new() -> Self {
        Seen { bits: Vec::new() }
    }

    /// Marks `n`; false when it was already marked.
    pub(crate) fn insert(&mut self, n: u32) -> bool {
        if self.bits.is_empty() {
            self.bits = vec![0u64; (MAX_NUM7 as usize) / 64 + 1];
        }
        let n = n as usize;
        let (w, b) = (n / 64, n % 64);
        match self.bits.get_mut(w) {
            Some(word) => {
                let was = *word & (1 << b) != 0;
                *word |= 1 << b;
                !was
            }
            None => true,
        }
    }
}

/// Streaming validation of a flow: unique order numbers across the flow, rules per order.
pub struct FlowValidator {
    mandati: Seen,
    reversali: Seen,
}

impl Default for FlowValidator {
    fn default() -> Self {
        Self::new()
    }
}

impl FlowValidator {
    /// A validator for one flow.
    #[must_use]
    pub fn new() -> Self {
        FlowValidator {
            mandati: Seen::new(),
            reversali: Seen::new(),
        }
    }

    /// Checks one mandato and that its number is new in the flow.
    ///
    /// # Errors
    /// Every broken rule, each naming the order and field.
    pub fn check_mandato(&mut self, m: &Mandato) -> Result<(), ValidationErrors> {
        let mut v = V::new(OrderRef::Mandato(m.numero_mandato));
        if !self.mandati.insert(m.numero_mandato) {
            v.push(
                "numero_mandato",
                "is already used by another mandato in this flow",
            );
        }
        mandato(&mut v, m);
        v.finish()
    }

    /// Checks one reversale and that its number is new in the flow.
    ///
    /// # Errors
    /// Every broken rule, each naming the order and field.
    pub fn check_reversale(&mut self, r: &Reversale) -> Result<(), ValidationErrors> {
        let mut v = V::new(OrderRef::Reversale(r.numero_reversale));
        if !self.reversali.insert(r.numero_reversale) {
            v.push(
                "numero_reversale",
                "is already used by another reversale in this flow",
            );
        }
        reversale(&mut v, r);
        v.finish()
    }
}

/// Validates a whole flow held in memory.
///
/// # Errors
/// Every broken rule found, each naming the order and field.
pub fn validate_flow(f: &FlussoOrdinativi) -> Result<(), ValidationErrors> {
    let mut all = Vec::new();
    if let Err(e) = validate_testata(&f.testata, f.esercizio) {
        all.extend(e.0);
    }
    if f.ordinativi.is_empty() {
        all.push(ValidationError {
            order: OrderRef::Flusso,
            field: "mandato|reversale".into(),
            problem: "a flow holds at least one order".into(),
        });
    }
    let mut fv = FlowValidator::new();
    for o in &f.ordinativi {
        let r = match o {
            Ordinativo::Mandato(m) => fv.check_mandato(m),
            Ordinativo::Reversale(r) => fv.check_reversale(r),
        };
        if let Err(e) = r {
            all.extend(e.0);
        }
    }
    if all.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(all))
    }
}

fn mandato(v: &mut V, m: &Mandato) {
    v.range_u32("numero_mandato", m.numero_mandato, 1, MAX_NUM7);
    v.amount("importo_mandato", m.importo_mandato);
    if let Some(c) = &m.conto_evidenza {
        v.len("conto_evidenza", c, 1, 25);
    }
    bilanci(v, &m.bilancio);
    if let Some(fd) = &m.funzionario_delegato {
        let c = &fd.codice_funzionario_delegato;
        let alnum = c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'|');
        let ok = (alnum && (c.len() == 16 || c.len() == 11))
            || ((1..=7).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            v.push(
                "funzionario_delegato/codice_funzionario_delegato",
                format!("{c:?} is not 16 or 11 alphanumerics or 1 to 7 digits"),
            );
        }
        v.amount(
            "funzionario_delegato/importo_funzionario_delegato",
            fd.importo_funzionario_delegato,
        );
    }
    if m.informazioni_beneficiario.is_empty() {
        v.push(
            "informazioni_beneficiario",
            "a mandato has at least one beneficiary",
        );
    }
    let mut sum = Some(0u64);
    let mut seen = std::collections::BTreeSet::new();
    for (i, b) in m.informazioni_beneficiario.iter().enumerate() {
        let p = format!("informazioni_beneficiario[{}]", i + 1);
        sum = sum.and_then(|s| s.checked_add(b.importo_beneficiario.cents()));
        if !seen.insert(b.progressivo_beneficiario) {
            v.push(
                format!("{p}/progressivo_beneficiario"),
                format!(
                    "progressivo {} is used by another beneficiary of this mandato",
                    b.progressivo_beneficiario
                ),
            );
        }
        beneficiario(v, &p, b, m.tipo_operazione);
    }
    if !m.informazioni_beneficiario.is_empty() && sum != Some(m.importo_mandato.cents()) {
        v.push(
            "importo_mandato",
            format!(
                "is {} but the beneficiaries' amounts add up to {}",
                m.importo_mandato,
                sum.map_or_else(
                    || "more than the maximum".to_owned(),
                    |s| Amount::from_cents(s).to_string()
                )
            ),
        );
    }
    match &m.dati_a_disposizione_ente {
        Some(DatiEnteMandato::Miur(mi)) => {
            let p = "dati_a_disposizione_ente_mandato_MIUR";
            if !mi.aggregato.is_ascii_uppercase() {
                v.push(format!("{p}/aggregato"), "must be one letter A-Z");
            }
            v.range_u32(format_args!("{p}/voce"), u32::from(mi.voce), 1, 99);
            v.year(
                format_args!("{p}/anno_provenienza"),
                mi.anno_provenienza,
                1980,
            );
            v.digits(format_args!("{p}/numero_impegno"), &mi.numero_impegno, 6, 6);
        }
        Some(DatiEnteMandato::Libero(_)) | None => {}
    }
}

fn bilanci(v: &mut V, b: &[Bilancio]) {
    if b.len() > 10 {
        v.push("bilancio", format!("{} entries, at most 10", b.len()));
    }
    for (i, b) in b.iter().enumerate() {
        let p = format!("bilancio[{}]", i + 1);
        v.range_u32(
            format_args!("{p}/codifica_bilancio"),
            b.codifica_bilancio,
            1,
            MAX_NUM7,
        );
        if let Some(y) = b.anno_residuo {
            v.year(format_args!("{p}/anno_residuo"), y, 1980);
        }
        if let Some(n) = b.numero_articolo {
            v.range_u32(format_args!("{p}/numero_articolo"), u32::from(n), 0, 999);
        }
        if let Some(n) = b.voce_economica {
            v.range_u32(format_args!("{p}/voce_economica"), u32::from(n), 0, 999);
        }
        v.amount(format_args!("{p}/importo_bilancio"), b.importo_bilancio);
    }
}

fn beneficiario(v: &mut V, p: &str, b: &InformazioniBeneficiario, op: TipoOperazione) {
    v.range_u32(
        format_args!("{p}/progressivo_beneficiario"),
        b.progressivo_beneficiario,
        1,
        MAX_NUM7,
    );
    v.amount(
        format_args!("{p}/importo_beneficiario"),
        b.importo_beneficiario,
    );
    let mut sum = Some(0u64);
    for (i, c) in b.classificazione.iter().enumerate() {
        let cp = format!("{p}/classificazione[{}]", i + 1);
        sum = sum.and_then(|s| s.checked_add(c.importo.cents()));
        classificazione_uscita(v, &cp, c);
    }
    if !b.classificazione.is_empty() && sum != Some(b.importo_beneficiario.cents()) {
        v.push(
            format!("{p}/classificazione"),
            format!(
                "amounts add up to {} but importo_beneficiario is {}",
                sum.map_or_else(
                    || "more than the maximum".to_owned(),
                    |s| Amount::from_cents(s).to_string()
                ),
                b.importo_beneficiario
            ),
        );
    }
    soggetto(
        v,
        &format!("{p}/beneficiario"),
        "beneficiario",
        &b.beneficiario,
    );
    for (i, d) in b.delegato.iter().enumerate() {
        let dp = format!("{p}/delegato[{}]", i + 1);
        if let Some(c) = &d.cap {
            v.token(format_args!("{dp}/cap_delegato"), c, 16);
        }
        if let Some(s) = &d.stato {
            stato(v, &format!("{dp}/stato_delegato"), s);
        }
        v.len(
            format_args!("{dp}/codice_fiscale_delegato"),
            &d.codice_fiscale,
            1,
            35,
        );
    }
    if let Some(c) = &b.creditore_effettivo {
        soggetto(
            v,
            &format!("{p}/creditore_effettivo"),
            "creditore_effettivo",
            c,
        );
    }
    if let Some(pz) = &b.piazzatura {
        let ok = (1..=12).contains(&pz.len())
            && pz.bytes().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, b',' | b'/' | b' ' | b'.' | b'-')
            });
        if !ok {
            v.push(
                format!("{p}/piazzatura/numero_conto_corrente_beneficiario"),
                format!("{pz:?} is not 1 to 12 of letters, digits , / . - and space"),
            );
        }
    }
    match (&b.sepa_credit_transfer, b.tipo_pagamento) {
        (None, TipoPagamento::SepaCreditTransfer) => v.push(
            format!("{p}/sepa_credit_transfer"),
            "is required with tipo_pagamento SEPA CREDIT TRANSFER",
        ),
        (Some(s), _) => {
            let sp = format!("{p}/sepa_credit_transfer");
            if let Some(bic) = &s.bic
                && !((bic.len() == 8 || bic.len() == 11)
                    && bic.bytes().all(|c| c.is_ascii_alphanumeric()))
            {
                v.push(
                    format!("{sp}/bic"),
                    format!("{bic:?} is not 8 or 11 letters and digits"),
                );
            }
            if let Some(e) = &s.identificativo_end_to_end {
                v.len(format_args!("{sp}/identificativo_end_to_end"), e, 1, 35);
            }
            if let Some(CategoryPurpose::Proprietary(x)) = &s.category_purpose {
                v.len(
                    format_args!("{sp}/identificativo_category_purpose/proprietary"),
                    x,
                    1,
                    35,
                );
            }
        }
        (None, _) => {}
    }
    if let Some(cv) = &b.codice_versante {
        let by = cv.as_bytes();
        let ok = by.len() == 10
            && by[0].is_ascii_alphabetic()
            && by[1..].iter().all(|c| c.is_ascii_digit() || *c == b'|');
        if !ok {
            v.push(
                format!("{p}/codice_versante"),
                format!("{cv:?} is not a letter and 9 digits"),
            );
        }
    }
    v.not_blank(format_args!("{p}/causale"), &b.causale);
    sospesi(v, p, &b.sospeso);
    if b.ritenute.len() > 30 {
        v.push(
            format!("{p}/ritenute"),
            format!("{} entries, at most 30", b.ritenute.len()),
        );
    }
    for (i, r) in b.ritenute.iter().enumerate() {
        let rp = format!("{p}/ritenute[{}]", i + 1);
        v.amount(format_args!("{rp}/importo_ritenute"), r.importo_ritenute);
        v.range_u32(
            format_args!("{rp}/numero_reversale"),
            r.numero_reversale,
            1,
            MAX_NUM7,
        );
        v.range_u32(
            format_args!("{rp}/progressivo_versante"),
            r.progressivo_versante,
            1,
            MAX_NUM7,
        );
    }
    let avviso = b
        .informazioni_aggiuntive
        .as_ref()
        .and_then(|i| i.avviso_pagopa);
    match avviso {
        None if b.tipo_pagamento == TipoPagamento::AvvisoPagopa => v.push(
            format!("{p}/informazioni_aggiuntive/avviso_pagoPA"),
            "is required with tipo_pagamento AVVISO PAGOPA",
        ),
        Some(a) => {
            let ap = format!("{p}/informazioni_aggiuntive/avviso_pagoPA");
            v.range_u64(
                format_args!("{ap}/codice_identificativo_ente"),
                a.codice_identificativo_ente,
                1,
                99_999_999_999,
            );
            v.range_u64(
                format_args!("{ap}/numero_avviso"),
                a.numero_avviso,
                1,
                MAX_NUM18,
            );
        }
        None => {}
    }
    sostituzione(
        v,
        &format!("{p}/sostituzione_mandato"),
        b.sostituzione_mandato.as_ref(),
        op,
    );
}

fn sostituzione(v: &mut V, p: &str, s: Option<&Sostituzione>, op: TipoOperazione) {
    match (s, op) {
        (None, TipoOperazione::Sostituzione) => {
            v.push(p, "is required with tipo_operazione SOSTITUZIONE");
        }
        (Some(_), o) if o != TipoOperazione::Sostituzione => {
            v.push(
                p,
                format!("is only used with tipo_operazione SOSTITUZIONE, not {o}"),
            );
        }
        (Some(s), _) => {
            v.range_u32(
                format_args!("{p}/numero_da_sostituire"),
                s.numero_da_sostituire,
                1,
                MAX_NUM7,
            );
            v.range_u32(
                format_args!("{p}/progressivo_da_sostituire"),
                s.progressivo_da_sostituire,
                1,
                MAX_NUM7,
            );
            v.year(
                format_args!("{p}/esercizio_da_sostituire"),
                s.esercizio_da_sostituire,
                1999,
            );
        }
        (None, _) => {}
    }
}

fn sospesi(v: &mut V, p: &str, s: &[Sospeso]) {
    if s.len() > 1000 {
        v.push(
            format!("{p}/sospeso"),
            format!("{} entries, at most 1000", s.len()),
        );
    }
    for (i, s) in s.iter().enumerate() {
        let sp = format!("{p}/sospeso[{}]", i + 1);
        v.range_u64(
            format_args!("{sp}/numero_provvisorio"),
            s.numero_provvisorio,
            1,
            MAX_NUM18,
        );
        v.amount(
            format_args!("{sp}/importo_provvisorio"),
            s.importo_provvisorio,
        );
    }
}

fn stato(v: &mut V, field: &str, s: &str) {
    if !(s.len() == 2 && s.bytes().all(|c| c.is_ascii_uppercase())) {
        v.push(
            field,
            format!("{s:?} is not a two-letter upper-case country code"),
        );
    }
}

fn soggetto(v: &mut V, p: &str, suffix: &str, s: &Soggetto) {
    v.not_blank(format_args!("{p}/anagrafica_{suffix}"), &s.anagrafica);
    if let Some(c) = &s.cap {
        v.token(format_args!("{p}/cap_{suffix}"), c, 16);
    }
    if let Some(st) = &s.stato {
        stato(v, &format!("{p}/stato_{suffix}"), st);
    }
    let italian = s.stato.as_deref().is_none_or(|st| st == "IT");
    if let Some(pi) = &s.partita_iva {
        let f = format!("{p}/partita_iva_{suffix}");
        v.token(&f, pi, 35);
        if italian && pi.parse::<PartitaIva>().is_err() {
            v.push(f, format!("{pi:?} is not a valid partita IVA"));
        }
    }
    if let Some(cf) = &s.codice_fiscale {
        let f = format!("{p}/codice_fiscale_{suffix}");
        v.token(&f, cf, 35);
        if italian && cf.parse::<AnyFiscalCode>().is_err() {
            v.push(f, format!("{cf:?} is not a valid codice fiscale"));
        }
    }
}

fn fatture(v: &mut V, p: &str, f: &[FatturaSiope]) {
    for (i, f) in f.iter().enumerate() {
        let fp = format!("{p}/fattura_siope[{}]", i + 1);
        match &f.documento {
            DocumentoSiope::Elettronico {
                identificativo_lotto_sdi,
            } => {
                if *identificativo_lotto_sdi == 0 || *identificativo_lotto_sdi > i64::MAX as u64 {
                    v.push(
                        format!("{fp}/identificativo_lotto_sdi_siope"),
                        "must be at least 1",
                    );
                }
            }
            DocumentoSiope::Analogico {
                codice_fiscale_emittente,
                anno_emissione,
                ..
            } => {
                v.len(
                    format_args!("{fp}/codice_fiscale_emittente_siope"),
                    codice_fiscale_emittente,
                    1,
                    30,
                );
                v.year(
                    format_args!("{fp}/anno_emissione_fattura_siope"),
                    *anno_emissione,
                    1980,
                );
            }
        }
        v.len(
            format_args!("{fp}/dati_fattura_siope/numero_fattura_siope"),
            &f.dati.numero_fattura,
            1,
            20,
        );
        if f.dati.importo.cents().unsigned_abs() > MAX_OPI_CENTS {
            v.push(
                format!("{fp}/dati_fattura_siope/importo_siope"),
                "has more than 15 digits",
            );
        }
    }
}

fn classificazione_uscita(v: &mut V, p: &str, c: &ClassificazioneUscita) {
    if let Some(cpv) = &c.codice_cpv {
        let b = cpv.as_bytes();
        let ok = b.len() == 10
            && b[..8].iter().all(u8::is_ascii_digit)
            && b[8] == b'-'
            && b[9].is_ascii_digit();
        if !ok {
            v.push(
                format!("{p}/codice_cpv"),
                format!("{cpv:?} is not 8 digits, '-', 1 digit"),
            );
        }
    }
    v.amount(format_args!("{p}/importo"), c.importo);
    let dp = format!("{p}/classificazione_dati_siope_uscite");
    if c.dati_siope.debiti.is_empty() {
        v.push(&dp, "needs at least one tipo_debito_siope entry");
    }
    for d in &c.dati_siope.debiti {
        match d {
            DebitoUscita::NonCommerciale {
                cig_fatture: Some((_, f)),
                ..
            }
            | DebitoUscita::Commerciale { fatture: f, .. } => {
                if f.is_empty() {
                    v.push(
                        format!("{dp}/fattura_siope"),
                        "at least one invoice is required here",
                    );
                }
                fatture(v, &dp, f);
            }
            DebitoUscita::NonCommerciale {
                cig_fatture: None, ..
            } => {}
        }
    }
    if let Some(a) = &c.dati_siope.arconet {
        arconet_uscite(v, &format!("{dp}/dati_ARCONET_siope"), a);
    }
}

fn arconet_uscite(v: &mut V, p: &str, a: &ArconetUscite) {
    v.digits(
        format_args!("{p}/codice_missione_siope"),
        &a.codice_missione,
        1,
        30,
    );
    v.digits(
        format_args!("{p}/codice_programma_siope"),
        &a.codice_programma,
        1,
        30,
    );
    v.digits(
        format_args!("{p}/codice_economico_siope"),
        &a.codice_economico,
        1,
        30,
    );
    v.amount(
        format_args!("{p}/importo_codice_economico_siope"),
        a.importo_codice_economico,
    );
    v.digits(format_args!("{p}/codice_UE_siope"), &a.codice_ue, 1, 30);
    v.len(
        format_args!("{p}/cofog_siope/codice_cofog_siope"),
        &a.codice_cofog,
        1,
        usize::MAX,
    );
    v.amount(
        format_args!("{p}/cofog_siope/importo_cofog_siope"),
        a.importo_cofog,
    );
}

fn arconet_entrate(v: &mut V, p: &str, a: &ArconetEntrate) {
    v.digits(
        format_args!("{p}/codice_economico_siope"),
        &a.codice_economico,
        1,
        30,
    );
    v.amount(
        format_args!("{p}/importo_codice_economico_siope"),
        a.importo_codice_economico,
    );
    v.digits(format_args!("{p}/codice_UE_siope"), &a.codice_ue, 1, 30);
}

fn reversale(v: &mut V, r: &Reversale) {
    v.range_u32("numero_reversale", r.numero_reversale, 1, MAX_NUM7);
    v.amount("importo_reversale", r.importo_reversale);
    if let Some(c) = &r.conto_evidenza {
        v.len("conto_evidenza", c, 1, 25);
    }
    bilanci(v, &r.bilancio);
    if r.informazioni_versante.is_empty() {
        v.push(
            "informazioni_versante",
            "a reversale has at least one payer",
        );
    }
    let mut sum = Some(0u64);
    let mut seen = std::collections::BTreeSet::new();
    for (i, b) in r.informazioni_versante.iter().enumerate() {
        let p = format!("informazioni_versante[{}]", i + 1);
        sum = sum.and_then(|s| s.checked_add(b.importo_versante.cents()));
        if !seen.insert(b.progressivo_versante) {
            v.push(
                format!("{p}/progressivo_versante"),
                format!(
                    "progressivo {} is used by another payer of this reversale",
                    b.progressivo_versante
                ),
            );
        }
        versante(v, &p, b, r.tipo_operazione);
    }
    if !r.informazioni_versante.is_empty() && sum != Some(r.importo_reversale.cents()) {
        v.push(
            "importo_reversale",
            format!(
                "is {} but the payers' amounts add up to {}",
                r.importo_reversale,
                sum.map_or_else(
                    || "more than the maximum".to_owned(),
                    |s| Amount::from_cents(s).to_string()
                )
            ),
        );
    }
    if let Some(DatiEnteReversale::Miur(mi)) = &r.dati_a_disposizione_ente {
        let p = "dati_a_disposizione_ente_reversale_MIUR";
        v.range_u32(
            format_args!("{p}/aggregato"),
            u32::from(mi.aggregato),
            1,
            99,
        );
        v.range_u32(format_args!("{p}/voce"), u32::from(mi.voce), 1, 99);
        if let Some(s) = mi.sottovoce {
            v.range_u32(format_args!("{p}/sottovoce"), u32::from(s), 1, 99);
        }
        v.year(
            format_args!("{p}/anno_provenienza"),
            mi.anno_provenienza,
            1980,
        );
        v.digits(
            format_args!("{p}/numero_accertamento"),
            &mi.numero_accertamento,
            6,
            6,
        );
    }
}

fn versante(v: &mut V, p: &str, b: &InformazioniVersante, op: TipoOperazione) {
    v.range_u32(
        format_args!("{p}/progressivo_versante"),
        b.progressivo_versante,
        1,
        MAX_NUM7,
    );
    v.amount(format_args!("{p}/importo_versante"), b.importo_versante);
    if b.numero_ccp.is_some() && b.tipo_riscossione != TipoRiscossione::PrelievoDaCcPostale {
        v.push(
            format!("{p}/numero_ccp"),
            format!(
                "is used with tipo_riscossione PRELIEVO DA CC POSTALE, not {}",
                b.tipo_riscossione
            ),
        );
    }
    let mut sum = Some(0u64);
    for (i, c) in b.classificazione.iter().enumerate() {
        let cp = format!("{p}/classificazione[{}]", i + 1);
        sum = sum.and_then(|s| s.checked_add(c.importo.cents()));
        classificazione_entrata(v, &cp, c);
    }
    if !b.classificazione.is_empty() && sum != Some(b.importo_versante.cents()) {
        v.push(
            format!("{p}/classificazione"),
            format!(
                "amounts add up to {} but importo_versante is {}",
                sum.map_or_else(
                    || "more than the maximum".to_owned(),
                    |s| Amount::from_cents(s).to_string()
                ),
                b.importo_versante
            ),
        );
    }
    soggetto(v, &format!("{p}/versante"), "versante", &b.versante);
    v.not_blank(format_args!("{p}/causale"), &b.causale);
    sospesi(v, p, &b.sospeso);
    if b.tipo_riscossione == TipoRiscossione::Regolarizzazione {
        // A regularisation covers provvisori: it names them, for its whole amount.
        let covered = b
            .sospeso
            .iter()
            .map(|s| s.importo_provvisorio.cents())
            .fold(0u64, u64::saturating_add);
        if b.sospeso.is_empty() {
            v.push(
                format!("{p}/sospeso"),
                "tipo_riscossione REGOLARIZZAZIONE names the provvisori it covers (at least one sospeso)",
            );
        } else if covered != b.importo_versante.cents() {
            v.push(
                format!("{p}/sospeso"),
                format!(
                    "the provvisori add up to {} but importo_versante is {}",
                    Amount::from_cents(covered),
                    b.importo_versante
                ),
            );
        }
    }
    if b.mandato_associato.len() > 100 {
        v.push(format!("{p}/mandato_associato"), "at most 100 entries");
    }
    for (i, m) in b.mandato_associato.iter().enumerate() {
        let mp = format!("{p}/mandato_associato[{}]", i + 1);
        v.range_u32(
            format_args!("{mp}/numero_mandato"),
            m.numero_mandato,
            1,
            MAX_NUM7,
        );
        if let Some(pb) = m.progressivo_beneficiario {
            v.range_u32(
                format_args!("{mp}/progressivo_beneficiario"),
                pb,
                1,
                MAX_NUM7,
            );
        }
    }
    if let Some(InformazioniAggiuntive {
        avviso_pagopa: Some(_),
        ..
    }) = &b.informazioni_aggiuntive
    {
        v.push(
            format!("{p}/informazioni_aggiuntive/avviso_pagoPA"),
            "a reversale carries no pagoPA notice",
        );
    }
    sostituzione(
        v,
        &format!("{p}/sostituzione_reversale"),
        b.sostituzione_reversale.as_ref(),
        op,
    );
}

fn classificazione_entrata(v: &mut V, p: &str, c: &ClassificazioneEntrata) {
    v.amount(format_args!("{p}/importo"), c.importo);
    let dp = format!("{p}/classificazione_dati_siope_entrate");
    match &c.dati_siope.debito {
        DebitoEntrata::NonCommerciale { fatture: f, .. } => fatture(v, &dp, f),
        DebitoEntrata::Commerciale { fatture: f } => {
            if f.is_empty() {
                v.push(
                    format!("{dp}/fattura_siope"),
                    "at least one invoice is required with COMMERCIALE",
                );
            }
            fatture(v, &dp, f);
        }
    }
    if let Some(a) = &c.dati_siope.arconet {
        arconet_entrate(v, &format!("{dp}/dati_ARCONET_siope"), a);
    }
}

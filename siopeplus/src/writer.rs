//! Streaming writer of `flusso_ordinativi`: the header first, then one order at a time, each
//! validated before a byte of it is written. Memory does not grow with the number of orders.

use std::io::Write;

use chrono::{NaiveDate, NaiveDateTime};
use pa_types::Amount;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::error::{Error, ValidationError, ValidationErrors};
use crate::model::{
    Bilancio, Bollo, CategoryPurpose, CigOEsclusione, ClassificazioneEntrata,
    ClassificazioneUscita, DatiEnteMandato, DatiEnteReversale, DebitoEntrata, DebitoUscita,
    DocumentoSiope, FatturaSiope, FlussoOrdinativi, InformazioniAggiuntive,
    InformazioniBeneficiario, InformazioniVersante, Mandato, OrderRef, Ordinativo, Reversale,
    Soggetto, Sospeso, Sostituzione, TestataFlusso,
};
use crate::validate::{FlowValidator, validate_testata};

/// Options of the writer.
#[derive(Debug, Clone, Default)]
pub struct WriterOptions {
    /// The `Id` attribute of the root element.
    pub id: Option<String>,
    /// Indent the output (two spaces) for people to read.
    pub indent: bool,
}

/// Writes a flow order by order.
///
/// ```
/// # use siopeplus::*;
/// # fn demo(testata: &TestataFlusso, mandati: impl Iterator<Item = Mandato>) -> Result<(), Error> {
/// let mut w = FlowWriter::new(Vec::new(), testata, 2026, WriterOptions::default())?;
/// for m in mandati {
///     w.write_mandato(&m)?;
/// }
/// let xml: Vec<u8> = w.finish()?;
/// # Ok(()) }
/// ```
pub struct FlowWriter<W: Write> {
    w: Writer<W>,
    validator: FlowValidator,
    orders: u64,
    cur: OrderRef,
}

impl<W: Write> std::fmt::Debug for FlowWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowWriter")
            .field("orders", &self.orders)
            .finish_non_exhaustive()
    }
}

type R = Result<(), Error>;

impl<W: Write> FlowWriter<W> {
    /// Validates the header and writes it, with the XML declaration and the root start tag.
    ///
    /// # Errors
    /// [`Error::Validation`] when the header breaks a rule, [`Error::Io`] when writing fails.
    pub fn new(
        out: W,
        testata: &TestataFlusso,
        esercizio: u16,
        opts: WriterOptions,
    ) -> Result<Self, Error> {
        validate_testata(testata, esercizio)?;
        let w = if opts.indent {
            Writer::new_with_indent(out, b' ', 2)
        } else {
            Writer::new(out)
        };
        let mut fw = FlowWriter {
            w,
            validator: FlowValidator::new(),
            orders: 0,
            cur: OrderRef::Flusso,
        };
        fw.w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let mut root = BytesStart::new("flusso_ordinativi");
        if let Some(id) = &opts.id {
            fw.check_text("flusso_ordinativi/@Id", id)?;
            root.push_attribute(("Id", id.as_str()));
        }
        fw.w.write_event(Event::Start(root))?;
        fw.testata(testata)?;
        fw.el("esercizio", &esercizio.to_string())?;
        Ok(fw)
    }

    /// How many orders were written.
    #[must_use]
    pub fn orders_written(&self) -> u64 {
        self.orders
    }

    /// Validates and writes one order.
    ///
    /// # Errors
    /// As [`FlowWriter::write_mandato`] and [`FlowWriter::write_reversale`].
    pub fn write(&mut self, o: &Ordinativo) -> R {
        match o {
            Ordinativo::Mandato(m) => self.write_mandato(m),
            Ordinativo::Reversale(r) => self.write_reversale(r),
        }
    }

    /// Validates and writes a mandato. When it breaks a rule nothing is written and the
    /// writer can go on with the next order.
    ///
    /// # Errors
    /// [`Error::Validation`] naming the order and field, [`Error::Io`].
    pub fn write_mandato(&mut self, m: &Mandato) -> R {
        self.validator.check_mandato(m)?;
        self.cur = OrderRef::Mandato(m.numero_mandato);
        self.check_mandato_text(m)?;
        self.mandato(m)?;
        self.orders += 1;
        Ok(())
    }

    /// Validates and writes a reversale. When it breaks a rule nothing is written.
    ///
    /// # Errors
    /// [`Error::Validation`] naming the order and field, [`Error::Io`].
    pub fn write_reversale(&mut self, r: &Reversale) -> R {
        self.validator.check_reversale(r)?;
        self.cur = OrderRef::Reversale(r.numero_reversale);
        self.check_reversale_text(r)?;
        self.reversale(r)?;
        self.orders += 1;
        Ok(())
    }

    /// Closes the root element and returns the output.
    ///
    /// # Errors
    /// [`Error::Validation`] when no order was written (the schema requires one).
    pub fn finish(mut self) -> Result<W, Error> {
        if self.orders == 0 {
            return Err(ValidationErrors(vec![ValidationError {
                order: OrderRef::Flusso,
                field: "mandato|reversale".into(),
                problem: "a flow holds at least one order".into(),
            }])
            .into());
        }
        self.w
            .write_event(Event::End(BytesEnd::new("flusso_ordinativi")))?;
        let mut out = self.w.into_inner();
        out.flush()?;
        Ok(out)
    }

    // ---- text checks -------------------------------------------------------------------

    fn check_text(&self, field: &str, s: &str) -> R {
        if let Some(c) = s.chars().find(|&c| !is_xml_char(c)) {
            return Err(ValidationErrors(vec![ValidationError {
                order: self.cur,
                field: field.to_owned(),
                problem: format!("character U+{:04X} cannot appear in XML", c as u32),
            }])
            .into());
        }
        Ok(())
    }

    fn check_mandato_text(&self, m: &Mandato) -> R {
        // Free strings are checked when written; checking first keeps the output untouched on error.
        let mut strings: Vec<(&str, &str)> = Vec::new();
        for s in [
            &m.conto_evidenza,
            &m.estremi_provvedimento_autorizzativo,
            &m.responsabile_provvedimento,
            &m.ufficio_responsabile,
        ]
        .into_iter()
        .flatten()
        {
            strings.push(("mandato", s));
        }
        for b in &m.bilancio {
            if let Some(d) = &b.descrizione_codifica {
                strings.push(("bilancio/descrizione_codifica", d));
            }
        }
        if let Some(f) = &m.funzionario_delegato {
            strings.push((
                "funzionario_delegato",
                &f.tipologia_pagamento_funzionario_delegato,
            ));
            strings.push((
                "funzionario_delegato",
                &f.numero_pagamento_funzionario_delegato,
            ));
        }
        for b in &m.informazioni_beneficiario {
            strings.push(("informazioni_beneficiario/causale", &b.causale));
            soggetto_strings(
                &mut strings,
                "informazioni_beneficiario/beneficiario",
                &b.beneficiario,
            );
            if let Some(c) = &b.creditore_effettivo {
                soggetto_strings(
                    &mut strings,
                    "informazioni_beneficiario/creditore_effettivo",
                    c,
                );
            }
            for d in &b.delegato {
                strings.push(("informazioni_beneficiario/delegato", &d.anagrafica));
                strings.push(("informazioni_beneficiario/delegato", &d.codice_fiscale));
                for s in [&d.indirizzo, &d.cap, &d.localita, &d.provincia]
                    .into_iter()
                    .flatten()
                {
                    strings.push(("informazioni_beneficiario/delegato", s));
                }
            }
            if let Some(c) = &b.bollo.causale_esenzione_bollo {
                strings.push(("informazioni_beneficiario/bollo", c));
            }
            if let Some(s) = &b.spese {
                for x in [&s.natura_pagamento, &s.causale_esenzione_spese]
                    .into_iter()
                    .flatten()
                {
                    strings.push(("informazioni_beneficiario/spese", x));
                }
            }
            if let Some(s) = &b.sepa_credit_transfer {
                if let Some(e) = &s.identificativo_end_to_end {
                    strings.push(("informazioni_beneficiario/sepa_credit_transfer", e));
                }
                if let Some(CategoryPurpose::Proprietary(p)) = &s.category_purpose {
                    strings.push(("informazioni_beneficiario/sepa_credit_transfer", p));
                }
            }
            if let Some(r) = b
                .informazioni_aggiuntive
                .as_ref()
                .and_then(|i| i.riferimento_documento_esterno.as_ref())
            {
                strings.push(("informazioni_beneficiario/informazioni_aggiuntive", r));
            }
            for c in &b.classificazione {
                for d in &c.dati_siope.debiti {
                    if let DebitoUscita::NonCommerciale {
                        cig_fatture: Some((_, f)),
                        ..
                    }
                    | DebitoUscita::Commerciale { fatture: f, .. } = d
                    {
                        fattura_strings(&mut strings, f);
                    }
                }
                if let Some(a) = &c.dati_siope.arconet {
                    strings.push(("classificazione/dati_ARCONET_siope", &a.codice_cofog));
                }
            }
        }
        if let Some(DatiEnteMandato::Miur(mi)) = &m.dati_a_disposizione_ente {
            strings.push((
                "dati_a_disposizione_ente_mandato_MIUR",
                &mi.descrizione_aggregato,
            ));
            strings.push((
                "dati_a_disposizione_ente_mandato_MIUR",
                &mi.descrizione_voce,
            ));
        }
        for (f, s) in strings {
            self.check_text(f, s)?;
        }
        Ok(())
    }

    fn check_reversale_text(&self, r: &Reversale) -> R {
        let mut strings: Vec<(&str, &str)> = Vec::new();
        if let Some(c) = &r.conto_evidenza {
            strings.push(("conto_evidenza", c));
        }
        for b in &r.bilancio {
            if let Some(d) = &b.descrizione_codifica {
                strings.push(("bilancio/descrizione_codifica", d));
            }
        }
        for b in &r.informazioni_versante {
            strings.push(("informazioni_versante/causale", &b.causale));
            soggetto_strings(&mut strings, "informazioni_versante/versante", &b.versante);
            if let Some(c) = &b.bollo.causale_esenzione_bollo {
                strings.push(("informazioni_versante/bollo", c));
            }
            if let Some(x) = b
                .informazioni_aggiuntive
                .as_ref()
                .and_then(|i| i.riferimento_documento_esterno.as_ref())
            {
                strings.push(("informazioni_versante/informazioni_aggiuntive", x));
            }
            for c in &b.classificazione {
                match &c.dati_siope.debito {
                    DebitoEntrata::NonCommerciale { fatture, .. }
                    | DebitoEntrata::Commerciale { fatture } => {
                        fattura_strings(&mut strings, fatture);
                    }
                }
            }
        }
        if let Some(DatiEnteReversale::Miur(mi)) = &r.dati_a_disposizione_ente {
            strings.push((
                "dati_a_disposizione_ente_reversale_MIUR",
                &mi.descrizione_aggregato,
            ));
            strings.push((
                "dati_a_disposizione_ente_reversale_MIUR",
                &mi.descrizione_voce,
            ));
            if let Some(d) = &mi.descrizione_sottovoce {
                strings.push(("dati_a_disposizione_ente_reversale_MIUR", d));
            }
        }
        for (f, s) in strings {
            self.check_text(f, s)?;
        }
        Ok(())
    }

    // ---- primitives ----------------------------------------------------------------------

    fn start(&mut self, name: &str) -> R {
        self.w.write_event(Event::Start(BytesStart::new(name)))?;
        Ok(())
    }

    fn end(&mut self, name: &str) -> R {
        self.w.write_event(Event::End(BytesEnd::new(name)))?;
        Ok(())
    }

    fn el(&mut self, name: &str, text: &str) -> R {
        self.w.write_event(Event::Start(BytesStart::new(name)))?;
        self.w.write_event(Event::Text(BytesText::new(text)))?;
        self.w.write_event(Event::End(BytesEnd::new(name)))?;
        Ok(())
    }

    fn opt(&mut self, name: &str, text: Option<&str>) -> R {
        match text {
            Some(t) => self.el(name, t),
            None => Ok(()),
        }
    }

    fn num(&mut self, name: &str, n: impl itoa_like::Num) -> R {
        let mut buf = [0u8; 24];
        let s = n.fmt_into(&mut buf);
        self.el(name, s)
    }

    fn amount(&mut self, name: &str, a: Amount) -> R {
        let c = a.cents();
        let mut buf = [0u8; 24];
        let s = itoa_like::cents(c, &mut buf);
        self.el(name, s)
    }

    fn date(&mut self, name: &str, d: NaiveDate) -> R {
        let mut buf = [0u8; 19];
        let s = itoa_like::date_time(d.and_time(chrono::NaiveTime::MIN), &mut buf, false);
        self.el(name, s)
    }

    fn datetime(&mut self, name: &str, d: NaiveDateTime) -> R {
        let mut buf = [0u8; 19];
        let s = itoa_like::date_time(d, &mut buf, true);
        self.el(name, s)
    }

    fn raw(&mut self, name: &str, xml: &str) -> R {
        self.start(name)?;
        self.w
            .write_event(Event::Text(BytesText::from_escaped(xml)))?;
        self.end(name)
    }

    // ---- structures ----------------------------------------------------------------------

    fn testata(&mut self, t: &TestataFlusso) -> R {
        self.cur = OrderRef::Flusso;
        self.check_text("testata_flusso/descrizione_ente", &t.descrizione_ente)?;
        self.check_text("testata_flusso/codice_ente_BT", &t.codice_ente_bt)?;
        if let Some(r) = &t.riferimento_ente {
            self.check_text("testata_flusso/riferimento_ente", r)?;
        }
        self.start("testata_flusso")?;
        self.el("codice_ABI_BT", t.codice_abi_bt.as_str())?;
        self.el("identificativo_flusso", t.identificativo_flusso.as_str())?;
        self.datetime("data_ora_creazione_flusso", t.data_ora_creazione_flusso)?;
        self.el("codice_ente", t.codice_ente.as_str())?;
        self.el("descrizione_ente", &t.descrizione_ente)?;
        self.el("codice_istat_ente", t.codice_istat_ente.as_str())?;
        self.el("codice_fiscale_ente", &t.codice_fiscale_ente)?;
        self.el("codice_tramite_ente", t.codice_tramite_ente.as_str())?;
        self.el("codice_tramite_BT", t.codice_tramite_bt.as_str())?;
        self.el("codice_ente_BT", &t.codice_ente_bt)?;
        self.opt("riferimento_ente", t.riferimento_ente.as_deref())?;
        self.end("testata_flusso")
    }

    fn bilancio(&mut self, b: &Bilancio) -> R {
        self.start("bilancio")?;
        self.num("codifica_bilancio", b.codifica_bilancio)?;
        self.opt("descrizione_codifica", b.descrizione_codifica.as_deref())?;
        self.el("gestione", b.gestione.as_str())?;
        if let Some(y) = b.anno_residuo {
            self.num("anno_residuo", y)?;
        }
        if let Some(n) = b.numero_articolo {
            self.num("numero_articolo", n)?;
        }
        if let Some(n) = b.voce_economica {
            self.num("voce_economica", n)?;
        }
        self.amount("importo_bilancio", b.importo_bilancio)?;
        self.end("bilancio")
    }

    fn mandato(&mut self, m: &Mandato) -> R {
        self.start("mandato")?;
        self.el("tipo_operazione", m.tipo_operazione.as_str())?;
        self.num("numero_mandato", m.numero_mandato)?;
        self.date("data_mandato", m.data_mandato)?;
        self.amount("importo_mandato", m.importo_mandato)?;
        self.opt("conto_evidenza", m.conto_evidenza.as_deref())?;
        self.opt(
            "estremi_provvedimento_autorizzativo",
            m.estremi_provvedimento_autorizzativo.as_deref(),
        )?;
        self.opt(
            "responsabile_provvedimento",
            m.responsabile_provvedimento.as_deref(),
        )?;
        self.opt("ufficio_responsabile", m.ufficio_responsabile.as_deref())?;
        for b in &m.bilancio {
            self.bilancio(b)?;
        }
        if let Some(f) = &m.funzionario_delegato {
            self.start("funzionario_delegato")?;
            self.el(
                "codice_funzionario_delegato",
                &f.codice_funzionario_delegato,
            )?;
            self.amount(
                "importo_funzionario_delegato",
                f.importo_funzionario_delegato,
            )?;
            self.el(
                "tipologia_pagamento_funzionario_delegato",
                &f.tipologia_pagamento_funzionario_delegato,
            )?;
            self.el(
                "numero_pagamento_funzionario_delegato",
                &f.numero_pagamento_funzionario_delegato,
            )?;
            self.end("funzionario_delegato")?;
        }
        for b in &m.informazioni_beneficiario {
            self.beneficiario(b)?;
        }
        match &m.dati_a_disposizione_ente {
            None => {}
            Some(DatiEnteMandato::Libero(x)) => {
                self.raw("dati_a_disposizione_ente_mandato", x.as_str())?
            }
            Some(DatiEnteMandato::Miur(mi)) => {
                self.start("dati_a_disposizione_ente_mandato_MIUR")?;
                let mut b = [0u8; 4];
                self.el("aggregato", mi.aggregato.encode_utf8(&mut b))?;
                self.el("descrizione_aggregato", &mi.descrizione_aggregato)?;
                self.num("voce", mi.voce)?;
                self.el("descrizione_voce", &mi.descrizione_voce)?;
                self.num("anno_provenienza", mi.anno_provenienza)?;
                self.el("numero_impegno", &mi.numero_impegno)?;
                self.end("dati_a_disposizione_ente_mandato_MIUR")?;
            }
        }
        self.end("mandato")
    }

    fn beneficiario(&mut self, b: &InformazioniBeneficiario) -> R {
        self.start("informazioni_beneficiario")?;
        self.num("progressivo_beneficiario", b.progressivo_beneficiario)?;
        self.amount("importo_beneficiario", b.importo_beneficiario)?;
        self.el("tipo_pagamento", b.tipo_pagamento.as_str())?;
        if b.impignorabili {
            self.el("impignorabili", "SI")?;
        }
        if b.non_frazionabile {
            self.el("frazionabile", "NO")?;
        }
        if b.gestione_provvisoria {
            self.el("gestione_provvisoria", "SI")?;
        }
        if let Some(d) = b.data_esecuzione_pagamento {
            self.date("data_esecuzione_pagamento", d)?;
        }
        if let Some(d) = b.data_scadenza_pagamento {
            self.date("data_scadenza_pagamento", d)?;
        }
        self.opt("destinazione", b.destinazione.map(|d| d.as_str()))?;
        self.opt(
            "tipo_contabilita_ente_ricevente",
            b.tipo_contabilita_ente_ricevente.map(|d| d.as_str()),
        )?;
        self.opt(
            "tipo_postalizzazione",
            b.tipo_postalizzazione.map(|d| d.as_str()),
        )?;
        for c in &b.classificazione {
            self.classificazione_uscita(c)?;
        }
        self.bollo(&b.bollo, |a| a.as_str())?;
        if let Some(s) = &b.spese {
            self.start("spese")?;
            self.el(
                "soggetto_destinatario_delle_spese",
                s.soggetto_destinatario.as_str(),
            )?;
            self.opt("natura_pagamento", s.natura_pagamento.as_deref())?;
            self.opt(
                "causale_esenzione_spese",
                s.causale_esenzione_spese.as_deref(),
            )?;
            self.end("spese")?;
        }
        self.soggetto("beneficiario", &BENEFICIARIO, &b.beneficiario)?;
        for d in &b.delegato {
            self.start("delegato")?;
            self.el("anagrafica_delegato", &d.anagrafica)?;
            self.opt("indirizzo_delegato", d.indirizzo.as_deref())?;
            self.opt("cap_delegato", d.cap.as_deref())?;
            self.opt("localita_delegato", d.localita.as_deref())?;
            self.opt("provincia_delegato", d.provincia.as_deref())?;
            self.opt("stato_delegato", d.stato.as_deref())?;
            self.el("codice_fiscale_delegato", &d.codice_fiscale)?;
            self.end("delegato")?;
        }
        if let Some(c) = &b.creditore_effettivo {
            self.soggetto("creditore_effettivo", &CREDITORE, c)?;
        }
        if let Some(p) = &b.piazzatura {
            self.start("piazzatura")?;
            self.el("numero_conto_corrente_beneficiario", p)?;
            self.end("piazzatura")?;
        }
        if let Some(s) = &b.sepa_credit_transfer {
            self.start("sepa_credit_transfer")?;
            self.el("iban", s.iban.as_str())?;
            self.opt("bic", s.bic.as_deref())?;
            self.opt(
                "identificativo_end_to_end",
                s.identificativo_end_to_end.as_deref(),
            )?;
            if let Some(cp) = &s.category_purpose {
                self.start("identificativo_category_purpose")?;
                match cp {
                    CategoryPurpose::Code(c) => self.el("code", c.as_str())?,
                    CategoryPurpose::Proprietary(p) => self.el("proprietary", p)?,
                }
                self.end("identificativo_category_purpose")?;
            }
            self.end("sepa_credit_transfer")?;
        }
        self.opt("codice_versante", b.codice_versante.as_deref())?;
        self.el("causale", &b.causale)?;
        self.sospesi(&b.sospeso)?;
        for r in &b.ritenute {
            self.start("ritenute")?;
            self.amount("importo_ritenute", r.importo_ritenute)?;
            self.num("numero_reversale", r.numero_reversale)?;
            self.num("progressivo_versante", r.progressivo_versante)?;
            self.end("ritenute")?;
        }
        if let Some(i) = &b.informazioni_aggiuntive {
            self.informazioni_aggiuntive(i)?;
        }
        if let Some(s) = &b.sostituzione_mandato {
            self.sostituzione(
                "sostituzione_mandato",
                [
                    "numero_mandato_da_sostituire",
                    "progressivo_beneficiario_da_sostituire",
                    "esercizio_mandato_da_sostituire",
                ],
                s,
            )?;
        }
        if let Some(x) = &b.dati_a_disposizione_ente_beneficiario {
            self.raw("dati_a_disposizione_ente_beneficiario", x.as_str())?;
        }
        self.end("informazioni_beneficiario")
    }

    fn bollo<A: Copy>(&mut self, b: &Bollo<A>, s: impl Fn(A) -> &'static str) -> R {
        self.start("bollo")?;
        self.el("assoggettamento_bollo", s(b.assoggettamento_bollo))?;
        self.opt(
            "causale_esenzione_bollo",
            b.causale_esenzione_bollo.as_deref(),
        )?;
        self.end("bollo")
    }

    fn sospesi(&mut self, s: &[Sospeso]) -> R {
        for s in s {
            self.start("sospeso")?;
            self.num("numero_provvisorio", s.numero_provvisorio)?;
            self.amount("importo_provvisorio", s.importo_provvisorio)?;
            self.end("sospeso")?;
        }
        Ok(())
    }

    fn informazioni_aggiuntive(&mut self, i: &InformazioniAggiuntive) -> R {
        self.start("informazioni_aggiuntive")?;
        self.opt("lingua", i.lingua.map(|l| l.as_str()))?;
        self.opt(
            "riferimento_documento_esterno",
            i.riferimento_documento_esterno.as_deref(),
        )?;
        if let Some(a) = &i.avviso_pagopa {
            self.start("avviso_pagoPA")?;
            self.num("codice_identificativo_ente", a.codice_identificativo_ente)?;
            self.num("numero_avviso", a.numero_avviso)?;
            self.end("avviso_pagoPA")?;
        }
        self.end("informazioni_aggiuntive")
    }

    fn sostituzione(&mut self, name: &str, n: [&str; 3], s: &Sostituzione) -> R {
        self.start(name)?;
        self.num(n[0], s.numero_da_sostituire)?;
        self.num(n[1], s.progressivo_da_sostituire)?;
        self.num(n[2], s.esercizio_da_sostituire)?;
        self.end(name)
    }

    fn soggetto(&mut self, name: &str, n: &SoggettoNames, s: &Soggetto) -> R {
        self.start(name)?;
        self.el(n.0[0], &s.anagrafica)?;
        self.opt(n.0[1], s.indirizzo.as_deref())?;
        self.opt(n.0[2], s.cap.as_deref())?;
        self.opt(n.0[3], s.localita.as_deref())?;
        self.opt(n.0[4], s.provincia.as_deref())?;
        self.opt(n.0[5], s.stato.as_deref())?;
        self.opt(n.0[6], s.partita_iva.as_deref())?;
        self.opt(n.0[7], s.codice_fiscale.as_deref())?;
        self.end(name)
    }

    fn fatture(&mut self, f: &[FatturaSiope]) -> R {
        for f in f {
            self.start("fattura_siope")?;
            self.el("codice_ipa_ente_siope", f.codice_ipa_ente_siope.as_str())?;
            match &f.documento {
                DocumentoSiope::Elettronico {
                    identificativo_lotto_sdi,
                } => {
                    self.el("tipo_documento_siope_e", "ELETTRONICO")?;
                    self.num("identificativo_lotto_sdi_siope", *identificativo_lotto_sdi)?;
                }
                DocumentoSiope::Analogico {
                    tipo,
                    codice_fiscale_emittente,
                    anno_emissione,
                } => {
                    self.el("tipo_documento_siope_a", "ANALOGICO")?;
                    self.el("tipo_documento_analogico_siope", tipo.as_str())?;
                    self.el("codice_fiscale_emittente_siope", codice_fiscale_emittente)?;
                    self.num("anno_emissione_fattura_siope", *anno_emissione)?;
                }
            }
            let d = &f.dati;
            self.start("dati_fattura_siope")?;
            self.el("numero_fattura_siope", &d.numero_fattura)?;
            self.el("importo_siope", &d.importo.to_string())?;
            self.date("data_scadenza_pagam_siope", d.data_scadenza_pagam)?;
            self.opt(
                "motivo_scadenza_siope",
                d.motivo_scadenza.map(|m| m.as_str()),
            )?;
            self.el("natura_spesa_siope", d.natura_spesa.as_str())?;
            self.opt(
                "utilizzo_nota_di_credito",
                d.utilizzo_nota_di_credito.map(|m| m.as_str()),
            )?;
            self.end("dati_fattura_siope")?;
            self.end("fattura_siope")?;
        }
        Ok(())
    }

    fn cig(&mut self, c: &CigOEsclusione) -> R {
        match c {
            CigOEsclusione::Cig(c) => self.el("codice_cig_siope", c.as_str()),
            CigOEsclusione::Esclusione(m) => self.el("motivo_esclusione_cig_siope", m.as_str()),
        }
    }

    fn classificazione_uscita(&mut self, c: &ClassificazioneUscita) -> R {
        self.start("classificazione")?;
        self.el("codice_cgu", c.codice_cgu.as_str())?;
        self.opt("codice_cup", c.codice_cup.as_ref().map(|c| c.as_str()))?;
        self.opt("codice_cpv", c.codice_cpv.as_deref())?;
        self.amount("importo", c.importo)?;
        self.start("classificazione_dati_siope_uscite")?;
        for d in &c.dati_siope.debiti {
            match d {
                DebitoUscita::NonCommerciale { tipo, cig_fatture } => {
                    self.el("tipo_debito_siope_nc", tipo.as_str())?;
                    if let Some((cig, f)) = cig_fatture {
                        self.cig(cig)?;
                        self.fatture(f)?;
                    }
                }
                DebitoUscita::Commerciale { cig, fatture } => {
                    self.el("tipo_debito_siope_c", "COMMERCIALE")?;
                    self.cig(cig)?;
                    self.fatture(fatture)?;
                }
            }
        }
        if let Some(a) = &c.dati_siope.arconet {
            self.start("dati_ARCONET_siope")?;
            self.el("codice_missione_siope", &a.codice_missione)?;
            self.el("codice_programma_siope", &a.codice_programma)?;
            self.el("codice_economico_siope", &a.codice_economico)?;
            self.amount("importo_codice_economico_siope", a.importo_codice_economico)?;
            self.el("codice_UE_siope", &a.codice_ue)?;
            self.opt("codice_uscita_siope", a.codice_uscita.map(|c| c.as_str()))?;
            self.start("cofog_siope")?;
            self.el("codice_cofog_siope", &a.codice_cofog)?;
            self.amount("importo_cofog_siope", a.importo_cofog)?;
            self.end("cofog_siope")?;
            self.end("dati_ARCONET_siope")?;
        }
        self.end("classificazione_dati_siope_uscite")?;
        self.end("classificazione")
    }

    fn classificazione_entrata(&mut self, c: &ClassificazioneEntrata) -> R {
        self.start("classificazione")?;
        self.el("codice_cge", c.codice_cge.as_str())?;
        self.opt("codice_cup", c.codice_cup.as_ref().map(|c| c.as_str()))?;
        self.amount("importo", c.importo)?;
        self.start("classificazione_dati_siope_entrate")?;
        match &c.dati_siope.debito {
            DebitoEntrata::NonCommerciale { tipo, fatture } => {
                self.el("tipo_debito_siope_nc", tipo.as_str())?;
                self.fatture(fatture)?;
            }
            DebitoEntrata::Commerciale { fatture } => {
                self.el("tipo_debito_siope_c", "COMMERCIALE")?;
                self.fatture(fatture)?;
            }
        }
        if let Some(a) = &c.dati_siope.arconet {
            self.start("dati_ARCONET_siope")?;
            self.el("codice_economico_siope", &a.codice_economico)?;
            self.amount("importo_codice_economico_siope", a.importo_codice_economico)?;
            self.el("codice_UE_siope", &a.codice_ue)?;
            self.opt("codice_entrata_siope", a.codice_entrata.map(|c| c.as_str()))?;
            self.end("dati_ARCONET_siope")?;
        }
        self.end("classificazione_dati_siope_entrate")?;
        self.end("classificazione")
    }

    fn reversale(&mut self, r: &Reversale) -> R {
        self.start("reversale")?;
        self.el("tipo_operazione", r.tipo_operazione.as_str())?;
        self.num("numero_reversale", r.numero_reversale)?;
        self.date("data_reversale", r.data_reversale)?;
        self.amount("importo_reversale", r.importo_reversale)?;
        self.opt("conto_evidenza", r.conto_evidenza.as_deref())?;
        for b in &r.bilancio {
            self.bilancio(b)?;
        }
        for v in &r.informazioni_versante {
            self.versante(v)?;
        }
        match &r.dati_a_disposizione_ente {
            None => {}
            Some(DatiEnteReversale::Libero(x)) => {
                self.raw("dati_a_disposizione_ente_reversale", x.as_str())?
            }
            Some(DatiEnteReversale::Miur(mi)) => {
                self.start("dati_a_disposizione_ente_reversale_MIUR")?;
                self.num("aggregato", mi.aggregato)?;
                self.el("descrizione_aggregato", &mi.descrizione_aggregato)?;
                self.num("voce", mi.voce)?;
                self.el("descrizione_voce", &mi.descrizione_voce)?;
                if let Some(s) = mi.sottovoce {
                    self.num("sottovoce", s)?;
                }
                self.opt("descrizione_sottovoce", mi.descrizione_sottovoce.as_deref())?;
                self.num("anno_provenienza", mi.anno_provenienza)?;
                self.el("numero_accertamento", &mi.numero_accertamento)?;
                self.end("dati_a_disposizione_ente_reversale_MIUR")?;
            }
        }
        self.end("reversale")
    }

    fn versante(&mut self, v: &InformazioniVersante) -> R {
        self.start("informazioni_versante")?;
        self.num("progressivo_versante", v.progressivo_versante)?;
        self.amount("importo_versante", v.importo_versante)?;
        self.el("tipo_riscossione", v.tipo_riscossione.as_str())?;
        if let Some(n) = v.numero_ccp {
            self.num("numero_ccp", n)?;
        }
        self.opt("tipo_entrata", v.tipo_entrata.map(|t| t.as_str()))?;
        self.opt("destinazione", v.destinazione.map(|t| t.as_str()))?;
        for c in &v.classificazione {
            self.classificazione_entrata(c)?;
        }
        self.bollo(&v.bollo, |a| a.as_str())?;
        self.soggetto("versante", &VERSANTE, &v.versante)?;
        self.el("causale", &v.causale)?;
        self.sospesi(&v.sospeso)?;
        for m in &v.mandato_associato {
            self.start("mandato_associato")?;
            self.num("numero_mandato", m.numero_mandato)?;
            if let Some(p) = m.progressivo_beneficiario {
                self.num("progressivo_beneficiario", p)?;
            }
            self.end("mandato_associato")?;
        }
        if let Some(i) = &v.informazioni_aggiuntive {
            self.informazioni_aggiuntive(i)?;
        }
        if let Some(s) = &v.sostituzione_reversale {
            self.sostituzione(
                "sostituzione_reversale",
                [
                    "numero_reversale_da_sostituire",
                    "progressivo_versante_da_sostituire",
                    "esercizio_reversale_da_sostituire",
                ],
                s,
            )?;
        }
        if let Some(x) = &v.dati_a_disposizione_ente_versante {
            self.raw("dati_a_disposizione_ente_versante", x.as_str())?;
        }
        self.end("informazioni_versante")
    }
}

pub(crate) struct SoggettoNames(pub(crate) [&'static str; 8]);

pub(crate) const BENEFICIARIO: SoggettoNames = SoggettoNames([
    "anagrafica_beneficiario",
    "indirizzo_beneficiario",
    "cap_beneficiario",
    "localita_beneficiario",
    "provincia_beneficiario",
    "stato_beneficiario",
    "partita_iva_beneficiario",
    "codice_fiscale_beneficiario",
]);
pub(crate) const VERSANTE: SoggettoNames = SoggettoNames([
    "anagrafica_versante",
    "indirizzo_versante",
    "cap_versante",
    "localita_versante",
    "provincia_versante",
    "stato_versante",
    "partita_iva_versante",
    "codice_fiscale_versante",
]);
pub(crate) const CREDITORE: SoggettoNames = SoggettoNames([
    "anagrafica_creditore_effettivo",
    "indirizzo_creditore_effettivo",
    "cap_creditore_effettivo",
    "localita_creditore_effettivo",
    "provincia_creditore_effettivo",
    "stato_creditore_effettivo",
    "partita_iva_creditore_effettivo",
    "codice_fiscale_creditore_effettivo",
]);

fn soggetto_strings<'a>(v: &mut Vec<(&'static str, &'a str)>, f: &'static str, s: &'a Soggetto) {
    v.push((f, &s.anagrafica));
    for x in [
        &s.indirizzo,
        &s.cap,
        &s.localita,
        &s.provincia,
        &s.partita_iva,
        &s.codice_fiscale,
    ]
    .into_iter()
    .flatten()
    {
        v.push((f, x));
    }
}

fn fattura_strings<'a>(v: &mut Vec<(&'static str, &'a str)>, f: &'a [FatturaSiope]) {
    for f in f {
        v.push(("fattura_siope/numero_fattura_siope", &f.dati.numero_fattura));
        if let DocumentoSiope::Analogico {
            codice_fiscale_emittente,
            ..
        } = &f.documento
        {
            v.push((
                "fattura_siope/codice_fiscale_emittente_siope",
                codice_fiscale_emittente,
            ));
        }
    }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Writes a whole flow held in memory.
///
/// # Errors
/// [`Error::Validation`] with the first order that breaks a rule (use
/// [`crate::validate_flow`] for all findings), [`Error::Io`].
pub fn write_flow<W: Write>(f: &FlussoOrdinativi, out: W, indent: bool) -> Result<W, Error> {
    let opts = WriterOptions {
        id: f.id.clone(),
        indent,
    };
    let mut w = FlowWriter::new(out, &f.testata, f.esercizio, opts)?;
    for o in &f.ordinativi {
        w.write(o)?;
    }
    w.finish()
}

/// Formatting integers and cents without allocating.
mod itoa_like {
    pub(super) trait Num: Copy {
        fn to_u64(self) -> u64;
        fn fmt_into(self, buf: &mut [u8; 24]) -> &str {
            let mut n = self.to_u64();
            let mut i = buf.len();
            loop {
                i -= 1;
                buf[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            std::str::from_utf8(&buf[i..]).unwrap_or("0")
        }
    }
    impl Num for u8 {
        fn to_u64(self) -> u64 {
            u64::from(self)
        }
    }
    impl Num for u16 {
        fn to_u64(self) -> u64 {
            u64::from(self)
        }
    }
    impl Num for u32 {
        fn to_u64(self) -> u64 {
            u64::from(self)
        }
    }
    impl Num for u64 {
        fn to_u64(self) -> u64 {
            self
        }
    }

    pub(super) fn cents(c: u64, buf: &mut [u8; 24]) -> &str {
        let mut i = buf.len();
        let mut n = c;
        for k in 0..3 {
            if k == 2 {
                i -= 1;
                buf[i] = b'.';
            }
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        while n > 0 {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        std::str::from_utf8(&buf[i..]).unwrap_or("0.00")
    }

    /// `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss` (years 0..=9999, as OPI allows 1980..=2099).
    pub(super) fn date_time(d: chrono::NaiveDateTime, buf: &mut [u8; 19], time: bool) -> &str {
        use chrono::{Datelike, Timelike};
        let y = d.year().clamp(0, 9999) as u32;
        let put = |buf: &mut [u8; 19], at: usize, v: u32, width: usize| {
            let mut v = v;
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(buf, 0, y, 4);
        buf[4] = b'-';
        put(buf, 5, d.month(), 2);
        buf[7] = b'-';
        put(buf, 8, d.day(), 2);
        if !time {
            return std::str::from_utf8(&buf[..10]).unwrap_or("");
        }
        buf[10] = b'T';
        put(buf, 11, d.hour(), 2);
        buf[13] = b':';
        put(buf, 14, d.minute(), 2);
        buf[16] = b':';
        put(buf, 17, d.second(), 2);
        std::str::from_utf8(&buf[..]).unwrap_or("")
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn dates() {
            let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
                .and_then(|d| d.and_hms_opt(9, 5, 7))
                .unwrap();
            let mut b = [0u8; 19];
            assert_eq!(super::date_time(d, &mut b, true), "2026-03-02T09:05:07");
            assert_eq!(super::date_time(d, &mut b, false), "2026-03-02");
        }

        #[test]
        fn cents_format() {
            let mut b = [0u8; 24];
            assert_eq!(super::cents(0, &mut b), "0.00");
            assert_eq!(super::cents(5, &mut b), "0.05");
            assert_eq!(super::cents(123456, &mut b), "1234.56");
            assert_eq!(super::cents(100, &mut b), "1.00");
        }
    }
}

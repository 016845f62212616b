//! Streaming reader of `flusso_ordinativi`: the header, then one order at a time.

use std::io::BufRead;

use chrono::{NaiveDate, NaiveDateTime};
use pa_types::Amount;

use crate::error::{Error, ParseError, ParseErrorKind};
use crate::model::{
    ArconetEntrate, ArconetUscite, AvvisoPagoPa, Bilancio, Bollo, CategoryPurpose, CigOEsclusione,
    ClassificazioneEntrata, ClassificazioneUscita, DatiEnteMandato, DatiEnteReversale,
    DatiFatturaSiope, DatiSiopeEntrate, DatiSiopeUscite, DebitoEntrata, DebitoUscita, Delegato,
    DocumentoSiope, FatturaSiope, FlussoOrdinativi, FunzionarioDelegato, InformazioniAggiuntive,
    InformazioniBeneficiario, InformazioniVersante, Mandato, MandatoAssociato, MiurMandato,
    MiurReversale, Ordinativo, RawXml, Reversale, Ritenuta, SepaCreditTransfer, Soggetto, Sospeso,
    Sostituzione, Spese, TestataFlusso,
};
use crate::pull::{Cursor, Pull};
use crate::types::{InvalidValue, parse_amount};
use crate::writer::{BENEFICIARIO, CREDITORE, SoggettoNames, VERSANTE};
use crate::xml::{XmlLimits, push_index};
use xmldsig::stream::Event;

/// An OPI amount read from XML.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpiAmount(pub(crate) Amount);

impl std::str::FromStr for OpiAmount {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        parse_amount(s).map(OpiAmount)
    }
}

/// An `xs:date` (an optional time zone suffix is ignored).
#[derive(Debug, Clone, Copy)]
pub(crate) struct XsDate(pub(crate) NaiveDate);

impl std::str::FromStr for XsDate {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let d = s.get(..10).unwrap_or(s);
        // Fast path for the canonical form `YYYY-MM-DD` (what chrono would accept too); any
        // other text goes through chrono as before.
        if let Some((y, m, dd)) = canonical_ymd(d.as_bytes()) {
            return NaiveDate::from_ymd_opt(y, m, dd)
                .map(XsDate)
                .ok_or_else(|| InvalidValue::new("date", "YYYY-MM-DD", s));
        }
        NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(XsDate)
            .map_err(|_| InvalidValue::new("date", "YYYY-MM-DD", s))
    }
}

/// Year, month and day of exactly `DDDD-DD-DD` (ASCII digits), without checking the calendar.
fn canonical_ymd(b: &[u8]) -> Option<(i32, u32, u32)> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *b else {
        return None;
    };
    let mut v = [0u32; 8];
    for (o, c) in v.iter_mut().zip([y0, y1, y2, y3, m0, m1, d0, d1]) {
        if !c.is_ascii_digit() {
            return None;
        }
        *o = u32::from(c - b'0');
    }
    let year = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
    // Four digits fit an i32.
    let year = i32::try_from(year).ok()?;
    Some((year, v[4] * 10 + v[5], v[6] * 10 + v[7]))
}

/// An `xs:dateTime`, kept as local time (an offset, when present, is dropped).
#[derive(Debug, Clone, Copy)]
pub(crate) struct XsDateTime(pub(crate) NaiveDateTime);

impl std::str::FromStr for XsDateTime {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
            return Ok(XsDateTime(d.naive_local()));
        }
        let t = s.strip_suffix('Z').unwrap_or(s);
        NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
            .map(XsDateTime)
            .map_err(|_| InvalidValue::new("dateTime", "YYYY-MM-DDThh:mm:ss", s))
    }
}

/// The part of a flow before its orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowHeader {
    /// The root's `Id` attribute.
    pub id: Option<String>,
    /// `testata_flusso`.
    pub testata: TestataFlusso,
    /// `esercizio`.
    pub esercizio: u16,
}

/// Reads a flow order by order from any buffered source; memory is bounded by the largest
/// order, not by the flow. Each order is mapped straight from the reader's events.
pub struct FlowReader<R: BufRead> {
    p: Pull<R>,
    header: FlowHeader,
    index: usize,
    signatures: usize,
    trailing_signature: bool,
    done: bool,
}

impl<R: BufRead> std::fmt::Debug for FlowReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowReader")
            .field("header", &self.header)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

const ROOT: &str = "flusso_ordinativi";

/// Reads up to the root's start tag: its `Id`.
fn read_root<R: BufRead>(p: &mut Pull<R>) -> Result<Option<String>, ParseError> {
    loop {
        match p.src.next()? {
            Event::Start(s) => {
                let name = s.name().local;
                if name != ROOT {
                    let found = name.to_owned();
                    return Err(p.err_here(ParseErrorKind::WrongRoot {
                        expected: ROOT.into(),
                        found,
                    }));
                }
                return Ok(s.attr("Id").map(str::to_owned));
            }
            Event::Text(t) if t.trim().is_empty() => {}
            Event::Comment(_) | Event::ProcessingInstruction { .. } => {}
            _ => {
                return Err(p.err_here(ParseErrorKind::Xml("expected the root element".into())));
            }
        }
    }
}

impl<R: BufRead> FlowReader<R> {
    /// Reads up to the end of `esercizio`.
    ///
    /// # Errors
    /// [`ParseError`] with the element path and byte position.
    pub fn new(r: R) -> Result<Self, ParseError> {
        Self::with_limits(r, XmlLimits::default())
    }

    /// As [`FlowReader::new`] with explicit limits (depth, largest order).
    ///
    /// # Errors
    /// [`ParseError`] with the element path and byte position.
    pub fn with_limits(r: R, limits: XmlLimits) -> Result<Self, ParseError> {
        let mut p = Pull::new(r, limits, ROOT);
        let id = read_root(&mut p)?;
        let mut signatures = 0;
        let mut testata = None;
        let esercizio;
        loop {
            let has = testata.is_some();
            let Some(name) = p.peek()? else {
                return Err(p.err_here(ParseErrorKind::Missing {
                    expected: "testata_flusso".into(),
                    found: None,
                }));
            };
            match (name, has) {
                ("Signature", false) => {
                    p.skip_unit(0)?;
                    signatures += 1;
                }
                ("testata_flusso", false) => {
                    p.path.clear();
                    p.path.push_str(ROOT);
                    p.path.push_str("/testata_flusso");
                    testata = Some(p.unit(0, read_testata)?);
                }
                ("esercizio", true) => {
                    p.path.clear();
                    p.path.push_str(ROOT);
                    esercizio = p.leaf_unit::<u16>("esercizio")?;
                    break;
                }
                (other, has) => {
                    let other = other.to_owned();
                    let position = p.next_pos();
                    p.skip_unit(0)?;
                    return Err(ParseError {
                        path: format!("{ROOT}/{other}"),
                        position,
                        kind: ParseErrorKind::Missing {
                            expected: if has { "esercizio" } else { "testata_flusso" }.into(),
                            found: Some(other),
                        },
                    });
                }
            }
        }
        let testata = testata.ok_or_else(|| {
            p.err_here(ParseErrorKind::Missing {
                expected: "testata_flusso".into(),
                found: None,
            })
        })?;
        Ok(FlowReader {
            p,
            header: FlowHeader {
                id,
                testata,
                esercizio,
            },
            index: 0,
            signatures,
            trailing_signature: false,
            done: false,
        })
    }

    /// The header read by the constructor.
    #[must_use]
    pub fn header(&self) -> &FlowHeader {
        &self.header
    }

    /// How many `ds:Signature` elements were met so far (before the header, or after the
    /// orders once the reader is exhausted). Their validity is checked by [`crate::verify_flow`].
    #[must_use]
    pub fn signatures(&self) -> usize {
        self.signatures
    }

    /// The next order, `None` at the end of the flow.
    ///
    /// # Errors
    /// [`ParseError`] with the element path and byte position. After an error in an order's
    /// content (a missing, unexpected or invalid element) the reader goes on with the next
    /// order; after malformed XML it returns `None`.
    pub fn next_ordinativo(&mut self) -> Result<Option<Ordinativo>, ParseError> {
        if self.done || self.p.broken() {
            self.done = true;
            return Ok(None);
        }
        let r = self.step();
        if self.p.broken() {
            self.done = true;
        }
        r
    }

    fn step(&mut self) -> Result<Option<Ordinativo>, ParseError> {
        let p = &mut self.p;
        loop {
            let Some(name) = p.peek()? else {
                p.consume_end();
                self.done = true;
                if self.index == 0 {
                    return Err(p.err_here(ParseErrorKind::Missing {
                        expected: "mandato".into(),
                        found: None,
                    }));
                }
                // Only whitespace may follow the root.
                loop {
                    match p.src.next()? {
                        Event::Eof => return Ok(None),
                        Event::Text(t) if t.trim().is_empty() => {}
                        Event::Comment(_) | Event::ProcessingInstruction { .. } => {}
                        _ => {
                            return Err(p.err_here(ParseErrorKind::Xml(
                                "content after the root element".into(),
                            )));
                        }
                    }
                }
            };
            self.index += 1;
            let xml_index = self.index + 2;
            let kind = match name {
                "Signature" => 0,
                "mandato" if !self.trailing_signature => 1,
                "reversale" if !self.trailing_signature => 2,
                _ => 3,
            };
            if kind == 0 {
                p.skip_unit(xml_index)?;
                self.signatures += 1;
                self.trailing_signature = true;
                self.index -= 1;
                continue;
            }
            if kind == 3 {
                let other = name.to_owned();
                let position = p.next_pos();
                p.skip_unit(xml_index)?;
                return Err(ParseError {
                    path: format!("{ROOT}/{other}"),
                    position,
                    kind: ParseErrorKind::Unexpected(other),
                });
            }
            p.path.clear();
            p.path.push_str(ROOT);
            p.path
                .push_str(if kind == 1 { "/mandato" } else { "/reversale" });
            push_index(&mut p.path, self.index);
            let o = if kind == 1 {
                Ordinativo::Mandato(Box::new(p.unit(xml_index, read_mandato)?))
            } else {
                Ordinativo::Reversale(Box::new(p.unit(xml_index, read_reversale)?))
            };
            return Ok(Some(o));
        }
    }
}

impl<R: BufRead> Iterator for FlowReader<R> {
    type Item = Result<Ordinativo, ParseError>;
    fn next(&mut self) -> Option<Self::Item> {
        match self.next_ordinativo() {
            Ok(Some(o)) => Some(Ok(o)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Reads a whole flow into memory.
///
/// # Errors
/// [`Error::Parse`] with the element path and byte position.
pub fn parse_flow(xml: &[u8]) -> Result<FlussoOrdinativi, Error> {
    let mut r = FlowReader::new(xml)?;
    let mut ordinativi = Vec::new();
    while let Some(o) = r.next_ordinativo()? {
        ordinativi.push(o);
    }
    let h = r.header().clone();
    Ok(FlussoOrdinativi {
        id: h.id,
        testata: h.testata,
        esercizio: h.esercizio,
        ordinativi,
    })
}

pub(crate) fn read_testata<R: BufRead>(c: &mut Cursor<'_, R>) -> Result<TestataFlusso, ParseError> {
    Ok(TestataFlusso {
        codice_abi_bt: c.parse("codice_ABI_BT")?,
        identificativo_flusso: c.parse("identificativo_flusso")?,
        data_ora_creazione_flusso: c.parse::<XsDateTime>("data_ora_creazione_flusso")?.0,
        codice_ente: c.parse("codice_ente")?,
        descrizione_ente: c.string("descrizione_ente")?,
        codice_istat_ente: c.parse("codice_istat_ente")?,
        codice_fiscale_ente: c.string("codice_fiscale_ente")?,
        codice_tramite_ente: c.parse("codice_tramite_ente")?,
        codice_tramite_bt: c.parse("codice_tramite_BT")?,
        codice_ente_bt: c.string("codice_ente_BT")?,
        riferimento_ente: c.opt_text("riferimento_ente")?,
    })
}

fn amount<R: BufRead>(c: &mut Cursor<'_, R>, name: &str) -> Result<Amount, ParseError> {
    c.parse::<OpiAmount>(name).map(|a| a.0)
}

fn date<R: BufRead>(c: &mut Cursor<'_, R>, name: &str) -> Result<NaiveDate, ParseError> {
    c.parse::<XsDate>(name).map(|a| a.0)
}

fn opt_date<R: BufRead>(
    c: &mut Cursor<'_, R>,
    name: &str,
) -> Result<Option<NaiveDate>, ParseError> {
    c.opt_parse::<XsDate>(name).map(|a| a.map(|d| d.0))
}

fn flag<R: BufRead>(c: &mut Cursor<'_, R>, name: &str, value: &str) -> Result<bool, ParseError> {
    match c.opt(name)? {
        None => Ok(false),
        Some(_) if c.leaf().trim().eq_ignore_ascii_case(value) => Ok(true),
        Some(pos) => Err(c.err_at(
            name,
            pos,
            ParseErrorKind::Invalid {
                value: c.leaf().to_owned(),
                reason: format!("only {value} is allowed"),
            },
        )),
    }
}

fn bilancio<R: BufRead>(c: &mut Cursor<'_, R>) -> Result<Bilancio, ParseError> {
    Ok(Bilancio {
        codifica_bilancio: c.parse("codifica_bilancio")?,
        descrizione_codifica: c.opt_text("descrizione_codifica")?,
        gestione: c.parse("gestione")?,
        anno_residuo: c.opt_parse("anno_residuo")?,
        numero_articolo: c.opt_parse("numero_articolo")?,
        voce_economica: c.opt_parse("voce_economica")?,
        importo_bilancio: amount(c, "importo_bilancio")?,
    })
}

fn read_mandato<R: BufRead>(c: &mut Cursor<'_, R>) -> Result<Mandato, ParseError> {
    Ok(Mandato {
        tipo_operazione: c.parse("tipo_operazione")?,
        numero_mandato: c.parse("numero_mandato")?,
        data_mandato: date(c, "data_mandato")?,
        importo_mandato: amount(c, "importo_mandato")?,
        conto_evidenza: c.opt_text("conto_evidenza")?,
        estremi_provvedimento_autorizzativo: c.opt_text("estremi_provvedimento_autorizzativo")?,
        responsabile_provvedimento: c.opt_text("responsabile_provvedimento")?,
        ufficio_responsabile: c.opt_text("ufficio_responsabile")?,
        bilancio: c.many_with("bilancio", bilancio)?,
        funzionario_delegato: c.opt_with("funzionario_delegato", |c| {
            Ok(FunzionarioDelegato {
                codice_funzionario_delegato: c.string("codice_funzionario_delegato")?,
                importo_funzionario_delegato: amount(c, "importo_funzionario_delegato")?,
                tipologia_pagamento_funzionario_delegato: c
                    .string("tipologia_pagamento_funzionario_delegato")?,
                numero_pagamento_funzionario_delegato: c
                    .string("numero_pagamento_funzionario_delegato")?,
            })
        })?,
        informazioni_beneficiario: {
            let v = c.many_with("informazioni_beneficiario", beneficiario)?;
            if v.is_empty() {
                c.req("informazioni_beneficiario")?;
            }
            v
        },
        dati_a_disposizione_ente: if let Some(t) = c.opt_text("dati_a_disposizione_ente_mandato")? {
            Some(DatiEnteMandato::Libero(RawXml::from_trusted(t)))
        } else {
            c.opt_with("dati_a_disposizione_ente_mandato_MIUR", |c| {
                c.req("aggregato")?;
                let agg = c.leaf();
                let mut chars = agg.trim().chars();
                let aggregato = match (chars.next(), chars.next()) {
                    (Some(a), None) => a,
                    _ => {
                        return Err(ParseError {
                            path: format!("{}/aggregato", c.path()),
                            position: 0,
                            kind: ParseErrorKind::Invalid {
                                value: agg.into(),
                                reason: "one letter A-Z".into(),
                            },
                        });
                    }
                };
                Ok(DatiEnteMandato::Miur(MiurMandato {
                    aggregato,
                    descrizione_aggregato: c.string("descrizione_aggregato")?,
                    voce: c.parse("voce")?,
                    descrizione_voce: c.string("descrizione_voce")?,
                    anno_provenienza: c.parse("anno_provenienza")?,
                    numero_impegno: c.string("numero_impegno")?,
                }))
            })?
        },
    })
}

fn soggetto<R: BufRead>(
    c: &mut Cursor<'_, R>,
    names: &SoggettoNames,
) -> Result<Soggetto, ParseError> {
    let n = &names.0;
    Ok(Soggetto {
        anagrafica: c.string(n[0])?,
        indirizzo: c.opt_text(n[1])?,
        cap: c.opt_text(n[2])?,
        localita: c.opt_text(n[3])?,
        provincia: c.opt_text(n[4])?,
        stato: c.opt_text(n[5])?,
        partita_iva: c.opt_text(n[6])?,
        codice_fiscale: c.opt_text(n[7])?,
    })
}

fn sospeso<R: BufRead>(c: &mut Cursor<'_, R>) -> Result<Sospeso, ParseError> {
    Ok(Sospeso {
        numero_provvisorio: c.parse("numero_provvisorio")?,
        importo_provvisorio: amount(c, "importo_provvisorio")?,
    })
}

fn informazioni_aggiuntive<R: BufRead>(
    c: &mut Cursor<'_, R>,
) -> Result<InformazioniAggiuntive, ParseError> {
    Ok(InformazioniAggiuntive {
        lingua: c.opt_parse("lingua")?,
        riferimento_documento_esterno: c.opt_text("riferimento_documento_esterno")?,
        avviso_pagopa: c.opt_with("avviso_pagoPA", |c| {
            Ok(AvvisoPagoPa {
                codice_identificativo_ente: c.parse("codice_identificativo_ente")?,
                numero_avviso: c.parse("numero_avviso")?,
            })
        })?,
    })
}

fn sostituzione<R: BufRead>(
    c: &mut Cursor<'_, R>,
    n: [&str; 3],
) -> Result<Sostituzione, ParseError> {
    Ok(Sostituzione {
        numero_da_sostituire: c.parse(n[0])?,
        progressivo_da_sostituire: c.parse(n[1])?,
        esercizio_da_sostituire: c.parse(n[2])?,
    })
}

fn fattura<R: BufRead>(c: &mut Cursor<'_, R>) -> Result<FatturaSiope, ParseError> {
    let codice_ipa_ente_siope = c.parse("codice_ipa_ente_siope")?;
    let documento = if c.opt("tipo_documento_siope_e")?.is_some() {
        DocumentoSiope::Elettronico {
            identificativo_lotto_sdi: c.parse("identificativo_lotto_sdi_siope")?,
        }
    } else {
        c.req("tipo_documento_siope_a")?;
        DocumentoSiope::Analogico {
            tipo: c.parse("tipo_documento_analogico_siope")?,
            codice_fiscale_emittente: c.string("codice_fiscale_emittente_siope")?,
            anno_emissione: c.parse("anno_emissione_fattura_siope")?,
        }
    };
    let dati = c.with("dati_fattura_siope", |c| {
        Ok(DatiFatturaSiope {
            numero_fattura: c.string("numero_fattura_siope")?,
            importo: c.parse("importo_siope")?,
            data_scadenza_pagam: date(c, "data_scadenza_pagam_siope")?,
            motivo_scadenza: c.opt_parse("motivo_scadenza_siope")?,
            natura_spesa: c.parse("natura_spesa_siope")?,
            utilizzo_nota_di_credito: c.opt_parse("utilizzo_nota_di_credito")?,
        })
    })?;
    Ok(FatturaSiope {
        codice_ipa_ente_siope,
        documento,
        dati,
    })
}

fn cig<R: BufRead>(c: &mut Cursor<'_, R>) -> Result<Option<CigOEsclusione>, ParseError> {
    if c.is("codice_cig_siope")? {
        return Ok(Some(CigOEsclusione::Cig(c.parse("codice_cig_siope")?)));
    }
    if c.is("motivo_esclusione_cig_siope")? {
        return Ok(Some(CigOEsclusione::Esclusione(
            c.parse("motivo_esclusione_cig_siope")?,
        )));
    }
    Ok(None)
}

fn classificazione_uscita<R: BufRead>(
    c: &mut Cursor<'_, R>,
) -> Result<ClassificazioneUscita, ParseError> {
    Ok(ClassificazioneUscita {
        codice_cgu: c.parse("codice_cgu")?,
        codice_cup: c.opt_parse("codice_cup")?,
        codice_cpv: c.opt_text("codice_cpv")?,
        importo: amount(c, "importo")?,
        dati_siope: c.with("classificazione_dati_siope_uscite", |c| {
            let mut debiti = Vec::new();
            loop {
                if c.is("tipo_debito_siope_nc")? {
                    let tipo = c.parse("tipo_debito_siope_nc")?;
                    let cig_fatture = match cig(c)? {
                        Some(g) => {
                            let f = c.many_with("fattura_siope", fattura)?;
                            if f.is_empty() {
                                c.req("fattura_siope")?;
                            }
                            Some((g, f))
                        }
                        None => None,
                    };
                    debiti.push(DebitoUscita::NonCommerciale { tipo, cig_fatture });
                } else if c.is("tipo_debito_siope_c")? {
                    c.req("tipo_debito_siope_c")?;
                    let Some(g) = cig(c)? else {
                        c.req("codice_cig_siope")?;
                        continue;
                    };
                    let fatture = c.many_with("fattura_siope", fattura)?;
                    if fatture.is_empty() {
                        c.req("fattura_siope")?;
                    }
                    debiti.push(DebitoUscita::Commerciale { cig: g, fatture });
                } else {
                    break;
                }
            }
            if debiti.is_empty() {
                c.req("tipo_debito_siope_nc")?;
            }
            let arconet = c.opt_with("dati_ARCONET_siope", |c| {
                Ok(ArconetUscite {
                    codice_missione: c.string("codice_missione_siope")?,
                    codice_programma: c.string("codice_programma_siope")?,
                    codice_economico: c.string("codice_economico_siope")?,
                    importo_codice_economico: amount(c, "importo_codice_economico_siope")?,
                    codice_ue: c.string("codice_UE_siope")?,
                    codice_uscita: c.opt_parse("codice_uscita_siope")?,
                    codice_cofog: String::new(),
                    importo_cofog: Amount::ZERO,
                })
                .and_then(|mut a| {
                    c.with("cofog_siope", |c| {
                        a.codice_cofog = c.string("codice_cofog_siope")?;
                        a.importo_cofog = amount(c, "importo_cofog_siope")?;
                        Ok(())
                    })?;
                    Ok(a)
                })
            })?;
            Ok(DatiSiopeUscite { debiti, arconet })
        })?,
    })
}

fn beneficiario<R: BufRead>(c: &mut Cursor<'_, R>) -> Result<InformazioniBeneficiario, ParseError> {
    Ok(InformazioniBeneficiario {
        progressivo_beneficiario: c.parse("progressivo_beneficiario")?,
        importo_beneficiario: amount(c, "importo_beneficiario")?,
        tipo_pagamento: c.parse("tipo_pagamento")?,
        impignorabili: flag(c, "impignorabili", "SI")?,
        non_frazionabile: flag(c, "frazionabile", "NO")?,
        gestione_provvisoria: flag(c, "gestione_provvisoria", "SI")?,
        data_esecuzione_pagamento: opt_date(c, "data_esecuzione_pagamento")?,
        data_scadenza_pagamento: opt_date(c, "data_scadenza_pagamento")?,
        destinazione: c.opt_parse("destinazione")?,
        tipo_contabilita_ente_ricevente: c.opt_parse("tipo_contabilita_ente_ricevente")?,
        tipo_postalizzazione: c.opt_parse("tipo_postalizzazione")?,
        classificazione: c.many_with("classificazione", classificazione_uscita)?,
        bollo: c.with("bollo", |c| {
            Ok(Bollo {
                assoggettamento_bollo: c.parse("assoggettamento_bollo")?,
                causale_esenzione_bollo: c.opt_text("causale_esenzione_bollo")?,
            })
        })?,
        spese: c.opt_with("spese", |c| {
            Ok(Spese {
                soggetto_destinatario: c.parse("soggetto_destinatario_delle_spese")?,
                natura_pagamento: c.opt_text("natura_pagamento")?,
                causale_esenzione_spese: c.opt_text("causale_esenzione_spese")?,
            })
        })?,
        beneficiario: c.with("beneficiario", |c| soggetto(c, &BENEFICIARIO))?,
        delegato: c.many_with("delegato", |c| {
            Ok(Delegato {
                anagrafica: c.string("anagrafica_delegato")?,
                indirizzo: c.opt_text("indirizzo_delegato")?,
                cap: c.opt_text("cap_delegato")?,
                localita: c.opt_text("localita_delegato")?,
                provincia: c.opt_text("provincia_delegato")?,
                stato: c.opt_text("stato_delegato")?,
                codice_fiscale: c.string("codice_fiscale_delegato")?,
            })
        })?,
        creditore_effettivo: c.opt_with("creditore_effettivo", |c| soggetto(c, &CREDITORE))?,
        piazzatura: c.opt_with("piazzatura", |c| {
            c.string("numero_conto_corrente_beneficiario")
        })?,
        sepa_credit_transfer: c.opt_with("sepa_credit_transfer", |c| {
            Ok(SepaCreditTransfer {
                iban: c.parse("iban")?,
                bic: c.opt_text("bic")?,
                identificativo_end_to_end: c.opt_text("identificativo_end_to_end")?,
                category_purpose: c.opt_with("identificativo_category_purpose", |c| {
                    if c.is("code")? {
                        Ok(CategoryPurpose::Code(c.parse("code")?))
                    } else {
                        Ok(CategoryPurpose::Proprietary(c.string("proprietary")?))
                    }
                })?,
            })
        })?,
        codice_versante: c.opt_text("codice_versante")?,
        causale: c.string("causale")?,
        sospeso: c.many_with("sospeso", sospeso)?,
        ritenute: c.many_with("ritenute", |c| {
            Ok(Ritenuta {
                importo_ritenute: amount(c, "importo_ritenute")?,
                numero_reversale: c.parse("numero_reversale")?,
                progressivo_versante: c.parse("progressivo_versante")?,
            })
        })?,
        informazioni_aggiuntive: c.opt_with("informazioni_aggiuntive", informazioni_aggiuntive)?,
        sostituzione_mandato: c.opt_with("sostituzione_mandato", |c| {
            sostituzione(
                c,
                [
                    "numero_mandato_da_sostituire",
                    "progressivo_beneficiario_da_sostituire",
                    "esercizio_mandato_da_sostituire",
                ],
            )
        })?,
        dati_a_disposizione_ente_beneficiario: c
            .opt_text("dati_a_disposizione_ente_beneficiario")?
            .map(RawXml::from_trusted),
    })
}

fn read_reversale<R: BufRead>(c: &mut Cursor<'_, R>) -> Result<Reversale, ParseError> {
    Ok(Reversale {
        tipo_operazione: c.parse("tipo_operazione")?,
        numero_reversale: c.parse("numero_reversale")?,
        data_reversale: date(c, "data_reversale")?,
        importo_reversale: amount(c, "importo_reversale")?,
        conto_evidenza: c.opt_text("conto_evidenza")?,
        bilancio: c.many_with("bilancio", bilancio)?,
        informazioni_versante: {
            let v = c.many_with("informazioni_versante", versante)?;
            if v.is_empty() {
                c.req("informazioni_versante")?;
            }
            v
        },
        dati_a_disposizione_ente: if let Some(t) =
            c.opt_text("dati_a_disposizione_ente_reversale")?
        {
            Some(DatiEnteReversale::Libero(RawXml::from_trusted(t)))
        } else {
            c.opt_with("dati_a_disposizione_ente_reversale_MIUR", |c| {
                Ok(DatiEnteReversale::Miur(MiurReversale {
                    aggregato: c.parse("aggregato")?,
                    descrizione_aggregato: c.string("descrizione_aggregato")?,
                    voce: c.parse("voce")?,
                    descrizione_voce: c.string("descrizione_voce")?,
                    sottovoce: c.opt_parse("sottovoce")?,
                    descrizione_sottovoce: c.opt_text("descrizione_sottovoce")?,
                    anno_provenienza: c.parse("anno_provenienza")?,
                    numero_accertamento: c.string("numero_accertamento")?,
                }))
            })?
        },
    })
}

fn classificazione_entrata<R: BufRead>(
    c: &mut Cursor<'_, R>,
) -> Result<ClassificazioneEntrata, ParseError> {
    Ok(ClassificazioneEntrata {
        codice_cge: c.parse("codice_cge")?,
        codice_cup: c.opt_parse("codice_cup")?,
        importo: amount(c, "importo")?,
        dati_siope: c.with("classificazione_dati_siope_entrate", |c| {
            let debito = if c.is("tipo_debito_siope_c")? {
                c.req("tipo_debito_siope_c")?;
                let fatture = c.many_with("fattura_siope", fattura)?;
                if fatture.is_empty() {
                    c.req("fattura_siope")?;
                }
                DebitoEntrata::Commerciale { fatture }
            } else {
                DebitoEntrata::NonCommerciale {
                    tipo: c.parse("tipo_debito_siope_nc")?,
                    fatture: c.many_with("fattura_siope", fattura)?,
                }
            };
            let arconet = c.opt_with("dati_ARCONET_siope", |c| {
                Ok(ArconetEntrate {
                    codice_economico: c.string("codice_economico_siope")?,
                    importo_codice_economico: amount(c, "importo_codice_economico_siope")?,
                    codice_ue: c.string("codice_UE_siope")?,
                    codice_entrata: c.opt_parse("codice_entrata_siope")?,
                })
            })?;
            Ok(DatiSiopeEntrate { debito, arconet })
        })?,
    })
}

fn versante<R: BufRead>(c: &mut Cursor<'_, R>) -> Result<InformazioniVersante, ParseError> {
    Ok(InformazioniVersante {
        progressivo_versante: c.parse("progressivo_versante")?,
        importo_versante: amount(c, "importo_versante")?,
        tipo_riscossione: c.parse("tipo_riscossione")?,
        numero_ccp: c.opt_parse("numero_ccp")?,
        tipo_entrata: c.opt_parse("tipo_entrata")?,
        destinazione: c.opt_parse("destinazione")?,
        classificazione: c.many_with("classificazione", classificazione_entrata)?,
        bollo: c.with("bollo", |c| {
            Ok(Bollo {
                assoggettamento_bollo: c.parse("assoggettamento_bollo")?,
                causale_esenzione_bollo: c.opt_text("causale_esenzione_bollo")?,
            })
        })?,
        versante: c.with("versante", |c| soggetto(c, &VERSANTE))?,
        causale: c.string("causale")?,
        sospeso: c.many_with("sospeso", sospeso)?,
        mandato_associato: c.many_with("mandato_associato", |c| {
            Ok(MandatoAssociato {
                numero_mandato: c.parse("numero_mandato")?,
                progressivo_beneficiario: c.opt_parse("progressivo_beneficiario")?,
            })
        })?,
        informazioni_aggiuntive: c.opt_with("informazioni_aggiuntive", informazioni_aggiuntive)?,
        sostituzione_reversale: c.opt_with("sostituzione_reversale", |c| {
            sostituzione(
                c,
                [
                    "numero_reversale_da_sostituire",
                    "progressivo_versante_da_sostituire",
                    "esercizio_reversale_da_sostituire",
                ],
            )
        })?,
        dati_a_disposizione_ente_versante: c
            .opt_text("dati_a_disposizione_ente_versante")?
            .map(RawXml::from_trusted),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_fast_path_agrees_with_chrono() {
        for s in [
            "2026-03-02",
            "2026-03-02Z",
            "2026-03-02+01:00",
            "2024-02-29",
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-01-32",
            "0000-01-01",
            "9999-12-31",
            "2026-3-2",
            "2026/03/02",
            "20260302",
            "2026-03-0x",
            "",
            "+2026-03-02",
        ] {
            let fast = s.parse::<XsDate>().map(|d| d.0).ok();
            let d = s.get(..10).unwrap_or(s);
            let slow = NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
            assert_eq!(fast, slow, "{s}");
        }
    }
}

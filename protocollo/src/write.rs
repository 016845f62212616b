//! Writing the 2021 segnatura as XML.

use crate::error::WriteError;
use crate::model::*;
use crate::xml::Writer;

/// Namespace of the 2021 segnatura.
pub const NS_PROTOCOLLO: &str = "http://www.agid.gov.it/protocollo/";
/// Namespace of the messages between AOOs (`pec_message.xsd`).
pub const NS_PEC: &str = "http://www.agid.gov.it/protocollo/pec/";
/// Namespace of the 2013 segnatura (Circolare AgID 60/2013).
pub const NS_PROTOCOLLO_2013: &str = "http://www.digitPa.gov.it/protocollo/";

pub(crate) const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

impl SegnaturaInformatica {
    /// Writes the segnatura without its `ds:Signature`: the input of the seal.
    ///
    /// Attributes carry the `prot:` prefix (`attributeFormDefault="qualified"`); a 5-digit CAP
    /// is written in the schema's 6-digit form (see [`Cap::schema_form`]).
    ///
    /// # Errors
    /// [`WriteError::Invalid`] when the model breaks a schema rule its types do not enforce
    /// (no recipients, an empty list of detached files).
    pub fn to_xml(&self) -> Result<String, WriteError> {
        let mut w = Writer::new();
        w.out.push_str(XML_DECL);
        w.open(
            "prot:SegnaturaInformatica",
            &[
                ("xmlns:prot", NS_PROTOCOLLO),
                ("prot:versione", "3.0.0"),
                ("prot:lang", "it"),
            ],
        );
        write_intestazione(&mut w, &self.intestazione);
        if let Some(r) = &self.riferimenti {
            w.open("prot:Riferimenti", &[]);
            write_identificatore(&mut w, "prot:Identificatore", &r.identificatore);
            if let Some(p) = &r.prima_registrazione {
                write_identificatore(&mut w, "prot:PrimaRegistrazione", p);
            }
            w.leaf("prot:Oggetto", &[], &r.oggetto);
            write_classifica(&mut w, &r.classifica);
            if let Some(f) = &r.fascicolo {
                write_fascicolo(&mut w, f);
            }
            w.close("prot:Riferimenti");
        }
        write_descrizione(&mut w, &self.descrizione)?;
        w.close("prot:SegnaturaInformatica");
        w.out.push('\n');
        Ok(w.out)
    }
}

fn write_intestazione(w: &mut Writer, i: &Intestazione) {
    w.open("prot:Intestazione", &[]);
    write_identificatore(w, "prot:Identificatore", &i.identificatore);
    if let Some(p) = &i.prima_registrazione {
        write_identificatore(w, "prot:PrimaRegistrazione", p);
    }
    w.leaf("prot:Oggetto", &[], &i.oggetto);
    write_classifica(w, &i.classifica);
    if let Some(f) = &i.fascicolo {
        write_fascicolo(w, f);
    }
    if let Some(r) = &i.riservato {
        let v = if r.valore { "true" } else { "false" };
        match &r.note {
            Some(n) => w.leaf("prot:Riservato", &[("prot:note", n)], v),
            None => w.leaf("prot:Riservato", &[], v),
        }
    }
    w.close("prot:Intestazione");
}

fn write_codice(w: &mut Writer, tag: &str, c: &CodiceIpa) {
    match &c.descrizione {
        Some(d) => w.leaf(tag, &[("prot:descrizione", d)], &c.codice),
        None => w.leaf(tag, &[], &c.codice),
    }
}

pub(crate) fn format_time(o: &Ora) -> String {
    let mut s = o.time.format("%H:%M:%S%.f").to_string();
    if let Some(off) = o.offset {
        let secs = off.local_minus_utc();
        if secs == 0 {
            s.push('Z');
        } else {
            let sign = if secs < 0 { '-' } else { '+' };
            let a = secs.abs();
            s.push_str(&format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60));
        }
    }
    s
}

/// Writes an `IdentificatoreType` element named `tag`; its children are always `prot:`.
pub(crate) fn write_identificatore(w: &mut Writer, tag: &str, id: &Identificatore) {
    w.open(tag, &[]);
    write_codice(w, "prot:CodiceAmministrazione", &id.codice_amministrazione);
    write_codice(w, "prot:CodiceAOO", &id.codice_aoo);
    w.leaf("prot:CodiceRegistro", &[], id.codice_registro.as_str());
    w.leaf(
        "prot:NumeroRegistrazione",
        &[],
        &id.numero_registrazione.to_string(),
    );
    w.leaf(
        "prot:DataRegistrazione",
        &[],
        &id.data_registrazione.format("%Y-%m-%d").to_string(),
    );
    if let Some(o) = &id.ora_registrazione {
        w.leaf("prot:OraRegistrazione", &[], &format_time(o));
    }
    w.close(tag);
}

fn write_livello(w: &mut Writer, tag: &str, l: &Livello) {
    w.open(tag, &[]);
    match &l.descrizione {
        Some(d) => w.leaf("prot:Livello", &[("prot:descrizione", d)], &l.valore),
        None => w.leaf("prot:Livello", &[], &l.valore),
    }
    if let Some(sub) = &l.sub_livello {
        write_livello(w, "prot:SubLivello", sub);
    }
    w.close(tag);
}

fn write_classifica(w: &mut Writer, c: &Classifica) {
    w.open("prot:Classifica", &[]);
    w.leaf("prot:Denominazione", &[], &c.denominazione);
    match &c.codice {
        CodiceClassifica::Flat(s) => w.leaf("prot:CodiceFlat", &[], s),
        CodiceClassifica::Path(l) => write_livello(w, "prot:CodicePath", l),
    }
    w.close("prot:Classifica");
}

fn write_fascicolo(w: &mut Writer, f: &Fascicolo) {
    w.open("prot:Fascicolo", &[]);
    w.leaf("prot:Denominazione", &[], &f.denominazione);
    w.leaf("prot:CodiceFascicolo", &[], &f.codice_fascicolo);
    w.close("prot:Fascicolo");
}

fn write_contatti(w: &mut Writer, tag: &str, c: &Contatti) {
    w.open(tag, &[]);
    for a in &c.indirizzi_postali {
        w.open("prot:IndirizzoPostale", &[]);
        w.open("prot:Toponimo", &[]);
        w.leaf("prot:dug", &[], &a.dug);
        w.leaf("prot:duf", &[], &a.duf);
        w.close("prot:Toponimo");
        w.leaf("prot:Civico", &[], &a.civico);
        w.leaf("prot:CAP", &[], &a.cap.schema_form());
        w.leaf(
            "prot:Comune",
            &[("prot:CodiceISTAT", a.codice_istat.as_str())],
            &a.comune,
        );
        match &a.codice3166 {
            Some(c) => w.leaf("prot:Nazione", &[("prot:codice3166", c)], &a.nazione),
            None => w.leaf("prot:Nazione", &[], &a.nazione),
        }
        w.close("prot:IndirizzoPostale");
    }
    for t in &c.indirizzi_telematici {
        let mut attrs = vec![("prot:tipo", t.tipo.as_str())];
        if let Some(n) = &t.note {
            attrs.push(("prot:note", n));
        }
        w.leaf("prot:IndirizzoTelematico", &attrs, &t.valore);
    }
    for t in &c.telefoni {
        w.leaf("prot:Telefono", &[], t);
    }
    w.close(tag);
}

fn write_persona(w: &mut Writer, p: &PersonaFisica) {
    w.open("prot:PersonaFisica", &[]);
    w.leaf("prot:Nome", &[], &p.nome);
    w.leaf("prot:Cognome", &[], &p.cognome);
    w.opt_leaf("prot:Titolo", p.titolo.as_deref());
    w.opt_leaf(
        "prot:CodiceFiscale",
        p.codice_fiscale.as_ref().map(CodiceFiscale::as_str),
    );
    if let Some(c) = &p.contatti {
        write_contatti(w, "prot:Contatti", c);
    }
    w.close("prot:PersonaFisica");
}

fn write_soggetto_content(w: &mut Writer, s: &Soggetto) {
    match s {
        Soggetto::Amministrazione(a) => {
            w.open("prot:Amministrazione", &[]);
            w.leaf("prot:DenominazioneAmministrazione", &[], &a.denominazione);
            w.opt_leaf(
                "prot:CFAmministrazione",
                a.cf.as_ref().map(PartitaIvaOCf::as_str),
            );
            write_codice(w, "prot:CodiceIPAAmministrazione", &a.codice_ipa);
            if let Some(c) = &a.contatti {
                write_contatti(w, "prot:ContattiAmministrazione", c);
            }
            if let Some(c) = &a.codice_ipa_aoo {
                write_codice(w, "prot:CodiceIPAAOO", c);
            }
            if let Some(c) = &a.contatti_aoo {
                write_contatti(w, "prot:ContattiAOO", c);
            }
            if let Some(c) = &a.codice_ipa_uo {
                write_codice(w, "prot:CodiceIPAUO", c);
            }
            if let Some(c) = &a.contatti_uo {
                write_contatti(w, "prot:ContattiUO", c);
            }
            for p in &a.persone {
                write_persona(w, p);
            }
            w.close("prot:Amministrazione");
        }
        Soggetto::PersonaGiuridica(g) => {
            w.open("prot:PersonaGiuridica", &[]);
            w.leaf("prot:Denominazione", &[], &g.denominazione);
            w.opt_leaf(
                "prot:PIVAoCF",
                g.piva_o_cf.as_ref().map(PartitaIvaOCf::as_str),
            );
            if let Some(c) = &g.contatti {
                write_contatti(w, "prot:ContattiPersonaGiuridica", c);
            }
            for p in &g.persone {
                write_persona(w, p);
            }
            w.close("prot:PersonaGiuridica");
        }
        Soggetto::PersonaFisica(p) => write_persona(w, p),
        Soggetto::AmministrazioneEstera(e) => {
            w.open("prot:AmministrazioneEstera", &[]);
            w.leaf("prot:DenominazioneAmministrazione", &[], &e.denominazione);
            w.opt_leaf(
                "prot:DenominazioneUfficio",
                e.denominazione_ufficio.as_deref(),
            );
            if let Some(c) = &e.contatti {
                write_contatti(w, "prot:ContattiAmministrazione", c);
            }
            w.close("prot:AmministrazioneEstera");
        }
    }
}

fn write_firma(w: &mut Writer, tag: &str, f: &Firma, path: &str) -> Result<(), WriteError> {
    w.open(tag, &[]);
    match f {
        Firma::UnDetached => w.leaf("prot:UnDetached", &[], "true"),
        Firma::Detached(list) => {
            if list.is_empty() {
                return Err(WriteError::Invalid {
                    path: format!("{path}/{tag}"),
                    reason: "Detached needs at least one file",
                });
            }
            for d in list {
                let order = d.order.to_string();
                let mut attrs = vec![("prot:nomeFile", d.nome_file.as_str())];
                if let Some(m) = &d.mime_type {
                    attrs.push(("prot:mimeType", m));
                }
                attrs.push(("prot:order", &order));
                w.leaf("prot:Detached", &attrs, "true");
            }
        }
    }
    w.close(tag);
    Ok(())
}

fn write_documento(w: &mut Writer, tag: &str, d: &Documento) -> Result<(), WriteError> {
    w.open(
        tag,
        &[
            ("prot:nomeFile", &d.nome_file),
            ("prot:mimeType", &d.mime_type),
        ],
    );
    w.opt_leaf("prot:Descrizione", d.descrizione.as_deref());
    w.leaf(
        "prot:Impronta",
        &[("prot:algoritmo", d.impronta.algoritmo.name())],
        &d.impronta.to_base64(),
    );
    if let Some(c) = &d.collocazione_telematica {
        let ttl = c.time_to_live.map(|t| t.to_string());
        let mut attrs = Vec::new();
        if let Some(t) = &ttl {
            attrs.push(("prot:timeToLive", t.as_str()));
        }
        if let Some(u) = &c.user_id {
            attrs.push(("prot:userId", u.as_str()));
        }
        if let Some(p) = &c.password {
            attrs.push(("prot:password", p.as_str()));
        }
        w.open("prot:CollocazioneTelematica", &attrs);
        w.leaf("prot:HostValue", &[], &c.host);
        w.leaf("prot:PathValue", &[], &c.path);
        w.close("prot:CollocazioneTelematica");
    }
    let path = format!("Descrizione/{tag}[@nomeFile={}]", d.nome_file);
    if let Some(f) = &d.firmato_digitalmente {
        write_firma(w, "prot:firmatoDigitalmente", f, &path)?;
    }
    if let Some(f) = &d.sigillato_elettronicamente {
        write_firma(w, "prot:sigillatoElettronicamente", f, &path)?;
    }
    if let Some(f) = &d.marcatura_temporale {
        write_firma(w, "prot:marcaturaTemporale", f, &path)?;
    }
    w.close(tag);
    Ok(())
}

fn write_descrizione(w: &mut Writer, d: &Descrizione) -> Result<(), WriteError> {
    if d.destinatari.is_empty() {
        return Err(WriteError::Invalid {
            path: "SegnaturaInformatica/Descrizione".into(),
            reason: "at least one Destinatario is required",
        });
    }
    w.open("prot:Descrizione", &[]);
    w.open("prot:Mittente", &[]);
    write_soggetto_content(w, &d.mittente);
    w.close("prot:Mittente");
    for dest in &d.destinatari {
        w.open(
            "prot:Destinatario",
            &[
                (
                    "prot:confermaRicezione",
                    if dest.conferma_ricezione {
                        "true"
                    } else {
                        "false"
                    },
                ),
                (
                    "prot:perConoscenza",
                    if dest.per_conoscenza { "true" } else { "false" },
                ),
            ],
        );
        write_soggetto_content(w, &dest.soggetto);
        w.close("prot:Destinatario");
    }
    write_documento(w, "prot:DocumentoPrimario", &d.documento_primario)?;
    for a in &d.allegati {
        write_documento(w, "prot:Allegato", a)?;
    }
    w.close("prot:Descrizione");
    Ok(())
}

//! Protocolling a citizen's request: the registry number, the textual segnatura and the
//! segnatura informatica (AgID 2021) describing the request document.

use chrono::NaiveDate;
use protocollo::{
    Amministrazione, Classifica, CodiceRegistro, Destinatario, Documento, PersonaFisica, Register,
    RegistrationRecord, RegistroKey, SegnaturaBuilder, SegnaturaTestuale, Soggetto,
    TextualTemplate, Verso,
};

use super::Ente;

/// What protocolling a request produced.
#[derive(Debug, Clone)]
pub(crate) struct Protocolled {
    pub(crate) number: u64,
    pub(crate) segnatura: String,
    pub(crate) segnatura_xml: String,
}

/// Registers an incoming request in the ente's protocol register: the number is reserved and
/// the registration stored in one transaction (`request_id` makes a retry return the same
/// number instead of a second one).
pub(crate) async fn register(
    registry: &dyn Register,
    ente: &Ente,
    date: NaiveDate,
    citizen: (&str, &str, Option<pa_types::CodiceFiscale>),
    subject: &str,
    document: &[u8],
    request_id: &str,
) -> Result<Protocolled, String> {
    let registro: CodiceRegistro = ente
        .register
        .parse()
        .map_err(|e| format!("codice registro: {e:?}"))?;
    let key = RegistroKey::new(ente.ipa.as_str(), ente.aoo.as_str(), registro.clone());
    let (nome, cognome, cf) = citizen;
    let record = RegistrationRecord::new(Verso::Arrivo, subject, format!("{nome} {cognome}"))
        .and_then(|r| r.with_id_richiesta(request_id))
        .map_err(|e| format!("registro di protocollo: {e}"))?;
    let id = registry
        .register(&key, date, record)
        .await
        .map_err(|e| format!("registro di protocollo: {e}"))?;
    let number = id.numero_registrazione.value();

    let mut testuale = SegnaturaTestuale::new(id.numero_registrazione, date);
    testuale.amministrazione = Some(ente.ipa.as_str().to_uppercase());
    testuale.aoo = Some(ente.aoo.clone());
    testuale.registro = Some("REGISTRO UFFICIALE".into());
    testuale.verso = Some(Verso::Arrivo);
    let segnatura = TextualTemplate::ministeriale()
        .format(&testuale)
        .map_err(|e| format!("segnatura testuale: {e}"))?;

    let mittente = Soggetto::PersonaFisica(PersonaFisica {
        nome: nome.to_owned(),
        cognome: cognome.to_owned(),
        titolo: None,
        codice_fiscale: cf,
        contatti: None,
    });
    let destinatario = Destinatario::new(Soggetto::Amministrazione(Amministrazione::new(
        ente.name.clone(),
        ente.ipa.as_str(),
    )));
    let documento = Documento::from_content("istanza.txt", "text/plain", document);
    let xml = SegnaturaBuilder::new(
        id,
        subject,
        Classifica::flat("Istanze dei cittadini", "1.1"),
        mittente,
        destinatario,
        documento,
    )
    .build()
    .to_xml()
    .map_err(|e| format!("segnatura informatica: {e}"))?;
    Ok(Protocolled {
        number,
        segnatura,
        segnatura_xml: xml,
    })
}

//! Shared helpers: sample segnatura, xmllint oracle.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use chrono::{NaiveDate, NaiveTime};
use protocollo::*;

pub(crate) fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas")
}

/// Runs xmllint against `schema` (file name in the schema dir). Returns false when xmllint is
/// absent outside CI; panics when absent in CI or when validation fails.
pub(crate) fn xmllint(xml: &str, schema: &str) -> bool {
    if Command::new("xmllint").arg("--version").output().is_err() {
        if std::env::var_os("CI").is_some() {
            panic!("xmllint is required in CI (apt-get install libxml2-utils)");
        }
        eprintln!("xmllint not found: schema check skipped");
        return false;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("doc.xml");
    std::fs::write(&f, xml).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(schema_dir().join(schema))
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xmllint rejected the document:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        xml
    );
    true
}

/// A structurally valid (not cryptographically meaningful) `ds:Signature` for schema checks of
/// unsigned output.
pub(crate) const DUMMY_SIGNATURE: &str = r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"#;

pub(crate) fn with_dummy_signature(xml: &str, root_close: &str) -> String {
    let i = xml.rfind(root_close).unwrap();
    format!("{}{}{}", &xml[..i], DUMMY_SIGNATURE, &xml[i..])
}

pub(crate) fn identificatore(n: u64) -> Identificatore {
    let mut id = Identificatore::new(
        "c_h501",
        "A1B2C3D",
        "PROT_GEN".parse().unwrap(),
        NumeroRegistrazione::new(n),
        NaiveDate::from_ymd_opt(2021, 3, 30).unwrap(),
    );
    id.ora_registrazione = Some(Ora::new(NaiveTime::from_hms_opt(10, 15, 0).unwrap()));
    id.codice_amministrazione.descrizione = Some("Comune di Roma".into());
    id
}

pub(crate) fn indirizzo() -> IndirizzoPostale {
    IndirizzoPostale {
        dug: "Via".into(),
        duf: "del Corso".into(),
        civico: "12/A".into(),
        cap: "00186".parse().unwrap(),
        comune: "Roma".into(),
        codice_istat: "058091".parse().unwrap(),
        nazione: "Italia".into(),
        codice3166: Some("ITA".into()),
    }
}

pub(crate) fn persona() -> PersonaFisica {
    PersonaFisica {
        nome: "Mario".into(),
        cognome: "Rossi".into(),
        titolo: Some("Sig.".into()),
        codice_fiscale: Some("RSSMRA85T10A562S".parse().unwrap()),
        contatti: Some(Contatti {
            indirizzi_postali: vec![indirizzo()],
            indirizzi_telematici: vec![IndirizzoTelematico {
                valore: "mario.rossi@example.it".into(),
                tipo: TipoIndirizzo::Smtp,
                note: Some("PEC & <privata>".into()),
            }],
            telefoni: vec!["+39 06 1234567".into()],
        }),
    }
}

pub(crate) const PRIMARY: &[u8] = b"%PDF-1.4 documento primario";
pub(crate) const ATTACHMENT: &[u8] = b"allegato numero uno";

/// A segnatura using every part of the schema.
pub(crate) fn full_segnatura() -> SegnaturaInformatica {
    let mut mittente = Amministrazione::new("Comune di Roma", "c_h501");
    mittente.cf = Some("02438750586".parse().unwrap());
    mittente.contatti = Some(Contatti::pec("protocollo@pec.comune.roma.it"));
    mittente.codice_ipa_aoo = Some(CodiceIpa::new("A1B2C3D").with_descrizione("AOO Roma"));
    mittente.contatti_aoo = Some(Contatti::pec("aoo@pec.comune.roma.it"));
    mittente.codice_ipa_uo = Some(CodiceIpa::new("UO_1"));
    mittente.persone = vec![persona()];

    let mut primario = Documento::from_content("istanza.pdf", "application/pdf", PRIMARY);
    primario.descrizione = Some("Istanza del cittadino".into());
    primario.firmato_digitalmente = Some(Firma::Detached(vec![Detached {
        nome_file: "istanza.pdf.p7s".into(),
        mime_type: Some("application/pkcs7-signature".into()),
        order: 1,
    }]));
    primario.marcatura_temporale = Some(Firma::UnDetached);
    let mut allegato = Documento::new(
        "allegato.txt",
        "text/plain",
        Impronta::compute(DigestAlgorithm::Sha512, ATTACHMENT).unwrap(),
    );
    allegato.collocazione_telematica = Some(CollocazioneTelematica {
        host: "https://docs.example.it".into(),
        path: "/download/42".into(),
        time_to_live: Some(86_400_000),
        user_id: Some("aoo".into()),
        password: Some("s3cret".into()),
    });
    allegato.sigillato_elettronicamente = Some(Firma::UnDetached);

    let classifica = Classifica {
        denominazione: "Edilizia privata".into(),
        codice: CodiceClassifica::Path(Livello {
            valore: "VI".into(),
            descrizione: Some("Pianificazione e gestione del territorio".into()),
            sub_livello: Some(Box::new(Livello {
                valore: "3".into(),
                descrizione: None,
                sub_livello: None,
            })),
        }),
    };
    SegnaturaBuilder::new(
        identificatore(341_944),
        "Richiesta di permesso di costruire",
        classifica,
        Soggetto::Amministrazione(mittente),
        Destinatario::new(Soggetto::Amministrazione(Amministrazione::new(
            "Regione Marche",
            "r_marche",
        ))),
        primario,
    )
    .destinatario(Destinatario {
        soggetto: Soggetto::PersonaGiuridica(PersonaGiuridica {
            denominazione: "Edil S.r.l.".into(),
            piva_o_cf: Some("12345678901".parse().unwrap()),
            contatti: Some(Contatti::pec("edil@pec.example.it")),
            persone: vec![persona()],
        }),
        conferma_ricezione: false,
        per_conoscenza: true,
    })
    .destinatario(Destinatario::new(Soggetto::PersonaFisica(persona())))
    .destinatario(Destinatario::new(Soggetto::AmministrazioneEstera(
        AmministrazioneEstera {
            denominazione: "Ville de Nice".into(),
            denominazione_ufficio: Some("Urbanisme".into()),
            contatti: None,
        },
    )))
    .allegato(allegato)
    .prima_registrazione(identificatore(1))
    .fascicolo(Fascicolo {
        denominazione: "Pratica edilizia 145".into(),
        codice_fascicolo: "360.90/2021/IPC/145".into(),
    })
    .riservato(false, Some("nessuna riservatezza".into()))
    .riferimenti(Riferimenti {
        identificatore: identificatore(77),
        prima_registrazione: None,
        oggetto: "Richiesta precedente".into(),
        classifica: Classifica::flat("Edilizia", "6.3"),
        fascicolo: None,
    })
    .build()
}

/// The smallest segnatura the schema allows.
pub(crate) fn minimal_segnatura() -> SegnaturaInformatica {
    SegnaturaBuilder::new(
        Identificatore::new(
            "r_marche",
            "GRM",
            "IPC".parse().unwrap(),
            NumeroRegistrazione::new(5),
            NaiveDate::from_ymd_opt(2021, 1, 2).unwrap(),
        ),
        "Oggetto",
        Classifica::flat("Generale", "1.1"),
        Soggetto::Amministrazione(Amministrazione::new("Regione Marche", "r_marche")),
        Destinatario::new(Soggetto::Amministrazione(Amministrazione::new(
            "Comune di Ancona",
            "c_a271",
        ))),
        Documento::from_content("doc.pdf", "application/pdf", PRIMARY),
    )
    .build()
}

/// Makes the openssl test files once per run; None when openssl is absent outside CI.
pub(crate) fn files() -> Option<&'static Path> {
    static DIR: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    DIR.get_or_init(|| {
        if Command::new("openssl").arg("version").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "openssl is required in CI"
            );
            eprintln!("openssl not found: .p7m tests skipped");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("p7m");
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/p7m/make-p7m.sh");
        let st = Command::new("bash")
            .arg(&script)
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        Some((dir, out))
    })
    .as_ref()
    .map(|(_, p)| p.as_path())
}

pub(crate) fn read(name: &str) -> Vec<u8> {
    std::fs::read(files().unwrap().join(name)).unwrap()
}

/// Normalises CAPs to their postal form (the writer emits the schema's 6-digit form).
pub(crate) fn fix_caps(s: &mut SegnaturaInformatica) {
    fn fix_c(c: &mut Contatti) {
        for a in &mut c.indirizzi_postali {
            a.cap = a.cap.postal_form().parse().unwrap();
        }
    }
    fn fix_p(p: &mut PersonaFisica) {
        if let Some(c) = &mut p.contatti {
            fix_c(c);
        }
    }
    fn fix_s(s: &mut Soggetto) {
        match s {
            Soggetto::Amministrazione(a) => a.persone.iter_mut().for_each(fix_p),
            Soggetto::PersonaGiuridica(g) => g.persone.iter_mut().for_each(fix_p),
            Soggetto::PersonaFisica(p) => fix_p(p),
            Soggetto::AmministrazioneEstera(_) => {}
        }
    }
    fix_s(&mut s.descrizione.mittente);
    for d in &mut s.descrizione.destinatari {
        fix_s(&mut d.soggetto);
    }
}

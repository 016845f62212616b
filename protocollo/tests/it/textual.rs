use chrono::NaiveDate;
use protocollo::*;

#[test]
fn regional_pipe_preset_round_trips() {
    let t = TextualTemplate::pipe_regionale();
    let text = "0341944|30/03/2021|R_MARCHE|GRM|IPC|A|360.90/2021/IPC/145";
    let v = t.parse(text).unwrap();
    assert_eq!(v.numero.value(), 341_944);
    assert_eq!(v.data, NaiveDate::from_ymd_opt(2021, 3, 30).unwrap());
    assert_eq!(v.amministrazione.as_deref(), Some("R_MARCHE"));
    assert_eq!(v.registro.as_deref(), Some("GRM"));
    assert_eq!(v.ufficio.as_deref(), Some("IPC"));
    assert_eq!(v.verso, Some(Verso::Arrivo));
    assert_eq!(v.fascicolo.as_deref(), Some("360.90/2021/IPC/145"));
    assert_eq!(t.format(&v).unwrap(), text);
}

#[test]
fn ministerial_preset_round_trips() {
    let t = TextualTemplate::ministeriale();
    let text = "m_pi.AOODGPER.REGISTRO UFFICIALE(U).0050487.11-12-2019";
    let v = t.parse(text).unwrap();
    assert_eq!(v.numero.value(), 50_487);
    assert_eq!(v.verso, Some(Verso::Partenza));
    assert_eq!(v.registro.as_deref(), Some("REGISTRO UFFICIALE"));
    assert_eq!(v.data, NaiveDate::from_ymd_opt(2019, 12, 11).unwrap());
    assert_eq!(t.format(&v).unwrap(), text);
}

#[test]
fn rejects_text_not_following_template() {
    let t = TextualTemplate::pipe_regionale();
    assert!(matches!(
        t.parse("0341944|30/03/2021|R_MARCHE"),
        Err(TextualError::Mismatch { .. })
    ));
    assert!(matches!(
        t.parse("03419X4|30/03/2021|R_MARCHE|GRM|IPC|A|x"),
        Err(TextualError::Field {
            field: "numero",
            ..
        })
    ));
    assert!(matches!(
        t.parse("0341944|31/02/2021|R_MARCHE|GRM|IPC|A|x"),
        Err(TextualError::Field { field: "data", .. })
    ));
    assert!(matches!(
        t.parse("0341944|30/03/2021|R_MARCHE|GRM|IPC|Z|x"),
        Err(TextualError::Field { field: "verso", .. })
    ));
}

#[test]
fn format_refuses_values_containing_the_separator() {
    let t = TextualTemplate::pipe_regionale();
    let mut v = SegnaturaTestuale::new(
        NumeroRegistrazione::new(1),
        NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
    );
    v.amministrazione = Some("A|B".into());
    v.registro = Some("R".into());
    v.ufficio = Some("U".into());
    v.verso = Some(Verso::Partenza);
    v.fascicolo = Some("F".into());
    assert!(matches!(t.format(&v), Err(TextualError::Field { .. })));
    v.amministrazione = None;
    assert_eq!(
        t.format(&v),
        Err(TextualError::MissingField("amministrazione"))
    );
}

#[test]
fn custom_template_with_year_and_width() {
    let t = TextualTemplate::new("Prot. n. {numero:9} del {data:%Y-%m-%d} ({anno})").unwrap();
    let v = SegnaturaTestuale::new(
        NumeroRegistrazione::new(42),
        NaiveDate::from_ymd_opt(2025, 6, 7).unwrap(),
    );
    let s = t.format(&v).unwrap();
    assert_eq!(s, "Prot. n. 000000042 del 2025-06-07 (2025)");
    assert_eq!(t.parse(&s).unwrap(), v);
    assert!(t.parse("Prot. n. 000000042 del 2025-06-07 (2024)").is_err());
}

//! The typed OPI 1.7.1 model of `flusso_ordinativi`: testata, mandati and reversali.
//!
//! Field names follow the schema's element names; optional elements are `Option`, repeated
//! ones `Vec`, in schema order. Choices of the schema are enums.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use pa_types::{Amount, Cig, Cup, Iban};

use crate::types::{
    CodiceA2a, CodiceAbi, CodiceEnte, CodiceGestionale, CodiceIstat, IdentificativoFlusso,
    SignedAmount, opi_enum,
};

/// A whole OPI flow held in memory. For large flows use [`crate::FlowWriter`] and
/// [`crate::FlowReader`], which handle one order at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlussoOrdinativi {
    /// The `Id` attribute of the root (the signature's reference may point at it).
    pub id: Option<String>,
    /// `testata_flusso`.
    pub testata: TestataFlusso,
    /// `esercizio`: the financial year (1999..=2099).
    pub esercizio: u16,
    /// Mandati and reversali in document order (at least one).
    pub ordinativi: Vec<Ordinativo>,
}

/// One order of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ordinativo {
    /// A payment order.
    Mandato(Box<Mandato>),
    /// A collection order.
    Reversale(Box<Reversale>),
}

/// `testata_flusso`: who sends the flow to which treasurer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestataFlusso {
    /// `codice_ABI_BT`: ABI code of the treasurer bank.
    pub codice_abi_bt: CodiceAbi,
    /// `identificativo_flusso`: unique per ente.
    pub identificativo_flusso: IdentificativoFlusso,
    /// `data_ora_creazione_flusso`.
    pub data_ora_creazione_flusso: NaiveDateTime,
    /// `codice_ente`.
    pub codice_ente: CodiceEnte,
    /// `descrizione_ente` (not empty).
    pub descrizione_ente: String,
    /// `codice_istat_ente`.
    pub codice_istat_ente: CodiceIstat,
    /// `codice_fiscale_ente` (`[A-Z0-9]{11,16}`; validation checks the check digit).
    pub codice_fiscale_ente: String,
    /// `codice_tramite_ente`: the ente's A2A code.
    pub codice_tramite_ente: CodiceA2a,
    /// `codice_tramite_BT`: the treasurer's A2A code.
    pub codice_tramite_bt: CodiceA2a,
    /// `codice_ente_BT`: the ente's code at the treasurer.
    pub codice_ente_bt: String,
    /// `riferimento_ente`.
    pub riferimento_ente: Option<String>,
}

opi_enum!(
    /// `tipo_operazione` of an order.
    TipoOperazione, "tipo_operazione" {
        /// A new order.
        Inserimento = "INSERIMENTO",
        /// A change to an order already sent.
        Variazione = "VARIAZIONE",
        /// Cancels an order.
        Annullo = "ANNULLO",
        /// Replaces an order already paid with another (with `sostituzione_*`).
        Sostituzione = "SOSTITUZIONE",
    }
);

/// `mandato`: a payment order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mandato {
    /// `tipo_operazione`.
    pub tipo_operazione: TipoOperazione,
    /// `numero_mandato` (1..=9999999, unique in the flow).
    pub numero_mandato: u32,
    /// `data_mandato`.
    pub data_mandato: NaiveDate,
    /// `importo_mandato`: equals the sum of the beneficiaries' amounts.
    pub importo_mandato: Amount,
    /// `conto_evidenza` (1..25 characters).
    pub conto_evidenza: Option<String>,
    /// `estremi_provvedimento_autorizzativo`.
    pub estremi_provvedimento_autorizzativo: Option<String>,
    /// `responsabile_provvedimento`.
    pub responsabile_provvedimento: Option<String>,
    /// `ufficio_responsabile`.
    pub ufficio_responsabile: Option<String>,
    /// `bilancio` (0..10).
    pub bilancio: Vec<Bilancio>,
    /// `funzionario_delegato`.
    pub funzionario_delegato: Option<FunzionarioDelegato>,
    /// `informazioni_beneficiario` (1..n).
    pub informazioni_beneficiario: Vec<InformazioniBeneficiario>,
    /// `dati_a_disposizione_ente_mandato` or `dati_a_disposizione_ente_mandato_MIUR`.
    pub dati_a_disposizione_ente: Option<DatiEnteMandato>,
}

impl Mandato {
    /// A new order (`INSERIMENTO`) with its required parts; the amount is the sum of the
    /// beneficiaries' (saturating; validation reports overflow).
    #[must_use]
    pub fn new(
        numero_mandato: u32,
        data_mandato: NaiveDate,
        informazioni_beneficiario: Vec<InformazioniBeneficiario>,
    ) -> Self {
        let total = informazioni_beneficiario
            .iter()
            .map(|b| b.importo_beneficiario.cents())
            .fold(0u64, u64::saturating_add);
        Mandato {
            tipo_operazione: TipoOperazione::Inserimento,
            numero_mandato,
            data_mandato,
            importo_mandato: Amount::from_cents(total),
            conto_evidenza: None,
            estremi_provvedimento_autorizzativo: None,
            responsabile_provvedimento: None,
            ufficio_responsabile: None,
            bilancio: Vec::new(),
            funzionario_delegato: None,
            informazioni_beneficiario,
            dati_a_disposizione_ente: None,
        }
    }
}

opi_enum!(
    /// `gestione` of a `bilancio` entry.
    Gestione, "gestione" {
        /// Residual from earlier years.
        Residuo = "RESIDUO",
        /// Current year.
        Competenza = "COMPETENZA",
    }
);

/// `bilancio`: the budget chapter charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bilancio {
    /// `codifica_bilancio` (1..=9999999).
    pub codifica_bilancio: u32,
    /// `descrizione_codifica`.
    pub descrizione_codifica: Option<String>,
    /// `gestione`.
    pub gestione: Gestione,
    /// `anno_residuo` (1980..=2099).
    pub anno_residuo: Option<u16>,
    /// `numero_articolo` (0..=999).
    pub numero_articolo: Option<u16>,
    /// `voce_economica` (0..=999).
    pub voce_economica: Option<u16>,
    /// `importo_bilancio`.
    pub importo_bilancio: Amount,
}

/// `funzionario_delegato`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunzionarioDelegato {
    /// `codice_funzionario_delegato` (16 or 11 alphanumerics, or 1..7 digits).
    pub codice_funzionario_delegato: String,
    /// `importo_funzionario_delegato`.
    pub importo_funzionario_delegato: Amount,
    /// `tipologia_pagamento_funzionario_delegato`.
    pub tipologia_pagamento_funzionario_delegato: String,
    /// `numero_pagamento_funzionario_delegato`.
    pub numero_pagamento_funzionario_delegato: String,
}

opi_enum!(
    /// `tipo_pagamento` of a beneficiary.
    TipoPagamento, "tipo_pagamento" {
        /// Postal current account credit.
        AccreditoContoCorrentePostale = "ACCREDITO CONTO CORRENTE POSTALE",
        /// Credit to the provincial State treasury.
        AccreditoTesoreriaProvincialeStato = "ACCREDITO TESORERIA PROVINCIALE STATO",
        /// Pre-authorised debit.
        AddebitoPreautorizzato = "ADDEBITO PREAUTORIZZATO",
        /// Bank or postal cheque.
        AssegnoBancarioEPostale = "ASSEGNO BANCARIO E POSTALE",
        /// Cashier's cheque.
        AssegnoCircolare = "ASSEGNO CIRCOLARE",
        /// Payment of a pagoPA notice (needs `avviso_pagoPA`).
        AvvisoPagopa = "AVVISO PAGOPA",
        /// Euro transfer abroad.
        BonificoEsteroEuro = "BONIFICO ESTERO EURO",
        /// Cash.
        Cassa = "CASSA",
        /// Offsetting.
        Compensazione = "COMPENSAZIONE",
        /// As in an external document.
        DisposizioneDocumentoEsterno = "DISPOSIZIONE DOCUMENTO ESTERNO",
        /// F24EP tax form.
        F24ep = "F24EP",
        /// Regularisation of a provisional.
        Regolarizzazione = "REGOLARIZZAZIONE",
        /// SEPA credit transfer (needs `sepa_credit_transfer`).
        SepaCreditTransfer = "SEPA CREDIT TRANSFER",
        /// Replacement.
        Sostituzione = "SOSTITUZIONE",
    }
);

opi_enum!(
    /// `destinazione`: free or restricted funds.
    Destinazione, "destinazione" {
        /// Free funds.
        Libera = "LIBERA",
        /// Restricted funds.
        Vincolata = "VINCOLATA",
    }
);

opi_enum!(
    /// `tipo_contabilita_ente_ricevente`.
    TipoContabilita, "tipo_contabilita_ente_ricevente" {
        /// Interest-bearing.
        Fruttifera = "FRUTTIFERA",
        /// Non interest-bearing.
        Infruttifera = "INFRUTTIFERA",
    }
);

opi_enum!(
    /// `tipo_postalizzazione`.
    TipoPostalizzazione, "tipo_postalizzazione" {
        /// As agreed.
        ComeDaConvenzione = "COME DA CONVENZIONE",
        /// Delivered to the ente.
        ConsegnaAllEnte = "CONSEGNA ALL'ENTE",
        /// Priority mail.
        PostaPrioritaria = "POSTA PRIORITARIA",
        /// Registered mail.
        Raccomandata = "RACCOMANDATA",
        /// Registered mail with return receipt.
        RaccomandataAr = "RACCOMANDATA A.R.",
        /// Insured mail.
        Assicurata = "ASSICURATA",
    }
);

/// `informazioni_beneficiario`: one beneficiary of a mandato.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InformazioniBeneficiario {
    /// `progressivo_beneficiario` (unique within the mandato).
    pub progressivo_beneficiario: u32,
    /// `importo_beneficiario`.
    pub importo_beneficiario: Amount,
    /// `tipo_pagamento`.
    pub tipo_pagamento: TipoPagamento,
    /// `impignorabili` = `SI`.
    pub impignorabili: bool,
    /// `frazionabile` = `NO` (the only value the schema allows).
    pub non_frazionabile: bool,
    /// `gestione_provvisoria` = `SI`.
    pub gestione_provvisoria: bool,
    /// `data_esecuzione_pagamento`.
    pub data_esecuzione_pagamento: Option<NaiveDate>,
    /// `data_scadenza_pagamento`.
    pub data_scadenza_pagamento: Option<NaiveDate>,
    /// `destinazione`.
    pub destinazione: Option<Destinazione>,
    /// `tipo_contabilita_ente_ricevente`.
    pub tipo_contabilita_ente_ricevente: Option<TipoContabilita>,
    /// `tipo_postalizzazione`.
    pub tipo_postalizzazione: Option<TipoPostalizzazione>,
    /// `classificazione` (amounts add up to `importo_beneficiario`).
    pub classificazione: Vec<ClassificazioneUscita>,
    /// `bollo`.
    pub bollo: Bollo<AssoggettamentoBolloMandato>,
    /// `spese`.
    pub spese: Option<Spese>,
    /// `beneficiario`.
    pub beneficiario: Soggetto,
    /// `delegato` (0..n).
    pub delegato: Vec<Delegato>,
    /// `creditore_effettivo`.
    pub creditore_effettivo: Option<Soggetto>,
    /// `piazzatura/numero_conto_corrente_beneficiario`.
    pub piazzatura: Option<String>,
    /// `sepa_credit_transfer`.
    pub sepa_credit_transfer: Option<SepaCreditTransfer>,
    /// `codice_versante` (`[A-Za-z][0-9]{9}`).
    pub codice_versante: Option<String>,
    /// `causale` (not empty).
    pub causale: String,
    /// `sospeso` (0..1000).
    pub sospeso: Vec<Sospeso>,
    /// `ritenute` (0..30).
    pub ritenute: Vec<Ritenuta>,
    /// `informazioni_aggiuntive`.
    pub informazioni_aggiuntive: Option<InformazioniAggiuntive>,
    /// `sostituzione_mandato` (only with `tipo_operazione` SOSTITUZIONE).
    pub sostituzione_mandato: Option<Sostituzione>,
    /// `dati_a_disposizione_ente_beneficiario`.
    pub dati_a_disposizione_ente_beneficiario: Option<RawXml>,
}

impl InformazioniBeneficiario {
    /// A beneficiary with its required parts; the rest is empty, bollo is `ESENTE BOLLO`.
    #[must_use]
    pub fn new(
        progressivo_beneficiario: u32,
        importo_beneficiario: Amount,
        tipo_pagamento: TipoPagamento,
        beneficiario: Soggetto,
        causale: impl Into<String>,
    ) -> Self {
        InformazioniBeneficiario {
            progressivo_beneficiario,
            importo_beneficiario,
            tipo_pagamento,
            impignorabili: false,
            non_frazionabile: false,
            gestione_provvisoria: false,
            data_esecuzione_pagamento: None,
            data_scadenza_pagamento: None,
            destinazione: None,
            tipo_contabilita_ente_ricevente: None,
            tipo_postalizzazione: None,
            classificazione: Vec::new(),
            bollo: Bollo {
                assoggettamento_bollo: AssoggettamentoBolloMandato::EsenteBollo,
                causale_esenzione_bollo: None,
            },
            spese: None,
            beneficiario,
            delegato: Vec::new(),
            creditore_effettivo: None,
            piazzatura: None,
            sepa_credit_transfer: None,
            codice_versante: None,
            causale: causale.into(),
            sospeso: Vec::new(),
            ritenute: Vec::new(),
            informazioni_aggiuntive: None,
            sostituzione_mandato: None,
            dati_a_disposizione_ente_beneficiario: None,
        }
    }
}

/// `classificazione` of a mandato's beneficiary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassificazioneUscita {
    /// `codice_cgu`.
    pub codice_cgu: CodiceGestionale,
    /// `codice_cup`.
    pub codice_cup: Option<Cup>,
    /// `codice_cpv` (`[0-9]{8}-[0-9]`).
    pub codice_cpv: Option<String>,
    /// `importo`.
    pub importo: Amount,
    /// `classificazione_dati_siope_uscite`.
    pub dati_siope: DatiSiopeUscite,
}

/// `classificazione_dati_siope_uscite`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatiSiopeUscite {
    /// The debt entries (1..n).
    pub debiti: Vec<DebitoUscita>,
    /// `dati_ARCONET_siope`.
    pub arconet: Option<ArconetUscite>,
}

opi_enum!(
    /// Non-commercial debt type (`stTipo_debito_non_commerciale`).
    TipoDebitoNonCommerciale, "tipo_debito_siope_nc" {
        /// VAT.
        Iva = "IVA",
        /// Non-commercial.
        NonCommerciale = "NON_COMMERCIALE",
    }
);

/// One entry of `classificazione_dati_siope_uscite`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebitoUscita {
    /// `tipo_debito_siope_nc`, optionally with CIG (or the reason for none) and invoices.
    NonCommerciale {
        /// `tipo_debito_siope_nc`.
        tipo: TipoDebitoNonCommerciale,
        /// CIG or exclusion reason, with the invoices (≥ 1).
        cig_fatture: Option<(CigOEsclusione, Vec<FatturaSiope>)>,
    },
    /// `tipo_debito_siope_c` = COMMERCIALE: CIG or exclusion reason, invoices (≥ 1).
    Commerciale {
        /// `codice_cig_siope` or `motivo_esclusione_cig_siope`.
        cig: CigOEsclusione,
        /// `fattura_siope` (1..n).
        fatture: Vec<FatturaSiope>,
    },
}

/// A CIG, or the reason why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CigOEsclusione {
    /// `codice_cig_siope`.
    Cig(Cig),
    /// `motivo_esclusione_cig_siope`.
    Esclusione(MotivoEsclusioneCig),
}

opi_enum!(
    /// `motivo_esclusione_cig_siope`: why an expense has no CIG.
    MotivoEsclusioneCig, "motivo_esclusione_cig_siope" {
        /// ACCORDO_AMM_AGGIUDICATRICI
        AccordoAmmAggiudicatrici = "ACCORDO_AMM_AGGIUDICATRICI",
        /// ACQUISTO_LOCAZIONE
        AcquistoLocazione = "ACQUISTO_LOCAZIONE",
        /// AFFIDAMENTI_IN_HOUSE
        AffidamentiInHouse = "AFFIDAMENTI_IN_HOUSE",
        /// AMMINISTRAZIONE DIRETTA
        AmministrazioneDiretta = "AMMINISTRAZIONE DIRETTA",
        /// APPALTI_ENERGIA_ACQUA
        AppaltiEnergiaAcqua = "APPALTI_ENERGIA_ACQUA",
        /// ARBITRATO
        Arbitrato = "ARBITRATO",
        /// ATTIVITA_CONCORRENZA
        AttivitaConcorrenza = "ATTIVITA_CONCORRENZA",
        /// CONCESSIONI_PAESI_TERZI
        ConcessioniPaesiTerzi = "CONCESSIONI_PAESI_TERZI",
        /// CONTRATTI_ASSOCIAZIONE
        ContrattiAssociazione = "CONTRATTI_ASSOCIAZIONE",
        /// CONTRATTI_AUTORITA_GIUDIZIARIA
        ContrattiAutoritaGiudiziaria = "CONTRATTI_AUTORITA_GIUDIZIARIA",
        /// CONTRATTI_DIFESA
        ContrattiDifesa = "CONTRATTI_DIFESA",
        /// CONTRATTI_ESTERO
        ContrattiEstero = "CONTRATTI_ESTERO",
        /// CONTRATTI_LAVORO
        ContrattiLavoro = "CONTRATTI_LAVORO",
        /// DIRITTO_ESCLUSIVO
        DirittoEsclusivo = "DIRITTO_ESCLUSIVO",
        /// EROGAZIONI_LIBERALITA
        ErogazioniLiberalita = "EROGAZIONI_LIBERALITA",
        /// IMPRESA_COLLEGATA
        ImpresaCollegata = "IMPRESA_COLLEGATA",
        /// INCARICHI_COLLABORAZIONE
        IncarichiCollaborazione = "INCARICHI_COLLABORAZIONE",
        /// JOINT_VENTURE
        JointVenture = "JOINT_VENTURE",
        /// PRESTAZIONI
        Prestazioni = "PRESTAZIONI",
        /// RIASSICURAZIONE
        Riassicurazione = "RIASSICURAZIONE",
        /// RISARCIMENTI_INDENNIZZI
        RisarcimentiIndennizzi = "RISARCIMENTI_INDENNIZZI",
        /// SERVIZI_BANCHE_CENTRALI_EFSF
        ServiziBancheCentraliEfsf = "SERVIZI_BANCHE_CENTRALI_EFSF",
        /// SERVIZI_CAMPAGNE_POLITICHE
        ServiziCampagnePolitiche = "SERVIZI_CAMPAGNE_POLITICHE",
        /// SPESE_ECONOMALI
        SpeseEconomali = "SPESE_ECONOMALI",
        /// SPONSORIZZAZIONE_PURA
        SponsorizzazionePura = "SPONSORIZZAZIONE_PURA",
        /// TRASFERIMENTO_FONDI
        TrasferimentoFondi = "TRASFERIMENTO_FONDI",
        /// TRASPORTO_AEREO
        TrasportoAereo = "TRASPORTO_AEREO",
    }
);

/// `fattura_siope`: an invoice paid (or collected) by the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FatturaSiope {
    /// `codice_ipa_ente_siope`.
    pub codice_ipa_ente_siope: CodiceEnte,
    /// Electronic (SdI batch) or paper document.
    pub documento: DocumentoSiope,
    /// `dati_fattura_siope`.
    pub dati: DatiFatturaSiope,
}

opi_enum!(
    /// `tipo_documento_analogico_siope`.
    TipoDocumentoAnalogico, "tipo_documento_analogico_siope" {
        /// Paper invoice.
        FattAnalogica = "FATT_ANALOGICA",
        /// Equivalent document.
        DocEquivalente = "DOC_EQUIVALENTE",
    }
);

/// How the invoice exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentoSiope {
    /// `tipo_documento_siope_e` = ELETTRONICO with `identificativo_lotto_sdi_siope`.
    Elettronico {
        /// `identificativo_lotto_sdi_siope` (≥ 1).
        identificativo_lotto_sdi: u64,
    },
    /// `tipo_documento_siope_a` = ANALOGICO.
    Analogico {
        /// `tipo_documento_analogico_siope`.
        tipo: TipoDocumentoAnalogico,
        /// `codice_fiscale_emittente_siope` (1..30 characters).
        codice_fiscale_emittente: String,
        /// `anno_emissione_fattura_siope` (1980..=2099).
        anno_emissione: u16,
    },
}

opi_enum!(
    /// `motivo_scadenza_siope`.
    MotivoScadenza, "motivo_scadenza_siope" {
        /// SCAD_FATTURA
        ScadFattura = "SCAD_FATTURA",
        /// CORRETTA_SCAD_FATTURA
        CorrettaScadFattura = "CORRETTA_SCAD_FATTURA",
        /// SOSP_DECORRENZA_TERMINI
        SospDecorrenzaTermini = "SOSP_DECORRENZA_TERMINI",
    }
);

opi_enum!(
    /// `natura_spesa_siope`.
    NaturaSpesa, "natura_spesa_siope" {
        /// Current expense.
        Corrente = "CORRENTE",
        /// Capital expense.
        Capitale = "CAPITALE",
    }
);

opi_enum!(
    /// `utilizzo_nota_di_credito`.
    UtilizzoNotaCredito, "utilizzo_nota_di_credito" {
        /// INCASSO/COMPENSAZIONE
        IncassoCompensazione = "INCASSO/COMPENSAZIONE",
        /// SPLIT PAYMENT
        SplitPayment = "SPLIT PAYMENT",
    }
);

/// `dati_fattura_siope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatiFatturaSiope {
    /// `numero_fattura_siope` (1..20 characters).
    pub numero_fattura: String,
    /// `importo_siope` (negative for credit notes).
    pub importo: SignedAmount,
    /// `data_scadenza_pagam_siope`.
    pub data_scadenza_pagam: NaiveDate,
    /// `motivo_scadenza_siope`.
    pub motivo_scadenza: Option<MotivoScadenza>,
    /// `natura_spesa_siope`.
    pub natura_spesa: NaturaSpesa,
    /// `utilizzo_nota_di_credito`.
    pub utilizzo_nota_di_credito: Option<UtilizzoNotaCredito>,
}

opi_enum!(
    /// `codice_uscita_siope` / `codice_entrata_siope`.
    Ricorrenza, "ricorrenza" {
        /// Recurring.
        Ricorrente = "RICORRENTE",
        /// Not recurring.
        NonRicorrente = "NON RICORRENTE",
    }
);

/// `dati_ARCONET_siope` of a mandato (harmonised accounting, d.lgs. 118/2011).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArconetUscite {
    /// `codice_missione_siope` (digits).
    pub codice_missione: String,
    /// `codice_programma_siope` (digits).
    pub codice_programma: String,
    /// `codice_economico_siope` (digits).
    pub codice_economico: String,
    /// `importo_codice_economico_siope`.
    pub importo_codice_economico: Amount,
    /// `codice_UE_siope` (digits).
    pub codice_ue: String,
    /// `codice_uscita_siope`.
    pub codice_uscita: Option<Ricorrenza>,
    /// `cofog_siope/codice_cofog_siope`.
    pub codice_cofog: String,
    /// `cofog_siope/importo_cofog_siope`.
    pub importo_cofog: Amount,
}

/// `bollo`: stamp duty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bollo<A> {
    /// `assoggettamento_bollo`.
    pub assoggettamento_bollo: A,
    /// `causale_esenzione_bollo`.
    pub causale_esenzione_bollo: Option<String>,
}

opi_enum!(
    /// `assoggettamento_bollo` of a mandato.
    AssoggettamentoBolloMandato, "assoggettamento_bollo" {
        /// Exempt.
        EsenteBollo = "ESENTE BOLLO",
        /// Paid by the ente.
        ACaricoEnte = "ASSOGGETTATO BOLLO A CARICO ENTE",
        /// Paid by the beneficiary.
        ACaricoBeneficiario = "ASSOGGETTATO BOLLO A CARICO BENEFICIARIO",
    }
);

opi_enum!(
    /// `assoggettamento_bollo` of a reversale.
    AssoggettamentoBolloReversale, "assoggettamento_bollo" {
        /// Exempt.
        EsenteBollo = "ESENTE BOLLO",
        /// Paid by the ente.
        ACaricoEnte = "ASSOGGETTATO BOLLO A CARICO ENTE",
        /// Paid by the payer.
        ACaricoVersante = "ASSOGGETTATO BOLLO A CARICO VERSANTE",
    }
);

opi_enum!(
    /// `soggetto_destinatario_delle_spese`.
    SoggettoSpese, "soggetto_destinatario_delle_spese" {
        /// Charged to the ente.
        ACaricoEnte = "A CARICO ENTE",
        /// Charged to the beneficiary.
        ACaricoBeneficiario = "A CARICO BENEFICIARIO",
        /// Exempt.
        Esente = "ESENTE",
    }
);

/// `spese`: bank charges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spese {
    /// `soggetto_destinatario_delle_spese`.
    pub soggetto_destinatario: SoggettoSpese,
    /// `natura_pagamento`.
    pub natura_pagamento: Option<String>,
    /// `causale_esenzione_spese`.
    pub causale_esenzione_spese: Option<String>,
}

/// A party: `beneficiario`, `versante` or `creditore_effettivo` (element names take the
/// party's suffix, e.g. `anagrafica_beneficiario`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Soggetto {
    /// `anagrafica_*`: name (not empty).
    pub anagrafica: String,
    /// `indirizzo_*`.
    pub indirizzo: Option<String>,
    /// `cap_*` (1..16 characters).
    pub cap: Option<String>,
    /// `localita_*`.
    pub localita: Option<String>,
    /// `provincia_*`.
    pub provincia: Option<String>,
    /// `stato_*`: ISO country code (two upper-case letters).
    pub stato: Option<String>,
    /// `partita_iva_*` (1..35 characters; checked as a partita IVA when the party is Italian).
    pub partita_iva: Option<String>,
    /// `codice_fiscale_*` (1..35 characters; checked as a codice fiscale when the party is
    /// Italian).
    pub codice_fiscale: Option<String>,
}

impl Soggetto {
    /// A party with just a name.
    #[must_use]
    pub fn new(anagrafica: impl Into<String>) -> Self {
        Soggetto {
            anagrafica: anagrafica.into(),
            ..Soggetto::default()
        }
    }
}

/// `delegato`: who collects on the beneficiary's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegato {
    /// `anagrafica_delegato`.
    pub anagrafica: String,
    /// `indirizzo_delegato`.
    pub indirizzo: Option<String>,
    /// `cap_delegato`.
    pub cap: Option<String>,
    /// `localita_delegato`.
    pub localita: Option<String>,
    /// `provincia_delegato`.
    pub provincia: Option<String>,
    /// `stato_delegato`.
    pub stato: Option<String>,
    /// `codice_fiscale_delegato` (required).
    pub codice_fiscale: String,
}

/// `sepa_credit_transfer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SepaCreditTransfer {
    /// `iban`.
    pub iban: Iban,
    /// `bic` (8 or 11 alphanumerics).
    pub bic: Option<String>,
    /// `identificativo_end_to_end` (1..35 characters).
    pub identificativo_end_to_end: Option<String>,
    /// `identificativo_category_purpose`.
    pub category_purpose: Option<CategoryPurpose>,
}

/// `identificativo_category_purpose`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CategoryPurpose {
    /// `code`: `SALA` (salary) or `PENS` (pension).
    Code(CategoryPurposeCode),
    /// `proprietary` (1..35 characters).
    Proprietary(String),
}

opi_enum!(
    /// `identificativo_category_purpose/code`.
    CategoryPurposeCode, "code" {
        /// Salary.
        Sala = "SALA",
        /// Pension.
        Pens = "PENS",
    }
);

/// `sospeso`: a provisional movement the order regularises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sospeso {
    /// `numero_provvisorio` (1..=999999999999999999).
    pub numero_provvisorio: u64,
    /// `importo_provvisorio`.
    pub importo_provvisorio: Amount,
}

/// `ritenute`: a withholding, collected by the reversale it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ritenuta {
    /// `importo_ritenute`.
    pub importo_ritenute: Amount,
    /// `numero_reversale`.
    pub numero_reversale: u32,
    /// `progressivo_versante`.
    pub progressivo_versante: u32,
}

opi_enum!(
    /// `lingua`.
    Lingua, "lingua" {
        /// Italian.
        Italiano = "ITALIANO",
        /// German.
        Tedesco = "TEDESCO",
    }
);

/// `informazioni_aggiuntive`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InformazioniAggiuntive {
    /// `lingua`.
    pub lingua: Option<Lingua>,
    /// `riferimento_documento_esterno`.
    pub riferimento_documento_esterno: Option<String>,
    /// `avviso_pagoPA` (mandati only).
    pub avviso_pagopa: Option<AvvisoPagoPa>,
}

/// `avviso_pagoPA`: the pagoPA notice a mandato pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvvisoPagoPa {
    /// `codice_identificativo_ente`: the creditor's fiscal code as a number (1..=99999999999).
    pub codice_identificativo_ente: u64,
    /// `numero_avviso`: the 18-digit notice number as a number (1..=999999999999999999).
    pub numero_avviso: u64,
}

/// `sostituzione_mandato` / `sostituzione_reversale`: the order being replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sostituzione {
    /// `numero_*_da_sostituire`.
    pub numero_da_sostituire: u32,
    /// `progressivo_*_da_sostituire`.
    pub progressivo_da_sostituire: u32,
    /// `esercizio_*_da_sostituire` (1999..=2099).
    pub esercizio_da_sostituire: u16,
}

/// Free XML content for the ente's own use (`anyTAG`, mixed content), kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawXml(String);

impl RawXml {
    /// Checks that `xml` is a well-formed fragment (elements balanced, no DTD, no
    /// processing instructions) and wraps it.
    ///
    /// # Errors
    /// When the fragment is not well formed.
    pub fn new(xml: impl Into<String>) -> Result<Self, crate::types::InvalidValue> {
        let xml = xml.into();
        if crate::xml::check_fragment(&xml) {
            Ok(RawXml(xml))
        } else {
            Err(crate::types::InvalidValue::new(
                "dati_a_disposizione_ente",
                "a well-formed XML fragment",
                &xml,
            ))
        }
    }

    pub(crate) fn from_trusted(xml: String) -> Self {
        RawXml(xml)
    }

    /// The fragment.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `dati_a_disposizione_ente_mandato` or its MIUR form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatiEnteMandato {
    /// `dati_a_disposizione_ente_mandato`.
    Libero(RawXml),
    /// `dati_a_disposizione_ente_mandato_MIUR` (schools).
    Miur(MiurMandato),
}

/// `ctDati_a_disposizione_ente_mandato_MIUR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiurMandato {
    /// `aggregato` (one upper-case letter).
    pub aggregato: char,
    /// `descrizione_aggregato`.
    pub descrizione_aggregato: String,
    /// `voce` (1..=99).
    pub voce: u8,
    /// `descrizione_voce`.
    pub descrizione_voce: String,
    /// `anno_provenienza` (1980..=2099).
    pub anno_provenienza: u16,
    /// `numero_impegno` (six digits).
    pub numero_impegno: String,
}

/// `reversale`: a collection order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reversale {
    /// `tipo_operazione`.
    pub tipo_operazione: TipoOperazione,
    /// `numero_reversale` (1..=9999999, unique in the flow).
    pub numero_reversale: u32,
    /// `data_reversale`.
    pub data_reversale: NaiveDate,
    /// `importo_reversale`: equals the sum of the payers' amounts.
    pub importo_reversale: Amount,
    /// `conto_evidenza`.
    pub conto_evidenza: Option<String>,
    /// `bilancio` (0..10).
    pub bilancio: Vec<Bilancio>,
    /// `informazioni_versante` (1..n).
    pub informazioni_versante: Vec<InformazioniVersante>,
    /// `dati_a_disposizione_ente_reversale` or its MIUR form.
    pub dati_a_disposizione_ente: Option<DatiEnteReversale>,
}

impl Reversale {
    /// A new order (`INSERIMENTO`); the amount is the sum of the payers'.
    #[must_use]
    pub fn new(
        numero_reversale: u32,
        data_reversale: NaiveDate,
        informazioni_versante: Vec<InformazioniVersante>,
    ) -> Self {
        let total = informazioni_versante
            .iter()
            .map(|b| b.importo_versante.cents())
            .fold(0u64, u64::saturating_add);
        Reversale {
            tipo_operazione: TipoOperazione::Inserimento,
            numero_reversale,
            data_reversale,
            importo_reversale: Amount::from_cents(total),
            conto_evidenza: None,
            bilancio: Vec::new(),
            informazioni_versante,
            dati_a_disposizione_ente: None,
        }
    }
}

opi_enum!(
    /// `tipo_riscossione` of a payer.
    TipoRiscossione, "tipo_riscossione" {
        /// Credit at the Bank of Italy.
        AccreditoBancaDItalia = "ACCREDITO BANCA D'ITALIA",
        /// Cash.
        Cassa = "CASSA",
        /// Offsetting.
        Compensazione = "COMPENSAZIONE",
        /// Withdrawal from a postal account (with `numero_ccp`).
        PrelievoDaCcPostale = "PRELIEVO DA CC POSTALE",
        /// Regularisation.
        Regolarizzazione = "REGOLARIZZAZIONE",
        /// Replacement.
        Sostituzione = "SOSTITUZIONE",
    }
);

opi_enum!(
    /// `tipo_entrata`.
    TipoEntrata, "tipo_entrata" {
        /// Interest-bearing.
        Fruttifero = "FRUTTIFERO",
        /// Non interest-bearing.
        Infruttifero = "INFRUTTIFERO",
    }
);

/// `informazioni_versante`: one payer of a reversale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InformazioniVersante {
    /// `progressivo_versante` (unique within the reversale).
    pub progressivo_versante: u32,
    /// `importo_versante`.
    pub importo_versante: Amount,
    /// `tipo_riscossione`.
    pub tipo_riscossione: TipoRiscossione,
    /// `numero_ccp` (with `PRELIEVO DA CC POSTALE`).
    pub numero_ccp: Option<u64>,
    /// `tipo_entrata`.
    pub tipo_entrata: Option<TipoEntrata>,
    /// `destinazione`.
    pub destinazione: Option<Destinazione>,
    /// `classificazione` (amounts add up to `importo_versante`).
    pub classificazione: Vec<ClassificazioneEntrata>,
    /// `bollo`.
    pub bollo: Bollo<AssoggettamentoBolloReversale>,
    /// `versante`.
    pub versante: Soggetto,
    /// `causale`.
    pub causale: String,
    /// `sospeso` (0..1000).
    pub sospeso: Vec<Sospeso>,
    /// `mandato_associato` (0..100).
    pub mandato_associato: Vec<MandatoAssociato>,
    /// `informazioni_aggiuntive` (without `avviso_pagoPA`).
    pub informazioni_aggiuntive: Option<InformazioniAggiuntive>,
    /// `sostituzione_reversale`.
    pub sostituzione_reversale: Option<Sostituzione>,
    /// `dati_a_disposizione_ente_versante`.
    pub dati_a_disposizione_ente_versante: Option<RawXml>,
}

impl InformazioniVersante {
    /// A payer with its required parts; bollo is `ESENTE BOLLO`.
    #[must_use]
    pub fn new(
        progressivo_versante: u32,
        importo_versante: Amount,
        tipo_riscossione: TipoRiscossione,
        versante: Soggetto,
        causale: impl Into<String>,
    ) -> Self {
        InformazioniVersante {
            progressivo_versante,
            importo_versante,
            tipo_riscossione,
            numero_ccp: None,
            tipo_entrata: None,
            destinazione: None,
            classificazione: Vec::new(),
            bollo: Bollo {
                assoggettamento_bollo: AssoggettamentoBolloReversale::EsenteBollo,
                causale_esenzione_bollo: None,
            },
            versante,
            causale: causale.into(),
            sospeso: Vec::new(),
            mandato_associato: Vec::new(),
            informazioni_aggiuntive: None,
            sostituzione_reversale: None,
            dati_a_disposizione_ente_versante: None,
        }
    }
}

/// `classificazione` of a reversale's payer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassificazioneEntrata {
    /// `codice_cge`.
    pub codice_cge: CodiceGestionale,
    /// `codice_cup`.
    pub codice_cup: Option<Cup>,
    /// `importo`.
    pub importo: Amount,
    /// `classificazione_dati_siope_entrate`.
    pub dati_siope: DatiSiopeEntrate,
}

/// `classificazione_dati_siope_entrate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatiSiopeEntrate {
    /// The debt type with its invoices.
    pub debito: DebitoEntrata,
    /// `dati_ARCONET_siope`.
    pub arconet: Option<ArconetEntrate>,
}

/// The debt type of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebitoEntrata {
    /// `tipo_debito_siope_nc` with 0..n invoices.
    NonCommerciale {
        /// `tipo_debito_siope_nc`.
        tipo: TipoDebitoNonCommerciale,
        /// `fattura_siope`.
        fatture: Vec<FatturaSiope>,
    },
    /// `tipo_debito_siope_c` = COMMERCIALE with 1..n invoices.
    Commerciale {
        /// `fattura_siope`.
        fatture: Vec<FatturaSiope>,
    },
}

/// `dati_ARCONET_siope` of a reversale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArconetEntrate {
    /// `codice_economico_siope`.
    pub codice_economico: String,
    /// `importo_codice_economico_siope`.
    pub importo_codice_economico: Amount,
    /// `codice_UE_siope`.
    pub codice_ue: String,
    /// `codice_entrata_siope`.
    pub codice_entrata: Option<Ricorrenza>,
}

/// `mandato_associato`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MandatoAssociato {
    /// `numero_mandato`.
    pub numero_mandato: u32,
    /// `progressivo_beneficiario`.
    pub progressivo_beneficiario: Option<u32>,
}

/// `dati_a_disposizione_ente_reversale` or its MIUR form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatiEnteReversale {
    /// `dati_a_disposizione_ente_reversale`.
    Libero(RawXml),
    /// `dati_a_disposizione_ente_reversale_MIUR`.
    Miur(MiurReversale),
}

/// `ctDati_a_disposizione_ente_reversale_MIUR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiurReversale {
    /// `aggregato` (1..=99).
    pub aggregato: u8,
    /// `descrizione_aggregato`.
    pub descrizione_aggregato: String,
    /// `voce` (1..=99).
    pub voce: u8,
    /// `descrizione_voce`.
    pub descrizione_voce: String,
    /// `sottovoce` (1..=99).
    pub sottovoce: Option<u8>,
    /// `descrizione_sottovoce`.
    pub descrizione_sottovoce: Option<String>,
    /// `anno_provenienza`.
    pub anno_provenienza: u16,
    /// `numero_accertamento` (six digits).
    pub numero_accertamento: String,
}

/// Which order a validation or parse finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderRef {
    /// The flow header or the flow as a whole.
    Flusso,
    /// `mandato` with this `numero_mandato`.
    Mandato(u32),
    /// `reversale` with this `numero_reversale`.
    Reversale(u32),
}

impl fmt::Display for OrderRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderRef::Flusso => f.write_str("flusso"),
            OrderRef::Mandato(n) => write!(f, "mandato {n}"),
            OrderRef::Reversale(n) => write!(f, "reversale {n}"),
        }
    }
}

impl FromStr for OrderRef {
    type Err = crate::types::InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::types::InvalidValue::new("order", "mandato N or reversale N", s);
        if s == "flusso" {
            return Ok(OrderRef::Flusso);
        }
        let (kind, n) = s.split_once(' ').ok_or_else(bad)?;
        let n: u32 = n.parse().map_err(|_| bad())?;
        match kind {
            "mandato" => Ok(OrderRef::Mandato(n)),
            "reversale" => Ok(OrderRef::Reversale(n)),
            _ => Err(bad()),
        }
    }
}

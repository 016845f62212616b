//! SIOPE+: the day's pagoPA receipts become a reversale (collection order) in an OPI flow, which
//! is validated and written by `siopeplus`, signed with the ente's key, stored in the durable
//! outbox and sent over mutual TLS to the A2A simulator; the operator sees the ACK and esiti and
//! how many days the client certificate has left.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Local, Utc};
use pagopa::node::Receipt;
use siopeplus::simulator::{SimOptions, Simulator, TestPki};
use siopeplus::{
    A2aClient, A2aConfig, CertInfo, ClassificazioneEntrata, ClientIdentity, DatiSiopeEntrate,
    DebitoEntrata, FlowSigner, FlowWriter, InformazioniVersante, Outbox, OutboxEntry, OutboxStore,
    Reversale, SqliteOutbox, TestataFlusso, TipoDebitoNonCommerciale, TipoRiscossione,
    WriterOptions, sign_flow, trust_roots_from_pem,
};
use tokio::sync::Mutex;

use super::html::{esc, fields};
use super::{Ente, SiopeEndpoint, StartError, component};

const CODICE_A2A: &str = "A2A-12345678";
const CODICE_ENTE: &str = "UF0001";

/// What the last transmission produced.
#[derive(Debug, Clone)]
struct Sent {
    flow_id: String,
    orders: usize,
    entry: OutboxEntry,
    messages: Vec<(String, String)>,
}

/// The ente's SIOPE+ channel (simulated by default).
pub(crate) struct Treasury {
    _simulator: Option<Simulator>,
    codice_a2a: String,
    codice_ente: String,
    signer: FlowSigner,
    cert: CertInfo,
    outbox: Outboxes,
    /// One outbox pass at a time in this instance (the worker's and an operator's).
    pass: Mutex<()>,
    last: Mutex<Option<Sent>>,
}

/// The outbox on SQLite (one file per ente) or on the shared PostgreSQL database (row leases:
/// every instance may run the sender, each flow is uploaded once).
enum Outboxes {
    Sqlite(Outbox<SqliteOutbox>),
    Postgres(Outbox<siopeplus::PgOutbox>),
}

impl Outboxes {
    async fn enqueue(&self, flow: &str, xml: &[u8]) -> Result<i64, siopeplus::Error> {
        match self {
            Outboxes::Sqlite(o) => o.enqueue(flow, xml).await,
            Outboxes::Postgres(o) => o.enqueue(flow, xml).await,
        }
    }

    async fn process(&self) -> Result<Vec<siopeplus::OutboxEntry>, siopeplus::Error> {
        match self {
            Outboxes::Sqlite(o) => o.process().await,
            Outboxes::Postgres(o) => o.process().await,
        }
    }

    async fn get(&self, id: i64) -> Result<siopeplus::OutboxEntry, siopeplus::OutboxError> {
        match self {
            Outboxes::Sqlite(o) => o.store().get(id).await,
            Outboxes::Postgres(o) => o.store().get(id).await,
        }
    }

    async fn messages(
        &self,
        id: i64,
    ) -> Result<Vec<siopeplus::StoredMessage>, siopeplus::OutboxError> {
        match self {
            Outboxes::Sqlite(o) => o.store().messages(id).await,
            Outboxes::Postgres(o) => o.store().messages(id).await,
        }
    }

    async fn recent(&self, n: usize) -> Result<Vec<OutboxEntry>, siopeplus::OutboxError> {
        match self {
            Outboxes::Sqlite(o) => o.store().recent_entries(n).await,
            Outboxes::Postgres(o) => o.store().recent_entries(n).await,
        }
    }
}

impl Treasury {
    pub(crate) async fn start(
        endpoint: Option<&SiopeEndpoint>,
        dir: &Path,
        shared: Option<&pa_postgres::Database>,
        (instance, lease): (&str, Duration),
        channel: &str,
    ) -> Result<Treasury, StartError> {
        let err = component("SIOPE+");
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| StartError::State {
                path: p.to_owned(),
                message: e.to_string(),
            })
        };
        let (simulator, base_url, codice_a2a, codice_ente, identity, roots) = match endpoint {
            Some(real) => {
                let identity = ClientIdentity::from_pem_parts(
                    &read(&real.certificate_pem)?,
                    &read(&real.key_pem)?,
                )
                .map_err(|e| err(e.to_string()))?;
                let roots = trust_roots_from_pem(&read(&real.trust_roots_pem)?)
                    .map_err(|e| err(e.to_string()))?;
                let url = real
                    .base_url
                    .parse()
                    .map_err(|e| err(format!("base_url: {e}")))?;
                (
                    None,
                    url,
                    real.codice_a2a.clone(),
                    real.codice_ente.clone(),
                    identity,
                    roots,
                )
            }
            None => {
                let pki = TestPki::generate("SIOPE+ simulato").map_err(|e| err(e.to_string()))?;
                let simulator = Simulator::start(&pki, SimOptions::default())
                    .await
                    .map_err(|e| err(e.to_string()))?;
                // A three-year client certificate, as SIOPE+ issues them.
                let identity: ClientIdentity = pki
                    .client_identity(CODICE_A2A, 3 * 365)
                    .map_err(|e| err(e.to_string()))?;
                let roots = trust_roots_from_pem(pki.ca_pem().as_bytes())
                    .map_err(|e| err(e.to_string()))?;
                let url = simulator.base_url();
                (
                    Some(simulator),
                    url,
                    CODICE_A2A.to_owned(),
                    CODICE_ENTE.to_owned(),
                    identity,
                    roots,
                )
            }
        };
        let cert = identity.info().map_err(|e| err(e.to_string()))?;
        let signer = FlowSigner::from_identity(&identity).map_err(|e| err(e.to_string()))?;
        let config = A2aConfig::new(
            base_url,
            codice_a2a.parse().map_err(|e| err(format!("{e}")))?,
            codice_ente.clone(),
            identity,
            roots,
        );
        let client = A2aClient::new(config).map_err(|e| err(e.to_string()))?;
        let grace = Duration::from_secs(60);
        let outbox = match shared {
            Some(db) => {
                // One channel per ente: its flows are uploaded with its own certificate only.
                let store = siopeplus::PgOutbox::open(db.clone())
                    .await
                    .map_err(|e| err(e.to_string()))?
                    .with_channel(channel);
                Outboxes::Postgres(
                    Outbox::new(Arc::new(store), client, grace)
                        .with_owner(instance)
                        .with_lease(lease),
                )
            }
            None => {
                let path = dir.join("outbox-siope.sqlite");
                let store = SqliteOutbox::open(&path).map_err(|e| StartError::State {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                Outboxes::Sqlite(
                    Outbox::new(Arc::new(store), client, grace)
                        .with_owner(instance)
                        .with_lease(lease),
                )
            }
        };
        Ok(Treasury {
            _simulator: simulator,
            codice_a2a,
            codice_ente,
            signer,
            cert,
            outbox,
            pass: Mutex::new(()),
            last: Mutex::new(None),
        })
    }

    /// Builds, signs and sends the flow of today's receipts; follows it to its ACK and esiti.
    pub(crate) async fn send_today(&self, ente: &Ente, receipts: &[Receipt]) -> Result<(), String> {
        if receipts.is_empty() {
            return Err("nessuna ricevuta pagoPA da riversare: il flusso sarebbe vuoto".into());
        }
        let now = Local::now();
        let flow_id = format!("SPORTELLO-{}", now.format("%Y%m%d-%H%M%S%3f"));
        let xml = self.write_flow(ente, &flow_id, receipts)?;
        self.sign_and_send(flow_id, &xml, 1).await.map(drop)
    }

    /// Signs and sends a flow of reversali a copertura (the reconciliation page); follows it to
    /// its end as [`Treasury::send_today`] does.
    pub(crate) async fn send_reversali(
        &self,
        ente: &Ente,
        flow_id: &str,
        reversali: &[Reversale],
    ) -> Result<OutboxEntry, String> {
        let now = Local::now();
        let testata = self.testata(ente, flow_id)?;
        let opts = WriterOptions {
            id: Some("FLUSSO".into()),
            indent: false,
        };
        let year = now.format("%Y").to_string().parse::<u16>().unwrap_or(2026);
        let mut w = FlowWriter::new(Vec::new(), &testata, year, opts)
            .map_err(|e| format!("flusso OPI: {e}"))?;
        for r in reversali {
            w.write_reversale(r)
                .map_err(|e| format!("flusso OPI: {e}"))?;
        }
        let xml = w.finish().map_err(|e| format!("flusso OPI: {e}"))?;
        self.sign_and_send(flow_id.to_owned(), &xml, reversali.len())
            .await
    }

    /// The giornale di cassa pages the outbox collected for the recent flows.
    pub(crate) async fn giornali(&self) -> Vec<siopeplus::GiornaleDiCassa> {
        let mut out = Vec::new();
        for e in self.outbox.recent(200).await.unwrap_or_default() {
            for m in self.outbox.messages(e.id).await.unwrap_or_default() {
                if m.kind == "giornale"
                    && let Ok(g) = siopeplus::GiornaleDiCassa::from_xml(&m.xml)
                {
                    out.push(g);
                }
            }
        }
        out
    }

    async fn sign_and_send(
        &self,
        flow_id: String,
        xml: &[u8],
        orders: usize,
    ) -> Result<OutboxEntry, String> {
        let signed = sign_flow(xml, &self.signer).map_err(|e| format!("firma del flusso: {e}"))?;
        // Stored before anything is sent: from here on the flow is uploaded once, by this
        // instance or, if it dies, by another one's worker.
        let id = self
            .outbox
            .enqueue(&flow_id, &signed)
            .await
            .map_err(|e| format!("outbox: {e}"))?;
        // Upload, then collect ACK and esiti, as the worker does; wait for the end.
        let mut entry = None;
        for _ in 0..60 {
            self.process_once().await?;
            let e = self
                .outbox
                .get(id)
                .await
                .map_err(|e| format!("outbox: {e}"))?;
            let done = e.state.is_final();
            entry = Some(e);
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let entry = entry.ok_or("il flusso non risulta nell'outbox")?;
        let messages = self
            .outbox
            .messages(entry.id)
            .await
            .map_err(|e| format!("outbox: {e}"))?
            .into_iter()
            .map(|m| (m.kind, String::from_utf8_lossy(&m.xml).into_owned()))
            .collect();
        *self.last.lock().await = Some(Sent {
            flow_id,
            orders,
            entry: entry.clone(),
            messages,
        });
        Ok(entry)
    }

    /// One pass of the outbox: uploads what is due, collects ACKs and esiti (the worker runs
    /// it periodically).
    pub(crate) async fn process_once(&self) -> Result<(), String> {
        let _one = self.pass.lock().await;
        self.outbox
            .process()
            .await
            .map(drop)
            .map_err(|e| format!("canale A2A: {e}"))
    }

    fn testata(&self, ente: &Ente, flow_id: &str) -> Result<TestataFlusso, String> {
        let e = |what: &str| {
            let what = what.to_owned();
            move |err: siopeplus::InvalidValue| format!("{what}: {err}")
        };
        let now = Local::now();
        Ok(TestataFlusso {
            codice_abi_bt: "03069".parse().map_err(e("codice ABI"))?,
            identificativo_flusso: flow_id.parse().map_err(e("identificativo flusso"))?,
            data_ora_creazione_flusso: now.naive_local(),
            codice_ente: self.codice_ente.parse().map_err(e("codice ente"))?,
            descrizione_ente: ente.name.clone(),
            codice_istat_ente: "058091000".parse().map_err(e("codice ISTAT"))?,
            codice_fiscale_ente: ente.fiscal_code.to_string(),
            codice_tramite_ente: self.codice_a2a.parse().map_err(e("codice tramite ente"))?,
            codice_tramite_bt: "A2A-87654321".parse().map_err(e("codice tramite BT"))?,
            codice_ente_bt: "0001234".into(),
            riferimento_ente: None,
        })
    }

    fn write_flow(
        &self,
        ente: &Ente,
        flow_id: &str,
        receipts: &[Receipt],
    ) -> Result<Vec<u8>, String> {
        let e = |what: &str| {
            let what = what.to_owned();
            move |err: siopeplus::InvalidValue| format!("{what}: {err}")
        };
        let now = Local::now();
        let testata = self.testata(ente, flow_id)?;
        let mut versanti = Vec::with_capacity(receipts.len());
        for (i, rt) in receipts.iter().enumerate() {
            let mut versante = siopeplus::Soggetto::new(rt.debtor.full_name.clone());
            versante.codice_fiscale = Some(rt.debtor.unique_identifier.clone());
            let mut v = InformazioniVersante::new(
                u32::try_from(i + 1).unwrap_or(u32::MAX),
                rt.payment_amount,
                TipoRiscossione::AccreditoBancaDItalia,
                versante,
                format!(
                    "pagoPA IUV {} ricevuta {}",
                    rt.creditor_reference_id, rt.receipt_id
                ),
            );
            v.classificazione.push(ClassificazioneEntrata {
                codice_cge: "3010201".parse().map_err(e("codice gestionale"))?,
                codice_cup: None,
                importo: rt.payment_amount,
                dati_siope: DatiSiopeEntrate {
                    debito: DebitoEntrata::NonCommerciale {
                        tipo: TipoDebitoNonCommerciale::NonCommerciale,
                        fatture: Vec::new(),
                    },
                    arconet: None,
                },
            });
            versanti.push(v);
        }
        let reversale = Reversale::new(1, now.date_naive(), versanti);
        let opts = WriterOptions {
            id: Some("FLUSSO".into()),
            indent: false,
        };
        let year = now.format("%Y").to_string().parse::<u16>().unwrap_or(2026);
        let mut w = FlowWriter::new(Vec::new(), &testata, year, opts)
            .map_err(|e| format!("flusso OPI: {e}"))?;
        w.write_reversale(&reversale)
            .map_err(|e| format!("flusso OPI: {e}"))?;
        w.finish().map_err(|e| format!("flusso OPI: {e}"))
    }

    /// The operator page's SIOPE+ section.
    pub(crate) async fn section(&self, send_action: &str) -> String {
        let days = self.cert.days_left(Utc::now());
        let mut out = format!(
            r#"<h2>SIOPE+</h2>
<div class="scheda" id="certificato">{}</div>
<form method="post" action="{action}"><div class="azioni">
<button type="submit" id="invia-flusso">Genera e invia il flusso OPI di oggi</button></div></form>"#,
            fields(&[
                ("Certificato client A2A", self.cert.subject.clone()),
                ("Scadenza", self.cert.not_after.to_string()),
                ("Giorni rimanenti", days.to_string()),
            ]),
            action = esc(send_action),
        );
        if let Some(sent) = &*self.last.lock().await {
            out.push_str(&format!(
                r#"<div class="ok" role="status" id="esito-flusso">{}</div>"#,
                fields(&[
                    ("Flusso", sent.flow_id.clone()),
                    ("Reversali", sent.orders.to_string()),
                    ("Stato", sent.entry.state.as_str().to_owned()),
                    (
                        "Progressivo SIOPE+",
                        sent.entry
                            .prog_flusso
                            .map(|p| p.to_string())
                            .unwrap_or_default()
                    ),
                ])
            ));
            for (kind, xml) in &sent.messages {
                out.push_str(&format!(
                    "<details><summary>{}</summary><pre>{}</pre></details>",
                    esc(kind),
                    esc(xml)
                ));
            }
        }
        out
    }
}

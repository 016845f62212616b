//! App IO messages to many citizens (an operator's notice to a list of fiscal codes): the job is
//! recorded before anything is sent, then run by `appio::bulk` with a journal that makes every
//! message go out once — a SQLite journal on one machine, the PostgreSQL journal with row leases
//! when instances share the database. Every instance's worker runs the jobs that are not done, so
//! a job an instance was running when it died is finished by another.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use appio::bulk::{BulkReport, BulkRow, BulkSender, Journal, PgJournal, SqliteJournal, Template};
use pa_types::CodiceFiscale;

use super::db::{Db, IoJob};

/// The ente's bulk sender.
pub(crate) struct IoBulk {
    db: Arc<Db>,
    client: appio::IoClient,
    dir: PathBuf,
    instance: String,
    lease: Duration,
    running: std::sync::Mutex<BTreeSet<String>>,
}

fn template(job: &IoJob) -> Result<Template, String> {
    Template::from_json(
        &serde_json::json!({ "subject": job.subject, "markdown": job.markdown }).to_string(),
    )
    .map_err(|e| e.to_string())
}

impl IoBulk {
    pub(crate) fn new(
        db: Arc<Db>,
        client: appio::IoClient,
        dir: PathBuf,
        instance: String,
        lease: Duration,
    ) -> IoBulk {
        IoBulk {
            db,
            client,
            dir,
            instance,
            lease,
            running: std::sync::Mutex::new(BTreeSet::new()),
        }
    }

    /// Checks and records a job (nothing is sent yet); returns its id.
    pub(crate) async fn create(
        &self,
        subject: &str,
        markdown: &str,
        recipients: &[CodiceFiscale],
    ) -> Result<String, String> {
        if recipients.is_empty() {
            return Err("nessun destinatario".into());
        }
        let job = IoJob {
            job: format!("io-{}", uuid::Uuid::new_v4().simple()),
            subject: subject.trim().to_owned(),
            markdown: markdown.trim().to_owned(),
            recipients: recipients.iter().map(ToString::to_string).collect(),
            done: false,
        };
        // The template is the message: lengths and fields are checked here, before any send.
        let t = template(&job)?;
        for cf in &job.recipients {
            t.render(&BulkRow::new(cf.clone(), cf.clone()))
                .map_err(|e| e.to_string())?;
        }
        self.db
            .insert_io_job(&job)
            .await
            .map_err(|e| e.to_string())?;
        Ok(job.job)
    }

    async fn journal(&self, job: &str) -> Result<Arc<dyn Journal>, String> {
        Ok(match self.db.postgres_pool() {
            Some(pg) => Arc::new(
                PgJournal::open(pg.clone(), job)
                    .await
                    .map_err(|e| e.to_string())?,
            ),
            None => Arc::new(
                SqliteJournal::open(&self.dir.join(format!("{job}.sqlite")))
                    .map_err(|e| e.to_string())?,
            ),
        })
    }

    /// Runs `job` to its end (each row sent once, ambiguous ones reported, never resent) and
    /// marks it done; `None` when this instance is already running it.
    pub(crate) async fn run(&self, job: &IoJob) -> Option<Result<BulkReport, String>> {
        {
            let mut running = self
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !running.insert(job.job.clone()) {
                return None;
            }
        }
        let result = self.run_once(job).await;
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&job.job);
        Some(result)
    }

    async fn run_once(&self, job: &IoJob) -> Result<BulkReport, String> {
        let journal = self.journal(&job.job).await?;
        let rows: Vec<BulkRow> = job
            .recipients
            .iter()
            .map(|cf| BulkRow::new(cf.clone(), cf.clone()))
            .collect();
        let report = BulkSender::new(self.client.clone(), journal, template(job)?)
            .worker_id(self.instance.clone())
            .lease(self.lease)
            .run(rows)
            .await
            .map_err(|e| e.to_string())?;
        if !report.interrupted && report.not_processed == 0 {
            self.db
                .finish_io_job(&job.job)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(report)
    }

    /// Runs every job that is not done (the worker's pass).
    pub(crate) async fn run_open_jobs(&self) {
        let Ok(jobs) = self.db.io_jobs().await else {
            return;
        };
        for job in jobs.into_iter().filter(|j| !j.done) {
            if let Some(Err(e)) = self.run(&job).await {
                eprintln!("sportello: invio App IO {}: {e}", job.job);
            }
        }
    }

    /// The jobs, for the operator page.
    pub(crate) async fn jobs(&self) -> Vec<IoJob> {
        self.db.io_jobs().await.unwrap_or_default()
    }
}

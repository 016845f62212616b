//! App IO messages sent through the real `appio` client to the IO Services endpoint (the
//! embedded mock by default): the payment notice when a request is filed (with pagoPA payment
//! data, so the app can pay it) and the confirmation once the receipt has arrived.

use appio::{IoClient, Markdown, NewMessage, PaymentData, Subject};
use pa_types::{Amount, CodiceFiscale, OrganizationFiscalCode};
use pagopa::NoticeNumber;

async fn allowed(client: &IoClient, citizen: &CodiceFiscale) -> Result<(), String> {
    let profile = client
        .get_profile(citizen)
        .await
        .map_err(|e| format!("App IO, profilo: {e}"))?;
    if profile.sender_allowed {
        Ok(())
    } else {
        Err("App IO: il cittadino ha disattivato i messaggi di questo servizio".into())
    }
}

/// Sends the payment notice of a new request; returns the message id.
pub(crate) async fn send_notice(
    client: &IoClient,
    citizen: &CodiceFiscale,
    protocol: &str,
    notice: &NoticeNumber,
    amount: Amount,
    creditor: &OrganizationFiscalCode,
) -> Result<String, String> {
    allowed(client, citizen).await?;
    let subject = Subject::new(format!("Avviso di pagamento: pratica {protocol}"))
        .map_err(|e| format!("App IO, oggetto: {e}"))?;
    let markdown = Markdown::new(format!(
        "Gentile cittadina, gentile cittadino,\n\nla sua istanza è stata protocollata con segnatura \
         `{protocol}`. Per completarla paghi i diritti di istruttoria di **{amount} euro** con \
         pagoPA, anche direttamente dall'app IO.\n\nNumero avviso: {}.",
        notice.as_str()
    ))
    .map_err(|e| format!("App IO, testo: {e}"))?;
    let payment = PaymentData::new(*notice, amount, creditor.clone())
        .map_err(|e| format!("App IO, dati di pagamento: {e}"))?;
    let message = NewMessage::builder(citizen.clone(), subject, markdown)
        .payment_data(payment)
        .build()
        .map_err(|e| format!("App IO, messaggio: {e}"))?;
    let created = client
        .submit_message(&message)
        .await
        .map_err(|e| format!("App IO, invio: {e}"))?;
    Ok(created.id.to_string())
}

/// Sends the confirmation of a paid request; returns the message id.
pub(crate) async fn send_confirmation(
    client: &IoClient,
    citizen: &CodiceFiscale,
    protocol: &str,
    amount: Amount,
    receipt_id: &str,
) -> Result<String, String> {
    allowed(client, citizen).await?;
    let subject = Subject::new(format!("Pagamento ricevuto: pratica {protocol}"))
        .map_err(|e| format!("App IO, oggetto: {e}"))?;
    let markdown = Markdown::new(format!(
        "Gentile cittadina, gentile cittadino,\n\nabbiamo ricevuto il pagamento di **{amount} euro** \
         per la pratica protocollata con segnatura `{protocol}` (ricevuta pagoPA {receipt_id}).\n\n\
         La pratica è ora in lavorazione presso gli uffici del Comune."
    ))
    .map_err(|e| format!("App IO, testo: {e}"))?;
    let message = NewMessage::builder(citizen.clone(), subject, markdown)
        .build()
        .map_err(|e| format!("App IO, messaggio: {e}"))?;
    let created = client
        .submit_message(&message)
        .await
        .map_err(|e| format!("App IO, invio: {e}"))?;
    Ok(created.id.to_string())
}

//! SPID `ErrorCode nrNN` anomalies returned by the IdP in `StatusMessage`.

use std::fmt;

/// A SPID user-anomaly code (`StatusMessage` = `ErrorCode nrNN`), with the message the SP shows
/// to the user. Codes this crate does not know are kept in [`SpidErrorCode::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpidErrorCode {
    /// nr19: authentication failed after repeated wrong credentials.
    Nr19,
    /// nr20: the user has no credentials of the requested level.
    Nr20,
    /// nr21: timeout during authentication.
    Nr21,
    /// nr22: the user denied consent to release the data.
    Nr22,
    /// nr23: identity suspended or revoked, or credentials locked.
    Nr23,
    /// nr24: reserved.
    Nr24,
    /// nr25: the user cancelled the authentication.
    Nr25,
    /// nr30: the identity is not of the type the SP asked for (Avviso 18).
    Nr30,
    /// Any other code, as received (number or text).
    Other(String),
}

impl SpidErrorCode {
    /// Parses a `StatusMessage` such as `ErrorCode nr19` (surrounding whitespace ignored).
    /// Returns `None` when the message is not in the `ErrorCode nrNN` form.
    pub fn from_status_message(message: &str) -> Option<SpidErrorCode> {
        let rest = message.trim().strip_prefix("ErrorCode nr")?;
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(match rest {
            "19" => SpidErrorCode::Nr19,
            "20" => SpidErrorCode::Nr20,
            "21" => SpidErrorCode::Nr21,
            "22" => SpidErrorCode::Nr22,
            "23" => SpidErrorCode::Nr23,
            "24" => SpidErrorCode::Nr24,
            "25" => SpidErrorCode::Nr25,
            "30" => SpidErrorCode::Nr30,
            other => SpidErrorCode::Other(other.to_owned()),
        })
    }

    /// The code number as text (`"19"`).
    pub fn code(&self) -> &str {
        match self {
            SpidErrorCode::Nr19 => "19",
            SpidErrorCode::Nr20 => "20",
            SpidErrorCode::Nr21 => "21",
            SpidErrorCode::Nr22 => "22",
            SpidErrorCode::Nr23 => "23",
            SpidErrorCode::Nr24 => "24",
            SpidErrorCode::Nr25 => "25",
            SpidErrorCode::Nr30 => "30",
            SpidErrorCode::Other(s) => s,
        }
    }

    /// The message to show to the user (Italian), per the SPID anomaly table.
    pub fn user_message(&self) -> &'static str {
        match self {
            SpidErrorCode::Nr19 => {
                "Autenticazione fallita per ripetuta sottomissione di credenziali errate. \
                 Verifica le credenziali e riprova."
            }
            SpidErrorCode::Nr20 => {
                "Non disponi di credenziali SPID del livello richiesto dal servizio."
            }
            SpidErrorCode::Nr21 => "Tempo scaduto durante l'autenticazione. Riprova l'accesso.",
            SpidErrorCode::Nr22 => {
                "Hai negato il consenso all'invio dei dati al servizio: l'accesso non è avvenuto."
            }
            SpidErrorCode::Nr23 => {
                "La tua identità SPID risulta sospesa o revocata, oppure le credenziali sono \
                 bloccate. Contatta il tuo gestore di identità."
            }
            SpidErrorCode::Nr24 => "Autenticazione non riuscita.",
            SpidErrorCode::Nr25 => "Hai annullato il processo di autenticazione.",
            SpidErrorCode::Nr30 => {
                "L'identità usata non è del tipo richiesto dal servizio (per esempio \
                 un'identità per uso professionale): accedi con un'identità adeguata."
            }
            SpidErrorCode::Other(_) => "Autenticazione non riuscita.",
        }
    }
}

impl fmt::Display for SpidErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorCode nr{}", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_messages() {
        assert_eq!(
            SpidErrorCode::from_status_message("ErrorCode nr19"),
            Some(SpidErrorCode::Nr19)
        );
        assert_eq!(
            SpidErrorCode::from_status_message(" ErrorCode nr25\n"),
            Some(SpidErrorCode::Nr25)
        );
        assert_eq!(
            SpidErrorCode::from_status_message("ErrorCode nr99"),
            Some(SpidErrorCode::Other("99".into()))
        );
        assert_eq!(SpidErrorCode::from_status_message("generic failure"), None);
        assert_eq!(SpidErrorCode::Nr22.to_string(), "ErrorCode nr22");
        assert!(SpidErrorCode::Nr30.user_message().contains("identità"));
    }
}

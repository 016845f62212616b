//! `pa check KIND VALUE`: validate an identifier and print its normalized form.

use std::fmt::Display;
use std::process::ExitCode;
use std::str::FromStr;

use clap::Subcommand;
use pa_types::{
    Amount, AnyFiscalCode, Cig, CodiceIpa, CodiceUnivocoUfficio, Cup, Iban, OrganizationFiscalCode,
    PartitaIva,
};

/// The identifier kinds `pa check` knows.
#[derive(Debug, Subcommand)]
pub(crate) enum Check {
    /// Codice fiscale: 16-character personal code (omocodia included) or 11-digit numeric code.
    Cf {
        /// The code to check.
        value: String,
    },
    /// Partita IVA (11 digits with check digit; an `IT` prefix is accepted).
    Piva {
        /// The VAT number to check.
        value: String,
    },
    /// IBAN (spaces allowed); Italian IBANs also get their CIN verified and parts printed.
    Iban {
        /// The IBAN to check.
        value: String,
    },
    /// CUP, Codice Unico di Progetto (15 characters).
    Cup {
        /// The CUP to check.
        value: String,
    },
    /// CIG, Codice Identificativo Gara (10 characters).
    Cig {
        /// The CIG to check.
        value: String,
    },
    /// IPA code of a public body (e.g. `c_h501`).
    Ipa {
        /// The IPA code to check.
        value: String,
    },
    /// Codice univoco ufficio (6 characters).
    Cuu {
        /// The office code to check.
        value: String,
    },
    /// pagoPA organization fiscal code (11 digits).
    Ec {
        /// The organization fiscal code to check.
        value: String,
    },
    /// Euro amount in the decimal form (`1234.56`); prints it and its cents.
    Amount {
        /// The amount to check.
        value: String,
    },
}

fn report<T, E>(value: &str, describe: impl FnOnce(&T) -> String) -> ExitCode
where
    T: FromStr<Err = E>,
    E: Display,
{
    match value.parse::<T>() {
        Ok(v) => {
            println!("{}", describe(&v));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("invalid: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn run(cmd: Check) -> ExitCode {
    match cmd {
        Check::Cf { value } => report::<AnyFiscalCode, _>(&value, |cf| match cf {
            AnyFiscalCode::Personal(p) if p.is_omocode() => {
                format!("{p}\t(omocodia variant of {})", p.base_form())
            }
            other => other.to_string(),
        }),
        Check::Piva { value } => report::<PartitaIva, _>(&value, ToString::to_string),
        Check::Iban { value } => report::<Iban, _>(&value, |iban| match iban.italian() {
            Some(it) => format!(
                "{iban}\tCIN {} ABI {} CAB {} account {}",
                it.cin(),
                it.abi(),
                it.cab(),
                it.account()
            ),
            None => iban.to_string(),
        }),
        Check::Cup { value } => report::<Cup, _>(&value, ToString::to_string),
        Check::Cig { value } => report::<Cig, _>(&value, ToString::to_string),
        Check::Ipa { value } => report::<CodiceIpa, _>(&value, ToString::to_string),
        Check::Cuu { value } => report::<CodiceUnivocoUfficio, _>(&value, ToString::to_string),
        Check::Ec { value } => report::<OrganizationFiscalCode, _>(&value, ToString::to_string),
        Check::Amount { value } => {
            report::<Amount, _>(&value, |a| format!("{a}\t({} cents)", a.cents()))
        }
    }
}

#![doc = include_str!("../README.md")]

pub mod amount;
mod cf;
mod codes;
mod error;
mod iban;
mod identity;
mod macros;
mod piva;
mod spid;

pub use amount::Amount;
pub use cf::{AnyFiscalCode, CodiceFiscale, NumericFiscalCode};
pub use codes::{Cig, CodiceIpa, CodiceUnivocoUfficio, Cup};
pub use error::{Expected, Kind, ParseError};
pub use iban::{Iban, ItalianBban};
pub use identity::{AssuranceLevel, CitizenIdentity, LoginMethod};
pub use piva::{OrganizationFiscalCode, PartitaIva};
pub use spid::{
    SpidFiscalNumber, parse_spid_any_fiscal_number, parse_spid_fiscal_number, parse_spid_vat_number,
};

//! The shared types this crate builds on (re-exported at the crate root).
pub use pa_types::{Amount, CodiceFiscale, OrganizationFiscalCode};
pub use pagopa::NoticeNumber;

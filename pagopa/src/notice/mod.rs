//! What is printed on a payment notice: the QR code, the Poste Data Matrix, and the notice
//! number in groups of four ([`NoticeNumber::to_print_format`](crate::NoticeNumber::to_print_format)).

mod error;
mod poste;
mod qr;
#[cfg(feature = "render")]
mod symbol;

pub use error::{PayloadError, RenderError};
pub use poste::{MAX_POSTE_CENTS, POSTE_PAYLOAD_LEN, PostalAccount, PosteDataMatrix};
pub use qr::{MAX_QR_CENTS, QrPayload};
#[cfg(feature = "render")]
pub use symbol::{
    DATAMATRIX_MODULE_MM, DATAMATRIX_QUIET_ZONE, DecodeError, QR_PRINT_SIZE_MM, QR_QUIET_ZONE,
    QR_VERSION, Symbol, Symbology,
};
